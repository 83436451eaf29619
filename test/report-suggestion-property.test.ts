// Property: for random structs parsed and laid out by the real engine, applying the reorder
// suggestion keeps every comment and tag, changes nothing outside the body, and gives exactly the
// size the suggestion promises (the optimal size, or the 64-bit-first variant).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { analyzeFiles } from "../src/analysis/index.ts";
import { reorderSuggestion } from "../src/report/suggestion.ts";
import type { Arch } from "../src/analysis/model.ts";

const TYPES = [
  "bool",
  "int8",
  "int16",
  "int32",
  "int64",
  "uint64",
  "string",
  "*int",
  "[]byte",
  "[3]byte",
  "any",
  "float64",
  "struct{}",
  "[0]int64",
  "complex64",
  "map[string]int",
];

interface Field {
  names: string[];
  type: string;
  doc: boolean;
  tag: boolean;
  comment: boolean;
  blankBefore: boolean;
}

const fieldArb = fc.record({
  count: fc.integer({ min: 1, max: 2 }),
  type: fc.constantFrom(...TYPES),
  doc: fc.boolean(),
  tag: fc.boolean(),
  comment: fc.boolean(),
  blankBefore: fc.boolean(),
});

function render(fields: Field[], embedAt: number): string {
  const body: string[] = [];
  fields.forEach((f, i) => {
    if (i === embedAt) body.push("\t*Emb // embedded");
    if (f.blankBefore && i > 0) body.push("");
    if (f.doc) body.push(`\t// doc for ${f.names.join(" and ")}`);
    const tag = f.tag ? ` \`json:"${f.names[0]}"\`` : "";
    const comment = f.comment ? ` // about ${f.names[0]}` : "";
    body.push(`\t${f.names.join(", ")} ${f.type}${tag}${comment}`);
  });
  return `package p\n\n// T is random.\ntype T struct {\n${body.join("\n")}\n}\n\ntype Emb struct{ x int64 }\n`;
}

function apply(text: string, s: { startLine: number; endLine: number; text: string }): string {
  const lines = text.split("\n");
  lines.splice(s.startLine - 1, s.endLine - s.startLine + 1, ...s.text.split("\n"));
  return lines.join("\n");
}

test("applying a suggestion gives the promised layout and keeps every comment and tag", async () => {
  const archs: Arch[] = ["amd64", "386"];
  let suggested = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(fieldArb, { minLength: 1, maxLength: 8 }), fc.integer({ min: -1, max: 8 }), async (raw, embedAt) => {
      let n = 0;
      const fields: Field[] = raw.map((r) => ({ ...r, names: Array.from({ length: r.count }, () => `f${n++}`) }));
      const text = render(fields, embedAt);
      const a = await analyzeFiles([{ path: "p/t.go", text }], { archs });
      const s = a.structs.find((x) => x.name === "T")!;
      for (const arch of archs) {
        const l = s.layouts[arch]!;
        assert.ok(l, `no layout for\n${text}`);
        const sug = reorderSuggestion(s, arch, text);
        if (!sug) continue;
        suggested++;
        assert.ok(sug.size! < l.size);
        const fixed = apply(text, sug);
        // Outside the body nothing moved.
        assert.ok(fixed.startsWith("package p\n\n// T is random.\ntype T struct {\n"));
        assert.ok(fixed.endsWith("\n}\n\ntype Emb struct{ x int64 }\n"));
        // Every comment and tag survives (split groups repeat their tag and line comment).
        for (const line of text.split("\n")) {
          const t = line.trim();
          if (t.startsWith("//")) assert.ok(fixed.includes(line), `lost ${line}`);
          const tag = /`[^`]*`/.exec(t)?.[0];
          if (tag) assert.ok(fixed.includes(tag), `lost ${tag}`);
        }
        const b = await analyzeFiles([{ path: "p/t.go", text: fixed }], { archs: [arch] });
        const l2 = b.structs.find((x) => x.name === "T")!.layouts[arch]!;
        assert.deepEqual(
          l2.fields.map((f) => f.name),
          sug.order,
          fixed,
        );
        assert.equal(l2.size, sug.size, fixed);
        if (sug.order![0] === l.optimalOrder[0]) assert.equal(l2.size, l.optimalSize);
      }
    }),
    { numRuns: 150, seed: 20261126 },
  );
  assert.ok(suggested > 20, `only ${suggested} suggestions exercised`);
});
