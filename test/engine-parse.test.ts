// Parser regressions: declarations must keep every operand they have.
import { test } from "node:test";
import assert from "node:assert/strict";
import { loadGoGrammar } from "../src/analysis/grammar.ts";
import { parseFile } from "../src/analysis/parse.ts";
import { analyzeFiles } from "../src/analysis/index.ts";

test("a conversion to type syntax keeps its operand: const B = [2]int64(x)", async () => {
  await loadGoGrammar();
  const decls = parseFile("p.go", "package p\n\nvar x [2]int64\n\nconst B = [2]int64(x)\nconst C = int64(7)\n");
  const b = decls.consts.find((c) => c.name === "B")!;
  assert.equal(b.value.k, "call");
  assert.equal(b.value.k === "call" ? b.value.args.length : -1, 1);
  assert.deepEqual(b.value.k === "call" && b.value.args[0], { k: "ident", name: "x" });
  // A call keeps its arguments too (the other branch of the same code).
  const c = decls.consts.find((x) => x.name === "C")!;
  assert.equal(c.value.k === "call" ? c.value.args.length : -1, 1);
});

test("len of an array conversion is a constant array length", async () => {
  const a = await analyzeFiles([
    {
      path: "p/p.go",
      text: "package p\n\nvar x [3]int64\n\nconst N = len([3]int64(x))\n\ntype T struct {\n\tA [N]int64\n}\n",
    },
  ]);
  const t = a.structs.find((s) => s.name === "T")!;
  assert.equal(t.resolved, true, JSON.stringify(t.unresolved));
  assert.equal(t.layouts.amd64?.size, 24);
});
