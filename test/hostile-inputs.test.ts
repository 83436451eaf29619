// Pathological single files: deep nesting, huge sizes, cycles, broken text. Each one must give a
// result (a layout, an unresolved struct with a reason, or a diagnostic) and never throw, hang or
// blow the stack. The files are generated here (test/fixtures/hostile/generators.ts), not committed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { analyzeFiles } from "../src/analysis/index.ts";
import { diffAnalyses } from "../src/analysis/diff.ts";
import { diffFindings, structFindings } from "../src/analysis/rules/index.ts";
import { hazardCollector } from "../src/hazards.ts";
import type { Analysis, StructReport } from "../src/analysis/model.ts";
import { pathologicalFiles } from "./fixtures/hostile/generators.ts";
import { analysisProblems } from "./fixtures/hostile/harness.ts";

const FILES = pathologicalFiles();

/** What each input must yield for struct T (or the whole file): a layout size, a reason, or a note. */
const EXPECT: Record<string, { size?: number; unresolved?: RegExp; unresolvedAlso?: RegExp; diagnostic?: RegExp; noStructs?: boolean }> = {
  "deep-array": { unresolved: /nested too deeply/ },
  "deep-pointer": { size: 8 },
  "deep-struct": { unresolved: /nested too deeply/ },
  "deep-map": { size: 8 },
  "deep-slice-chan": { size: 24 },
  "deep-paren-type": { unresolved: /nested too deeply/ },
  "deep-generic": { unresolved: /nested too deeply/ },
  "wide-struct": { size: 100_000 * 4 },
  "huge-array": { unresolved: /array too large/ },
  "huge-array-product": { unresolved: /array too large/ },
  "huge-array-of-structs": { unresolved: /array too large/ },
  "negative-array": { unresolved: /non-negative/ },
  "alias-cycle": { unresolved: /alias cycle/ },
  "alias-self": { unresolved: /alias cycle/ },
  "alias-cycle-long": { unresolved: /alias cycle|nested too deeply/ },
  "recursive-value": { unresolved: /invalid recursive type T/ },
  "recursive-array": { unresolved: /invalid recursive type T/ },
  "recursive-embedded": { unresolved: /invalid recursive type/ },
  "recursive-through-named-array": { unresolved: /invalid recursive type/ },
  "recursive-generic": { unresolved: /nested too deeply|recursive/ },
  "recursive-generic-ptr": { size: 16 },
  "const-cycle": { unresolved: /refers to itself/ },
  "const-self": { unresolved: /refers to itself/ },
  "const-cycle-long": { unresolved: /refers to itself|too deeply/ },
  "const-chain-long": { unresolved: /too deeply|too many/ },
  "huge-shift": { unresolved: /shift count out of range/ },
  "huge-shift-int": { unresolved: /shift count out of range/ },
  "huge-shift-chain": { unresolved: /overflow/ },
  "huge-literal": { size: Number(BigInt("9".repeat(100_000)) % 7n) },
  "huge-exponent": { unresolved: /non-integer constant/ },
  "division-by-zero": { unresolved: /division by zero/ },
  "sizeof-recursive": { unresolved: /recursive type T/ },
  "sizeof-mutual": { unresolved: /recursive type/ },
  "offsetof-recursive": { unresolved: /recursive type T/ },
  "alignof-recursive": { unresolved: /recursive type T/ },
  "len-recursive": { unresolved: /not known|recursive/ },
  "deep-const-paren": { unresolved: /nested too deeply/ },
  "deep-const-unary": { unresolved: /nested too deeply/ },
  "deep-const-binary-left": { unresolved: /nested too deeply/ },
  "deep-const-binary-right": { unresolved: /nested too deeply/ },
  "deep-const-call": { unresolved: /nested too deeply/ },
  "deep-array-len": { unresolved: /nested too deeply/ },
  "many-types": { size: 16 },
  "many-types-chain": { size: 8 },
  "many-pointer-chain": { size: 8 },
  binary: { diagnostic: /binary content/, noStructs: true },
  "invalid-utf8": { unresolved: /syntax error/, diagnostic: /syntax error/ },
  "lone-surrogates": { unresolved: /syntax error/, diagnostic: /syntax error/ },
  // U+202E outside a comment or string is a syntax error in Go too; U is laid out.
  "escapes-in-names": {
    unresolved: /^ex\\u\{1b\}\[2Jample\.com\/\\u\{202e\}pkg\.Thing$/,
    unresolvedAlso: /^ti\\u\{200d\}\\u\{200d\}me\.Time$/,
  },
  "bom-and-controls": { size: 8, diagnostic: /syntax error: \\u\{202e\}type T/ },
  // ESC sequences in the source are shown escaped in the syntax error, never sent to a terminal.
  "terminal-escapes": { diagnostic: /syntax error: \\u\{1b\}\[2J/ },
  "unterminated-raw-string": { diagnostic: /syntax error/, noStructs: true },
  "unterminated-comment": { diagnostic: /syntax error/ },
  "only-braces": { diagnostic: /syntax error/, noStructs: true },
  "only-open-braces": { diagnostic: /syntax error/, noStructs: true },
  "only-quotes": { diagnostic: /syntax error/, noStructs: true },
  empty: { noStructs: true },
  "no-package": { noStructs: true },
  "func-bodies-deep": { size: 8 },
  "func-literal-deep": { size: 8 },
  "rules-deep-calls": { noStructs: true },
  "rules-many-handlers": { size: 8 },
};

function structT(a: Analysis): StructReport | undefined {
  return (
    a.structs.find((s) => s.name === "T") ?? a.structs.find((s) => s.name === "T0") ?? a.structs.find((s) => s.name === "A") ?? a.structs[0]
  );
}

test("every generator has an expectation", () => {
  assert.deepEqual(Object.keys(FILES).sort(), Object.keys(EXPECT).sort());
});

for (const [name, text] of Object.entries(FILES)) {
  test(`pathological input: ${name}`, async () => {
    const files = [{ path: "p/p.go", text }];
    // The 100,000-declaration inputs run on one arch and without the hazard rules (they have no
    // function bodies), to keep the suite's time reasonable.
    const heavy = text.length > 1_000_000;
    const layout = await analyzeFiles(files, { archs: heavy ? ["amd64"] : ["amd64", "386"] });
    assert.deepEqual(analysisProblems(layout), []);
    structFindings(layout.structs);
    const empty = await analyzeFiles([], {});
    diffFindings(diffAnalyses(empty, layout));
    if (!heavy) {
      // The rules parse the full text (no skimming) and walk function bodies.
      const rules = await analyzeFiles(files, { archs: ["amd64"], rules: true }, await hazardCollector());
      assert.deepEqual(analysisProblems(rules), []);
      diffFindings(diffAnalyses(layout, rules));
    }

    const want = EXPECT[name]!;
    const t = structT(layout);
    if (want.noStructs) assert.equal(layout.structs.length, 0, "no structs");
    else assert.ok(t, "struct T is reported");
    if (want.size !== undefined) {
      assert.equal(t!.resolved, true, `T resolved (unresolved: ${t!.unresolved.join("; ")})`);
      assert.equal(t!.layouts.amd64!.size, want.size);
    }
    if (want.unresolved) {
      assert.equal(t!.resolved, false);
      assert.ok(
        t!.unresolved.some((u) => want.unresolved!.test(u)),
        `reason ${want.unresolved} in ${JSON.stringify(t!.unresolved)}`,
      );
    }
    if (want.unresolvedAlso)
      assert.ok(
        t!.unresolved.some((u) => want.unresolvedAlso!.test(u)),
        `reason ${want.unresolvedAlso} in ${JSON.stringify(t!.unresolved)}`,
      );
    if (want.diagnostic) {
      assert.ok(
        layout.diagnostics.some((d) => want.diagnostic!.test(d.message)),
        `diagnostic ${want.diagnostic} in ${JSON.stringify(layout.diagnostics.slice(0, 3))}`,
      );
    }
  });
}

test("the nesting bounds leave a margin: deep inputs on half of the default stack", async () => {
  const names = Object.keys(FILES).filter((n) => /deep|recursive|chain|cycle|sizeof|offsetof|alignof|len-|alias/.test(n));
  assert.ok(names.length > 20);
  const worker = new Worker(new URL("./fixtures/hostile/small-stack-worker.mjs", import.meta.url), {
    workerData: { names },
    resourceLimits: { stackSizeMb: 0.5 },
  });
  try {
    const out = await new Promise<Record<string, { structs?: number; threw?: string }>>((resolve, reject) => {
      worker.once("message", resolve);
      worker.once("error", reject);
    });
    const threw = Object.entries(out).filter(([, r]) => r.threw);
    assert.deepEqual(threw, []);
    assert.deepEqual(Object.keys(out).sort(), names.sort());
  } finally {
    await worker.terminate();
  }
});
