// The memcheck command as Go engineers expect it: package patterns, `path:line:col:` findings
// relative to the current directory, --format, --fail-on, --version, colour, a closed stdout and
// //nolint. Real processes on a temporary monorepo.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const bin = path.resolve("bin/memcheck.js");
let repo: string;

function memcheck(args: string[], cwd: string, env: Record<string, string | undefined> = {}) {
  const e: Record<string, string | undefined> = {
    ...process.env,
    NO_COLOR: undefined,
    FORCE_COLOR: undefined,
    GITHUB_ACTIONS: undefined,
    ...env,
  };
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8", env: e as NodeJS.ProcessEnv });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function write(file: string, text: string) {
  mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
  writeFileSync(path.join(repo, file), text);
}

// A padded struct (MC151, notice) and a handler reading an unbounded body (MC101, warning), in a
// module that lives in a subfolder of the repository (backend/), as in a monorepo.
const SHOP = `package shop

import (
	"io"
	"net/http"
)

type Order struct {
	Paid  bool
	ID    int64
	Open  bool
	Total int64
	Gift  bool
}

func Handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	_ = body
}
`;

before(() => {
  repo = mkdtempSync(path.join(os.tmpdir(), "memcheck-conv-"));
  execFileSync("git", ["init", "-q", "-b", "main"], { cwd: repo });
  write("backend/go.mod", "module example.com/backend\n\ngo 1.21\n");
  write("backend/shop/shop.go", SHOP);
  write("backend/shop/inner/inner.go", "package inner\n\ntype Inner struct {\n\tA bool\n\tB int64\n\tC bool\n}\n");
  write("backend/root.go", "package backend\n\ntype Root struct{ A int64 }\n");
});

after(() => rmSync(repo, { recursive: true, force: true }));

test("check prints path:line:col: severity: message (MCxxx), relative to the current directory", () => {
  const r = memcheck(["check", "./backend/..."], repo);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split("\n");
  assert.ok(
    lines.includes(
      "backend/shop/shop.go:8:1: notice: Order is 40 bytes on amd64, 21 of them padding; ordering its fields as ID, Total, Paid, Open, Gift makes it 24 bytes (16 bytes, 40% less; new(Order) drops from the 48-byte to the 24-byte size class) (MC151)",
    ),
    r.out,
  );
  assert.ok(
    lines.some((l) =>
      /^backend\/shop\/shop\.go:17:2: warning: io\.ReadAll reads the whole request body into memory with no size limit \(MC101\)$/.test(l),
    ),
    r.out,
  );
  assert.equal(lines.at(-1), "3 findings (1 warning, 2 notices)");
  // From inside the module the paths follow the current directory.
  const inner = memcheck(["check", "./..."], path.join(repo, "backend/shop"));
  assert.match(inner.out, /^shop\.go:17:2: warning: /m);
  assert.match(inner.out, /^inner\/inner\.go:3:1: notice: /m);
  // --verbose: the whole explanation and the rule's page.
  const v = memcheck(["check", "--verbose", "./backend/shop"], repo);
  assert.match(v.out, /no size limit: one client sending 1 GiB .*\(MC101\)\n\tUnbounded request body; see docs\/rules\/MC101\.md/);
  // -q: findings only.
  const q = memcheck(["check", "-q", "./backend/..."], repo);
  assert.equal(q.out.trim().split("\n").length, 3);
  assert.doesNotMatch(q.out, /findings/);
});

