// Struct and diff rules (MC121, MC131, MC141, MC151, MC161): fixtures run end to end through the
// layout engine (analyzeFiles, diffAnalyses), plus hand-built StructReports for exact numbers.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { analyzeFiles } from "../src/analysis/index.ts";
import { diffAnalyses } from "../src/analysis/diff.ts";
import { structFindings, diffFindings } from "../src/analysis/rules/index.ts";
import { wantLines } from "./rules-syntax.test.ts";

const root = path.join(import.meta.dirname, "fixtures", "rules");

function cases(text: string): number {
  return (text.match(/^(type|func) /gm) ?? []).length;
}

for (const rule of ["MC121", "MC131", "MC141", "MC151"]) {
  for (const kind of ["pos", "neg"] as const) {
    const dir = path.join(root, rule, kind);
    const files = readdirSync(dir)
      .filter((f) => f.endsWith(".go"))
      .sort();
    test(`${rule} has at least 3 ${kind} fixture cases`, () => {
      const n = files.reduce((a, f) => {
        const t = readFileSync(path.join(dir, f), "utf8");
        return a + (kind === "pos" ? wantLines(t, rule).length : cases(t));
      }, 0);
      assert.ok(n >= 3, `${n} cases`);
    });
    for (const f of files) {
      test(`${rule} ${kind}/${f} end to end`, async () => {
        const text = readFileSync(path.join(dir, f), "utf8");
        const a = await analyzeFiles([{ path: f, text }], {});
        const got = structFindings(a.structs)
          .filter((x) => x.rule === rule)
          .map((x) => x.line);
        assert.deepEqual(got, wantLines(text, rule));
      });
    }
  }
}

for (const kind of ["pos", "neg"] as const) {
  const dir = path.join(root, "MC161", kind);
  const heads = readdirSync(dir)
    .filter((f) => f.endsWith("_head.go"))
    .sort();
  test(`MC161 has at least 3 ${kind} fixture pairs`, () => assert.ok(heads.length >= 3));
  for (const h of heads) {
    test(`MC161 ${kind}/${h} base vs head`, async () => {
      const name = h.replace(/_head\.go$/, ".go");
      const headText = readFileSync(path.join(dir, h), "utf8");
      const baseText = readFileSync(path.join(dir, h.replace(/_head\.go$/, "_base.go")), "utf8");
      const base = await analyzeFiles([{ path: name, text: baseText }], {});
      const head = await analyzeFiles([{ path: name, text: headText }], {});
      const got = diffFindings(diffAnalyses(base, head))
        .filter((x) => x.rule === "MC161")
        .map((x) => x.line);
      assert.deepEqual(got, wantLines(headText, "MC161"));
    });
  }
}

for (const kind of ["pos", "neg"] as const) {
  const dir = path.join(root, "MC141", "diff", kind);
  for (const h of readdirSync(dir)
    .filter((f) => f.endsWith("_head.go"))
    .sort()) {
    test(`MC141 new cycle ${kind}/${h} base vs head`, async () => {
      const name = h.replace(/_head\.go$/, ".go");
      const headText = readFileSync(path.join(dir, h), "utf8");
      const baseText = readFileSync(path.join(dir, h.replace(/_head\.go$/, "_base.go")), "utf8");
      const base = await analyzeFiles([{ path: name, text: baseText }], {});
      const head = await analyzeFiles([{ path: name, text: headText }], {});
      const got = diffFindings(diffAnalyses(base, head))
        .filter((x) => x.rule === "MC141")
        .map((x) => x.line);
      assert.deepEqual(got, wantLines(headText, "MC141"));
    });
  }
}
