// Current Go: each release's standard-library table (src/analysis/stdlib-go1.NN.json, a delta over
// the Go 1.19 base) against that release's compiler where it is installed (/usr/lib/go-1.NN, see
// STACK-NOTES "Go, for ground truth"), and a module that says `go 1.NN` laid out by memcheck as the
// newest installed compiler lays it out, log/slog, unique, weak and structs.HostLayout included.
// Skips cleanly where no such Go is installed. Every table entry is probed for the newest release;
// older releases (each compiles the whole standard library twice) with MEMCHECK_SLOW_GROUNDTRUTH=1.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { analyzeFiles } from "../src/analysis/index.ts";
import { chooseGoVersion, stdlibTable, stdlibVersions } from "../src/analysis/stdlib.ts";
import type { StructLayout } from "../src/analysis/model.ts";
import { ROOT, goEnv, probeSource, runProbe } from "./groundtruth-support.ts";
import { tempDir } from "./modules-support.ts";

function installed(minor: string): string | undefined {
  const bin = `/usr/lib/go-${minor}/bin/go`;
  const r = spawnSync(bin, ["env", "GOVERSION"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const releases = stdlibVersions().slice(1);
const minorOf = (v: string) => Number(v.split(".")[1]);

test("tables exist for the base and current releases, and a module's go.mod chooses among them", () => {
  const all = stdlibVersions();
  assert.equal(all[0], "1.19");
  assert.ok(all.includes("1.27"), all.join(","));
  const newest = all[all.length - 1];
  assert.equal(chooseGoVersion({ go: "1.21" }), newest);
  assert.equal(chooseGoVersion({ go: "1.19" }), newest);
  assert.equal(chooseGoVersion({ toolchain: "go1.24.4", go: "1.22" }), all.filter((v) => minorOf(v) <= 24).pop());
  assert.equal(chooseGoVersion({ pin: "1.19", toolchain: "go1.27.1" }), "1.19");
  assert.equal(chooseGoVersion({ pin: "1.25" }), all.filter((v) => minorOf(v) <= 25).pop());
  const t = stdlibTable("1.27");
  for (const k of ["log/slog.Logger", "structs.HostLayout", "unique.Handle", "weak.Pointer", "iter.Seq"]) assert.ok(t.types[k], k);
  assert.equal(stdlibTable("1.19").types["log/slog.Logger"], undefined);
  // A std type that changed: time.Timer lost its runtimeTimer in Go 1.23.
  assert.equal(stdlibTable("1.19").types["time.Timer"].layouts.amd64?.size, 80);
  assert.equal(stdlibTable("1.27").types["time.Timer"].layouts.amd64?.size, 16);
});

for (const minor of releases) {
  const version = installed(minor);
  const table = stdlibTable(minor);
  for (const arch of ["amd64", "386"] as const) {
    test(`Go ${minor} table agrees with ${version ?? `go${minor}`}'s compiler on ${arch}`, {
      skip: !version
        ? `go${minor} is not installed`
        : version !== table.goVersion
          ? `table is from ${table.goVersion}, installed is ${version}`
          : minor !== releases[releases.length - 1] &&
            process.env.MEMCHECK_SLOW_GROUNDTRUTH !== "1" &&
            "older releases: opt in with MEMCHECK_SLOW_GROUNDTRUTH=1",
    }, () => {
      const unlinkable = new Set(["runtime/cgo", "runtime/race"]);
      let entries = Object.entries(table.types).filter(
        ([k, e]) => !e.generic && e.layouts[arch] && !unlinkable.has(k.slice(0, k.lastIndexOf("."))),
      );
      const dir = tempDir(`stdlib-${minor}-${arch}-`);
      writeFileSync(join(dir, "go.mod"), `module probe\n\ngo ${minor}\n`);
      // Constraint interfaces (cmp.Ordered) cannot be a value's type: the compiler names them, and
      // they are left out of the probe (no struct can hold one either).
      for (let attempt = 0; ; attempt++) {
        const { src, firstRow } = probeSource(entries);
        writeFileSync(join(dir, "main.go"), src);
        const r = spawnSync(`/usr/lib/go-${minor}/bin/go`, ["build", "-gcflags=-e", "-o", "probe", "."], {
          cwd: dir,
          env: goEnv({ GOARCH: arch, GOOS: "linux" }),
          encoding: "utf8",
        });
        if (r.status === 0) break;
        const bad = new Set(
          [...r.stderr.matchAll(/main\.go:(\d+):\d+: cannot use type .* outside a type constraint/g)].map((m) => Number(m[1]) - firstRow),
        );
        assert.ok(bad.size > 0 && attempt < 2, r.stderr.slice(0, 2000));
        entries = entries.filter((_, i) => !bad.has(i));
      }
      const problems: string[] = [];
      let n = 0;
      for (const line of runProbe(join(dir, "probe"), arch).trim().split("\n")) {
        const [key, size, align, ptr] = line.split(" ");
        const l = table.types[key].layouts[arch];
        n++;
        if (!l || l.size !== Number(size) || l.align !== Number(align) || l.ptrBytes !== Number(ptr)) {
          problems.push(`${key}: table ${l?.size}/${l?.align}/${l?.ptrBytes}, gc ${size}/${align}/${ptr}`);
        }
      }
      assert.equal(n, entries.length);
      assert.deepEqual(problems, []);
    });
  }
}

const newest = releases[releases.length - 1];
const newestGo = newest ? installed(newest) : undefined;

const MODERN = `package modern

import (
	"log/slog"
	"structs"
	"sync"
	"time"
	"unique"
	"weak"
)

type Set[T comparable] = map[T]struct{}

type Event struct {
	_      structs.HostLayout
	logger slog.Logger
	rec    slog.Record
	mu     sync.Mutex
	seen   sync.Map
	timer  time.Timer
	name   unique.Handle[string]
	cache  weak.Pointer[Event]
	tags   Set[string]
	ok     bool
}

func Make() *int64 { return new(int64(42)) }
`;

test(`a go ${newest ?? "1.NN"} module is laid out as ${newestGo ?? "the newest Go"} lays it out, with no syntax notes`, {
  skip: !newestGo && "no current Go installed",
}, async () => {
  const goMod = `module example.com/modern\n\ngo ${newest}\n`;
  const a = await analyzeFiles(
    [
      { path: "go.mod", text: goMod },
      { path: "modern.go", text: MODERN },
    ],
    { archs: ["amd64", "386"] },
  );
  assert.deepEqual(a.diagnostics, []);
  assert.equal(a.go, newestGo);
  const ev = a.structs.find((s) => s.name === "Event");
  assert.ok(ev?.resolved, JSON.stringify(ev?.unresolved));
  const dir = process.env.MEMCHECK_KEEP_PROBE ?? tempDir("modern-");
  writeFileSync(join(dir, "go.mod"), goMod);
  writeFileSync(join(dir, "modern.go"), MODERN);
  const offsets = (ev.layouts.amd64 as StructLayout).fields
    .filter((f) => f.name !== "_")
    .map((f) => `\tfmt.Printf(" %d", unsafe.Offsetof(e.${f.name}))\n`)
    .join("");
  writeFileSync(
    join(dir, "probe_test.go"),
    `package modern\n\nimport (\n\t"fmt"\n\t"testing"\n\t"unsafe"\n)\n\nfunc TestProbe(t *testing.T) {\n\tvar e Event\n\tfmt.Printf("PROBE %d %d", unsafe.Sizeof(e), unsafe.Alignof(e))\n${offsets}\tfmt.Println()\n}\n`,
  );
  for (const arch of ["amd64", "386"] as const) {
    // A test binary, run natively or under qemu-user (some hosts cannot run 386 binaries).
    const bin = join(dir, `probe-${arch}.test`);
    execFileSync(`/usr/lib/go-${newest}/bin/go`, ["test", "-c", "-o", bin, "."], {
      cwd: dir,
      env: goEnv({ GOARCH: arch, GOOS: "linux" }),
      stdio: "pipe",
    });
    const out = runProbe(bin, arch, { cwd: dir }).match(/PROBE ([\d ]+)/)?.[1];
    const l = ev.layouts[arch] as StructLayout;
    assert.equal(out?.trim(), [l.size, l.align, ...l.fields.filter((f) => f.name !== "_").map((f) => f.offset)].join(" "), arch);
  }
});

test("the newest table is what scripts/gen-stdlib.sh --release generates", {
  skip: (!newestGo || process.env.MEMCHECK_SLOW_GROUNDTRUTH !== "1") && "opt in with MEMCHECK_SLOW_GROUNDTRUTH=1 (needs the newest Go)",
}, () => {
  const file = join(ROOT, "src", "analysis", `stdlib-go${newest}.json`);
  const before = readFileSync(file, "utf8");
  execFileSync("sh", ["scripts/gen-stdlib.sh", "--release"], {
    cwd: ROOT,
    env: { ...process.env, GO: `/usr/lib/go-${newest}/bin/go` },
    stdio: "pipe",
  });
  assert.ok(
    readFileSync(file, "utf8") === before,
    `stdlib-go${newest}.json is stale: run GO=/usr/lib/go-${newest}/bin/go scripts/gen-stdlib.sh --release`,
  );
});
