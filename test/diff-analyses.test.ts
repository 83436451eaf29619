import { test } from "node:test";
import assert from "node:assert/strict";
import { diffAnalyses, DEFAULT_THRESHOLDS, fieldChanges, mergeStructs } from "../src/analysis/diff.ts";
import { analysis, layoutOf, struct } from "./report-fixtures.ts";

test("fixture calculator matches real gc layouts", () => {
  const l = layoutOf(
    [
      ["a", "bool"],
      ["b", "int64"],
      ["c", "bool"],
    ],
    "amd64",
  );
  assert.equal(l.size, 24);
  assert.equal(l.padding, 14);
  assert.equal(l.trailingPadding, 7);
  assert.equal(l.optimalSize, 16);
  assert.deepEqual(l.optimalOrder, ["b", "a", "c"]);
  assert.equal(
    layoutOf(
      [
        ["a", "bool"],
        ["b", "int64"],
        ["c", "bool"],
      ],
      "386",
    ).size,
    16,
  );
  assert.equal(
    layoutOf(
      [
        ["a", "int32"],
        ["b", "struct{}"],
      ],
      "amd64",
    ).size,
    8,
  );
  const p = layoutOf(
    [
      ["n", "int"],
      ["s", "string"],
      ["k", "bool"],
    ],
    "amd64",
  );
  assert.equal(p.ptrBytes, 16); // ptrdata: string's pointer word at offset 8
  assert.equal(p.size, 32);
});

test("defaults", () => {
  assert.deepEqual(DEFAULT_THRESHOLDS, { sizeClassGrowth: true, paddingGrowth: 8, maxPointerDepth: 4, newCycle: true });
});

test("unchanged structs are left out; added and removed are reported", () => {
  const same = struct("Same", [["x", "int64"]]);
  const base = analysis([same, struct("Gone", [["a", "bool"]])]);
  const head = analysis([
    struct("Same", [["x", "int64"]]),
    struct("New", [
      ["a", "bool"],
      ["b", "int64"],
    ]),
  ]);
  const d = diffAnalyses(base, head);
  assert.deepEqual(d.structs.map((s) => [s.name, s.kind]).sort(), [
    ["Gone", "removed"],
    ["New", "added"],
  ]);
  const added = d.structs.find((s) => s.kind === "added")!;
  assert.equal(added.deltas.amd64!.size, 16);
  assert.equal(added.deltas.amd64!.sizeClassBefore, 0);
  assert.equal(added.deltas.amd64!.sizeClassAfter, 16);
  // An added struct never has a size-class or padding regression.
  assert.deepEqual(added.regressions, []);
  const removed = d.structs.find((s) => s.kind === "removed")!;
  assert.equal(removed.deltas.amd64!.size, -1);
  assert.equal(d.regressions.length, 0);
});

test("size class growth is a regression with a clear message", () => {
  // 40 B (class 48) -> 56 B (class 64)
  const before = struct("Order", [
    ["id", "int64"],
    ["a", "int64"],
    ["b", "int64"],
    ["c", "int64"],
    ["d", "int64"],
  ]);
  const after = struct("Order", [
    ["id", "int64"],
    ["a", "int64"],
    ["b", "int64"],
    ["c", "int64"],
    ["d", "int64"],
    ["e", "int64"],
    ["f", "int64"],
  ]);
  assert.equal(before.layouts.amd64!.sizeClass, 48);
  assert.equal(after.layouts.amd64!.sizeClass, 64);
  const d = diffAnalyses(analysis([before]), analysis([after]));
  assert.equal(d.structs.length, 1);
  const s = d.structs[0];
  assert.equal(s.kind, "changed");
  assert.equal(s.key, "example.com/shop.Order");
  assert.equal(s.deltas.amd64!.size, 16);
  assert.deepEqual(s.fieldChanges, [
    { name: "e", kind: "added", after: "int64" },
    { name: "f", kind: "added", after: "int64" },
  ]);
  assert.equal(d.regressions.length, 1);
  assert.equal(d.regressions[0].kind, "size-class");
  assert.equal(d.regressions[0].message, "Order grew 40 → 56 B on amd64 (size class 48 → 64)");
  // Threshold off: no regression, still changed.
  const d2 = diffAnalyses(analysis([before]), analysis([after]), { sizeClassGrowth: false });
  assert.equal(d2.regressions.length, 0);
  assert.equal(d2.structs.length, 1);
});

