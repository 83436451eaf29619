import { test } from "node:test";
import assert from "node:assert/strict";
import { diffAnalyses } from "../src/analysis/diff.ts";
import { findingMarker, parseMarker, reviewComments, withoutPosted } from "../src/report/review.ts";
import { batch, checkAnnotations } from "../src/report/annotations.ts";
import { toSarif } from "../src/report/sarif.ts";
import type { Finding } from "../src/analysis/model.ts";
import { analysis, goFile, struct } from "./report-fixtures.ts";

// head: Order gains a bool in the wrong place: {a bool; b int64} 16 B -> {a bool; b int64; c bool} 24 B.
function orderDiff(findings: Finding[] = []) {
  const f = goFile("Order", ["\ta bool", "\tb int64 // id", "\tc bool"]);
  // f.source: openLine 3, body lines 4-6, closeLine 7
  const base = analysis([
    struct(
      "Order",
      [
        ["a", "bool"],
        ["b", "int64"],
      ],
      { file: "order.go", line: 3 },
    ),
  ]);
  const head = analysis(
    [
      struct(
        "Order",
        [
          ["a", "bool"],
          ["b", "int64"],
          ["c", "bool"],
        ],
        { file: "order.go", line: 3, source: f.source },
      ),
    ],
    { findings },
  );
  return { diff: diffAnalyses(base, head), text: f.text };
}

test("markers round-trip and are safe inside an HTML comment", () => {
  const m = findingMarker("layout:example.com/shop.Order");
  assert.equal(m, "<!-- memcheck:finding layout:example.com/shop.Order -->");
  assert.equal(parseMarker(`hello\n${m}\nbody`), "layout:example.com/shop.Order");
  assert.equal(parseMarker("no marker"), undefined);
  const evil = findingMarker("a --> b");
  assert.ok(!evil.slice(4, -3).includes("-->"));
  assert.equal(parseMarker(evil), parseMarker(findingMarker("a --> b")));
});

test("a suggestion block when the whole body is changed, anchored on its lines", () => {
  const { diff, text } = orderDiff();
  const cs = reviewComments(diff, new Map([["order.go", new Set([4, 5, 6])]]), { fileText: () => text });
  assert.equal(cs.length, 1);
  const c = cs[0];
  assert.equal(c.path, "order.go");
  assert.equal(c.side, "RIGHT");
  assert.equal(c.start_line, 4);
  assert.equal(c.line, 6);
  assert.equal(c.start_side, "RIGHT");
  assert.equal(parseMarker(c.body), "layout:example.com/shop.Order");
  assert.match(c.body, /Order grew 16 → 24 B on amd64 \(size class 16 → 24\)/);
  assert.match(c.body, /```suggestion\n\tb int64 \/\/ id\n\ta bool\n\tc bool\n```/);
});

