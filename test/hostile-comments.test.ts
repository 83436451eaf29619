// Thousands of comments in a row inside an expression crash tree-sitter's wasm, and the trap leaves
// the instance unusable (found by the fuzzer: seed 20261127, case 14607). Such a file is skipped
// with the reason, before it reaches the parser.
import { test } from "node:test";
import assert from "node:assert/strict";
import { analyzeFiles, MAX_COMMENT_RUN, rejectText } from "../src/analysis/index.ts";

const crasher = (rep: string, n: number) => `package p\n\ntype S struct {\n\tu [unsafe.Sizeof(time.Tim${rep.repeat(n)}e{})]byte\n}\n`;

test("a file with thousands of comments in a row is skipped, not parsed, and parsing goes on", async () => {
  const a = await analyzeFiles(
    [
      { path: "a.go", text: crasher("//x\n", 2854) },
      { path: "b.go", text: crasher("/**/", 2854) },
      { path: "c.go", text: "package p\n\ntype T struct{ a bool; b int64 }\n" },
    ],
    { rules: true },
  );
  assert.deepEqual(
    a.diagnostics.map((d) => d.file),
    ["a.go", "b.go"],
  );
  assert.match(a.diagnostics[0].message, /2853 comments in a row/);
  assert.deepEqual(
    a.structs.map((s) => s.name),
    ["T"],
  );
});

test("real comment blocks and blank lines are far from the limit", () => {
  const license = `${"// Licensed under the Apache License.\n".repeat(200)}package p\n`;
  assert.equal(rejectText("l.go", license, {}), undefined);
  assert.equal(rejectText("b.go", crasher("\n", 5000), {}), undefined);
  assert.equal(rejectText("n.go", crasher("//x\n", MAX_COMMENT_RUN + 1), {}), undefined); // the first follows code
  assert.match(rejectText("n.go", crasher("//x\n", MAX_COMMENT_RUN + 2), {}) ?? "", /comments in a row/);
});