test("growth within the same size class is not a regression", () => {
  const before = struct("T", [
    ["a", "int64"],
    ["b", "int32"],
  ]); // 16
  const after = struct("T", [
    ["a", "int64"],
    ["b", "int32"],
    ["c", "int32"],
  ]); // 16
  const d = diffAnalyses(analysis([before]), analysis([after]));
  assert.equal(d.structs.length, 1);
  assert.equal(d.structs[0].deltas.amd64!.size, 0);
  assert.equal(d.regressions.length, 0);
});

test("padding growth at the threshold", () => {
  // {b int64; a bool; c bool} 16 B padding 6  ->  {a bool; b int64; c bool} 24 B padding 14 (+8)
  const before = struct("P", [
    ["b", "int64"],
    ["a", "bool"],
    ["c", "bool"],
  ]);
  const after = struct("P", [
    ["a", "bool"],
    ["b", "int64"],
    ["c", "bool"],
  ]);
  const d = diffAnalyses(analysis([before]), analysis([after]));
  const kinds = d.regressions.map((r) => r.kind).sort();
  assert.deepEqual(kinds, ["padding", "size-class"]);
  const pad = d.regressions.find((r) => r.kind === "padding")!;
  assert.equal(pad.message, "P padding grew 6 → 14 B on amd64 (+8 B; optimal order is 16 B)");
  assert.deepEqual(
    d.structs[0].fieldChanges.map((f) => [f.name, f.kind]),
    [
      ["a", "moved"],
      ["b", "moved"],
    ],
  );
  const d2 = diffAnalyses(analysis([before]), analysis([after]), { paddingGrowth: 9, sizeClassGrowth: false });
  assert.equal(d2.regressions.length, 0);
});

test("pointer depth beyond the limit, only when new or grown", () => {
  const chain = ["A", "*B", "*C", "*D", "*E", "*F"];
  const deep = (depth: number, extraField = false) =>
    struct(
      "A",
      [
        ["b", "*B"],
        ["n", extraField ? "uint32" : "int32"],
      ],
      { pointerDepth: depth, pointerChain: chain.slice(0, depth + 1) },
    );
  let d = diffAnalyses(analysis([deep(4)]), analysis([deep(5)]));
  assert.equal(d.regressions.length, 1);
  assert.equal(d.regressions[0].kind, "pointer-depth");
  assert.equal(d.regressions[0].message, "A pointer depth 4 → 5 on amd64 exceeds 4: A → *B → *C → *D → *E → *F");
  // Already beyond and not grown: not a regression (but the struct changed).
  d = diffAnalyses(analysis([deep(6)]), analysis([deep(6, true)]));
  assert.equal(d.structs.length, 1);
  assert.equal(d.regressions.length, 0);
  // Grew while already beyond.
  d = diffAnalyses(analysis([deep(5)]), analysis([deep(6)]));
  assert.equal(d.regressions.length, 1);
  // Added struct beyond the limit counts.
  d = diffAnalyses(analysis([]), analysis([deep(5)]));
  assert.equal(d.regressions.length, 1);
  assert.equal(d.regressions[0].message, "A pointer depth 5 on amd64 exceeds 4: A → *B → *C → *D → *E → *F");
});

test("new cycles: changed and added", () => {
  const nodeA = struct("Node", [["v", "int"]]);
  const nodeB = struct(
    "Node",
    [
      ["v", "int"],
      ["next", "*Node"],
    ],
    { cyclic: true, pointerChain: ["Node", "*Node"] },
  );
  let d = diffAnalyses(analysis([nodeA]), analysis([nodeB]));
  const cyc = d.regressions.filter((r) => r.kind === "new-cycle");
  assert.equal(cyc.length, 1);
  assert.equal(cyc[0].message, "Node became part of a pointer cycle on amd64: Node → *Node");
  d = diffAnalyses(analysis([]), analysis([nodeB]));
  assert.deepEqual(
    d.regressions.map((r) => r.kind),
    ["new-cycle"],
  );
  d = diffAnalyses(
    analysis([nodeB]),
    analysis([
      struct(
        "Node",
        [
          ["v", "int"],
          ["next", "*Node"],
          ["k", "int"],
        ],
        { cyclic: true },
      ),
    ]),
  );
  assert.equal(d.regressions.filter((r) => r.kind === "new-cycle").length, 0);
  d = diffAnalyses(analysis([]), analysis([nodeB]), { newCycle: false });
  assert.equal(d.regressions.length, 0);
});

