import { test } from "node:test";
import assert from "node:assert/strict";
import { planReorder, reorderSuggestion, sizeOfOrder } from "../src/report/suggestion.ts";
import { layoutDiagram } from "../src/report/diagram.ts";
import { goFile, layoutOf, struct } from "./report-fixtures.ts";

function apply(text: string, s: { startLine: number; endLine: number; text: string }): string {
  const lines = text.split("\n");
  lines.splice(s.startLine - 1, s.endLine - s.startLine + 1, ...s.text.split("\n"));
  return lines.join("\n");
}

test("reorders the body, keeping doc comments, line comments and tags verbatim", () => {
  const f = goFile("Order", [
    "\t// Paid is set once the payment clears.",
    "\t// It is never reset.",
    '\tPaid bool `json:"paid"` // guarded by mu',
    '\tID int64 `json:"id,string"`',
    "",
    "\t// Open orders only.",
    "\tOpen bool",
  ]);
  const s = struct(
    "Order",
    [
      ["Paid", "bool"],
      ["ID", "int64"],
      ["Open", "bool"],
    ],
    { source: f.source },
  );
  assert.equal(s.layouts.amd64!.size, 24);
  const sug = reorderSuggestion(s, "amd64", f.text)!;
  assert.ok(sug);
  assert.equal(sug.startLine, f.source.openLine + 1);
  assert.equal(sug.endLine, f.source.closeLine - 1);
  assert.equal(sug.size, 16);
  assert.equal(
    sug.text,
    [
      '\tID int64 `json:"id,string"`',
      "\t// Paid is set once the payment clears.",
      "\t// It is never reset.",
      '\tPaid bool `json:"paid"` // guarded by mu',
      "\t// Open orders only.",
      "\tOpen bool",
    ].join("\n"),
  );
  const after = apply(f.text, sug);
  assert.match(after, /type Order struct \{\n\tID int64/);
  assert.match(after, /\tOpen bool\n\}\n$/);
});

test("no suggestion with keep-order or ignore directives", () => {
  for (const d of ["memcheck:keep-order", "memcheck:ignore"]) {
    const f = goFile("Order", ["\ta bool", "\tb int64", "\tc bool"], [d]);
    const s = struct(
      "Order",
      [
        ["a", "bool"],
        ["b", "int64"],
        ["c", "bool"],
      ],
      { source: f.source },
    );
    assert.equal(reorderSuggestion(s, "amd64", f.text), undefined);
    const p = planReorder(s, "amd64", f.text);
    assert.equal(p.ok, false);
  }
});

test("no suggestion with structs.HostLayout, or when already optimal", () => {
  const f = goFile("H", ["\t_ structs.HostLayout", "\ta bool", "\tb int64", "\tc bool"]);
  const h = struct(
    "H",
    [
      ["_", "structs.HostLayout"],
      ["a", "bool"],
      ["b", "int64"],
      ["c", "bool"],
    ],
    { source: f.source },
  );
  assert.ok(h.layouts.amd64!.optimalSize < h.layouts.amd64!.size);
  assert.equal(reorderSuggestion(h, "amd64", f.text), undefined);
  const g = goFile("G", ["\tb int64", "\ta bool", "\tc bool"]);
  const opt = struct(
    "G",
    [
      ["b", "int64"],
      ["a", "bool"],
      ["c", "bool"],
    ],
    { source: g.source },
  );
  assert.equal(reorderSuggestion(opt, "amd64", g.text), undefined);
});

test("a 64-bit first field stays first", () => {
  // {n uint64; a bool; p *int; b bool}: optimal puts p first; keeping n first still saves 8 B.
  const f = goFile("C", ["\tn uint64", "\ta bool", "\tp *int", "\tb bool"]);
  const s = struct(
    "C",
    [
      ["n", "uint64"],
      ["a", "bool"],
      ["p", "*int"],
      ["b", "bool"],
    ],
    { source: f.source },
  );
  const l = s.layouts.amd64!;
  assert.equal(l.size, 32);
  assert.equal(l.optimalOrder[0], "p");
  const sug = reorderSuggestion(s, "amd64", f.text)!;
  assert.deepEqual(sug.order, ["n", "p", "a", "b"]);
  assert.equal(sug.size, 24);
  assert.equal(sug.text.split("\n")[0], "\tn uint64");
  // When keeping it first saves nothing, there is no suggestion.
  const g = goFile("D", ["\tn atomic.Int64", "\tx int32", "\tp *int"]);
  const d = struct(
    "D",
    [
      ["n", "atomic.Int64"],
      ["x", "int32"],
      ["p", "*int"],
    ],
    { source: g.source },
  );
  assert.equal(d.layouts.amd64!.size, 24);
  assert.equal(sizeOfOrder(d.layouts.amd64!, ["n", "p", "x"]), 24);
  assert.equal(reorderSuggestion(d, "amd64", g.text), undefined);
});

