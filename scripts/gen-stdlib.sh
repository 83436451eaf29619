#!/bin/sh
# Regenerates the standard-library tables: size, align and ptrdata of every exported named type
# (and integer constant) of every importable standard-library package, for all 14 gc archs (wasm
# as js/wasm, cgo off), computed by tools/gosizes from a Go release's GOROOT sources (go/types +
# the gc size rules). Needs only the Go toolchain; never touches the network.
#
#   scripts/gen-stdlib.sh                         the base table, src/analysis/stdlib-table.json, with `go` (Go 1.19)
#   GO=/usr/lib/go-1.27/bin/go scripts/gen-stdlib.sh --release
#                                                 src/analysis/stdlib-go1.27.json: that release as a delta over the base
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd tools/gosizes && GOTOOLCHAIN=local GOFLAGS=-mod=mod GOPROXY=off "$GO" build -o "$tmp/gosizes" .)
version=$("$GO" version | cut -d' ' -f3)
if [ "${1:-}" = "--release" ]; then
  shift
  minor=$(echo "$version" | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')
  GOROOT=$("$GO" env GOROOT) "$tmp/gosizes" -stdlib -arch all -pkgs all -o "$tmp/full.json" "$@"
  node scripts/stdlib-delta.mjs src/analysis/stdlib-table.json "$tmp/full.json" "src/analysis/stdlib-go$minor.json"
  exit 0
fi
"$tmp/gosizes" -stdlib -arch all -pkgs all -o src/analysis/stdlib-table.json "$@"
echo "wrote src/analysis/stdlib-table.json ($(wc -c < src/analysis/stdlib-table.json) bytes, $version)"
