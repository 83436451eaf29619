// The review core weighs struct findings by population: ranked many → few → one with evidence,
// and only those with evidence of many values go inline in a PR review.
import { test } from "node:test";
import assert from "node:assert/strict";
import { analyzeFiles } from "../src/analysis/index.ts";
import { structFindings } from "../src/analysis/rules/index.ts";
import { withImpact } from "../src/review/impact.ts";
import { reviewComments } from "../src/report/index.ts";
import type { Diff } from "../src/analysis/model.ts";

const code = `package shop

type Config struct {
	Debug bool
	Port  int64
	Trace bool
	Limit int64
}

type Order struct {
	Paid  bool
	ID    int64
	Ready bool
	Total int64
}

var cfg Config

type Batch struct{ Orders []Order }

func Load(n int) []Order {
	out := make([]Order, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, Order{ID: int64(i)})
	}
	return out
}

func Index(m map[string]Order, list []Order) {}
`;

test("struct findings carry impact with evidence; singletons are summary-only and ranked last", async () => {
  const a = await analyzeFiles([{ path: "shop/shop.go", text: code }], { rules: true });
  const raw = structFindings(a.structs, { context: a.structs }).filter((f) => f.rule === "MC151");
  assert.equal(raw.length, 2);
  const ranked = withImpact(raw, a.structs, a.population);
  assert.match(ranked[0].message, /^Order /);
  assert.equal(ranked[0].impact?.level, "many");
  assert.equal(ranked[0].summaryOnly, undefined);
  assert.match(ranked[0].message, /Impact: many values \(.*\[\]Order.*shop\/shop\.go:\d+/);
  assert.match(ranked[1].message, /^Config /);
  assert.equal(ranked[1].summaryOnly, true);
  assert.notEqual(ranked[1].impact?.level, "many");
  // `hot:` makes a type many whatever the code says.
  const hot = withImpact(raw, a.structs, a.population, ["Config"]);
  assert.ok(hot.every((f) => !f.summaryOnly));
  // Syntax findings are not weighed.
  const syntax = { rule: "MC101", severity: "warning" as const, file: "shop/shop.go", line: 3, message: "m" };
  assert.deepEqual(withImpact([syntax], a.structs, a.population), [syntax]);
});

test("a PR review posts struct notices inline only with evidence of many values", async () => {
  const a = await analyzeFiles([{ path: "shop/shop.go", text: code }], { rules: true });
  const findings = withImpact(
    structFindings(a.structs, { context: a.structs }).filter((f) => f.rule === "MC151"),
    a.structs,
    a.population,
  );
  const diff = { archs: ["amd64"], structs: [], regressions: [], findings, unresolved: [], diagnostics: [] } as unknown as Diff;
  const all = new Set(Array.from({ length: 40 }, (_, i) => i + 1));
  const comments = reviewComments(diff, new Map([["shop/shop.go", all]]));
  assert.equal(comments.length, 1);
  assert.match(comments[0].body, /Order/);
});
