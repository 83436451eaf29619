// The pointer-chain map: for a struct whose pointer depth or cycle changes, a bounded graph of its
// pointer chains, drawn as Mermaid (sticky comment, --markdown) or as a text tree (check summary,
// terminal), with new edges and cycles marked.
import { test } from "node:test";
import assert from "node:assert/strict";
import { analyzeFiles } from "../src/analysis/index.ts";
import { reviewAnalyses } from "../src/pipeline.ts";
import { POINTER_MAP_EDGES, POINTER_MAP_NODES, pointerMap } from "../src/analysis/pointers.ts";
import { MAX_POINTER_MAP_BYTES, pointerMapMermaid, pointerMapTree } from "../src/report/diagram.ts";
import { checkSummary, stickyComment } from "../src/report/markdown.ts";
import { textReport } from "../src/report/text.ts";
import type { PointerEdge } from "../src/analysis/model.ts";

const MOD = { path: "go.mod", text: "module example.com/shop\n\ngo 1.21\n" };

const BASE = `package shop

type Order struct {
	ID   int64
	Cust *Customer
}

type Customer struct {
	Name string
	Addr *Address
}

type Address struct {
	Street string
}
`;

// Adds a hop (Address -> *Geo) and a cycle (Customer -> []*Order -> Order -> *Customer).
const HEAD = `package shop

type Order struct {
	ID   int64
	Cust *Customer
}

type Customer struct {
	Name   string
	Addr   *Address
	Orders []*Order
}

type Address struct {
	Street string
	Geo    *Geo
}

type Geo struct {
	Name string
}
`;

async function diffOf(base: string, head: string) {
  const a = await analyzeFiles([MOD, { path: "shop.go", text: base }]);
  const b = await analyzeFiles([MOD, { path: "shop.go", text: head }]);
  return reviewAnalyses(a, b);
}

