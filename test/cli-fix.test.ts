// `memcheck fix` on test/fixtures/fix: the rewritten code is gofmt-clean, builds and vets with the
// installed Go, its layouts are the optimal ones according to Go's own go/types (tools/gosizes),
// comments and tags survive, and the structs where a reorder is unsafe are untouched.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync, spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { goEnv, haveGo, runGosizes } from "./groundtruth-support.ts";
import { fieldCells, hasUnkeyedLiteral, planFix, tabwrite, usesCgo } from "../src/report/rewrite.ts";
import { goFile, struct } from "./report-fixtures.ts";

const bin = path.resolve("bin/memcheck.js");
const FIXTURE = path.resolve("test/fixtures/fix");
const go = haveGo();
let dir: string;

function memcheck(args: string[], cwd = dir) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The text of `type Name struct { … }` in a file. */
function structText(file: string, name: string): string {
  const text = readFileSync(path.join(dir, file), "utf8");
  const m = new RegExp(`type ${name} struct \\{[\\s\\S]*?\\n\\}`).exec(text);
  assert.ok(m, `${name} in ${file}`);
  return m[0];
}

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "memcheck-fix-"));
  cpSync(FIXTURE, dir, { recursive: true });
  execFileSync("git", ["init", "-q"], { cwd: dir });
  execFileSync("git", ["add", "-A"], { cwd: dir });
  execFileSync("git", ["-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "fixture"], { cwd: dir });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("--dry-run prints a unified diff that git applies, and writes nothing", () => {
  const r = memcheck(["fix", "--dry-run", "./..."]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^--- a\/shop\/shop\.go\n\+\+\+ b\/shop\/shop\.go\n@@ -\d+,\d+ \+\d+,\d+ @@/);
  assert.match(r.err, /^shop\/shop\.go:10: Order: 56 → 40 bytes on amd64$/m);
  assert.match(r.err, /^4 structs would be reordered$/m);
  assert.equal(execFileSync("git", ["status", "--porcelain"], { cwd: dir, encoding: "utf8" }), "", "nothing written");
  writeFileSync(path.join(dir, "fix.patch"), r.out);
  execFileSync("git", ["apply", "--check", "fix.patch"], { cwd: dir });
  rmSync(path.join(dir, "fix.patch"));
});

