import { test } from "node:test";
import assert from "node:assert/strict";
import { diffAnalyses } from "../src/analysis/diff.ts";
import { checkSummary, checkTitle, conclusion, MAX_SUMMARY_BYTES, stickyComment, STICKY_MARKER } from "../src/report/markdown.ts";
import { textReport } from "../src/report/text.ts";
import type { Finding } from "../src/analysis/model.ts";
import { analysis, struct } from "./report-fixtures.ts";

const I64 = (n: number): [string, string][] => Array.from({ length: n }, (_, i) => [`f${i}`, "int64"]);

function grewDiff() {
  // Order: 40 B (class 48) -> 56 B (class 64); Item: 8 -> 16 (class 8 -> 16); Same class: Meta 16 -> 16.
  const base = analysis([
    struct("Order", I64(5), { line: 10 }),
    struct("Item", [["n", "int64"]], { file: "item.go" }),
    struct(
      "Meta",
      [
        ["a", "int64"],
        ["b", "int32"],
      ],
      { file: "meta.go" },
    ),
  ]);
  const head = analysis([
    struct("Order", I64(7), { line: 10 }),
    struct(
      "Item",
      [
        ["n", "int64"],
        ["q", "int32"],
      ],
      { file: "item.go" },
    ),
    struct(
      "Meta",
      [
        ["a", "int64"],
        ["b", "int32"],
        ["c", "int32"],
      ],
      { file: "meta.go" },
    ),
  ]);
  return diffAnalyses(base, head);
}

test("title: regressions, quiet changes, nothing changed", () => {
  const d = grewDiff();
  assert.equal(checkTitle(d), "2 structs grew: Order +16 B (size class 48 → 64), Item +8 B (size class 8 → 16)");
  assert.equal(conclusion(d), "failure");

  const quiet = diffAnalyses(
    analysis([
      struct("Meta", [
        ["a", "int64"],
        ["b", "int32"],
      ]),
      struct("X", [["a", "int64"]]),
    ]),
    analysis([
      struct("Meta", [
        ["a", "int64"],
        ["b", "int32"],
        ["c", "int32"],
      ]),
      struct("X", [["a", "uint64"]]),
      struct("Y", [["a", "bool"]]),
    ]),
  );
  assert.equal(checkTitle(quiet), "No memory regressions in 3 changed structs");
  assert.equal(conclusion(quiet), "success");

  const none = diffAnalyses(analysis([struct("A", [["a", "int64"]])]), analysis([struct("A", [["a", "int64"]])]));
  assert.equal(checkTitle(none), "No Go structs changed");
  assert.equal(conclusion(none), "neutral");

  none.findings.push({ rule: "MC101", severity: "warning", file: "a.go", line: 1, message: "x" });
  assert.equal(checkTitle(none), "No Go structs changed · 1 finding");
  assert.equal(conclusion(none), "success");

  const cyc = diffAnalyses(analysis([]), analysis([struct("Node", [["next", "*Node"]], { cyclic: true })]));
  assert.equal(checkTitle(cyc), "1 struct regressed: Node new pointer cycle");
});