test("a new hop and a new cycle: the map marks the new edges, the new type and the cycle", async () => {
  const diff = await diffOf(BASE, HEAD);
  const order = diff.structs.find((s) => s.name === "Order")!;
  const m = order.pointerMap!;
  assert.ok(m, "Order's depth and cycle changed: it gets a map");
  assert.deepEqual(m.cyclic, { before: false, after: true });
  assert.deepEqual(
    m.nodes.map((n) => [n.label, n.depth, !!n.new]),
    [
      ["Order", 0, false],
      ["Customer", 1, false],
      ["Address", 2, false],
      ["Geo", 3, true],
    ],
  );
  const edge = (from: string, to: string) => m.edges.find((e) => m.nodes[e.from]!.label === from && m.nodes[e.to]!.label === to)!;
  assert.deepEqual([edge("Order", "Customer").new, edge("Order", "Customer").cycle], [undefined, true]);
  assert.deepEqual(
    [edge("Customer", "Order").new, edge("Customer", "Order").cycle, edge("Customer", "Order").label],
    [true, true, "[]*Order"],
  );
  assert.deepEqual([edge("Address", "Geo").new, edge("Address", "Geo").cycle], [true, undefined]);
  assert.equal(edge("Customer", "Address").cycle, undefined);

  const mermaid = pointerMapMermaid(m);
  assert.match(mermaid, /^graph LR\n/);
  assert.match(mermaid, /n1 ==>\|"Orders \[\]\*Order · new ↻"\| n0/);
  assert.match(mermaid, /n2 ==>\|"Geo \*Geo · new"\| n3/);
  assert.match(mermaid, /n3\["Geo · depth 3 · newly reached"\]:::new/);
  assert.match(mermaid, /linkStyle \d+ stroke:#dc2626/);

  const tree = pointerMapTree(m);
  assert.equal(
    tree,
    [
      "Order (pointer depth 2 → 3, new cycle on amd64)",
      "└─ Cust *Customer → Customer · depth 1 [cycle]",
      "   ├─ Addr *Address → Address · depth 2",
      "   │  └─ Geo *Geo → Geo · depth 3 [new, newly reached]",
      "   └─ Orders []*Order → ↻ Order [new, cycle]",
      "",
    ].join("\n"),
  );
});

test("the sticky comment draws Mermaid; the check summary and the terminal draw the tree", async () => {
  const diff = await diffOf(BASE, HEAD);
  const sticky = stickyComment(diff, { mermaid: true });
  assert.match(sticky, /### Pointer chains/);
  assert.match(sticky, /```mermaid\ngraph LR\n/);
  const summary = checkSummary(diff);
  assert.doesNotMatch(summary, /```mermaid/);
  assert.match(summary, /```text\nOrder \(pointer depth 2 → 3, new cycle on amd64\)/);
  const text = textReport(diff);
  assert.match(text, /Pointer chains:\n/);
  assert.match(text, /\n {2}Order \(pointer depth 2 → 3, new cycle on amd64\)\n {2}└─ Cust \*Customer/);
});

test("structs whose pointer chains did not change get no map", async () => {
  const diff = await diffOf(BASE, BASE.replace("ID   int64", "ID   int64\n\tN    int32"));
  assert.equal(diff.structs.length, 1);
  assert.equal(diff.structs[0]!.pointerMap, undefined);
});

test("a pathological graph of 1,000 types stays bounded", async () => {
  // T0 ... T999, each pointing to the next three (mod 1000): every type reaches every other one.
  const n = 1000;
  const decl = (i: number, extra = "") =>
    `type T${i} struct {\n\tA *T${(i + 1) % n}\n\tB []*T${(i + 7) % n}\n\tC map[string]*T${(i + 31) % n}\n${extra}}\n`;
  const base = `package shop\n\n${Array.from({ length: n }, (_, i) => decl(i)).join("\n")}`;
  const head = `package shop\n\n${Array.from({ length: n }, (_, i) => decl(i, i === 0 ? "\tZ *T500\n" : "")).join("\n")}`;
  const a = await analyzeFiles([MOD, { path: "t.go", text: base }]);
  const b = await analyzeFiles([MOD, { path: "t.go", text: head }]);
  // The graph itself, from T0: bounded nodes and edges, the rest counted.
  const m = pointerMap("example.com/shop.T0", b.pointerEdges!, a.pointerEdges, {
    arch: "amd64",
    depth: { before: 1, after: 1 },
    cyclic: { before: true, after: true },
  });
  assert.equal(m.nodes.length, POINTER_MAP_NODES);
  assert.ok(m.edges.length > POINTER_MAP_NODES - 1 && m.edges.length <= POINTER_MAP_EDGES, `${m.edges.length} edges`);
  assert.equal(m.moreNodes, n - POINTER_MAP_NODES);
  assert.ok(m.moreEdges > 0);
  assert.equal(m.edges.filter((e) => e.new).length, 1, "only T0.Z is new");
  const mermaid = pointerMapMermaid(m);
  assert.ok(Buffer.byteLength(mermaid) <= MAX_POINTER_MAP_BYTES, `${Buffer.byteLength(mermaid)} bytes`);
  assert.match(mermaid, /more\["… and 976 more types, \d+ more edges"\]/);
  const tree = pointerMapTree(m, 800);
  assert.ok(Buffer.byteLength(tree) <= 800 + 100);
  assert.match(tree, /… and \d+ more types, \d+ more edges\n$/);
  // And through the whole review: the report stays within GitHub's limits.
  const diff = reviewAnalyses(a, b);
  assert.ok(Buffer.byteLength(stickyComment(diff, { mermaid: true })) <= 65_535);
});

test("Mermaid labels cannot break out of the diagram", () => {
  const edges: Record<string, PointerEdge[]> = {
    "m.A": [{ field: 'x"]; click n0 "javascript:alert(1)', label: "*B<script>`|", hops: 1, to: "m.B" }],
  };
  const m = pointerMap("m.A", edges, undefined, { arch: "amd64", depth: { after: 1 }, cyclic: { after: false } });
  const out = pointerMapMermaid(m);
  const edgeLine = out.split("\n").find((l) => l.includes("-->"))!;
  assert.equal(edgeLine.split('"').length, 3, "one quoted label");
  assert.doesNotMatch(out, /[<`]|script>/);
});
