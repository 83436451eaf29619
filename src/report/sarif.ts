// SARIF 2.1.0 for `memcheck diff --sarif` (layout regressions and findings) and
// `memcheck check --sarif` (findings of one analysis). Pure.
import type { Analysis, Diff, Finding, Severity, StructDiff } from "../analysis/model.ts";
import { groupRegressions } from "./format.ts";
import { findingIds, structId } from "./review.ts";
import { ruleInfo } from "../analysis/rules/index.ts";

export const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";

/** Where memcheck lives (app.yml's url): SARIF's informationUri and the base of rule help links. */
export const MEMCHECK_HOME = "https://github.com/memcheck/memcheck";

/** Layout regression rules. MC0xx so they never collide with the hazard rules (MC1xx). */
export const LAYOUT_RULES = {
  "size-class": { id: "MC001", name: "SizeClassGrowth", text: "A struct moved to a larger allocator size class." },
  padding: { id: "MC002", name: "PaddingGrowth", text: "A struct's padding grew past the threshold." },
  "pointer-depth": { id: "MC003", name: "PointerDepth", text: "A struct's pointer chain is deeper than the threshold." },
  "new-cycle": { id: "MC004", name: "NewPointerCycle", text: "A struct became part of a pointer cycle." },
} as const;

export interface SarifOptions {
  toolVersion?: string;
  informationUri?: string;
  /** Short descriptions for the MC1xx rules, by rule id (default: the rules registry's titles). */
  ruleDescriptions?: Record<string, string>;
  /** Turns a repository-relative docs path ("docs/rules/MC101.md") into a help URI. */
  docsUri?: (path: string) => string;
}

type Level = "error" | "warning" | "note";
const LEVEL: Record<Severity, Level> = { error: "error", warning: "warning", notice: "note" };

interface SarifRule {
  id: string;
  name?: string;
  shortDescription: { text: string };
  helpUri?: string;
  help?: { text: string };
  defaultConfiguration: { level: Level };
}

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: Level;
  message: { text: string };
  locations: unknown[];
  partialFingerprints: Record<string, string>;
}

function isDiff(x: unknown): x is Diff {
  return !!x && typeof x === "object" && "regressions" in x && "unresolved" in x && "structs" in x;
}

function location(file: string, startLine: number, endLine?: number) {
  return {
    physicalLocation: {
      artifactLocation: { uri: file.split("/").map(encodeURIComponent).join("/"), uriBaseId: "%SRCROOT%" },
      region: { startLine: Math.max(1, startLine), ...(endLine && endLine > startLine ? { endLine } : {}) },
    },
  };
}

/** A SARIF 2.1.0 log for a diff (regressions and findings), an analysis or a list of findings. */
export function toSarif(input: Diff | Analysis | Finding[], opts: SarifOptions = {}): object {
  const findings: Finding[] = Array.isArray(input) ? input : input.findings;
  const structs: StructDiff[] = isDiff(input) ? input.structs : [];
  const rules: SarifRule[] = [];
  const index = new Map<string, number>();
  const rule = (id: string, make: () => SarifRule): number => {
    let i = index.get(id);
    if (i === undefined) {
      i = rules.length;
      rules.push(make());
      index.set(id, i);
    }
    return i;
  };
  const results: SarifResult[] = [];

  for (const s of structs) {
    if (!s.regressions.length) continue;
    const src = s.head?.source;
    for (const g of groupRegressions(s.regressions)) {
      const r = LAYOUT_RULES[g.kind];
      const ri = rule(r.id, () => ({
        id: r.id,
        name: r.name,
        shortDescription: { text: r.text },
        defaultConfiguration: { level: "error" },
      }));
      const also = g.archs.filter((a) => a !== g.first.arch);
      results.push({
        ruleId: r.id,
        ruleIndex: ri,
        level: "error",
        message: { text: g.first.message + (also.length ? ` (also on ${also.join(", ")})` : "") },
        locations: [location(s.file, src?.line ?? s.line, src?.closeLine)],
        partialFingerprints: { "memcheck/v1": `${structId(s)}:${g.kind}` },
      });
    }
  }

  const ids = findingIds(findings);
  findings.forEach((f, i) => {
    const level = LEVEL[f.severity] ?? "warning";
    const ri = rule(f.rule, () => {
      const info = ruleInfo(f.rule);
      return {
        id: f.rule,
        shortDescription: { text: opts.ruleDescriptions?.[f.rule] ?? info?.title ?? `memcheck hazard rule ${f.rule}` },
        ...(info ? { help: { text: `See ${info.docs}.` } } : {}),
        ...(info && opts.docsUri ? { helpUri: opts.docsUri(info.docs) } : {}),
        defaultConfiguration: { level: info ? LEVEL[info.defaultSeverity] : level },
      };
    });
    results.push({
      ruleId: f.rule,
      ruleIndex: ri,
      level,
      message: { text: f.message },
      locations: [location(f.file, f.line, f.endLine)],
      partialFingerprints: { "memcheck/v1": ids[i] },
    });
  });

  return {
    $schema: SARIF_SCHEMA,
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "memcheck",
            ...(opts.toolVersion ? { version: opts.toolVersion } : {}),
            ...(opts.informationUri ? { informationUri: opts.informationUri } : {}),
            rules,
          },
        },
        originalUriBaseIds: { "%SRCROOT%": { description: { text: "The repository root." } } },
        results,
      },
    ],
  };
}
