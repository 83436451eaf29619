// The memcheck command end to end: real processes, real git repositories in temp dirs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const bin = path.resolve("bin/memcheck.js");

function memcheck(args: string[], cwd = process.cwd()) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function tempRepo(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "memcheck-cli-"));
  const git = (...a: string[]) => execFileSync("git", a, { cwd: dir, stdio: "pipe" });
  git("init", "-q", "-b", "main");
  git("config", "user.email", "t@example.com");
  git("config", "user.name", "t");
  writeFileSync(path.join(dir, "go.mod"), "module example.com/shop\n\ngo 1.21\n");
  mkdirSync(path.join(dir, "order"));
  writeFileSync(path.join(dir, "order/order.go"), "package order\n\ntype Order struct {\n\tID    int64\n\tTotal int64\n\tPaid  bool\n}\n");
  git("add", "-A");
  git("commit", "-qm", "base");
  return dir;
}

test("layout --json prints the memcheck.layout/v1 schema", () => {
  const r = memcheck(["layout", "--json", "--arch", "amd64,386", "test/fixtures/compiler-truth"]);
  assert.equal(r.code, 0, r.err);
  const j = JSON.parse(r.out);
  assert.equal(j.schema, "memcheck.layout/v1");
  assert.deepEqual(j.archs, ["amd64", "386"]);
  const order = j.structs.find((s: { name: string }) => s.name === "Order");
  assert.equal(order.package, "example.com/compilertruth");
  assert.equal(order.dir, ".");
  assert.equal(order.file, "main.go");
  assert.equal(order.layouts.amd64.size, 32);
  assert.equal(order.layouts["386"].size, 20);
  assert.equal(order.source, undefined, "source positions stay internal");
});

test("layout prints a table with the resolution rate", () => {
  const r = memcheck(["layout", "test/fixtures/compiler-truth"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Order\s+main\.go:\d+\s+amd64\s+32/);
  assert.match(r.out, /structs, \d+ resolved \(100\.0%\)/);
});

test("explain draws one struct", () => {
  const r = memcheck(["explain", "Order", "test/fixtures/compiler-truth"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /Order \(amd64\): 32 B/);
  assert.match(r.out, /padding 7/);
});

test("usage errors are one line and exit 2", () => {
  const missing = memcheck(["layout", "/nonexistent/dir"]);
  assert.equal(missing.code, 2);
  assert.equal(missing.err.trim(), "memcheck: /nonexistent/dir: no such file or directory");
  assert.equal(memcheck(["layout", "--arch", "sparc", "."]).code, 2);
  const notGo = memcheck(["layout", "package.json"]);
  assert.equal(notGo.code, 2);
  const tmp = mkdtempSync(path.join(os.tmpdir(), "memcheck-nogit-"));
  try {
    const r = memcheck(["diff", "--base", "main"], tmp);
    assert.equal(r.code, 2);
    assert.match(r.err, /not a git repository/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test("diff exits 1 on a regression of a type with many values, 0 on a singleton's notice", () => {
  const dir = tempRepo();
  try {
    assert.equal(memcheck(["diff", "--base", "nosuchref"], dir).code, 2);
    // A harmless change: same size class.
    writeFileSync(
      path.join(dir, "order/order.go"),
      "package order\n\ntype Order struct {\n\tID    int64\n\tTotal int64\n\tPaid  bool\n\tOpen  bool\n}\n",
    );
    const ok = memcheck(["diff", "--base", "main"], dir);
    assert.equal(ok.code, 0, ok.out + ok.err);
    // Growing 24 -> 40 bytes crosses size class 24 -> 48. Nothing says there are many Orders: a
    // notice, not a failure (this test asserted a failure before the fail policy).
    const grown = "\ntype Order struct {\n\tPaid  bool\n\tID    int64\n\tOpen  bool\n\tTotal int64\n\tNote  bool\n}\n";
    writeFileSync(path.join(dir, "order/order.go"), `package order\n${grown}`);
    const notice = memcheck(["diff", "--base", "main", "--json"], dir);
    assert.equal(notice.code, 0, notice.err);
    const nd = JSON.parse(notice.out);
    assert.equal(nd.regressions.length, 0);
    assert.ok(nd.notices.some((r: { kind: string; reason: string }) => r.kind === "size-class" && /no evidence of many/.test(r.reason)));
    assert.equal(memcheck(["diff", "--base", "main", "--policy", "legacy"], dir).code, 1);
    // Orders built per request in a handler: the same growth fails, and says why.
    writeFileSync(
      path.join(dir, "order/order.go"),
      `package order\n\nimport "net/http"\n${grown}\nfunc handle(w http.ResponseWriter, r *http.Request) {\n\to := &Order{}\n\t_ = o\n}\n`,
    );
    const bad = memcheck(["diff", "--base", "main", "--json"], dir);
    assert.equal(bad.code, 1, bad.err);
    const diff = JSON.parse(bad.out);
    assert.equal(diff.structs[0].name, "Order");
    assert.equal(diff.structs[0].deltas.amd64.sizeClassAfter, 48);
    const r = diff.regressions.find((x: { kind: string }) => x.kind === "size-class");
    assert.match(r.reason, /many values: .*per request .*order\/order\.go:14/);
    const text = memcheck(["diff", "--base", "main"], dir);
    assert.equal(text.code, 1);
    assert.match(text.out, /why: Order has many values/);
    const md = memcheck(["diff", "--base", "main", "--markdown"], dir);
    assert.equal(md.code, 1);
    assert.match(md.out, /Why it fails: Order has many values/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
