// The rule registry: one object per rule; defaults, thresholds and severities come from it, and a
// rule that throws is reported as an MC000 finding instead of silently reporting nothing.
import { layout, report as ruleReport } from "./support/rule-structs.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DEFAULT_THRESHOLDS,
  RULES,
  RULE_FAILURE,
  applyRuleConfig,
  diffFindings,
  ruleInfo,
  structFindings,
} from "../src/analysis/rules/index.ts";
import { DEFAULT_CONFIG } from "../src/review/config.ts";
import type { Diff, StructLayout, StructReport } from "../src/analysis/model.ts";

function report(name: string, file: string, line: number, l: StructLayout): StructReport {
  return ruleReport(name, l, { file, line });
}

/** A struct whose layouts cannot be read: every rule that looks at them throws. */
function poisoned(file: string, line: number): StructReport {
  const s = report("Bad", file, line, layout());
  Object.defineProperty(s, "layouts", {
    get() {
      throw new Error("boom");
    },
  });
  return s;
}

test("every threshold default comes from the rule that declares it", () => {
  const declared: Record<string, number> = {};
  for (const r of RULES) for (const [k, spec] of Object.entries(r.thresholds)) declared[k] = spec.default;
  assert.deepEqual({ ...DEFAULT_THRESHOLDS }, declared);
  assert.deepEqual(DEFAULT_THRESHOLDS, {
    multipartMaxMemory: 64 << 20,
    bindingPointerFields: 3,
    maxPointerDepth: 4,
    paddingWaste: 8,
    gcScanGrowth: 16,
  });
  // The config defaults are the registry's, not a copy.
  for (const [k, v] of Object.entries(DEFAULT_CONFIG.ruleThresholds)) assert.equal(v, declared[k], k);
  assert.equal(DEFAULT_CONFIG.thresholds.maxPointerDepth, declared.maxPointerDepth);
});

test("findings carry the rule's default severity, and config overrides it", () => {
  const [f] = structFindings([report("Flags", "p/x.go", 10, layout())]);
  assert.equal(f.rule, "MC151");
  assert.equal(f.severity, RULES.find((r) => r.id === "MC151")!.defaultSeverity);
  assert.equal(applyRuleConfig([f], { MC151: "error" })[0].severity, "error");
  assert.equal(applyRuleConfig([f], { MC151: "off" }).length, 0);
});

test("a struct rule that throws becomes an MC000 finding at that struct; other structs still report", () => {
  const good = report("Flags", "p/x.go", 10, layout());
  const out = structFindings([good, poisoned("p/bad.go", 7)]);
  const mc151 = out.filter((f) => f.rule === "MC151");
  assert.deepEqual(
    mc151.map((f) => f.file),
    ["p/x.go"],
  );
  const failed = out.filter((f) => f.rule === RULE_FAILURE.id);
  assert.ok(failed.length >= 1, JSON.stringify(out));
  for (const f of failed) {
    assert.equal(f.file, "p/bad.go");
    assert.equal(f.line, 7);
    assert.match(f.message, /^rule MC1\d\d failed on p\/bad\.go: boom$/);
  }
  assert.ok(failed.some((f) => f.message.startsWith("rule MC151 ")));
  assert.equal(ruleInfo("MC000")?.title, RULE_FAILURE.title);
});

test("a diff rule that throws becomes an MC000 finding at that struct", () => {
  const bad = {
    kind: "changed",
    name: "Bad",
    file: "p/bad.go",
    line: 3,
    fieldChanges: [],
    regressions: [],
    get base(): StructReport {
      throw new Error("no base");
    },
    head: report("Bad", "p/bad.go", 3, layout()),
  };
  const diff = { archs: ["amd64"], structs: [bad], findings: [] } as unknown as Diff;
  const out = diffFindings(diff);
  assert.ok(out.length >= 1);
  for (const f of out) {
    assert.equal(f.rule, "MC000");
    assert.equal(f.file, "p/bad.go");
    assert.match(f.message, /failed on p\/bad\.go: no base/);
  }
});
