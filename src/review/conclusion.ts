// The fail policy: which regressions fail the check and which are only notices, and why. Every
// front end takes its conclusion from here: the app's check run and `memcheck diff`'s exit code
// both call `conclusion()` / `isFailing()` on a diff this policy has sorted.
//
// A layout costs in proportion to how many values carry it, so under the default policy a
// regression fails the check only for a struct with evidence of many values (population.ts) or
// marked hot (`//memcheck:hot` above it, or `hot:` in the config). Singletons never fail. For
// those structs:
// - a size-class crossing or padding growth fails. A struct growing from zero size is not a
//   size-class regression at all (dropped, not even a notice).
// - pointer depth fails only when the change creates a chain beyond the limit: the base side was
//   within it and the struct was not on a chain already beyond it (a parent's).
// - a new pointer cycle fails unless it runs through one struct type only (how Go writes linked
//   lists and trees) or existed on the base side already (the struct only gained a path into it).
// Everything else is a notice in the summary, with its reason.
// The legacy policy fails on every regression the thresholds find (memcheck before this policy).
import type { Diff, Population, Regression, Severity, StructDiff } from "../analysis/model.ts";
import { describePopulation } from "../analysis/population.ts";

export type Conclusion = "success" | "failure" | "neutral";
export type FailPolicy = "default" | "legacy";
export const FAIL_POLICIES: readonly FailPolicy[] = ["default", "legacy"];

/**
 * The gate on findings: the lowest severity that fails (`failOn:` in .github/memcheck.yml, the
 * CLI's --fail-on). "error" is the default (only error-level findings fail); "never" never fails,
 * not even on a layout regression.
 */
export type FailOn = "error" | "warning" | "notice" | "never";
export const FAIL_ON: readonly FailOn[] = ["error", "warning", "notice", "never"];
export const DEFAULT_FAIL_ON: FailOn = "error";
const SEVERITY_RANK: Record<Severity, number> = { notice: 1, warning: 2, error: 3 };

/** Does one finding trip the gate? */
export function findingFails(f: { severity: Severity }, failOn: FailOn = DEFAULT_FAIL_ON): boolean {
  if (failOn === "never") return false;
  return (SEVERITY_RANK[f.severity] ?? 0) >= SEVERITY_RANK[failOn];
}

/** `memcheck check`'s gate: any finding at or above `failOn`. */
export function findingsFail(findings: readonly { severity: Severity }[], failOn: FailOn = DEFAULT_FAIL_ON): boolean {
  return findings.some((f) => findingFails(f, failOn));
}

export interface PolicyOptions {
  policy?: FailPolicy;
  /** How many values each struct has, by key (the head analysis's `population`). */
  population?: Record<string, Population>;
  /** Types marked hot in the config: `Name`, `pkg.Name` or the full `import/path.Name`. */
  hot?: readonly string[];
}

function isHotListed(s: StructDiff, hot: readonly string[]): boolean {
  if (!hot.length) return false;
  const pkgName = s.package.split("/").pop() ?? s.package;
  return hot.includes(s.name) || hot.includes(`${pkgName}.${s.name}`) || hot.includes(s.key);
}

interface Verdict {
  fails: boolean;
  /** Undefined: not a regression at all (dropped). */
  reason?: string;
}

function judge(s: StructDiff, r: Regression, many: { yes: boolean; why: string }): Verdict {
  const f = r.facts ?? {};
  switch (r.kind) {
    case "size-class":
    case "padding":
      if (f.fromZero) return { fails: false };
      return many.yes
        ? { fails: true, reason: `${s.name} has many values: ${many.why}` }
        : {
            fails: false,
            reason: `no evidence of many ${s.name} values (${many.why}); fails only for types with many values or marked hot`,
          };
    case "pointer-depth":
      if (f.preexisting) return { fails: false, reason: "the chain was already beyond the limit on the base side" };
      if (!many.yes)
        return {
          fails: false,
          reason: `no evidence of many ${s.name} values (${many.why}); a deep chain fails only for types with many values or marked hot`,
        };
      return {
        fails: true,
        reason: `${f.added ? "a new type" : "this change takes the chain beyond the limit"}; ${s.name} has many values: ${many.why}`,
      };
    case "new-cycle":
      if (f.selfCycle) return { fails: false, reason: "a self-recursive list or tree (one struct type pointing to itself)" };
      if (f.knownCycle)
        return { fails: false, reason: "the cycle already existed on the base side; this struct only gained a path into it" };
      if (!many.yes)
        return {
          fails: false,
          reason: `no evidence of many ${s.name} values (${many.why}); a new cycle fails only for types with many values or marked hot`,
        };
      return { fails: true, reason: `a new cycle through more than one struct type; ${s.name} has many values: ${many.why}` };
  }
}

/**
 * Sort a diff's regressions into failures (kept in `regressions`) and notices (`notices`), each
 * with its reason. Returns the same diff, changed in place. Idempotent.
 */
export function applyPolicy(diff: Diff, o: PolicyOptions = {}): Diff {
  const policy = o.policy ?? "default";
  const hot = o.hot ?? [];
  for (const s of diff.structs) {
    const all = [...s.regressions, ...(s.notices ?? [])];
    const failing: Regression[] = [];
    const notices: Regression[] = [];
    const pop = o.population?.[s.key];
    const listed = isHotListed(s, hot);
    const many = {
      yes: listed || pop?.level === "many",
      why: listed ? "listed in `hot:` in .github/memcheck.yml" : pop ? `${pop.level}: ${describePopulation(pop)}` : "unknown",
    };
    for (const r of all) {
      if (policy === "legacy") {
        failing.push({ ...r, reason: "legacy policy: every regression fails" });
        continue;
      }
      const v = judge(s, r, many);
      if (v.reason === undefined) continue;
      (v.fails ? failing : notices).push({ ...r, reason: v.reason });
    }
    s.regressions = failing;
    s.notices = notices;
  }
  diff.regressions = diff.structs.flatMap((s) => s.regressions);
  diff.notices = diff.structs.flatMap((s) => s.notices ?? []);
  diff.policy = policy;
  return diff;
}

/**
 * failure: any regression the policy kept as failing, or a finding at or above `failOn` (default:
 * error-level; on the lines the PR changed, as the pipeline filters them); never with "never".
 * `memcheck diff` exits 1 on exactly this condition.
 */
export function isFailing(diff: Diff, failOn: FailOn = DEFAULT_FAIL_ON): boolean {
  if (failOn === "never") return false;
  return diff.regressions.length > 0 || findingsFail(diff.findings, failOn);
}

/** neutral: no struct changed and no findings; success otherwise. */
export function conclusion(diff: Diff, failOn: FailOn = DEFAULT_FAIL_ON): Conclusion {
  if (isFailing(diff, failOn)) return "failure";
  if (diff.structs.length === 0 && diff.findings.length === 0) return "neutral";
  return "success";
}

/** One line per failure: "`Order` grew 48 → 64 B … — why: Order has many values: …". */
export function failureReasons(diff: Diff): string[] {
  return diff.regressions.map((r) => `${r.message}${r.reason ? ` — ${r.reason}` : ""}`);
}
