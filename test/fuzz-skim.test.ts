// Skimming function bodies (src/analysis/skim.ts) must never change the declarations layouts
// read. parseFile(path, text) skims; parseFile(path, text, collector) parses the full text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseFile, type FileDecls } from "../src/analysis/parse.ts";
import { loadGoGrammar } from "../src/analysis/grammar.ts";
import { analyzeFiles } from "../src/analysis/index.ts";
import { Rng, caseSeed, loadCorpus, mutate } from "./fixtures/hostile/mutate.ts";

await loadGoGrammar();
const corpus = loadCorpus();
const noHazards = () => [];

/** The declarations that matter, comparable with deepEqual (bigints as strings). */
function decls(d: FileDecls) {
  return JSON.parse(
    JSON.stringify({ packageName: d.packageName, imports: d.imports, types: d.types, consts: d.consts, vars: d.vars }, (_, v) =>
      typeof v === "bigint" ? `${v}n` : v,
    ),
  );
}

test("skimming keeps every fixture's declarations", () => {
  assert.ok(corpus.length >= 100, `corpus of ${corpus.length} files`);
  for (const f of corpus) {
    assert.deepEqual(decls(parseFile(f.path, f.text)), decls(parseFile(f.path, f.text, noHazards)), f.path);
  }
});

// Go inserts no semicolon after `struct` or `interface`, so a newline or a comment may come
// before the `{`. The skimmer took such a `{` for a value and blanked the struct's fields (a
// struct of 16 bytes was reported as 0). Sizes checked with Go 1.19's unsafe.Sizeof.
const SPLIT_BRACES = `package p

type NL struct

 {
	a int8
	b int64
}

type CRLF struct\r
{\r
	a int8\r
	b int64\r
}\r

type LineComment struct // fields below
{
	a int8
	b int64
}

type BlockComment struct /* { */ {
	a int8
	b int64
}

type Iface interface
{
	M()
}

var V = struct
{ a, b int64 }{}

var W struct
{
	a int8
	b int64
}

func F() struct
{ a int8; b int64 } { return struct{ a int8; b int64 }{} }

type After struct {
	a int8
	b int64
}
`;

test("a newline or a comment between struct and { is not a value brace", async () => {
  assert.deepEqual(decls(parseFile("p/p.go", SPLIT_BRACES)), decls(parseFile("p/p.go", SPLIT_BRACES, noHazards)));
  const a = await analyzeFiles([{ path: "p/p.go", text: SPLIT_BRACES }]);
  const size = (n: string) => a.structs.find((s) => s.name === n)?.layouts.amd64?.size;
  for (const n of ["NL", "CRLF", "LineComment", "BlockComment", "After"]) assert.equal(size(n), 16, n);
});

test("skimming keeps the declarations of every mutant that parses cleanly", () => {
  let clean = 0;
  for (let i = 0; i < 10_000; i++) {
    const rng = new Rng(caseSeed(0x5c1a, i));
    const f = rng.pick(corpus);
    const { text, ops } = mutate(rng, f.text, corpus);
    const full = parseFile(f.path, text, noHazards);
    // With syntax errors the two parses may recover differently; only clean parses must agree.
    if (full.diagnostics.length) continue;
    clean++;
    assert.deepEqual(decls(parseFile(f.path, text)), decls(full), `case ${i} (${f.path}, ${ops.join(",")})`);
  }
  assert.ok(clean > 2500, `${clean} clean mutants`);
});