test("--fail-on gates check and diff; failOn in the config; exit codes stay 0/1/2", () => {
  assert.equal(memcheck(["check", "./backend/..."], repo).code, 0, "default: only errors fail");
  assert.equal(memcheck(["check", "--fail-on", "warning", "./backend/..."], repo).code, 1);
  assert.equal(memcheck(["check", "--fail-on", "notice", "./backend/shop/inner"], repo).code, 1);
  assert.equal(memcheck(["check", "--fail-on", "warning", "./backend/shop/inner"], repo).code, 0, "a notice does not trip warning");
  assert.equal(memcheck(["check", "--fail-on", "never", "./backend/..."], repo).code, 0);
  const bad = memcheck(["check", "--fail-on", "sometimes", "./backend/..."], repo);
  assert.equal(bad.code, 2);
  assert.equal(bad.err.trim().split("\n").length, 1, bad.err);

  write("backend/.github/memcheck.yml", "failOn: warning\n");
  try {
    assert.equal(memcheck(["check", "./..."], path.join(repo, "backend")).code, 1, "failOn from the config");
    assert.equal(memcheck(["check", "--fail-on", "error", "./..."], path.join(repo, "backend")).code, 0, "the flag wins");
  } finally {
    rmSync(path.join(repo, "backend/.github"), { recursive: true });
  }

  // diff: the base has Order without the handler; the branch adds the handler (MC101 on a changed
  // line) and grows Order, marked hot, across a size class (a failing layout regression).
  const git = (...a: string[]) => execFileSync("git", a, { cwd: repo, stdio: "pipe" });
  write(
    "backend/shop/shop.go",
    "package shop\n\ntype Order struct {\n\tPaid  bool\n\tID    int64\n\tOpen  bool\n\tTotal int64\n\tGift  bool\n}\n",
  );
  git("add", "-A");
  git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "-m", "base");
  write(
    "backend/shop/shop.go",
    SHOP.replace("type Order struct", "//memcheck:hot\ntype Order struct").replace("\tGift  bool\n", "\tGift  bool\n\tNote  string\n"),
  );
  try {
    assert.equal(memcheck(["diff", "--base", "main", "--fail-on", "never"], repo).code, 0);
    const text = memcheck(["diff", "--base", "main"], repo);
    assert.equal(text.code, 1, text.err);
    assert.match(
      text.out,
      /^backend\/shop\/shop\.go:19:2: warning: io\.ReadAll reads the whole request body into memory with no size limit \(MC101\)$/m,
      text.out,
    );
    const gh = memcheck(["diff", "--base", "main", "--format", "github"], repo);
    assert.match(gh.out, /^::error file=backend\/shop\/shop\.go,line=9,title=memcheck MC001%3A Order::Order grew/m);
    assert.match(
      gh.out,
      /^::warning file=backend\/shop\/shop\.go,line=19,col=2,title=memcheck MC101%3A Unbounded request body::io\.ReadAll/m,
    );
    const q = memcheck(["diff", "--base", "main", "-q"], repo);
    assert.equal(q.code, 1);
    assert.match(q.out, /^backend\/shop\/shop\.go:9:1: error: Order grew .*\(MC001\)$/m);
  } finally {
    write("backend/shop/shop.go", SHOP);
  }
});