test("comments only on changed lines; no suggestion block when the body is not all in the diff", () => {
  const { diff, text } = orderDiff();
  // Only the new field's line changed: comment on it, without a suggestion block.
  let cs = reviewComments(diff, new Map([["order.go", new Set([6])]]), { fileText: () => text });
  assert.equal(cs.length, 1);
  assert.equal(cs[0].line, 6);
  assert.equal(cs[0].start_line, undefined);
  assert.doesNotMatch(cs[0].body, /```suggestion/);
  assert.match(cs[0].body, /Suggested order: `b`, `a`, `c`/);
  // Nothing of the struct changed in the diff (e.g. a type it embeds changed elsewhere): no comment.
  cs = reviewComments(diff, new Map([["order.go", new Set([20])]]), { fileText: () => text });
  assert.equal(cs.length, 0);
  cs = reviewComments(diff, new Map(), { fileText: () => text });
  assert.equal(cs.length, 0);
  // Every comment's lines are in the changed set (property over all subsets of lines 1..8).
  for (let mask = 0; mask < 256; mask++) {
    const set = new Set<number>();
    for (let l = 1; l <= 8; l++) if (mask & (1 << (l - 1))) set.add(l);
    for (const c of reviewComments(diff, new Map([["order.go", set]]), { fileText: () => text })) {
      for (let l = c.start_line ?? c.line; l <= c.line; l++) assert.ok(set.has(l), `line ${l} not in diff (mask ${mask})`);
    }
  }
});

test("findings: inline on changed lines, with their suggestion only inside the hunk", () => {
  const findings: Finding[] = [
    {
      rule: "MC101",
      severity: "warning",
      file: "pool.go",
      line: 10,
      message: "Put of a non-pointer",
      suggestion: { startLine: 10, endLine: 10, text: "\tpool.Put(&buf)" },
    },
    { rule: "MC102", severity: "notice", file: "pool.go", line: 30, endLine: 32, message: "range copies a large struct" },
    { rule: "MC103", severity: "error", file: "other.go", line: 1, message: "not in the diff" },
  ];
  const { diff } = orderDiff(findings);
  const cs = reviewComments(diff, new Map([["pool.go", new Set([10, 31])]]));
  assert.equal(cs.length, 2);
  const [a, b] = cs;
  assert.equal(a.line, 10);
  assert.match(a.body, /\*\*MC101:\*\* Put of a non-pointer\n```suggestion\n\tpool\.Put\(&buf\)\n```/);
  assert.equal(b.line, 31);
  assert.equal(b.start_line, undefined);
  assert.match(parseMarker(b.body)!, /^MC102:pool\.go:[0-9a-f]{10}$/);
});

test("markers are stable across runs and reruns never duplicate", () => {
  const findings: Finding[] = [
    { rule: "MC101", severity: "warning", file: "pool.go", line: 10, message: "same" },
    { rule: "MC101", severity: "warning", file: "pool.go", line: 20, message: "same" },
  ];
  const { diff, text } = orderDiff(findings);
  const changed = new Map([
    ["order.go", new Set([4, 5, 6])],
    ["pool.go", new Set([10, 20])],
  ]);
  const run1 = reviewComments(diff, changed, { fileText: () => text });
  // A second push moves the findings down by 5 lines; the ids stay the same.
  const { diff: diff2, text: text2 } = orderDiff(findings.map((f) => ({ ...f, line: f.line + 5 })));
  const changed2 = new Map([
    ["order.go", new Set([4, 5, 6])],
    ["pool.go", new Set([15, 25])],
  ]);
  const run2 = reviewComments(diff2, changed2, { fileText: () => text2 });
  const ids1 = run1.map((c) => parseMarker(c.body));
  const ids2 = run2.map((c) => parseMarker(c.body));
  assert.equal(ids1.length, 3);
  assert.deepEqual(ids1, ids2);
  assert.equal(new Set(ids1).size, 3, "repeated messages get distinct ids");
  assert.deepEqual(
    withoutPosted(
      run2,
      run1.map((c) => c.body),
    ),
    [],
  );
  assert.equal(withoutPosted(run2, [run1[0].body]).length, 2);
});

test("savings suggestions for added structs, with a threshold", () => {
  const f = goFile("New", ["\ta bool", "\tb int64", "\tc bool"]);
  const head = analysis([
    struct(
      "New",
      [
        ["a", "bool"],
        ["b", "int64"],
        ["c", "bool"],
      ],
      { file: "new.go", source: f.source },
    ),
  ]);
  const diff = diffAnalyses(analysis([]), head);
  assert.equal(diff.regressions.length, 0);
  const changed = new Map([["new.go", new Set([3, 4, 5, 6, 7])]]);
  const cs = reviewComments(diff, changed, { fileText: () => f.text });
  assert.equal(cs.length, 1);
  assert.match(cs[0].body, /`New` is 24 B on amd64 with 14 B of padding/);
  assert.match(cs[0].body, /makes it 16 B on amd64 \(saves 8 B\)/);
  assert.equal(reviewComments(diff, changed, { fileText: () => f.text, minSavings: 16 }).length, 0);

  // A struct finding on the same declaration (MC151) joins the struct's comment instead of
  // making a second one.
  diff.findings.push(
    { rule: "MC151", severity: "notice", file: "new.go", line: 3, message: "New is 24 bytes on amd64, 14 of them padding" },
    { rule: "MC101", severity: "warning", file: "new.go", line: 9, message: "elsewhere" },
  );
  const cs2 = reviewComments(diff, new Map([["new.go", new Set([3, 4, 5, 6, 7, 9])]]), { fileText: () => f.text });
  assert.equal(cs2.length, 2);
  const sc = cs2.find((c) => parseMarker(c.body) === "layout:example.com/shop.New")!;
  assert.match(sc.body, /\*\*MC151:\*\* New is 24 bytes on amd64, 14 of them padding/);
  assert.doesNotMatch(sc.body, /with 14 B of padding/);
  assert.match(sc.body, /```suggestion/);
  assert.match(parseMarker(cs2.find((c) => c !== sc)!.body)!, /^MC101:new\.go:/);
});

