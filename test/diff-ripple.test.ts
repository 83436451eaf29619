// Ripple through embedding: a change to a.Header grows b.Envelope, c.Message (which holds an
// Envelope) and c.Batch (an array of Messages) in other packages. The review reports them with
// the chain, counts their regressions like direct ones, and the numbers match the Go toolchain.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { analyzeFiles } from "../src/analysis/index.ts";
import { hazardCollector } from "../src/hazards.ts";
import { reviewAnalyses } from "../src/pipeline.ts";
import { heldStructs } from "../src/analysis/ripple.ts";
import { checkAnnotations } from "../src/report/annotations.ts";
import { checkSummary } from "../src/report/markdown.ts";
import { isFailing } from "../src/review/conclusion.ts";
import type { Analysis, Arch, Diff } from "../src/analysis/model.ts";
import { readTree } from "./support/tree.ts";
import { haveGo, runGosizes } from "./groundtruth-support.ts";

const FIXTURE = path.resolve("test/fixtures/ripple");
const ARCHS: Arch[] = ["amd64", "386"];
const KEY = (s: string) => `example.com/ripple/${s}`;

async function analyze(side: "before" | "after"): Promise<Analysis> {
  const files = [...readTree(path.join(FIXTURE, side))].map(([p, b]) => ({ path: p, text: b.toString("utf8") }));
  return analyzeFiles(files, { archs: ARCHS, rules: true }, await hazardCollector());
}

async function prDiff(onlyDirs?: string[]): Promise<Diff> {
  const [base, head] = [await analyze("before"), await analyze("after")];
  return reviewAnalyses(base, head, onlyDirs ? { onlyDirs: new Set(onlyDirs) } : {});
}

test("a change in package a reaches c.Message through b.Envelope, with the chain", async () => {
  // The app's view: the PR touches package a only.
  const diff = await prDiff(["a"]);
  const byName = new Map(diff.structs.map((s) => [s.name, s]));
  assert.deepEqual([...byName.keys()].sort(), ["Batch", "Envelope", "Header", "Message"]);
  assert.equal(byName.get("Header")!.ripple, undefined, "Header is the change itself");
  const m = byName.get("Message")!;
  assert.deepEqual(m.ripple, {
    keys: [KEY("c.Message"), KEY("b.Envelope"), KEY("a.Header")],
    chain: ["c.Message", "b.Envelope", "a.Header"],
    fields: ["Env", "Hdr"],
  });
  assert.deepEqual(byName.get("Batch")!.ripple?.fields, ["Msgs[]", "Env", "Hdr"]);
  // Message crosses a size class (48 → 56 B: class 48 → 64) and has many values: it fails.
  const sc = m.regressions.find((r) => r.kind === "size-class" && r.arch === "amd64");
  assert.ok(sc, "Message's size-class regression fails the check");
  assert.match(
    sc.message,
    /Message grew 48 → 56 B on amd64 \(size class 48 → 64\) \(holds Header by value: c\.Message ⊃ b\.Envelope ⊃ a\.Header\)/,
  );
  assert.match(sc.reason ?? "", /allocated in a loop/);
  assert.ok(isFailing(diff));
  // Ref holds a *Message: unchanged, not listed.
  assert.equal(byName.has("Ref"), false);
});

test("ripple regressions are annotated at the embedding struct's declaration and summarised", async () => {
  const diff = await prDiff(["a"]);
  const ann = checkAnnotations(diff).find((a) => a.title?.includes("Message"));
  assert.ok(ann);
  assert.equal(ann.path, "c/message.go");
  assert.equal(ann.start_line, 6);
  assert.equal(ann.end_line, 9);
  assert.equal(ann.annotation_level, "failure");
  assert.match(ann.message, /c\.Message ⊃ b\.Envelope ⊃ a\.Header/);
  const md = checkSummary(diff);
  assert.match(md, /### Grew through embedding/);
  assert.match(
    md,
    /`Message` \(`c\/message\.go:6`\) 48 → 56 B on amd64, size class 48 → 64, pointer bytes 32 → 40: `c\.Message ⊃ b\.Envelope ⊃ a\.Header` \(fields `Env`, `Hdr`\)/,
  );
});

test("without ripple the touched packages alone would not show Message (the old app view)", async () => {
  const files = (side: string) =>
    [...readTree(path.join(FIXTURE, side))]
      .filter(([p]) => p === "go.mod" || p.startsWith("a/"))
      .map(([p, b]) => ({ path: p, text: b.toString("utf8") }));
  const diff = reviewAnalyses(await analyzeFiles(files("before"), { archs: ARCHS }), await analyzeFiles(files("after"), { archs: ARCHS }), {
    onlyDirs: new Set(["a"]),
  });
  assert.deepEqual(
    diff.structs.map((s) => s.name),
    ["Header"],
  );
  // Header alone has no evidence of many values: a notice, the check passes.
  assert.equal(isFailing(diff), false);
});

test("holds: through arrays, anonymous structs, named arrays and generics; not through pointers or slices", async () => {
  const src = `package p
type A struct{ a int64 }
type B struct{ b int64 }
type C struct{ c int64 }
type D struct{ d int64 }
type E struct{ e int64 }
type F struct{ f int64 }
type Ds [3]D
type Box[X any] struct{ v X }
type T struct {
	x  A
	y  [2][2]B
	z  struct{ in C }
	w  Ds
	g  Box[E]
	p  *F
	s  []F
	m  map[int]F
}
`;
  const a = await analyzeFiles([
    { path: "go.mod", text: "module m\n" },
    { path: "p/p.go", text: src },
  ]);
  assert.deepEqual(a.holds?.["m/p.T"], [
    { field: "x", type: "m/p.A" },
    { field: "y[][]", type: "m/p.B" },
    { field: "z.in", type: "m/p.C" },
    { field: "w[]", type: "m/p.D" },
    { field: "g.v", type: "m/p.E" },
  ]);
  assert.equal(heldStructs({ kind: "basic", size: 8, align: 8, ptr: 0, label: "int" }).length, 0);
});

function gitRepo(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "memcheck-ripple-"));
  const git = (...a: string[]) => execFileSync("git", a, { cwd: dir, stdio: "pipe" });
  git("init", "-q", "-b", "main");
  git("config", "user.email", "t@example.com");
  git("config", "user.name", "t");
  cpSync(path.join(FIXTURE, "before"), dir, { recursive: true });
  git("add", "-A");
  git("commit", "-qm", "base");
  cpSync(path.join(FIXTURE, "after"), dir, { recursive: true });
  git("add", "-A");
  git("commit", "-qm", "head");
  return dir;
}