test("per-arch: deltas and regressions on every arch, duplicates merged per arch", () => {
  const archs = ["amd64", "386"] as const;
  // Per-arch files: the 386 layout comes from a separate declaration of the same key.
  const base64 = struct(
    "T",
    [
      ["a", "bool"],
      ["b", "int64"],
    ],
    { archs: ["amd64"], file: "t_amd64.go" },
  );
  const base32 = struct(
    "T",
    [
      ["a", "bool"],
      ["b", "int64"],
    ],
    { archs: ["386"], file: "t_386.go" },
  );
  const merged = mergeStructs([base64, base32]);
  assert.equal(merged.size, 1);
  assert.deepEqual(Object.keys(merged.get("example.com/shop.T")!.layouts).sort(), ["386", "amd64"]);
  const head64 = struct(
    "T",
    [
      ["a", "bool"],
      ["b", "int64"],
    ],
    { archs: ["amd64"], file: "t_amd64.go" },
  );
  const head32 = struct(
    "T",
    [
      ["a", "bool"],
      ["b", "int64"],
      ["c", "bool"],
    ],
    { archs: ["386"], file: "t_386.go" },
  );
  const d = diffAnalyses(analysis([base64, base32], { archs: [...archs] }), analysis([head64, head32], { archs: [...archs] }));
  assert.equal(d.structs.length, 1);
  const s = d.structs[0];
  assert.equal(s.deltas.amd64, undefined); // amd64 unchanged
  assert.equal(s.deltas["386"]!.size, 4); // 12 -> 16
  assert.equal(s.deltas["386"]!.sizeClassBefore, 16);
  assert.deepEqual(s.fieldChanges, [{ name: "c", kind: "added", after: "bool" }]);
  assert.deepEqual(d.archs, ["amd64", "386"]);
});

test("retyped fields and blank fields", () => {
  const fc = fieldChanges(
    layoutOf(
      [
        ["_", "int32"],
        ["a", "int32"],
        ["_", "int64"],
      ],
      "amd64",
    ).fields,
    layoutOf(
      [
        ["_", "int32"],
        ["a", "int64"],
        ["_", "int64"],
      ],
      "amd64",
    ).fields,
  );
  assert.deepEqual(fc, [{ name: "a", kind: "retyped", before: "int32", after: "int64" }]);
});

test("unresolved, diagnostics and findings come from head", () => {
  const u = struct("U", [["x", "int"]], { resolved: false });
  const head = analysis([u], {
    diagnostics: [{ file: "bad.go", line: 1, message: "syntax error" }],
    findings: [{ rule: "MC101", severity: "warning", file: "a.go", line: 3, message: "m" }],
  });
  const base = analysis([], { findings: [{ rule: "MC102", severity: "warning", file: "b.go", line: 1, message: "old" }] });
  const d = diffAnalyses(base, head);
  assert.deepEqual(
    d.unresolved.map((s) => s.name),
    ["U"],
  );
  assert.equal(d.diagnostics.length, 1);
  assert.deepEqual(
    d.findings.map((f) => f.rule),
    ["MC101"],
  );
  // Resolved on base, unresolved on head: the change is unknown, not a shrink to 0 B.
  const r = struct("U", [["x", "int"]]);
  const d3 = diffAnalyses(analysis([r]), analysis([u]));
  assert.equal(d3.structs.length, 0);
  assert.deepEqual(
    d3.unresolved.map((s) => s.name),
    ["U"],
  );
  const d4 = diffAnalyses(analysis([u]), analysis([r]));
  assert.equal(d4.structs.length, 0);
  // An unresolved struct without layouts on either side is not "changed".
  const d2 = diffAnalyses(analysis([u]), analysis([u]));
  assert.equal(d2.structs.length, 0);
});

test("//memcheck:ignore on a struct silences its regressions", async () => {
  const { analyzeFiles } = await import("../src/analysis/index.ts");
  const mod = { path: "go.mod", text: "module example.com/m\n" };
  const base = await analyzeFiles([mod, { path: "a.go", text: "package p\ntype T struct{ a, b int64; c bool }\n" }]);
  const grown = "type T struct{ c bool; a int64; d bool; b int64; e bool }\n";
  const loud = await analyzeFiles([mod, { path: "a.go", text: `package p\n${grown}` }]);
  const quiet = await analyzeFiles([mod, { path: "a.go", text: `package p\n//memcheck:ignore\n${grown}` }]);
  assert.ok(diffAnalyses(base, loud).regressions.length > 0);
  const d = diffAnalyses(base, quiet);
  assert.equal(d.regressions.length, 0);
  assert.equal(d.structs[0].kind, "changed", "still reported as changed");
});