test("multi-name groups stay whole when adjacent, split with their tag when separated", () => {
  // a, b bool stay adjacent in the optimal order (n, a, b, c): the line is kept whole.
  const f = goFile("M", ["\ta, b bool // flags", "\tn int64", "\tc bool"]);
  const s = struct(
    "M",
    [
      ["a", "bool"],
      ["b", "bool"],
      ["n", "int64"],
      ["c", "bool"],
    ],
    { source: f.source },
  );
  assert.equal(s.layouts.amd64!.size, 24);
  assert.equal(reorderSuggestion(s, "amd64", f.text)!.text, "\tn int64\n\ta, b bool // flags\n\tc bool");

  const body = ["\tflag bool", '\ta, b int64 `json:"v"` // values', "\tz int64", "\tg bool"];
  const fields: [string, string][] = [
    ["flag", "bool"],
    ["a", "int64"],
    ["b", "int64"],
    ["z", "int64"],
    ["g", "bool"],
  ];
  const g = goFile("S", body);
  const t = struct("S", fields, { source: g.source });
  assert.equal(t.layouts.amd64!.size, 40);
  assert.deepEqual(t.layouts.amd64!.optimalOrder, ["a", "b", "z", "flag", "g"]);
  assert.equal(reorderSuggestion(t, "amd64", g.text)!.text, '\ta, b int64 `json:"v"` // values\n\tz int64\n\tflag bool\n\tg bool');

  // When the optimal order separates a and b, the group is split; each line keeps the tag.
  const t2 = struct("S", fields, { source: g.source });
  t2.layouts.amd64!.optimalOrder = ["a", "z", "b", "flag", "g"];
  assert.equal(
    reorderSuggestion(t2, "amd64", g.text)!.text,
    ['\ta int64 `json:"v"` // values', "\tz int64", '\tb int64 `json:"v"` // values', "\tflag bool", "\tg bool"].join("\n"),
  );
  // A doc comment goes before the first split line only.
  const h = goFile("S", ["\tflag bool", "\t// the values", "\ta, b int64", "\tz int64", "\tg bool"]);
  const t3 = struct("S", fields, { source: h.source });
  t3.layouts.amd64!.optimalOrder = ["a", "z", "b", "flag", "g"];
  assert.equal(reorderSuggestion(t3, "amd64", h.text)!.text, "\t// the values\n\ta int64\n\tz int64\n\tb int64\n\tflag bool\n\tg bool");
});

test("lines not attached to a field block the suggestion unless verifiably blank", () => {
  const f = goFile("Order", ["\ta bool", "", "\tb int64", "\tc bool"]);
  const s = struct(
    "Order",
    [
      ["a", "bool"],
      ["b", "int64"],
      ["c", "bool"],
    ],
    { source: f.source },
  );
  assert.ok(reorderSuggestion(s, "amd64", f.text));
  // Without the file text the blank line cannot be verified.
  assert.equal(reorderSuggestion(s, "amd64"), undefined);
  // A floating comment that no group owns blocks it.
  const g = goFile("Order", ["\ta bool", "\t// floating", "", "\tb int64", "\tc bool"]);
  g.source.fieldGroups = g.source.fieldGroups.filter((x) => !x.text.includes("floating"));
  const t = struct(
    "Order",
    [
      ["a", "bool"],
      ["b", "int64"],
      ["c", "bool"],
    ],
    { source: g.source },
  );
  assert.equal(t.source!.fieldGroups.length, 3);
  const p = planReorder(t, "amd64", g.text);
  assert.equal(p.ok, false);
  // A compact struct without gaps works without the file text, from the groups' own text.
  const h = goFile("Order", ["\ta bool", "\tb int64", "\tc bool"]);
  const u = struct(
    "Order",
    [
      ["a", "bool"],
      ["b", "int64"],
      ["c", "bool"],
    ],
    { source: h.source },
  );
  assert.equal(reorderSuggestion(u, "amd64")!.text, "\tb int64\n\ta bool\n\tc bool");
});

test("layout diagram shows offsets, padding, bytes and the suggested order", () => {
  const s = struct("Order", [
    ["a", "bool"],
    ["b", "int64"],
    ["c", "bool"],
  ]);
  const d = layoutDiagram(s, "amd64");
  assert.equal(
    d,
    [
      "Order (amd64): 24 B, align 8, size class 24",
      "padding 14 B (trailing 7) · pointer bytes 0 · pointer depth 0",
      "",
      "off  ┃ field",
      "  0  ┃ [A] a bool (1)",
      "  1  ┃ ░ padding 7",
      "  8  ┃ [B] b int64 (8)",
      " 16  ┃ [C] c bool (1)",
      " 17  ┃ ░ padding 7 (trailing)",
      " 24  ┗ end",
      "",
      "bytes (8 per row, ░ = padding):",
      "  0  A░░░░░░░",
      "  8  BBBBBBBB",
      " 16  C░░░░░░░",
      "",
      "suggested order (16 B, saves 8 B): b, a, c",
      "",
    ].join("\n"),
  );
  const p = struct(
    "P",
    [
      ["p", "*int"],
      ["n", "int64"],
      ["q", "*int"],
    ],
    { archs: ["386"] },
  );
  const dp = layoutDiagram(p, "386");
  assert.match(dp, /bytes \(4 per row/);
  assert.match(dp, /pointer bytes 16/);
  assert.doesNotMatch(dp, /end of pointer bytes/); // the whole struct is scanned
  assert.match(
    layoutDiagram(
      struct("Q", [
        ["p", "*int"],
        ["n", "int64"],
      ]),
      "amd64",
    ),
    /  0  ┃ \[A\] p \*int \(8, pointers 8\)\n     ┠─ end of pointer bytes: the GC scans \[0, 8\)\n  8  ┃ \[B\] n int64 \(8\)/,
  );
  assert.match(dp, /suggested order \(same 16 B, pointer bytes 16 → 8\): p, q, n/);
  assert.match(layoutDiagram(struct("U", [["x", "int"]], { resolved: false }), "amd64"), /no layout \(unresolved: example.com\/x.Y\)/);
  assert.equal(
    layoutOf(
      [
        ["p", "*int"],
        ["n", "int64"],
        ["q", "*int"],
      ],
      "386",
    ).ptrBytes,
    16,
  );
});
