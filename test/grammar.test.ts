// The pinned grammar must load, and must be the file grammars/SOURCE.md describes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { goParser, grammarPath, loadGoGrammar } from "../src/analysis/grammar.ts";

test("grammars/tree-sitter-go.wasm loads and parses Go", async () => {
  await loadGoGrammar();
  const tree = goParser().parse("package p\ntype T struct{ a int }\n");
  assert.ok(tree);
  try {
    assert.equal(tree.rootNode.hasError, false);
    assert.equal(tree.rootNode.namedChild(1)?.type, "type_declaration");
  } finally {
    tree.delete();
  }
});

test("the grammar file is the pinned tree-sitter-go 0.25.0 build", () => {
  const sha = createHash("sha256").update(readFileSync(grammarPath)).digest("hex");
  assert.equal(sha, "9504573f352b20be7f2f1911754d710622aedc15afff16d5ed8fb5645681aee7");
  assert.match(readFileSync("grammars/SOURCE.md", "utf8"), new RegExp(sha));
  const pkg = JSON.parse(readFileSync("package.json", "utf8"));
  // The package is only the source of the .wasm (a dev dependency); the pin must match SOURCE.md.
  assert.equal(pkg.devDependencies["tree-sitter-go"], "0.25.0");
});
