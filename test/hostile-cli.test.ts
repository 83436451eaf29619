// The CLI on hostile trees: a 50 MB .go file is skipped with a note (and never parsed), and every
// pathological input of test/fixtures/hostile/generators.ts, in one tree, gives exit code 0 for
// `layout` and `check` and 0 or 1 for `diff` -- never 3 (internal error).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Parser } from "web-tree-sitter";
import { analyzeFiles, DEFAULT_MAX_FILE_BYTES } from "../src/analysis/index.ts";
import { layoutTable } from "../src/report/layout-table.ts";
import type { Analysis } from "../src/analysis/model.ts";
import { bigGoFile, parserBlowup, pathologicalFiles } from "./fixtures/hostile/generators.ts";

const bin = path.resolve("bin/memcheck.js");
const BIG = 50 * 1024 * 1024;

/** Run the CLI; output goes to files, since some of it is large. */
function memcheck(args: string[], cwd = process.cwd(), timeout = 0): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd, timeout, killSignal: "SIGKILL" });
    let out = "";
    let err = "";
    // Keep the head and the tail of large outputs (the summary is the last line).
    let head = "";
    child.stdout.on("data", (c) => {
      if (head.length < 100_000) head += c;
      out = (out + c).slice(-100_000);
    });
    child.on("close", () => (out = head.length < 100_000 ? head : `${head}\n...\n${out}`));
    child.stderr.on("data", (c) => (err += c));
    child.on("close", (code) => resolve({ code, out, err }));
  });
}

let dir: string;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "memcheck-hostile-"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("a 50 MB .go file is skipped with a note and never reaches the parser", async () => {
  const text = bigGoFile(BIG);
  assert.ok(text.length >= BIG && text.length > DEFAULT_MAX_FILE_BYTES);
  let longest = 0;
  const parse = Parser.prototype.parse;
  Parser.prototype.parse = function (this: Parser, ...args: Parameters<Parser["parse"]>) {
    if (typeof args[0] === "string") longest = Math.max(longest, args[0].length);
    return parse.apply(this, args);
  };
  try {
    const a = await analyzeFiles(
      [
        { path: "big/big.go", text },
        { path: "big/small.go", text: "package big\n\ntype S struct{ a int8; b int64 }\n" },
      ],
      { rules: true },
    );
    assert.ok(longest > 0 && longest < 1000, `the parser saw ${longest} characters at most`);
    assert.deepEqual(
      a.structs.map((s) => [s.name, s.layouts.amd64?.size]),
      [["S", 16]],
    );
    assert.deepEqual(
      a.diagnostics.map((d) => [d.file, d.message]),
      [["big/big.go", `skipped: ${text.length} bytes is over the ${DEFAULT_MAX_FILE_BYTES}-byte limit per file`]],
    );
  } finally {
    Parser.prototype.parse = parse;
  }

  const root = path.join(dir, "bigfile");
  mkdirSync(path.join(root, "pkg"), { recursive: true });
  writeFileSync(path.join(root, "pkg/big.go"), text);
  writeFileSync(path.join(root, "pkg/small.go"), "package big\n\ntype S struct{ a int8; b int64 }\n");
  const r = await memcheck(["layout", `${root}/...`]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^S\s+pkg\/small\.go:3\s+amd64\s+16\b/m);
  assert.match(r.out, /pkg\/big\.go: skipped: \d+ bytes is over the 4194304-byte limit per file/);
  const c = await memcheck(["check", `${root}/...`]);
  assert.equal(c.code, 0, c.err);
});

