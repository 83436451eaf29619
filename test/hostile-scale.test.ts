// Scale: a pull request of 3,000 files across 300 packages through the engine, and rule output
// larger than a JavaScript call's argument limit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { analyzeSnapshot } from "../src/engine.ts";
import { analyzeFiles } from "../src/analysis/index.ts";
import { diffAnalyses } from "../src/analysis/diff.ts";
import { diffFindings, structFindings } from "../src/analysis/rules/index.ts";
import type { Snapshot, StructReport } from "../src/analysis/model.ts";

/** An in-memory snapshot: path -> text. */
function memorySnapshot(label: string, files: Map<string, string>): Snapshot {
  return {
    label,
    paths: async () => [...files.keys()].sort(),
    read: async (p) => {
      const t = files.get(p);
      if (t === undefined) throw new Error(`no file ${p}`);
      return t;
    },
  };
}

/** 300 packages of 10 files; each package imports the previous one and embeds its types. */
function bigPr(variant: "base" | "head"): Map<string, string> {
  const files = new Map<string, string>([["go.mod", "module example.com/big\n\ngo 1.21\n"]]);
  for (let p = 0; p < 300; p++) {
    for (let f = 0; f < 10; f++) {
      const imp = p > 0 && f === 0 ? `import prev "example.com/big/pkg${p - 1}"\n\n` : "";
      const extra = variant === "head" && f === 3 ? "\tadded bool\n" : "";
      const embed = p > 0 && f === 0 ? "\tprev.T0\n\tnext *prev.T9\n" : "";
      files.set(
        `pkg${p}/f${f}.go`,
        `package pkg${p}\n\n${imp}// T${f} is one of ten structs in package ${p}.\ntype T${f} struct {\n${embed}\tid int64\n\tok bool\n\tname string\n${extra}}\n\nfunc (t *T${f}) Name() string {\n\tif t == nil {\n\t\treturn ""\n\t}\n\treturn t.name\n}\n`,
      );
    }
  }
  return files;
}

test("a pull request of 3,000 files in 300 packages: analyzeSnapshot, diff and rules", { timeout: 5 * 60_000 }, async () => {
  const base = bigPr("base");
  const head = bigPr("head");
  assert.equal([...head.keys()].filter((p) => p.endsWith(".go")).length, 3000);
  const b = await analyzeSnapshot(memorySnapshot("base", base), { threads: 1 });
  const h = await analyzeSnapshot(memorySnapshot("head", head), { threads: 1, rules: true });
  assert.equal(h.stats.files, 3000);
  assert.equal(h.structs.length, 3000);
  assert.equal(h.structs.filter((s) => s.resolved).length, 3000, "every struct resolves, across all 300 packages");
  // pkg299.T0 embeds pkg298.T0, which embeds pkg297.T0 ...: 300 levels of embedding by value,
  // resolved through imports (the resolver's nesting bound is for one type expression, not a chain).
  const last = h.structs.find((s) => s.package === "example.com/big/pkg299" && s.name === "T0")!;
  assert.ok(last.layouts.amd64!.size > 300 * 16, `pkg299.T0 is ${last.layouts.amd64!.size} bytes`);
  const d = diffAnalyses(b, h);
  assert.equal(d.structs.filter((s) => s.kind === "changed").length, 300, "T3 changed in every package");
  diffFindings(d);
  structFindings(h.structs);
});

test("a rule with more findings than a call can take arguments keeps them all", async () => {
  // 130,000 findings: `out.push(...list)` overflows the stack past about 125,000 arguments, and
  // the rule runner swallowed the error, dropping every MC151 finding of the tree.
  const a = await analyzeFiles([{ path: "p/p.go", text: "package p\n\ntype T struct {\n\ta bool\n\tb int64\n\tc bool\n}\n" }]);
  const t = a.structs[0]!;
  assert.equal(t.layouts.amd64!.size, 24);
  const many: StructReport[] = Array.from({ length: 130_000 }, (_, i) => ({ ...t, name: `T${i}`, line: i + 1 }));
  const findings = structFindings(many);
  assert.equal(findings.filter((f) => f.rule === "MC151").length, 130_000);
});
