// The review pipeline shared by `memcheck diff` and the worker: analyse base and head, diff them,
// run the hazard rules, and keep what a reviewer should see.
import { analyzeSnapshot, type EngineOptions } from "./engine.ts";
import { diffAnalyses } from "./analysis/diff.ts";
import { rippleMatters } from "./analysis/ripple.ts";
import { withImpact } from "./review/impact.ts";
import { applyRuleConfig, diffFindings, structFindings, type RuleConfig, type RuleOptions } from "./analysis/rules/index.ts";
import type { Analysis, Diff, Finding, Snapshot, Thresholds } from "./analysis/model.ts";
import { applyPolicy, type FailPolicy } from "./review/conclusion.ts";

export interface ReviewOptions extends EngineOptions {
  thresholds?: Partial<Thresholds>;
  /** Thresholds of the hazard rules; MC141 follows thresholds.maxPointerDepth. */
  ruleThresholds?: RuleOptions["thresholds"];
  ruleConfig?: RuleConfig;
  /** Changed lines per file; when given, findings elsewhere are dropped (unless allFindings). */
  changedLines?: Map<string, Set<number>>;
  allFindings?: boolean;
  /** Types marked hot in the config (`hot:`): their layout regressions fail whatever their population. */
  hot?: readonly string[];
  /** The fail policy (default: "default"; "legacy" fails on every regression). */
  policy?: FailPolicy;
}

export interface Review {
  base: Analysis;
  head: Analysis;
  diff: Diff;
}

/** Every finding for one analysed tree: syntax rules (already in analysis.findings) plus struct rules. */
export function treeFindings(analysis: Analysis, ruleConfig?: RuleConfig, ruleThresholds?: RuleOptions["thresholds"]): Finding[] {
  const opts: RuleOptions = { thresholds: ruleThresholds, context: analysis.structs };
  return withImpact(
    applyRuleConfig([...analysis.findings, ...structFindings(analysis.structs, opts)], ruleConfig ?? {}),
    analysis.structs,
    analysis.population,
  );
}

export function onChangedLines(findings: Finding[], changed: Map<string, Set<number>>): Finding[] {
  return findings.filter((f) => {
    const lines = changed.get(f.file);
    if (!lines) return false;
    for (let l = f.line; l <= (f.endLine ?? f.line); l++) if (lines.has(l)) return true;
    return false;
  });
}

export async function review(base: Snapshot, head: Snapshot, options: ReviewOptions = {}): Promise<Review> {
  const { memo, ...engine }: EngineOptions = { ...options, rules: options.rules ?? true };
  // Only the base is remembered: it is the same commit for every PR on a branch (and for both
  // passes of a ripple review), while each head is new.
  const baseAnalysis = await analyzeSnapshot(base, { ...engine, memo, rules: false });
  const headAnalysis = await analyzeSnapshot(head, engine);
  return { base: baseAnalysis, head: headAnalysis, diff: reviewAnalyses(baseAnalysis, headAnalysis, options) };
}

/**
 * Diff two analyses, add the struct rules' findings and sort regressions with the fail policy.
 * `memcheck history` calls it directly, reusing one analysis as the next commit's base.
 * `onlyDirs`, when given, keeps the structs of those directories only (what a PR review lists), and
 * the structs elsewhere that grew, changed size class or pointer bytes through them (ripple.ts).
 */
export function reviewAnalyses(
  baseAnalysis: Analysis,
  headAnalysis: Analysis,
  options: ReviewOptions & { onlyDirs?: Set<string> } = {},
): Diff {
  const diff = diffAnalyses(baseAnalysis, headAnalysis, options.thresholds);
  if (options.onlyDirs) {
    const keep = options.onlyDirs;
    // Structs outside those directories stay when they grew through one the PR changed (ripple).
    diff.structs = diff.structs.filter((s) => keep.has((s.head ?? s.base)?.dir ?? "") || (s.ripple && rippleMatters(s)));
    diff.regressions = diff.structs.flatMap((s) => s.regressions);
  }
  const ruleOptions: RuleOptions = {
    thresholds: { ...options.ruleThresholds, maxPointerDepth: options.thresholds?.maxPointerDepth },
    // Struct rules report only what the PR changed, but look types up among all head structs.
    context: headAnalysis.structs,
  };
  let findings = applyRuleConfig(
    [...headAnalysis.findings, ...structFindings(changedStructs(diff), ruleOptions), ...diffFindings(diff, ruleOptions)],
    options.ruleConfig ?? {},
  );
  if (options.changedLines && !options.allFindings) findings = onChangedLines(findings, options.changedLines);
  findings = withImpact(findings, headAnalysis.structs, headAnalysis.population, options.hot);
  diff.findings = findings;
  applyPolicy(diff, { policy: options.policy, population: headAnalysis.population, hot: options.hot });
  return diff;
}

/** Struct rules in a PR look only at structs the PR adds or changes. */
function changedStructs(diff: Diff) {
  return diff.structs.flatMap((s) => (s.head && s.kind !== "removed" ? [s.head] : []));
}