test("every pathological input under the CLI: layout and check exit 0, diff 0 or 1, never 3", { timeout: 10 * 60_000 }, async () => {
  const repo = path.join(dir, "repo");
  mkdirSync(repo);
  const git = (...a: string[]) => execFileSync("git", a, { cwd: repo, stdio: "pipe" });
  git("init", "-q", "-b", "main");
  git("config", "user.email", "t@example.com");
  git("config", "user.name", "t");
  writeFileSync(path.join(repo, "go.mod"), "module example.com/hostile\n\ngo 1.21\n");
  mkdirSync(path.join(repo, "ok"));
  writeFileSync(path.join(repo, "ok/ok.go"), "package ok\n\ntype T struct {\n\ta int64\n}\n");
  git("add", "-A");
  git("commit", "-qm", "base");
  // Full nesting depth; 10,000 rather than 100,000 declarations per file (hostile-inputs.test.ts
  // runs those), to keep this test's time reasonable.
  const files = pathologicalFiles(10_000, 10_000);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.join(repo, name));
    writeFileSync(path.join(repo, name, "p.go"), text);
  }
  // Marked hot: under the fail policy only a type with many values (or marked hot) fails on a size class.
  writeFileSync(path.join(repo, "ok/ok.go"), "package ok\n\n//memcheck:hot\ntype T struct {\n\tb bool\n\ta int64\n\tc bool\n}\n");
  git("add", "-A");
  git("commit", "-qm", "head");

  const layout = await memcheck(["layout", "--arch", "amd64,386", `${repo}/...`]);
  assert.equal(layout.code, 0, layout.err);
  assert.match(layout.out, /structs, \d+ resolved/);
  const check = await memcheck(["check", `${repo}/...`]);
  assert.equal(check.code, 0, check.err);
  assert.match(check.out, /\d+ findings?( \([^)]*\))?\n$/); // "3 findings (1 warning, 2 notices)"
  const diff = await memcheck(["diff", "--repo", repo, "--base", "main~1", "--head", "main", "--markdown"]);
  assert.ok(diff.code === 0 || diff.code === 1, `diff exit ${diff.code}: ${diff.err}`);
  assert.match(diff.out, /\d+ structs? (regressed|grew)/);
  assert.doesNotMatch(
    diff.out + layout.out + check.out,
    /[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]/u,
    "no raw control or bidi characters from the input",
  );
});

// Found here: Math.max(...rows) in src/report/layout-table.ts overflowed the stack past ~125,000
// rows, and `memcheck layout` exited 3 (fixed in 7f9d490).
test("the layout table of more than 125,000 structs", () => {
  const s = {
    package: "p",
    dir: "p",
    file: "p/p.go",
    line: 1,
    name: "T",
    generic: false,
    resolved: true,
    unresolved: [],
    layouts: {
      amd64: {
        size: 8,
        align: 8,
        padding: 0,
        trailingPadding: 0,
        ptrBytes: 0,
        sizeClass: 8,
        optimalSize: 8,
        optimalPtrBytes: 0,
        optimalOrder: ["a"],
        pointerDepth: 0,
        cyclic: false,
        pointerChain: [],
        pointerFields: 0,
        fields: [],
      },
    },
  };
  const a: Analysis = {
    schema: "memcheck.layout/v1",
    goos: "linux",
    archs: ["amd64"],
    structs: Array.from({ length: 130_000 }, (_, i) => ({ ...s, line: i + 1 })),
    diagnostics: [],
    findings: [],
    stats: { files: 1, bytes: 0, parseMs: 0, layoutMs: 0 },
  };
  assert.match(layoutTable(a), /130000 structs/);
});

/** A repository whose head adds a file that sends tree-sitter's error recovery exponential. */
function blowupRepo(): string {
  const repo = path.join(dir, "blowup");
  mkdirSync(path.join(repo, "p"), { recursive: true });
  const git = (...a: string[]) => execFileSync("git", a, { cwd: repo, stdio: "pipe" });
  git("init", "-q", "-b", "main");
  git("config", "user.email", "t@example.com");
  git("config", "user.name", "t");
  writeFileSync(path.join(repo, "go.mod"), "module example.com/blowup\n\ngo 1.21\n");
  writeFileSync(path.join(repo, "p/ok.go"), "package p\n\ntype A struct {\n\tx int64\n\ty bool\n}\n");
  git("add", "-A");
  git("commit", "-qm", "base");
  writeFileSync(path.join(repo, "p/bad.go"), parserBlowup(100));
  git("add", "-A");
  git("commit", "-qm", "head");
  return repo;
}

test("diff on a file that makes the parser exponential: skipped with a note, not a hang", { timeout: 3 * 60_000 }, async () => {
  // Found by the long fuzz run (seed 7, case 292668); the parse pool's time budget bounds it.
  const repo = blowupRepo();
  const diff = await memcheck(["diff", "--repo", repo, "--base", "main~1", "--head", "main", "--markdown"], process.cwd(), 120_000);
  assert.ok(diff.code === 0 || diff.code === 1, `diff exit ${diff.code}: ${diff.err}`);
  assert.match(diff.out, /p\/bad\.go`? skipped: parsing took over \d+ s/);
  // `memcheck check` goes through the same pool; one command is enough (each costs the 10 s budget).
});

test("layout and explain on a file that makes the parser exponential", async () => {
  const repo = path.join(dir, "blowup");
  const r = await memcheck(["layout", "--parse-timeout", "2", `${repo}/...`], process.cwd(), 30_000);
  assert.equal(r.code, 0, `layout exit ${r.code} (null: killed after 30 s)`);
  assert.match(r.out, /bad\.go: skipped: parsing took over \d+ s/);
});