test("--format github prints workflow commands with paths from the repository root", () => {
  const r = memcheck(["check", "--format", "github", "./..."], path.join(repo, "backend/shop"));
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split("\n");
  assert.equal(lines.length, 3);
  assert.ok(
    lines.every((l) => /^::(warning|notice) file=backend\/shop\/[a-z/]+\.go,line=\d+,col=\d+,title=memcheck MC1\d\d%3A [^:]+::\S/.test(l)),
    r.out,
  );
  const md = memcheck(["check", "--format", "markdown", "./..."], path.join(repo, "backend/shop"));
  assert.match(md.out, /^### memcheck: 3 findings \(1 warning, 2 notices\)\n\n\| \| rule \| where \| finding \|/);
  assert.match(md.out, /\| 🟠 warning \| MC101 \| `shop\.go:17` \| io\.ReadAll reads/);
  // In GitHub Actions the text format is relative to the workspace too.
  const ci = memcheck(["check", "./..."], path.join(repo, "backend/shop"), { GITHUB_ACTIONS: "true", GITHUB_WORKSPACE: repo });
  assert.match(ci.out, /^backend\/shop\/shop\.go:17:2: warning/m);
});

test("package patterns as the go command reads them", () => {
  const names = (args: string[], cwd = repo) => {
    const r = memcheck(["layout", "--json", ...args], cwd);
    assert.equal(r.code, 0, r.err);
    return (JSON.parse(r.out).structs as { name: string }[]).map((s) => s.name).sort();
  };
  assert.deepEqual(names(["./backend/shop"]), ["Order"], "./pkg is one package");
  assert.deepEqual(names(["./backend/shop/..."]), ["Inner", "Order"], "./pkg/... recurses");
  assert.deepEqual(names(["."], path.join(repo, "backend")), ["Root"], ". is the current package");
  assert.deepEqual(names(["./..."], path.join(repo, "backend")), ["Inner", "Order", "Root"]);
  assert.deepEqual(names([], path.join(repo, "backend")), ["Inner", "Order", "Root"], "no pattern: ./...");
  assert.deepEqual(names(["example.com/backend/shop/inner"], path.join(repo, "backend")), ["Inner"], "an import path");
  assert.deepEqual(names(["./shop/inner", "./shop"], path.join(repo, "backend")), ["Inner", "Order"], "two patterns, one module");
  const none = memcheck(["layout", "."], repo);
  assert.equal(none.code, 2);
  assert.equal(none.err, "memcheck: .: no Go files (for the packages below it: ./...)\n");
});

test("--version, one-line usage errors, conflicting formats", () => {
  const v = memcheck(["--version"], repo);
  assert.equal(v.code, 0);
  assert.match(v.out, /^memcheck \d+\.\d+\.\d+/);
  for (const args of [
    ["layout", "--goos", "bogus", "./..."],
    ["layout", "--arch", "bogus", "./..."],
    ["check", "--json", "--sarif", "./..."],
    ["check", "--format", "json", "--sarif", "./..."],
    ["check", "--format", "yaml", "./..."],
    ["layout", "--format", "sarif", "./..."],
  ]) {
    const r = memcheck(args, path.join(repo, "backend"));
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
    assert.equal(r.err.trim().split("\n").length, 1, `${args.join(" ")}: one line, got ${r.err}`);
    assert.equal(r.out, "");
  }
  assert.match(memcheck(["check", "--json", "--sarif", "./..."], repo).err, /conflicting output formats: json and sarif/);
  assert.equal(memcheck(["check", "--format", "json", "--json", "./backend/..."], repo).code, 0, "the same format twice is fine");
  assert.equal(memcheck(["layout", "--goos", "windows", "./backend/..."], repo).code, 0);
});

test("colour follows NO_COLOR and FORCE_COLOR (not a TTY: off by default)", () => {
  const esc = /\x1b\[/;
  assert.doesNotMatch(memcheck(["check", "./backend/..."], repo).out, esc);
  assert.match(memcheck(["check", "./backend/..."], repo, { FORCE_COLOR: "1" }).out, esc);
  assert.doesNotMatch(memcheck(["check", "./backend/..."], repo, { FORCE_COLOR: "1", NO_COLOR: "1" }).out, esc);
  assert.doesNotMatch(memcheck(["check", "./backend/..."], repo, { FORCE_COLOR: "0" }).out, esc);
});

test("a closed stdout (| head -1) ends the run quietly with the normal exit code", async () => {
  const many = ["package many", ""];
  for (let i = 0; i < 4000; i++) many.push(`type S${i} struct {\n\tA bool\n\tB int64\n\tC bool\n}\n`);
  write("many/go.mod", "module example.com/many\n\ngo 1.21\n");
  write("many/many.go", many.join("\n"));
  for (const args of [
    ["layout", "./many"],
    ["check", "--fail-on", "notice", "./many"],
  ]) {
    const child = spawn(process.execPath, [bin, ...args], { cwd: repo, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => {
      err += d;
    });
    const first = await new Promise<string>((resolve) => child.stdout.once("data", (d) => resolve(String(d))));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.ok(first.length > 0);
    assert.equal(err, "", `${args[0]}: nothing on stderr`);
    assert.equal(code, args[0] === "layout" ? 0 : 1, `${args[0]}: the exit code the run would have had`);
  }
});

test("//nolint, //nolint:memcheck and //nolint:fieldalignment are honoured like //memcheck:ignore", () => {
  write("lint/go.mod", "module example.com/lint\n\ngo 1.21\n");
  write(
    "lint/lint.go",
    `package lint

import (
	"io"
	"net/http"
)

//nolint:fieldalignment // kept in wire order
type Wire struct {
	A bool
	B int64
	C bool
}

type Other struct { //nolint:errcheck
	A bool
	B int64
	C bool
}

type All struct { //nolint
	A bool
	B int64
	C bool
}

func H1(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body) //nolint:memcheck
	_ = b
}

func H2(w http.ResponseWriter, r *http.Request) {
	//nolint:gosec,memcheck // trusted internal caller
	b, _ := io.ReadAll(r.Body)
	_ = b
}

func H3(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body) //nolint:errcheck
	_ = b
}
`,
  );
  const r = memcheck(["check", "--json", "./lint"], repo);
  assert.equal(r.code, 0, r.err);
  const got = (JSON.parse(r.out) as { rule: string; line: number; message: string }[]).map((f) => `${f.rule}:${f.line}`);
  assert.deepEqual(got.sort(), ["MC101:39", "MC151:15"], "only the other linters' nolint leaves findings");
  // fieldalignment also keeps the order: `memcheck fix` (and the PR suggestions) leave Wire alone.
  const fix = memcheck(["fix", "--dry-run", "--verbose", "./lint"], repo);
  assert.equal(fix.code, 0, fix.err);
  assert.match(fix.err, /lint\.go:9: Wire: left alone: \/\/memcheck:keep-order/);
  assert.match(fix.err, /lint\.go:21: All: left alone/);
  assert.match(fix.err, /lint\.go:15: Other: 24 → 16 bytes on amd64/);
});
