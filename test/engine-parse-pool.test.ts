// Parsing in worker threads under a time budget: a file that sends tree-sitter exponential is
// skipped with a note, the rest of the batch is parsed, and the pool keeps working.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ParsePool } from "../src/parse-pool.ts";
import { analyzeSnapshot } from "../src/engine.ts";
import type { Snapshot } from "../src/analysis/model.ts";

// 100 levels of `a.b(` after an unterminated string: tree-sitter's error recovery never finishes
// (found by the long fuzz run, seed 7; see docs/robustness.md).
const blowup = 'package p\nx"' + "a.b(".repeat(100) + "\n";

test("a file over its parse budget is skipped; its batch-mates and later work are not", async () => {
  const pool = new ParsePool(2, 1500);
  try {
    const files = [
      { path: "ok.go", text: "package p\ntype T struct{ a int }\n" },
      { path: "bad.go", text: blowup },
      { path: "ok2.go", text: "package p\ntype U struct{ b bool }\n" },
    ];
    const out = await pool.parse(files, {});
    assert.deepEqual(
      out.map((d) => d.path),
      ["ok.go", "bad.go", "ok2.go"],
    );
    assert.equal(out[0].types[0].name, "T");
    assert.equal(out[2].types[0].name, "U");
    assert.equal(out[1].types.length, 0);
    assert.match(out[1].diagnostics[0].message, /^skipped: parsing took over \d+ s$/);
    const again = await pool.parse([{ path: "later.go", text: "package p\ntype V struct{}\n" }], {});
    assert.equal(again[0].types[0].name, "V");
  } finally {
    await pool.close();
  }
});

test("analyzeSnapshot with a pool reports the skipped file and lays out the rest", async () => {
  const files: Record<string, string> = {
    "go.mod": "module example.com/m\n",
    "a.go": "package p\ntype A struct{ x int64; y bool }\n",
    "z.go": blowup,
  };
  const snapshot: Snapshot = { label: "mem", paths: async () => Object.keys(files), read: async (p) => files[p] };
  const pool = new ParsePool(1, 1500);
  try {
    const a = await analyzeSnapshot(snapshot, { pool });
    assert.equal(a.structs.find((s) => s.name === "A")?.layouts.amd64?.size, 16);
    assert.ok(a.diagnostics.some((d) => d.file === "z.go" && d.message.includes("parsing took over")));
  } finally {
    await pool.close();
  }
});