test("summary: table row, regressions, diagram, findings by rule, unresolved and skipped", () => {
  const d = grewDiff();
  d.findings.push(
    { rule: "MC102", severity: "warning", file: "b.go", line: 7, message: "second" },
    { rule: "MC101", severity: "error", file: "a.go", line: 3, message: "first | pipe" },
  );
  d.unresolved.push(struct("Ext", [["x", "int"]], { resolved: false, file: "ext.go", line: 4 }));
  d.diagnostics.push({ file: "bad.go", line: 2, message: "syntax error" });
  const md = checkSummary(d, { skipped: ["vendor/big.go: over the size limit"] });
  assert.match(md, /^\*\*2 structs grew: Order \+16 B \(size class 48 → 64\), Item \+8 B \(size class 8 → 16\)\*\*/);
  assert.match(md, /\| 🔴 `Order` \| `order.go:10` \| 40 → 56 B \| \+16 \| 48 → 64 \| 0 \| 0 \| 0 \| 56 \|/);
  assert.match(md, /\| `Meta` \| `meta.go:3` \| 16 B \| ±0 \| 16 \| 4 → 0 \| 0 \| 0 \| 16 \|/);
  // Worst first: Order before Item before Meta.
  assert.ok(md.indexOf("`Order` |") < md.indexOf("`Item` |") && md.indexOf("`Item` |") < md.indexOf("`Meta` |"));
  assert.match(
    md,
    /### Regressions\n\n- Order grew 40 → 56 B on amd64 \(size class 48 → 64\)\n- Item grew 8 → 16 B on amd64 \(size class 8 → 16\)/,
  );
  assert.match(md, /<details><summary>Layout of `Order` on amd64<\/summary>\n\n```text\nOrder \(amd64\): 56 B/);
  assert.match(md, /\*\*MC101\*\* · 1 finding\n\n- `a.go:3` first \\\| pipe/);
  assert.ok(md.indexOf("**MC101**") < md.indexOf("**MC102**"));
  assert.match(md, /- `Ext` \(`ext.go:4`\): `example.com\/x.Y`/);
  assert.match(md, /- `bad.go:2` syntax error/);
  assert.match(md, /Skipped \(1\):\n\n- vendor\/big.go: over the size limit/);
  assert.match(md, /1 struct changed, 0 added, 0 removed|3 structs changed, 0 added, 0 removed/);
  // With a link builder, files are links.
  const linked = checkSummary(d, { fileUrl: (f, l) => `https://x/${f}#L${l}` });
  assert.match(linked, /\[order.go:10\]\(https:\/\/x\/order.go#L10\)/);
});

test("summary: per-arch notes when archs differ", () => {
  const archs = ["amd64", "386"] as const;
  const base = analysis(
    [
      struct(
        "T",
        [
          ["a", "bool"],
          ["b", "int64"],
        ],
        { archs: [...archs] },
      ),
    ],
    { archs: [...archs] },
  );
  const head = analysis(
    [
      struct(
        "T",
        [
          ["a", "bool"],
          ["b", "int64"],
          ["c", "bool"],
        ],
        { archs: [...archs] },
      ),
    ],
    { archs: [...archs] },
  );
  const d = diffAnalyses(base, head);
  // amd64 16 -> 24 (class 16 -> 24); 386 12 -> 16 (class 16 -> 16)
  const md = checkSummary(d);
  assert.match(md, /archs amd64, 386 \(table: amd64\)/);
  assert.match(md, /Other archs differ:\n\n- `T`: 386 12 → 16 B \(\+4\), size class 16/);
  assert.equal(d.regressions.length, 1);
  assert.equal(d.regressions[0].arch, "amd64");
});

test("summary stays within 65,535 bytes with thousands of structs", () => {
  const n = 5000;
  const base = analysis(
    Array.from({ length: n }, (_, i) =>
      struct(`VeryLongStructNameNumber${i}WithPadding`, I64(5), { file: `pkg/sub${i % 50}/file_with_a_long_name_${i}.go`, line: i + 1 }),
    ),
  );
  const head = analysis(
    Array.from({ length: n }, (_, i) =>
      struct(`VeryLongStructNameNumber${i}WithPadding`, I64(7), { file: `pkg/sub${i % 50}/file_with_a_long_name_${i}.go`, line: i + 1 }),
    ),
  );
  const findings: Finding[] = Array.from({ length: 3000 }, (_, i) => ({
    rule: `MC1${String(i % 20).padStart(2, "0")}`,
    severity: "warning",
    file: `f${i}.go`,
    line: i + 1,
    message: "ünïcödé message ".repeat(5),
  }));
  head.findings = findings;
  const d = diffAnalyses(base, head);
  assert.equal(d.structs.length, n);
  const md = checkSummary(d, { skipped: Array.from({ length: 2000 }, (_, i) => `skipped/file${i}.go`) });
  const bytes = Buffer.byteLength(md, "utf8");
  assert.ok(bytes <= MAX_SUMMARY_BYTES, `summary is ${bytes} bytes`);
  assert.ok(bytes > 60_000, "the room under the cap is used, not thrown away");
  const m = /…and (\d+) more changed structs/.exec(md);
  assert.ok(m, "the table is truncated with …and N more");
  const rows = md.split("\n").filter((l) => l.startsWith("| 🔴")).length;
  assert.equal(rows + Number(m![1]), n);
  assert.ok(!md.includes("\uFFFD"), "no broken UTF-8");
  // A smaller cap is honoured too.
  const small = checkSummary(d, { maxBytes: 4000 });
  assert.ok(Buffer.byteLength(small, "utf8") <= 4000);
  const sticky = stickyComment(d);
  assert.ok(sticky.startsWith(STICKY_MARKER));
  assert.ok(Buffer.byteLength(sticky, "utf8") <= MAX_SUMMARY_BYTES);
});

test("terminal report: table and regressions", () => {
  const t = textReport(grewDiff());
  const lines = t.split("\n");
  assert.equal(lines[0], "memcheck: 2 structs grew: Order +16 B (size class 48 → 64), Item +8 B (size class 8 → 16)");
  assert.match(lines[2], /^\s+TYPE\s+FILE\s+SIZE \(amd64\)\s+Δ\s+CLASS\s+PADDING\s+PTR BYTES\s+DEPTH\s+OPTIMAL$/);
  assert.match(t, /✗  Order  order\.go:10\s+40 → 56\s+\+16\s+48 → 64/);
  assert.match(t, /Regressions:\n  ✗ Order grew 40 → 56 B on amd64 \(size class 48 → 64\)\n  ✗ Item grew/);
  assert.doesNotMatch(t, /\x1b\[/);
  assert.match(textReport(grewDiff(), { color: true }), /\x1b\[31m/);
  assert.equal(textReport(diffAnalyses(analysis([]), analysis([]))), "memcheck: No Go structs changed\n");
});

test("text from the analysed code is inert in markdown: no HTML, no mentions", async () => {
  const { prose } = await import("../src/report/format.ts");
  const hostile = "syntax error: @octocat <img src=x onerror=alert(1)> [link](http://x) **bold** `tick` | pipe";
  const out = prose(hostile);
  assert.doesNotMatch(out, /@octocat|<img|[^\\]\]\(http/);
  assert.match(out, /&#64;octocat/);
  assert.match(out, /&lt;img/);
  const d = diffAnalyses(analysis([]), { ...analysis([]), diagnostics: [{ file: "a.go", line: 3, message: hostile }] });
  const md = checkSummary(d);
  assert.ok(!md.includes("@octocat") && !md.includes("<img"), md);
});
