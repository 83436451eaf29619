// The rules' API: registry, config, options, ignore directives, suggestions, hostile input, and
// the struct rules on hand-built StructReports (exact numbers, independent of the layout engine).
import { layout, report } from "./support/rule-structs.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { RULES, applyRuleConfig, collectHazards, diffFindings, resolvePending, structFindings } from "../src/analysis/rules/index.ts";
import { loadGoGrammar, goParser } from "../src/analysis/grammar.ts";
import type { Diff, Finding, StructLayout, StructReport } from "../src/analysis/model.ts";
import { hazards } from "./rules-syntax.test.ts";

const repo = path.join(import.meta.dirname, "..");

test("RULES lists every rule once, with an existing docs page", () => {
  const ids = RULES.map((r) => r.id);
  assert.deepEqual(ids, ["MC101", "MC102", "MC111", "MC112", "MC121", "MC131", "MC141", "MC151", "MC161"]);
  for (const r of RULES) {
    assert.equal(r.docs, `docs/rules/${r.id}.md`);
    assert.ok(existsSync(path.join(repo, r.docs)), r.docs);
    assert.ok(["error", "warning", "notice"].includes(r.defaultSeverity));
  }
});

test("applyRuleConfig overrides severities and drops rules that are off", () => {
  const f = (rule: string): Finding => ({ rule, severity: "warning", file: "a.go", line: 1, message: "m" });
  const out = applyRuleConfig([f("MC101"), f("MC102"), f("MC151")], { MC101: "error", MC102: "off", MC999: "off" });
  assert.deepEqual(
    out.map((x) => [x.rule, x.severity]),
    [
      ["MC101", "error"],
      ["MC151", "warning"],
    ],
  );
  assert.equal(applyRuleConfig([f("MC101")], undefined).length, 1);
});

// ---------------------------------------------------------------------------------------------
// Syntax rules: directives, suggestions, robustness.

const handler = (body: string, imports = `"io"\n\t"net/http"`) => `package p\n\nimport (\n\t${imports}\n)\n\n${body}\n`;

test("MC101 suggestion replaces the read line with the limit line plus the read, same indentation", async () => {
  const text = handler(
    `func H(rw http.ResponseWriter, req *http.Request) {\n\tif true {\n\t\tb, _ := io.ReadAll(req.Body)\n\t\t_ = b\n\t}\n}`,
  );
  const [f] = await hazards("p.go", text);
  assert.equal(f.rule, "MC101");
  assert.equal(f.line, 10);
  assert.deepEqual(f.suggestion, {
    startLine: 10,
    endLine: 10,
    text: "\t\treq.Body = http.MaxBytesReader(rw, req.Body, 10<<20)\n\t\tb, _ := io.ReadAll(req.Body)",
  });
});

