// The standard-library table (src/analysis/stdlib-table.json) against the gc compiler: a
// generated program takes reflect's Size/Align and the runtime type's ptrdata of every
// non-generic exported type in the table, built for GOARCH=amd64 and GOARCH=386. Also checks
// that the table covers the packages memcheck promises and that it is what the generator makes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, buildGosizes, goEnv, haveGo, probeSource, runProbe } from "./groundtruth-support.ts";
import { ALL_ARCHS } from "../src/analysis/model.ts";

interface Layout {
  size: number;
  align: number;
  ptrBytes: number;
  fields?: number[][];
}
interface Entry {
  kind: string;
  generic?: boolean;
  alias?: string;
  note?: string;
  layouts: Record<string, Layout>;
}
interface Table {
  schema: string;
  goVersion: string;
  archs: string[];
  types: Record<string, Entry>;
  consts: Record<string, string>;
}

const TABLE_PATH = join(ROOT, "src", "analysis", "stdlib-table.json");
const table = JSON.parse(readFileSync(TABLE_PATH, "utf8")) as Table;
const goVersion = haveGo() ? execFileSync("go", ["env", "GOVERSION"], { encoding: "utf8" }).trim() : "";
const noGo = !haveGo() && "go not installed";

const REQUIRED = [
  "bufio",
  "bytes",
  "container/list",
  "container/ring",
  "context",
  "crypto/tls",
  "crypto/x509",
  "crypto/rsa",
  "crypto/ecdsa",
  "database/sql",
  "encoding/json",
  "encoding/xml",
  "expvar",
  "fmt",
  "hash",
  "html/template",
  "io",
  "io/fs",
  "log",
  "math/big",
  "math/rand",
  "mime/multipart",
  "net",
  "net/http",
  "net/http/httptest",
  "net/netip",
  "net/url",
  "os",
  "os/exec",
  "path/filepath",
  "reflect",
  "regexp",
  "sort",
  "strings",
  "sync",
  "sync/atomic",
  "text/template",
  "time",
];

test("stdlib table: schema, archs and coverage", () => {
  assert.equal(table.schema, "memcheck.stdlib/v1");
  assert.equal(table.archs.length, 14);
  const pkgs = new Set(Object.keys(table.types).map((k) => k.slice(0, k.lastIndexOf("."))));
  for (const p of REQUIRED) assert.ok(pkgs.has(p), `no types of ${p}`);
  const tt = table.types["time.Time"];
  assert.equal(tt.kind, "struct");
  assert.deepEqual([tt.layouts.amd64.size, tt.layouts.amd64.align, tt.layouts.amd64.ptrBytes], [24, 8, 24]);
  assert.deepEqual([tt.layouts["386"].size, tt.layouts["386"].align, tt.layouts["386"].ptrBytes], [20, 4, 20]);
  for (const arch of ["386", "arm", "mips", "mipsle"]) assert.equal(table.types["sync/atomic.Int64"].layouts[arch].align, 8);
  assert.equal(table.types["net/http.Header"].kind, "map");
  assert.equal(table.types["context.Context"].kind, "interface");
  assert.equal(table.types["time.Duration"].kind, "basic");
  assert.equal(table.types["net.IP"].kind, "slice");
  assert.equal(table.types["os.FileMode"].alias, "io/fs.FileMode");
  const ap = table.types["sync/atomic.Pointer"];
  assert.equal(ap.generic, true);
  assert.equal(ap.layouts.amd64.size, 8);
  assert.ok(table.types["sync.WaitGroup"].note?.includes("1.20"));
  assert.equal(table.consts["crypto/sha256.Size"], "32");
  assert.ok(Buffer.byteLength(readFileSync(TABLE_PATH)) < 3_000_000);
});