test("annotations and batching", () => {
  const findings: Finding[] = [{ rule: "MC101", severity: "error", file: "pool.go", line: 10, endLine: 12, message: "m" }];
  const { diff } = orderDiff(findings);
  const as = checkAnnotations(diff);
  assert.equal(as.length, 2);
  assert.deepEqual(
    { ...as[0], raw_details: undefined },
    {
      path: "order.go",
      start_line: 3,
      end_line: 7,
      annotation_level: "failure",
      title: "memcheck: Order size-class",
      message: "Order grew 16 → 24 B on amd64 (size class 16 → 24)",
      raw_details: undefined,
    },
  );
  assert.match(as[0].raw_details!, /^Order \(amd64\): 24 B/);
  assert.deepEqual(as[1], { path: "pool.go", start_line: 10, end_line: 12, annotation_level: "failure", title: "MC101", message: "m" });
  const many = orderDiff(
    Array.from({ length: 700 }, (_, i) => ({ rule: "MC101", severity: "warning" as const, file: "a.go", line: i + 1, message: "m" })),
  ).diff;
  const capped = checkAnnotations(many);
  assert.equal(capped.length, 500);
  assert.equal(capped[0].annotation_level, "failure"); // the regression comes first
  assert.equal(checkAnnotations(many, { maxAnnotations: 1000 }).length, 701);
  const items = Array.from({ length: 123 }, (_, i) => i);
  const b = batch(items, 50);
  assert.deepEqual(
    b.map((x) => x.length),
    [50, 50, 23],
  );
  assert.deepEqual(b.flat(), items);
  assert.deepEqual(batch([], 50), []);
});

test("SARIF 2.1.0 for a diff and for findings", () => {
  const findings: Finding[] = [{ rule: "MC101", severity: "notice", file: "dir with space/pool.go", line: 10, message: "m" }];
  const { diff } = orderDiff(findings);
  const log = toSarif(diff, { toolVersion: "0.1.0" }) as any;
  assert.equal(log.version, "2.1.0");
  const run = log.runs[0];
  assert.equal(run.tool.driver.name, "memcheck");
  assert.equal(run.tool.driver.version, "0.1.0");
  // Every rule is listed, used or not, so code scanning knows them all.
  assert.deepEqual(
    run.tool.driver.rules.map((r: any) => r.id),
    ["MC001", "MC002", "MC003", "MC004", "MC101", "MC102", "MC111", "MC112", "MC121", "MC131", "MC141", "MC151", "MC161", "MC000"],
  );
  assert.equal(run.results.length, 2);
  const [reg, fnd] = run.results;
  assert.equal(reg.ruleId, "MC001");
  assert.equal(reg.level, "error");
  assert.equal(reg.locations[0].physicalLocation.artifactLocation.uri, "order.go");
  assert.deepEqual(reg.locations[0].physicalLocation.region, { startLine: 3, endLine: 7 });
  assert.equal(fnd.level, "note");
  assert.equal(run.tool.driver.rules[4].shortDescription.text, "Unbounded request body.");
  assert.equal(run.tool.driver.rules[0].shortDescription.text, "A struct moved to a larger allocator size class.");
  assert.equal(fnd.ruleIndex, 4);
  assert.equal(fnd.locations[0].physicalLocation.artifactLocation.uri, "dir%20with%20space/pool.go");
  const onlyFindings = toSarif(findings) as any;
  assert.equal(onlyFindings.runs[0].results.length, 1);
  assert.deepEqual(toSarif(analysis([], { findings })), onlyFindings);
});
