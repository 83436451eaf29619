// Impact of struct findings: a few bytes matter in proportion to the number of values that carry
// them. The struct rules (MC121, MC131, MC141, MC151, MC161) find what could be smaller; the review
// core weighs each finding by the struct's population (src/analysis/population.ts: many, few or one,
// with evidence), ranks by it, and decides where it is shown: inline in a PR review only with
// evidence of many values, in the check summary otherwise. One decision for the app and the CLI.
import { describePopulation } from "../analysis/population.ts";
import type { Finding, Population, PopulationLevel, StructReport } from "../analysis/model.ts";

/** The rules about a struct's own layout, whose worth depends on how many values it has. */
export const STRUCT_RULES: ReadonlySet<string> = new Set(["MC121", "MC131", "MC141", "MC151", "MC161"]);

const RANK: Record<PopulationLevel, number> = { many: 0, few: 1, one: 2 };

/**
 * Which evidence of many values puts a struct notice inline. Layout rules (MC151, MC161, MC141)
 * save bytes on every value alive at once: values held together (in containers, or by value in
 * such values), not one transient value per request or per loop turn. MC131's cost is paid per
 * decode: values decoded per request. MC121's cost scales with its containers' lengths, which the
 * code does not show: it goes inline only for types listed in `hot:`.
 */
function inlineEvidence(f: Finding, pop: Population): boolean {
  if (pop.level !== "many") return false;
  const kinds = new Set(pop.evidence.map((e) => e.kind));
  if (kinds.has("hot")) return true;
  if (f.rule === "MC131") return kinds.has("handler");
  if (f.rule === "MC121") return false;
  return kinds.has("container") || kinds.has("held");
}

function isHot(s: StructReport, hot: readonly string[]): boolean {
  if (!hot.length) return false;
  const pkgName = s.package.split("/").pop() ?? s.package;
  return hot.includes(s.name) || hot.includes(`${pkgName}.${s.name}`) || hot.includes(`${s.package}.${s.name}`);
}

/** The struct a finding is about: same file, the line within its declaration. */
function structAt(byFile: Map<string, StructReport[]>, f: Finding): StructReport | undefined {
  for (const s of byFile.get(f.file) ?? []) {
    const from = s.source?.openLine ?? s.line;
    const to = s.source?.closeLine ?? s.line;
    if (f.line >= Math.min(s.line, from) && f.line <= Math.max(s.line, to)) return s;
  }
  return undefined;
}

function scaleNote(f: Finding, level: PopulationLevel): string {
  if (level !== "many") return "";
  // MC151 states its saving per million values; with evidence of many values, that is the scale.
  return f.rule === "MC151" ? " At that scale the saving is real: it applies to every value held." : "";
}

/**
 * Struct findings with their impact: the population level and evidence are attached and added to
 * the message; a finding without evidence of many values (few, one, or unknown) is summary-only.
 * Struct findings are ranked many → few → one, keeping their order otherwise (a stable sort);
 * other findings keep their place ahead of them.
 */
export function withImpact(
  findings: Finding[],
  structs: StructReport[],
  population: Record<string, Population> | undefined,
  hot: readonly string[] = [],
): Finding[] {
  const byFile = new Map<string, StructReport[]>();
  for (const s of structs) {
    const l = byFile.get(s.file) ?? [];
    l.push(s);
    byFile.set(s.file, l);
  }
  const out = findings.map((f, i) => {
    if (!STRUCT_RULES.has(f.rule)) return { f, rank: -1, i };
    const s = structAt(byFile, f);
    const pop = s ? population?.[`${s.package}.${s.name}`] : undefined;
    if (s && isHot(s, hot)) {
      const impact = { level: "many" as const, evidence: "listed in `hot:` in .github/memcheck.yml" };
      return { f: { ...f, impact, message: `${f.message} Impact: many values (${impact.evidence}).` }, rank: 0, i };
    }
    if (!pop) return { f: { ...f, summaryOnly: true }, rank: RANK.few, i };
    const evidence = describePopulation(pop);
    const label = pop.level === "many" ? "many values" : pop.level === "one" ? "one value" : "no evidence of many values";
    return {
      f: {
        ...f,
        impact: { level: pop.level, evidence },
        ...(inlineEvidence(f, pop) ? {} : { summaryOnly: true }),
        message: `${f.message} Impact: ${label}${pop.evidence.length ? ` (${evidence})` : ""}.${scaleNote(f, pop.level)}`,
      },
      rank: RANK[pop.level],
      i,
    };
  });
  return out.sort((a, b) => a.rank - b.rank || a.i - b.i).map((x) => x.f);
}