test("stdlib table is what scripts/gen-stdlib.sh generates", {
  skip: noGo || (goVersion !== table.goVersion && `table is from ${table.goVersion}, go is ${goVersion}`),
}, () => {
  const dir = mkdtempSync(join(tmpdir(), "stdlib-regen-"));
  try {
    const out = join(dir, "t.json");
    execFileSync(buildGosizes(), ["-stdlib", "-arch", "all", "-pkgs", "all", "-o", out], { stdio: "pipe" });
    assert.ok(readFileSync(out, "utf8") === readFileSync(TABLE_PATH, "utf8"), "stdlib-table.json is stale: run scripts/gen-stdlib.sh");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const arch of ["amd64", "386"]) {
  test(`stdlib table agrees with the gc compiler on ${arch}`, {
    skip: noGo || (goVersion !== table.goVersion && `table is from ${table.goVersion}, go is ${goVersion}`),
  }, () => {
    // runtime/cgo and runtime/race cannot be linked into a CGO_ENABLED=0, non-race binary.
    const unlinkable = new Set(["runtime/cgo", "runtime/race"]);
    const entries = Object.entries(table.types).filter(
      ([k, e]) => !e.generic && e.layouts[arch] && !unlinkable.has(k.slice(0, k.lastIndexOf("."))),
    );
    const { src } = probeSource(entries);
    const dir = mkdtempSync(join(tmpdir(), `stdlib-probe-${arch}-`));
    try {
      writeFileSync(join(dir, "go.mod"), "module probe\n\ngo 1.19\n");
      writeFileSync(join(dir, "main.go"), src);
      execFileSync("go", ["build", "-o", "probe", "."], { cwd: dir, env: goEnv({ GOARCH: arch, GOOS: "linux" }), stdio: "pipe" });
      const out = runProbe(join(dir, "probe"), arch);
      const problems: string[] = [];
      let n = 0;
      for (const line of out.trim().split("\n")) {
        const [key, size, align, ptr] = line.split(" ");
        const l = table.types[key].layouts[arch];
        n++;
        if (l.size !== Number(size) || l.align !== Number(align) || l.ptrBytes !== Number(ptr)) {
          problems.push(`${key}: table ${l.size}/${l.align}/${l.ptrBytes}, gc ${size}/${align}/${ptr}`);
        }
      }
      assert.equal(n, entries.length);
      assert.deepEqual(problems, []);
      console.log(`# ${n} stdlib types agree with gc on ${arch}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

// Slow (compiles the whole standard library for 14 archs on a cold cache): opt in with
// MEMCHECK_SLOW_GROUNDTRUTH=1. Size and alignment of every table entry become compile-time
// assertions that `go build` must accept for each GOARCH.
const ALL: readonly string[] = ALL_ARCHS;
test("stdlib table sizes and alignments compile as assertions on all 14 archs", {
  skip:
    noGo ||
    (goVersion !== table.goVersion && "go version differs") ||
    (!process.env.MEMCHECK_SLOW_GROUNDTRUTH && "set MEMCHECK_SLOW_GROUNDTRUTH=1"),
}, () => {
  const failures: string[] = [];
  let n = 0;
  for (const arch of ALL) {
    const unlinkable = new Set(["runtime/cgo", "runtime/race"]);
    const entries = Object.entries(table.types).filter(
      ([k, e]) => !e.generic && e.layouts[arch] && !unlinkable.has(k.slice(0, k.lastIndexOf("."))),
    );
    const pkgs = [...new Set(entries.map(([k]) => k.slice(0, k.lastIndexOf("."))))].sort();
    const alias = new Map(pkgs.map((p, i) => [p, `p${i}`]));
    const body = entries.map(([k, e], i) => {
      const j = k.lastIndexOf(".");
      const l = e.layouts[arch];
      return (
        `var v${i} ${alias.get(k.slice(0, j))}.${k.slice(j + 1)}\n` +
        `var _ [${l.size}]byte = [unsafe.Sizeof(v${i})]byte{} // ${k}\n` +
        `var _ [${l.align}]byte = [unsafe.Alignof(v${i})]byte{} // ${k}`
      );
    });
    const src = `package probe\n\nimport (\n\t"unsafe"\n${pkgs.map((p) => `\t${alias.get(p)} ${JSON.stringify(p)}`).join("\n")}\n)\n\n${body.join("\n")}\n`;
    const dir = mkdtempSync(join(tmpdir(), `stdlib-x-${arch}-`));
    try {
      writeFileSync(join(dir, "go.mod"), "module probe\n\ngo 1.19\n");
      writeFileSync(join(dir, "probe.go"), src);
      const r = spawnSync("go", ["build", "-gcflags=-e", "."], {
        cwd: dir,
        env: goEnv({ GOARCH: arch, GOOS: arch === "wasm" ? "js" : "linux" }),
        encoding: "utf8",
      });
      if (r.status !== 0) failures.push(`${arch}:\n${r.stderr.slice(0, 5000)}`);
      n += entries.length;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  assert.deepEqual(failures, [], failures.join("\n"));
  console.log(`# ${n} (type, arch) stdlib sizes and alignments accepted by gc`);
});