test("fix rewrites in place: gofmt-clean, builds, vets, optimal on amd64 (go/types), comments and tags kept", {
  skip: !go && "Go is not installed",
}, () => {
  const original = readFileSync(path.join(dir, "shop/shop.go"), "utf8");
  const untouched = ["Keep", "Lint", "Positional", "Aligned"].map((n) => structText("shop/shop.go", n));
  const elided = structText("wire/wire.go", "Elided");
  const r = memcheck(["fix", "./..."]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /^4 structs reordered$/m);
  const fixed = readFileSync(path.join(dir, "shop/shop.go"), "utf8");
  assert.notEqual(fixed, original);

  assert.equal(execFileSync("gofmt", ["-l", "."], { cwd: dir, encoding: "utf8" }), "", "gofmt-clean");
  execFileSync("go", ["build", "./..."], { cwd: dir, env: goEnv(), stdio: "pipe" });
  execFileSync("go", ["vet", "./..."], { cwd: dir, env: goEnv(), stdio: "pipe" });

  // Every comment line and every tag of the original is still there, and nothing else was added.
  for (const line of original.split("\n")) {
    const comment = /\/\/.*$/.exec(line)?.[0];
    if (comment) assert.ok(fixed.includes(comment), `comment kept: ${comment}`);
    const tag = /`[^`]*`/.exec(line)?.[0];
    if (tag) assert.ok(fixed.includes(tag), `tag kept: ${tag}`);
  }
  assert.equal(fixed.split("\n").length, original.split("\n").length, "blank lines kept, none added");
  for (const [i, n] of ["Keep", "Lint", "Positional", "Aligned"].entries())
    assert.equal(structText("shop/shop.go", n), untouched[i], `${n} untouched`);
  assert.equal(structText("wire/wire.go", "Elided"), elided, "Elided untouched");

  // Go's own sizes (tools/gosizes: go/types with the compiler's rules) say the new order is optimal.
  const truth = runGosizes(dir, ["amd64", "arm64"]);
  const byName = new Map(truth.structs.map((s) => [s.name, s]));
  for (const n of ["Order", "Item", "Keyed"]) {
    const l = byName.get(n)?.layouts.amd64;
    assert.ok(l, n);
    assert.equal(l.size, l.optimalSize, `${n} is optimal on amd64`);
  }
  assert.equal(byName.get("Order")?.layouts.amd64?.size, 40);
  // Counter keeps its 64-bit first field first (sync/atomic alignment on 32-bit archs).
  assert.match(structText("shop/shop.go", "Counter"), /struct \{\n\thits {2}int64\n/);
  assert.equal(byName.get("Counter")?.layouts.amd64?.size, 32);
  for (const s of truth.structs) {
    const a = s.layouts.arm64;
    if (a && ["Order", "Item", "Keyed", "Counter"].includes(s.name)) assert.ok(a.size <= 40, `${s.name} on arm64 not worse`);
  }
  // A second run has nothing left to do.
  assert.match(memcheck(["fix", "./..."]).err, /^0 structs reordered$/m);
});

test("a file with cgo is left alone; --arch picks the arch", () => {
  const cgo = mkdtempSync(path.join(os.tmpdir(), "memcheck-fix-cgo-"));
  try {
    writeFileSync(path.join(cgo, "go.mod"), "module example.com/cgo\n\ngo 1.19\n");
    const text = 'package cgo\n\n// #include <stdint.h>\nimport "C"\n\ntype T struct {\n\tA bool\n\tB int64\n\tC bool\n}\n';
    writeFileSync(path.join(cgo, "c.go"), text);
    writeFileSync(path.join(cgo, "plain.go"), "package cgo\n\ntype U struct {\n\tA bool\n\tB int64\n\tC bool\n}\n");
    const r = memcheck(["fix", "--verbose", "--arch", "386,amd64", "."], cgo);
    assert.equal(r.code, 0, r.err);
    // cgo is off, as when cross-compiling: a file importing "C" is not even analysed.
    assert.doesNotMatch(r.err, /\bT\b/);
    assert.match(r.err, /plain\.go:3: U: 16 → 12 bytes on 386/);
    assert.equal(readFileSync(path.join(cgo, "c.go"), "utf8"), text);
    assert.equal(readFileSync(path.join(cgo, "plain.go"), "utf8"), "package cgo\n\ntype U struct {\n\tB int64\n\tA bool\n\tC bool\n}\n");
  } finally {
    rmSync(cgo, { recursive: true, force: true });
  }
});

test("unkeyed literals, cgo imports and gofmt's columns, unit by unit", () => {
  assert.ok(hasUnkeyedLiteral("T", ["x := T{1, 2}"]));
  assert.ok(hasUnkeyedLiteral("T", ["x := &T{a, b}"]));
  assert.ok(hasUnkeyedLiteral("T", ["var xs = []T{{1, 2}}"]));
  assert.ok(hasUnkeyedLiteral("T", ['var m = map[string]T{"a": {1, 2}}']));
  assert.ok(hasUnkeyedLiteral("T", ["var xs = [2]*T{&{1, 2}}"]));
  assert.ok(!hasUnkeyedLiteral("T", ["x := T{A: 1, B: 2}", "y := T{}", "func f() T { return T{A: 1} }", "func (t T) M() {}"]));
  assert.ok(!hasUnkeyedLiteral("T", ['s := "T{1, 2}" // T{1, 2}', "x := pkg.T{1, 2}", "x := MyT{1, 2}"]));
  assert.ok(!hasUnkeyedLiteral("T", ["func New() *T {\n\treturn nil\n}"]));
  assert.ok(usesCgo('package p\n\nimport "C"\n'));
  assert.ok(usesCgo('package p\n\nimport (\n\t"fmt"\n\t"C"\n)\n'));
  assert.ok(!usesCgo('package p\n\nimport "fmt"\n'));
  assert.deepEqual(fieldCells('\tA, B int `json:"a"` // c'), ["A, B", "int", "", '`json:"a"`', "// c"]);
  assert.deepEqual(fieldCells("\tio.Reader // r"), ["io.Reader", "", "// r"]);
  assert.deepEqual(
    tabwrite([
      ["A", "int"],
      ["// doc"],
      ["Bbbbbb", "int"],
      ["C", "int", "// c"],
      ["Dddd", "string", "", "`t`"],
      ["io.Reader"],
      ["Fff", "int", "// f"],
      ["Writer", "", "// w"],
    ]),
    [
      "\tA int",
      "\t// doc",
      "\tBbbbbb int",
      "\tC      int    // c",
      "\tDddd   string `t`",
      "\tio.Reader",
      "\tFff    int // f",
      "\tWriter     // w",
    ],
  );
});

test("the order for the optimised arch is not applied when it makes a guarded arch larger", () => {
  const body = ["\tA bool", "\tB int64", "\tC bool"];
  const { text, source } = goFile("T", body);
  const s = struct(
    "T",
    [
      ["A", "bool"],
      ["B", "int64"],
      ["C", "bool"],
    ],
    { archs: ["amd64"], source },
  );
  const amd64 = s.layouts.amd64;
  assert.ok(amd64 && amd64.optimalSize < amd64.size);
  const ok = planFix(s, { arch: "amd64", fileText: text });
  assert.ok(ok.ok);
  assert.deepEqual(ok.edit.lines, ["\tB int64", "\tA bool", "\tC bool"]);
  // A made-up arch where A is 4 bytes, B and C 2: A, B, C packs into 8 bytes, B first needs 12.
  const f = (name: string, size: number, align: number) => ({ name, type: "x", offset: 0, size, align, ptrBytes: 0 });
  s.layouts.arm = { ...amd64, size: 8, align: 4, fields: [f("A", 4, 4), f("B", 2, 2), f("C", 2, 2)] };
  const guarded = planFix(s, { arch: "amd64", guardArchs: ["arm"], fileText: text });
  assert.deepEqual(guarded, { ok: false, reason: "the order for amd64 makes it larger on arm" });
});
