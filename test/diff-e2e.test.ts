// End to end: analyse two versions of a small Go package with the real engine, diff them, render
// the reports, and check that applying the reorder suggestion gives the promised layout.
import { test } from "node:test";
import assert from "node:assert/strict";
import { analyzeFiles } from "../src/analysis/index.ts";
import { diffAnalyses } from "../src/analysis/diff.ts";
import { checkSummary, checkTitle, conclusion } from "../src/report/markdown.ts";
import { reorderSuggestion } from "../src/report/suggestion.ts";
import { reviewComments, parseMarker } from "../src/report/review.ts";
import { checkAnnotations } from "../src/report/annotations.ts";
import { textReport } from "../src/report/text.ts";
import type { Arch } from "../src/analysis/model.ts";

const gomod = { path: "go.mod", text: "module example.com/shop\n\ngo 1.21\n" };

const BASE = `package shop

import "sync"

// Order is an order.
type Order struct {
	ID    int64
	Total int64
	Name  string
	mu    sync.Mutex
}

type Node struct {
	v int
}

type Same struct {
	a, b int32
}
`;

const HEAD = `package shop

import "sync"

// Order is an order.
type Order struct {
	// Paid is set once.
	Paid  bool \`json:"paid"\` // guarded by mu
	ID    int64
	Total int64

	Name  string
	mu    sync.Mutex
	Open, Closed bool
}

type Node struct {
	v    int
	next *Node
}

type Same struct {
	a, b int32
}

//memcheck:keep-order
type Wire struct {
	flag bool
	n    int64
	done bool
}
`;

const archs: Arch[] = ["amd64", "386"];

function applySuggestion(text: string, s: { startLine: number; endLine: number; text: string }): string {
  const lines = text.split("\n");
  lines.splice(s.startLine - 1, s.endLine - s.startLine + 1, ...s.text.split("\n"));
  return lines.join("\n");
}

test("analyse base and head, diff, report, and apply the suggestion", async () => {
  const base = await analyzeFiles([gomod, { path: "order.go", text: BASE }], { archs });
  const head = await analyzeFiles([gomod, { path: "order.go", text: HEAD }], { archs });
  const d = diffAnalyses(base, head);

  // Same is unchanged and left out; Wire is added; Order and Node changed.
  assert.deepEqual(d.structs.map((s) => `${s.name}:${s.kind}`).sort(), ["Node:changed", "Order:changed", "Wire:added"]);
  const order = d.structs.find((s) => s.name === "Order")!;
  assert.equal(order.key, "example.com/shop.Order");
  // amd64: 8+8+16+8 = 40 (class 48) -> bool pad 7, 8, 8, 16, 8, 2 bools + 6 = 56 (class 64)
  assert.equal(order.deltas.amd64!.before!.size, 40);
  assert.equal(order.deltas.amd64!.after!.size, 56);
  assert.equal(order.deltas.amd64!.sizeClassBefore, 48);
  assert.equal(order.deltas.amd64!.sizeClassAfter, 64);
  // 386: int64 is 4-aligned: 8+8+8+8 = 32 -> 1+3 pad, 8, 8, 8, 8, 2 + 2 = 40
  assert.equal(order.deltas["386"]!.before!.size, 32);
  assert.equal(order.deltas["386"]!.after!.size, 40);
  assert.deepEqual(order.fieldChanges.map((f) => `${f.name}:${f.kind}`).sort(), ["Closed:added", "Open:added", "Paid:added"]);
  const kinds = d.regressions.map((r) => `${r.kind}@${r.arch}`).sort();
  assert.ok(kinds.includes("size-class@amd64"));
  assert.ok(kinds.includes("size-class@386"));
  assert.ok(kinds.includes("padding@amd64"));
  assert.ok(kinds.includes("new-cycle@amd64"));
  assert.ok(kinds.includes("new-cycle@386"));
  const wire = d.structs.find((s) => s.name === "Wire")!;
  assert.deepEqual(wire.regressions, []);

  assert.equal(conclusion(d), "failure");
  assert.match(checkTitle(d), /^2 structs (grew|regressed): .*Order \+16 B \(size class 48 → 64\)/);
  const md = checkSummary(d);
  assert.match(md, /\| 🔴 `Order` \| `order.go:6` \| 40 → 56 B \| \+16 \| 48 → 64 \|/);
  assert.match(md, /- `Order`: 386 32 → 40 B \(\+8\), size class 32 → 48/);
  assert.match(textReport(d), /Order grew 40 → 56 B on amd64 \(size class 48 → 64\) \(also on 386\)/);

  // The suggestion keeps the doc comment, tag and line comment, and keeps `Open, Closed` whole.
  const sug = reorderSuggestion(order.head!, "amd64", HEAD)!;
  assert.ok(sug);
  assert.equal(sug.size, 48);
  assert.ok(sug.text.includes('\t// Paid is set once.\n\tPaid  bool `json:"paid"` // guarded by mu'));
  assert.ok(sug.text.includes("\tOpen, Closed bool"));
  const fixed = applySuggestion(HEAD, sug);
  const again = await analyzeFiles([gomod, { path: "order.go", text: fixed }], { archs });
  const o2 = again.structs.find((s) => s.name === "Order")!;
  assert.equal(o2.layouts.amd64!.size, 48);
  assert.equal(o2.layouts.amd64!.size, order.head!.layouts.amd64!.optimalSize);
  assert.equal(o2.layouts.amd64!.ptrBytes, order.head!.layouts.amd64!.optimalPtrBytes);
  assert.deepEqual(
    o2.layouts.amd64!.fields.map((f) => f.name),
    sug.order,
  );
  // Everything else in the file is untouched.
  assert.equal(again.structs.length, head.structs.length);
  assert.ok(fixed.includes("type Node struct {\n\tv    int\n\tnext *Node\n}"));

  // keep-order: no suggestion for Wire even though it would shrink.
  const w = wire.head!;
  assert.ok(w.layouts.amd64!.optimalSize < w.layouts.amd64!.size);
  assert.equal(reorderSuggestion(w, "amd64", HEAD), undefined);

  // Review: the whole Order body is new in the PR, so the comment carries the suggestion.
  const changed = new Map([["order.go", new Set(Array.from({ length: 14 }, (_, i) => i + 7))]]);
  const cs = reviewComments(d, changed, { fileText: () => HEAD });
  const oc = cs.find((c) => parseMarker(c.body) === "layout:example.com/shop.Order")!;
  assert.equal(oc.start_line, sug.startLine);
  assert.equal(oc.line, sug.endLine);
  assert.match(oc.body, /```suggestion\n/);
  for (const c of cs) for (let l = c.start_line ?? c.line; l <= c.line; l++) assert.ok(changed.get(c.path)!.has(l));

  const ann = checkAnnotations(d);
  assert.ok(ann.some((a) => a.path === "order.go" && a.annotation_level === "failure" && a.start_line === 6 && a.end_line === 15));
});
