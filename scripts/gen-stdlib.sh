#!/bin/sh
# Regenerates src/analysis/stdlib-table.json (memcheck.stdlib/v1): size, align and ptrdata of every
# exported named type (and integer constant) of every importable standard-library package, for all
# 14 gc archs (wasm as js/wasm, cgo off), computed
# by tools/gosizes from the installed Go's GOROOT sources (go/types + the gc size rules).
# Needs only the Go toolchain; never touches the network.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd tools/gosizes && go build -o "$tmp/gosizes" .)
"$tmp/gosizes" -stdlib -arch all -pkgs all -o src/analysis/stdlib-table.json "$@"
echo "wrote src/analysis/stdlib-table.json ($(wc -c < src/analysis/stdlib-table.json) bytes, $(go version | cut -d' ' -f3))"
