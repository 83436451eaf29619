// Fixture tests for the syntax rules MC101, MC102, MC111: every `// want MC1xx` line in
// test/fixtures/rules/MC1xx/pos/*.go must be reported, and nothing else; neg/ files report nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { loadGoGrammar, goParser } from "../src/analysis/grammar.ts";
import { collectHazards, type RuleOptions } from "../src/analysis/rules/index.ts";
import { collectFacts } from "../src/analysis/rules/ast.ts";
import { mayHoldPointers } from "../src/analysis/rules/mc111.ts";
import type { PendingFinding } from "../src/analysis/model.ts";

const root = path.join(import.meta.dirname, "fixtures", "rules");

/** Parse a Go text and run the syntax rules; resolve MC111's pending type against the file. */
export async function hazards(file: string, text: string, opts?: RuleOptions): Promise<PendingFinding[]> {
  await loadGoGrammar();
  const tree = goParser().parse(text);
  if (!tree) throw new Error("parse failed");
  try {
    const found = collectHazards(tree.rootNode, file, text, opts);
    const facts = collectFacts(tree.rootNode, file, text);
    return found.filter((f) => {
      if (!f.requiresPointerStruct) return true;
      const fields = facts.structs.get(f.requiresPointerStruct);
      return !!fields && fields.some((x) => mayHoldPointers(x.type));
    });
  } finally {
    tree.delete();
  }
}

export function wantLines(text: string, rule: string): number[] {
  const out: number[] = [];
  text.split("\n").forEach((l, i) => {
    const m = /\/\/ want ((?:MC\d{3}[ ,]*)+)/.exec(l);
    if (m && m[1].includes(rule)) out.push(i + 1);
  });
  return out;
}

for (const rule of ["MC101", "MC102", "MC111", "MC112"]) {
  for (const kind of ["pos", "neg"] as const) {
    const dir = path.join(root, rule, kind);
    const files = readdirSync(dir)
      .filter((f) => f.endsWith(".go"))
      .sort();
    test(`${rule} has at least 3 ${kind} fixture cases`, () => {
      const n = files.reduce(
        (a, f) =>
          a +
          (kind === "pos"
            ? wantLines(readFileSync(path.join(dir, f), "utf8"), rule).length
            : (readFileSync(path.join(dir, f), "utf8").match(/^func /gm) ?? []).length),
        0,
      );
      assert.ok(n >= 3, `${n} cases`);
    });
    for (const f of files) {
      test(`${rule} ${kind}/${f}`, async () => {
        const text = readFileSync(path.join(dir, f), "utf8");
        const got = (await hazards(`${rule}/${kind}/${f}`, text)).filter((x) => x.rule === rule).map((x) => x.line);
        assert.deepEqual(got, wantLines(text, rule), `findings on lines ${got.join(",")}`);
      });
    }
  }
}

// End to end through the engine: analyzeFiles runs collectHazards per file and settles MC111's
// pending findings against the package's structs (which may live in another file).
test("syntax fixtures end to end through analyzeFiles", async () => {
  const { analyzeFiles } = await import("../src/analysis/index.ts");
  for (const rule of ["MC101", "MC102", "MC111", "MC112"]) {
    for (const kind of ["pos", "neg"]) {
      const dir = path.join(root, rule, kind);
      for (const f of readdirSync(dir).filter((x) => x.endsWith(".go"))) {
        const text = readFileSync(path.join(dir, f), "utf8");
        const a = await analyzeFiles([{ path: f, text }], { rules: true }, collectHazards);
        const got = a.findings
          .filter((x) => x.rule === rule)
          .map((x) => x.line)
          .sort((x, y) => x - y);
        assert.deepEqual(got, wantLines(text, rule), `${rule}/${kind}/${f}`);
      }
    }
  }
});

test("MC111 settles across files: kept for a pointer struct declared elsewhere, dropped otherwise", async () => {
  const { analyzeFiles } = await import("../src/analysis/index.ts");
  const use = `package p\n\nimport "sync"\n\nvar pool sync.Pool\n\nfunc F() {\n\tx := pool.Get().(*T)\n\tpool.Put(x)\n}\n`;
  const withPtr = `package p\n\ntype T struct {\n\tnext *T\n}\n`;
  const noPtr = `package p\n\ntype T struct {\n\tn int64\n}\n`;
  const a = await analyzeFiles(
    [
      { path: "p/use.go", text: use },
      { path: "p/t.go", text: withPtr },
    ],
    { rules: true },
    collectHazards,
  );
  assert.deepEqual(
    a.findings.map((f) => [f.rule, f.file, f.line]),
    [["MC111", "p/use.go", 9]],
  );
  assert.equal("requiresPointerStruct" in a.findings[0], false);
  const b = await analyzeFiles(
    [
      { path: "p/use.go", text: use },
      { path: "p/t.go", text: noPtr },
    ],
    { rules: true },
    collectHazards,
  );
  assert.equal(b.findings.length, 0);
});
