// The base-analysis memo: a PR's base is the same commit for every PR on the branch, and for both
// passes of a ripple review, so its whole analysis is kept by content (path and blob SHA of every
// file read) and laid out once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AnalysisMemo, analyzeSnapshot } from "../src/engine.ts";
import { review } from "../src/pipeline.ts";
import type { Snapshot } from "../src/analysis/model.ts";

function snap(files: Record<string, string>, hashed = true): Snapshot {
  return {
    label: "mem",
    paths: async () => Object.keys(files).sort(),
    read: async (p) => files[p]!,
    ...(hashed ? { hash: (p: string) => `${p}@${files[p]!.length}:${files[p]!.charCodeAt(files[p]!.length - 2)}` } : {}),
  };
}

const BASE = { "go.mod": "module m\n", "a/a.go": "package a\n\ntype T struct {\n\tx int64\n\ty bool\n}\n" };

test("the same files and options give the remembered analysis; any change misses", async () => {
  const memo = new AnalysisMemo(2);
  const first = await analyzeSnapshot(snap(BASE), { memo, threads: 1 });
  const again = await analyzeSnapshot(snap(BASE), { memo, threads: 1 });
  assert.equal(memo.hits, 1);
  assert.equal(again.structs, first.structs, "shared, not re-laid out");
  assert.equal(again.stats.layoutMs, 0);
  await analyzeSnapshot(snap(BASE), { memo, threads: 1, archs: ["386"] });
  assert.equal(memo.hits, 1, "other options: a miss");
  await analyzeSnapshot(snap({ ...BASE, "a/a.go": `${BASE["a/a.go"]}\ntype U struct{ z int8 }\n` }), { memo, threads: 1 });
  assert.equal(memo.hits, 1, "other content: a miss");
  await analyzeSnapshot(snap(BASE, false), { memo, threads: 1 });
  assert.equal(memo.hits, 1, "without content hashes: never remembered");
});

test("review remembers the base only, and the diff is the same with and without the memo", async () => {
  const memo = new AnalysisMemo(2);
  const head = { ...BASE, "a/a.go": "package a\n\ntype T struct {\n\ty bool\n\tx int64\n\tz bool\n}\n" };
  const plain = await review(snap(BASE), snap(head), { threads: 1 });
  await review(snap(BASE), snap(head), { threads: 1, memo });
  const second = await review(snap(BASE), snap(head), { threads: 1, memo });
  assert.equal(memo.hits, 1, "the base, once");
  assert.deepEqual(second.diff, plain.diff);
});
