// memcheck history on a fixture repository whose history the test writes, one commit per case:
// what the fail policy concludes for each commit, and what the legacy policy would have.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { replayHistory, historyRowText, historySummaryText, type HistoryRow } from "../src/history.ts";

let dir = "";
let rows: HistoryRow[] = [];
let summaryText = "";

function write(file: string, text: string) {
  mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  writeFileSync(path.join(dir, file), text);
}

function commit(subject: string) {
  execFileSync("git", ["add", "-A"], { cwd: dir });
  execFileSync("git", ["commit", "-qm", subject], { cwd: dir });
}

const chain = (extra = "") => `package deep

type D1 struct{ n *D2 }
type D2 struct{ n *D3 }
type D3 struct{ n *D4 }
type D4 struct{ n *D5 }
type D5 struct{ n *D6 }
type D6 struct{ n *D7 }
type D7 struct{ s string${extra} }
type D8 struct{ s string }
`;

const shallow = (extra = "") => `package shallow

//memcheck:hot
type C0 struct{ n *C1 }
type C1 struct{ n *C2 }
type C2 struct{ n *C3 }
type C3 struct{ n *C4 }
type C4 struct{ s string${extra} }
type C5 struct{ s string }
`;

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "memcheck-history-"));
  const git = (...a: string[]) => execFileSync("git", a, { cwd: dir, stdio: "pipe" });
  git("init", "-q", "-b", "main");
  git("config", "user.email", "t@example.com");
  git("config", "user.name", "t");
  write("go.mod", "module example.com/hist\n\ngo 1.21\n");
  write(".github/memcheck.yml", "archs: [amd64]\nhot: [ledger.Entry]\n");
  write("hot/hot.go", "package hot\n\n//memcheck:hot\ntype Quote struct {\n\tA int64\n\tB int64\n\tC bool\n}\n");
  write("ledger/ledger.go", "package ledger\n\ntype Entry struct {\n\tA int64\n\tB int64\n\tC bool\n}\n");
  write("srv/srv.go", "package srv\n\ntype Server struct {\n\tA int64\n\tB int64\n\tC bool\n}\n\nvar Default = &Server{}\n");
  write("zero/zero.go", "package zero\n\ntype Empty struct{}\n");
  write("deep/deep.go", chain());
  write("shallow/shallow.go", shallow());
  const perItem = "\nfunc Load(n int) {\n\tfor i := 0; i < n; i++ {\n\t\t_ = &A{}\n\t}\n}\n";
  write("cyc/cyc.go", "package cyc\n\ntype A struct {\n\tb *B\n\ts string\n}\n\ntype B struct{ s string }\n" + perItem);
  commit("base");
  const grow = (pkg: string, name: string, doc = "") =>
    `package ${pkg}\n\n${doc}type ${name} struct {\n\tA int64\n\tB int64\n\tC bool\n\tD int64\n\tE int64\n}\n`;
  write("hot/hot.go", grow("hot", "Quote", "//memcheck:hot\n"));
  commit("hot type crosses a size class");
  write("ledger/ledger.go", grow("ledger", "Entry"));
  commit("type listed hot in the config crosses a size class");
  write("srv/srv.go", grow("srv", "Server") + "\nvar Default = &Server{}\n");
  commit("singleton crosses a size class");
  write("zero/zero.go", "package zero\n\ntype Empty struct{ n int64 }\n");
  commit("zero-size struct gains a field");
  write("deep/deep.go", chain("\n\tx *D8"));
  commit("deep chain grows by one");
  write("shallow/shallow.go", shallow("\n\tx *C5"));
  commit("chain crosses the depth limit");
  write("cyc/cyc.go", "package cyc\n\ntype A struct {\n\tb *B\n\ts string\n}\n\ntype B struct {\n\ta *A\n\ts string\n}\n" + perItem);
  commit("new cycle between two types");
  write("list/list.go", "package list\n\ntype Node struct {\n\tnext *Node\n\tv    string\n}\n");
  commit("self-linked list");
  write("README", "not Go\n");
  commit("docs only");
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function row(subject: string): HistoryRow {
  const r = rows.find((x) => x.commit.subject === subject);
  assert.ok(r, `no row for ${subject}`);
  return r;
}

test("history replays the Go-touching first-parent commits, newest first", async () => {
  const got = await replayHistory({ repo: dir, count: 100, engine: { threads: 1 } });
  rows = got.rows;
  summaryText = historySummaryText(got.summary);
  assert.deepEqual(
    rows.map((r) => r.commit.subject),
    [
      "self-linked list",
      "new cycle between two types",
      "chain crosses the depth limit",
      "deep chain grows by one",
      "zero-size struct gains a field",
      "singleton crosses a size class",
      "type listed hot in the config crosses a size class",
      "hot type crosses a size class",
      "base",
    ],
  );
  assert.equal(row("base").error, "root commit: nothing to compare with");
  assert.equal(got.summary.commits, 9);
  assert.deepEqual(got.config.hot, ["ledger.Entry"]);
});

test("a hot type crossing a size class fails, with the reason", () => {
  const r = row("hot type crosses a size class");
  assert.equal(r.conclusion, "failure");
  assert.match(
    r.failures.join("\n"),
    /Quote grew 24 → 40 B on amd64 \(size class 24 → 48\) — Quote has many values: many: marked `\/\/memcheck:hot`/,
  );
  const listed = row("type listed hot in the config crosses a size class");
  assert.equal(listed.conclusion, "failure");
  assert.match(listed.failures.join("\n"), /listed in `hot:`/);
  assert.match(historyRowText(r), /FAIL/);
});

test("a singleton crossing a size class is a notice, not a failure", () => {
  const r = row("singleton crosses a size class");
  assert.equal(r.conclusion, "success");
  assert.equal(r.legacy, "failure", "the legacy policy failed it");
  assert.ok(r.notices >= 1);
  assert.deepEqual(r.types, ["Server"]);
  assert.match(historyRowText(r), /comment \(legacy: fail\)/);
});

test("zero size to non-zero is not a size-class regression", () => {
  const r = row("zero-size struct gains a field");
  assert.equal(r.conclusion, "success");
  assert.equal(r.notices, 0);
  assert.equal(r.legacy, "failure");
});

test("a pre-existing deep chain growing by one does not fail; crossing the limit does", () => {
  const grown = row("deep chain grows by one");
  assert.equal(grown.conclusion, "success");
  assert.equal(grown.legacy, "failure");
  assert.ok(grown.notices >= 1);
  const crossed = row("chain crosses the depth limit");
  assert.equal(crossed.conclusion, "failure");
  assert.match(
    crossed.failures.join("\n"),
    /C0 pointer depth 4 → 5 on amd64 exceeds 4.* — this change takes the chain beyond the limit; C0 has many values: many: marked `\/\/memcheck:hot`/,
  );
});

test("a new cycle between two types fails; a self-linked list does not", () => {
  const cyc = row("new cycle between two types");
  assert.equal(cyc.conclusion, "failure");
  assert.match(
    cyc.failures.join("\n"),
    /A became part of a pointer cycle.* — a new cycle through more than one struct type; A has many values: many: allocated in a loop/,
  );
  const list = row("self-linked list");
  assert.notEqual(list.conclusion, "failure");
  assert.equal(list.legacy, "failure");
});

test("the summary counts both policies", () => {
  assert.match(summaryText, /commits replayed: 9 \(1 skipped\)/);
  assert.match(summaryText, /would fail: +4 \(44\.4%\) +legacy policy: 8 \(88\.9%\)/);
});