test("memcheck diff (text, --json, --markdown) reports c.Message with its chain and fails", () => {
  const dir = gitRepo();
  try {
    const run = (...extra: string[]) =>
      spawnSync(
        process.execPath,
        [path.resolve("bin/memcheck.js"), "diff", "--base", "HEAD~1", "--head", "HEAD", "--no-config", "--arch", "amd64,386", ...extra],
        {
          cwd: dir,
          encoding: "utf8",
        },
      );
    const text = run();
    assert.equal(text.status, 1, text.stderr);
    assert.match(text.stdout, /Grew through embedding/);
    assert.match(text.stdout, /Message c\/message\.go:6 48 → 56 B, class 48 → 64: c\.Message ⊃ b\.Envelope ⊃ a\.Header/);
    const json = run("--json");
    assert.equal(json.status, 1);
    const d = JSON.parse(json.stdout) as Diff;
    const m = d.structs.find((s) => s.name === "Message")!;
    assert.deepEqual(m.ripple?.chain, ["c.Message", "b.Envelope", "a.Header"]);
    assert.ok(d.regressions.some((r) => r.message.startsWith("Message grew 48 → 56 B on amd64")));
    const md = run("--markdown");
    assert.equal(md.status, 1);
    assert.match(md.stdout, /`c\.Message ⊃ b\.Envelope ⊃ a\.Header`/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the rippled structs' sizes match the Go toolchain (tools/gosizes) at base and head", { skip: !haveGo() && "no Go" }, async () => {
  for (const side of ["before", "after"] as const) {
    const ours = await analyze(side);
    const go = runGosizes(path.join(FIXTURE, side), ARCHS);
    for (const name of ["Header", "Envelope", "Message", "Batch"]) {
      const a = ours.structs.find((s) => s.name === name)!;
      const b = go.structs.find((s) => s.name === name)!;
      assert.ok(a && b, `${name} on ${side}`);
      for (const arch of ARCHS) {
        const x = a.layouts[arch]!,
          y = b.layouts[arch]!;
        assert.deepEqual(
          [x.size, x.align, x.ptrBytes, x.sizeClass],
          [y.size, y.align, y.ptrBytes, y.sizeClass ?? x.sizeClass],
          `${side} ${name} ${arch}`,
        );
      }
    }
  }
});

test("ripple crosses the modules of a workspace", async () => {
  const tree = (trace: boolean) => [
    { path: "go.work", text: "go 1.19\n\nuse (\n\t./wire\n\t./broker\n)\n" },
    { path: "wire/go.mod", text: "module example.com/wire\n\ngo 1.19\n" },
    { path: "wire/hdr.go", text: `package wire\n\ntype Header struct {\n\tID uint64\n${trace ? "\tTrace uint64\n" : ""}}\n` },
    {
      path: "broker/go.mod",
      text: "module example.com/broker\n\ngo 1.19\n\nrequire example.com/wire v0.0.0\n\nreplace example.com/wire => ../wire\n",
    },
    {
      path: "broker/queue/msg.go",
      text: 'package queue\n\nimport "example.com/wire"\n\ntype Msg struct {\n\tH    wire.Header\n\tBody []byte\n}\n',
    },
  ];
  const diff = reviewAnalyses(await analyzeFiles(tree(false)), await analyzeFiles(tree(true)), { onlyDirs: new Set(["wire"]) });
  const msg = diff.structs.find((s) => s.name === "Msg");
  assert.deepEqual(msg?.ripple?.chain, ["queue.Msg", "wire.Header"]);
  assert.equal(msg?.deltas.amd64?.size, 8);
});