test("MC101 uses the file's name for net/http, and nil for a writer named _ (MaxBytesReader accepts nil)", async () => {
  const aliased = handler(`func H(w nh.ResponseWriter, r *nh.Request) {\n\tio.ReadAll(r.Body)\n}`, `"io"\n\tnh "net/http"`);
  const [a] = await hazards("p.go", aliased);
  assert.match(a.suggestion!.text, /r\.Body = nh\.MaxBytesReader\(w, r\.Body, 10<<20\)/);
  const blank = handler(`func H(_ http.ResponseWriter, r *http.Request) {\n\tio.ReadAll(r.Body)\n}`);
  const [b] = await hazards("p.go", blank);
  assert.equal(b.rule, "MC101");
  assert.match(b.suggestion!.text, /r\.Body = http\.MaxBytesReader\(nil, r\.Body, 10<<20\)/);
  assert.doesNotMatch(b.message, /MaxBytesReader\(w,/);
});

test("MC101 gives no suggestion when the read does not begin its line", async () => {
  const text = handler(
    `func H(w http.ResponseWriter, r *http.Request) {\n\tif r.Method == "" {\n\t} else if b, err := io.ReadAll(r.Body); err == nil {\n\t\t_ = b\n\t}\n}`,
  );
  const [f] = await hazards("p.go", text);
  assert.equal(f.rule, "MC101");
  assert.equal(f.suggestion, undefined);
});

test("ignore directives: same line, line above, doc comment, bare, other rule", async () => {
  const body = (pre: string, same = "") =>
    handler(`${pre}func H(w http.ResponseWriter, r *http.Request) {\n\tio.ReadAll(r.Body)${same}\n}`);
  assert.equal((await hazards("p.go", body(""))).length, 1);
  assert.equal((await hazards("p.go", body("", " //memcheck:ignore MC101"))).length, 0);
  assert.equal((await hazards("p.go", body("// H reads.\n//memcheck:ignore MC101\n"))).length, 0);
  assert.equal((await hazards("p.go", body("//memcheck:ignore\n"))).length, 0);
  assert.equal((await hazards("p.go", body("//memcheck:ignore MC102\n"))).length, 1);
  assert.equal((await hazards("p.go", body("", " //memcheck:ignore MC102,MC111"))).length, 1);
  const above = handler(`func H(w http.ResponseWriter, r *http.Request) {\n\t//memcheck:ignore MC101 proxied\n\tio.ReadAll(r.Body)\n}`);
  assert.equal((await hazards("p.go", above)).length, 0);
});

test("MC111 pending findings carry the type, and resolvePending keeps only pointer structs", async () => {
  const text = `package p\n\nimport "sync"\n\nvar pool sync.Pool\n\nfunc F() {\n\tx := pool.Get().(*T)\n\tpool.Put(x)\n}\n`;
  await loadGoGrammar();
  const tree = goParser().parse(text)!;
  let pending: ReturnType<typeof collectHazards>;
  try {
    pending = collectHazards(tree.rootNode, "p.go", text);
  } finally {
    tree.delete();
  }
  assert.equal(pending.length, 1);
  assert.equal(pending[0].requiresPointerStruct, "T");
  const mk = (ptrBytes: number) => report("T", { ...layout(), ptrBytes });
  assert.equal(resolvePending(pending, [mk(8)]).length, 1);
  assert.equal(resolvePending(pending, [mk(0)]).length, 0);
  assert.equal(resolvePending(pending, []).length, 0);
  assert.equal("requiresPointerStruct" in resolvePending(pending, [mk(8)])[0], false);
});

test("collectHazards survives hostile input: deep nesting, garbage, huge files", async () => {
  await loadGoGrammar();
  const deep = `package p\nimport ("io"; "net/http")\nfunc H(w http.ResponseWriter, r *http.Request) {\n\tx := ${"(".repeat(10000)}1${")".repeat(10000)}\n\t${"{".repeat(3000)}io.ReadAll(r.Body)${"}".repeat(3000)}\n}\n`;
  const lits = `package p\nimport ("io"; "net/http")\nfunc H(w http.ResponseWriter, r *http.Request) {\n${"\tfunc() {\n".repeat(2000)}\tio.ReadAll(r.Body)\n${"\t}()\n".repeat(2000)}}\n`;
  const big =
    `package p\nimport ("io"; "net/http"; "sync")\nvar pool sync.Pool\n` +
    `func H(w http.ResponseWriter, r *http.Request) {\n${"\tio.ReadAll(r.Body)\n\tpool.Put(r)\n".repeat(20000)}}\n`;
  const garbage = "package p\nfunc ( ReadAll Copy .Put( {{{{ \u0000 ]]] " + "x.Put(".repeat(5000);
  for (const text of [deep, lits, big, garbage]) {
    const tree = goParser().parse(text)!;
    try {
      const out = collectHazards(tree.rootNode, "p.go", text);
      assert.ok(Array.isArray(out));
    } finally {
      tree.delete();
    }
  }
  const tree = goParser().parse(lits)!;
  try {
    assert.equal(collectHazards(tree.rootNode, "p.go", lits).filter((f) => f.rule === "MC101").length, 1);
  } finally {
    tree.delete();
  }
});

// ---------------------------------------------------------------------------------------------
// Struct rules on hand-built reports.

test("MC151 fires at 8 bytes saved or a smaller size class, with the numbers", () => {
  const [f] = structFindings([report("Flags", layout())]);
  assert.equal(f.rule, "MC151");
  assert.equal(f.line, 10);
  assert.match(f.message, /24 bytes on amd64, 14 of them padding/);
  assert.match(f.message, /makes it 16 bytes \(8 bytes, 33% less; new\(Flags\) drops from the 24-byte to the 16-byte size class\)/);
  // 4 bytes saved, both 48-byte class: silent; with threshold 4: fires.
  const small = report("S", layout({ size: 44, optimalSize: 40, align: 4 }));
  assert.equal(structFindings([small]).length, 0);
  assert.equal(structFindings([small], { thresholds: { paddingWaste: 4 } }).length, 1);
  // 4 bytes saved but 36 -> 32 crosses from the 48-byte class to the 32-byte one.
  assert.equal(structFindings([report("C", layout({ size: 36, optimalSize: 32, align: 4 }))]).length, 1);
  // Directives.
  const src = (d: string[]) => ({ line: 10, openLine: 10, closeLine: 14, fieldGroups: [], directives: d });
  assert.equal(structFindings([report("K", layout(), { source: src(["keep-order"]) })]).length, 0);
  assert.equal(structFindings([report("I", layout(), { source: src(["ignore MC151"]) })]).length, 0);
  assert.equal(structFindings([report("I", layout(), { source: src(["ignore"]) })]).length, 0);
  assert.equal(structFindings([report("I", layout(), { source: src(["ignore MC121"]) })]).length, 1);
  // Unresolved structs have no layout: nothing to say.
  assert.equal(structFindings([report("U", layout(), { layouts: {}, resolved: false })]).length, 0);
});

test("MC121 names the containers and never claims that storing a pointer allocates", () => {
  const s = report("Row", layout({ size: 48, optimalSize: 48, fields: [] }), {
    source: {
      line: 10,
      openLine: 10,
      closeLine: 14,
      directives: [],
      fieldGroups: [
        // The open-brace line's trailing comment can land in the first group's text.
        { names: ["Values"], startLine: 10, endLine: 11, text: "type Row struct { // c\n\tValues []any" },
        { names: ["One"], startLine: 12, endLine: 12, text: "\tOne any" },
        { names: ["M"], startLine: 13, endLine: 13, text: '\tM map[string]interface{} `json:"m"`' },
        { names: ["P"], startLine: 14, endLine: 14, text: "\tP map[string][]any" },
        { names: ["K"], startLine: 15, endLine: 15, text: "\tK map[any][2]int" },
      ],
    },
  });
  const [f] = structFindings([s]);
  assert.equal(f.rule, "MC121");
  assert.equal(f.line, 11);
  assert.equal(f.endLine, 15);
  assert.match(f.message, /Values \[\]any \(16 B per element\); M map\[string\]interface\{\} \(16 B per value\); /);
  assert.match(f.message, /P map\[string\]\[\]any \(16 B per element of each value\); K map\[any\]\[2\]int \(16 B per key\)\./);
  assert.doesNotMatch(f.message, /One/);
  assert.match(f.message, /pointers, maps, chans and funcs are stored without allocating/);
  assert.doesNotMatch(f.message, /(storing|store) a pointer[^;.]*allocat/);
});

test("MC131 counts pointer fields of binding structs and reports allocations and depth", () => {
  const addr = report("Address", layout({ size: 32, optimalSize: 32 }), { line: 3 });
  const g = (names: string[], line: number, text: string) => ({ names, startLine: line, endLine: line, text });
  const req = report("CreateReq", layout({ size: 40, optimalSize: 40, pointerDepth: 1 }), {
    source: {
      line: 20,
      openLine: 20,
      closeLine: 25,
      directives: [],
      fieldGroups: [
        g(["Name"], 21, '\tName *string `json:"name"`'),
        g(["Age"], 22, '\tAge *int `json:"age,omitempty"`'),
        g(["Home"], 23, '\tHome *Address `json:"home"`'),
        g(["Skip"], 24, '\tSkip *int `json:"-"`'),
      ],
    },
  });
  const [f] = structFindings([addr, req]).filter((x) => x.rule === "MC131");
  assert.equal(f.line, 21);
  assert.match(f.message, /3 pointer fields \(Name \*string, Age \*int, Home \*Address\)/);
  assert.match(f.message, /3 extra heap allocations \(about 56 bytes/); // 16 + 8 + 32 from the allocator
  assert.match(f.message, /up to 1 pointer hop\b/); // singular
  assert.match(f.message, /PATCH/);
  assert.equal(structFindings([addr, req], { thresholds: { bindingPointerFields: 4 } }).filter((x) => x.rule === "MC131").length, 0);
  // In a PR only the changed struct is reported; the pointee comes from the context.
  assert.equal(structFindings([req]).filter((x) => x.rule === "MC131").length, 0);
  const inPr = structFindings([req], { context: [addr, req] });
  assert.deepEqual(
    inPr.map((x) => x.rule),
    ["MC131"],
  );
});

test("MC141 reports an over-deep chain once, at the struct whose next hop is within the limit", () => {
  const chain = ["A", "*B", "*C", "*D", "*E", "*F"];
  const mk = (i: number) =>
    report(
      chain[i].replace("*", ""),
      layout({
        size: 8,
        optimalSize: 8,
        pointerDepth: 5 - i,
        pointerChain: [chain[i].replace("*", ""), ...chain.slice(i + 1)],
      }),
      { line: i + 1 },
    );
  const root = report("Root", layout({ size: 8, optimalSize: 8, pointerDepth: 6, pointerChain: ["Root", "*A", ...chain.slice(1)] }), {
    line: 100,
  });
  const found = structFindings([root, ...[0, 1, 2, 3, 4, 5].map(mk)]).filter((x) => x.rule === "MC141");
  assert.deepEqual(
    found.map((x) => x.line),
    [1],
  );
  assert.match(found[0].message, /5 pointer hops \(A -> \*B -> \*C -> \*D -> \*E -> \*F\)/);
  assert.equal(structFindings([mk(0)], { thresholds: { maxPointerDepth: 5 } }).filter((x) => x.rule === "MC141").length, 0);
  // A parent in another package's view: the next named hop is qualified and still over the limit.
  const viaPkg = report(
    "Mgr",
    layout({
      size: 8,
      optimalSize: 8,
      pointerDepth: 6,
      pointerChain: ["Mgr", "*svc.Manager", "map[string]*X", "*X", "*Y", "*Z", "[]byte"],
    }),
  );
  assert.equal(structFindings([viaPkg]).filter((x) => x.rule === "MC141").length, 0);
  const viaMap = report(
    "Reg",
    layout({
      size: 8,
      optimalSize: 8,
      pointerDepth: 6,
      pointerChain: ["Reg", "map[string]*svc.Info", "*svc.Info", "*X", "*Y", "[]int", "*int"],
    }),
  );
  assert.equal(structFindings([viaMap]).filter((x) => x.rule === "MC141").length, 1);
  const cyc = report("Node", layout({ size: 16, optimalSize: 16, pointerDepth: 9, cyclic: true, pointerChain: ["Node", "*Node"] }));
  assert.equal(structFindings([cyc]).filter((x) => x.rule === "MC141").length, 0);
});

function diffOf(base: StructLayout, head: StructLayout, over: Partial<StructReport> = {}): Diff {
  const fieldChanges = [{ name: "next", kind: "added" as const, after: "*Buf" }];
  const b = report("Buf", base);
  const h = report("Buf", head, over);
  return {
    archs: ["amd64"],
    regressions: [],
    unresolved: [],
    diagnostics: [],
    findings: [],
    structs: [
      {
        key: "example.com/p.Buf",
        package: "example.com/p",
        name: "Buf",
        file: "p/x.go",
        line: 10,
        kind: "changed",
        base: b,
        head: h,
        deltas: {},
        fieldChanges,
        regressions: [],
      },
    ],
  };
}

test("MC161 fires when pointer bytes grow by more than the best order would", () => {
  const base = layout({ ptrBytes: 8, optimalPtrBytes: 8 });
  const [f] = diffFindings(diffOf(base, layout({ ptrBytes: 116, optimalPtrBytes: 16 })));
  assert.equal(f.rule, "MC161");
  assert.match(f.message, /scans 116 bytes of every Buf instead of 8 \(\+108\) on amd64/);
  assert.match(f.message, /would scan 16 bytes, 100 fewer \(the best order grew by 8\)/);
  // Unavoidable growth, small growth, threshold, keep-order.
  assert.equal(diffFindings(diffOf(base, layout({ ptrBytes: 88, optimalPtrBytes: 88 }))).length, 0);
  assert.equal(diffFindings(diffOf(base, layout({ ptrBytes: 16, optimalPtrBytes: 8 }))).length, 0);
  assert.equal(diffFindings(diffOf(base, layout({ ptrBytes: 16, optimalPtrBytes: 8 })), { thresholds: { gcScanGrowth: 8 } }).length, 1);
  const keep = { source: { line: 10, openLine: 10, closeLine: 12, fieldGroups: [], directives: ["keep-order"] } };
  assert.equal(diffFindings(diffOf(base, layout({ ptrBytes: 116, optimalPtrBytes: 16 }), keep)).length, 0);
});

test("MC141 reports a new pointer cycle from the diff, not an old one", () => {
  const cyc = layout({ cyclic: true, pointerDepth: 1, pointerChain: ["Buf", "*Buf"] });
  const [f] = diffFindings(diffOf(layout(), cyc));
  assert.equal(f.rule, "MC141");
  assert.match(f.message, /Buf -> \*Buf/);
  assert.equal(diffFindings(diffOf(cyc, cyc)).length, 0);
  // Gaining a path to another type's cycle (a list node) is not a new cycle through this struct.
  const reaches = layout({ cyclic: true, pointerDepth: 3, pointerChain: ["Buf", "[]*node", "*node", "*node"] });
  assert.equal(diffFindings(diffOf(layout(), reaches)).length, 0);
});

test("MC101 ParseMultipartForm: constant limits are evaluated, the threshold is configurable", async () => {
  const body = (arg: string) =>
    handler(`func H(w http.ResponseWriter, r *http.Request) {\n\tr.ParseMultipartForm(${arg})\n}`, `"io"\n\t"math"\n\t"net/http"`);
  const rules = async (arg: string, opts?: Parameters<typeof hazards>[2]) =>
    (await hazards("p.go", body(arg), opts)).filter((f) => f.rule === "MC101").length;
  assert.equal(await rules("32 << 20"), 0);
  assert.equal(await rules("64 << 20"), 0);
  assert.equal(await rules("64<<20 + 1"), 1);
  assert.equal(await rules("math.MaxInt64"), 1);
  assert.equal(await rules("int64(1) << 30"), 1);
  assert.equal(await rules("maxMemory"), 0); // not a constant here: cannot decide
  assert.equal(await rules("32 << 20", { thresholds: { multipartMaxMemory: 16 << 20 } }), 1);
  const [f] = await hazards("p.go", body("1 << 30"));
  assert.match(f.message, /ParseMultipartForm\(1024 MiB\)/);
});

test("MC101 in gin and echo files without net/http: finding, no suggestion", async () => {
  const gin = `package p\n\nimport (\n\t"io"\n\n\t"github.com/gin-gonic/gin"\n)\n\nfunc H(c *gin.Context) {\n\tio.ReadAll(c.Request.Body)\n}\n`;
  const [g] = await hazards("p.go", gin);
  assert.equal(g.line, 10);
  assert.equal(g.suggestion, undefined);
  assert.match(g.message, /c\.Request\.Body = http\.MaxBytesReader\(c\.Writer, c\.Request\.Body, 10<<20\)/);
  const echo = `package p\n\nimport (\n\t"io"\n\t"net/http"\n\n\t"github.com/labstack/echo/v4"\n)\n\nfunc H(c echo.Context) error {\n\t_, err := io.ReadAll(c.Request().Body)\n\treturn err\n}\n\nvar _ = http.StatusOK\n`;
  const [e] = await hazards("p.go", echo);
  assert.equal(e.line, 11);
  assert.equal(
    e.suggestion?.text,
    "\tc.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, 10<<20)\n\t_, err := io.ReadAll(c.Request().Body)",
  );
});
