// SARIF 2.1.0 for `memcheck diff --sarif` (layout regressions and findings) and
// `memcheck check --sarif` (findings of one analysis). Pure.
import type { Analysis, Diff, Finding, Severity, StructDiff } from "../analysis/model.ts";
import { groupRegressions } from "./format.ts";
import { findingIds, structId } from "./review.ts";
import { RULE_FAILURE, RULES } from "../analysis/rules/index.ts";

export const SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json";

/** Where memcheck lives (app.yml's url): SARIF's informationUri and the base of rule help links. */
export const MEMCHECK_HOME = "https://github.com/memcheck/memcheck";

/** Where the fail policy for layout regressions is explained (the MC0xx rules' help). */
const POLICY_DOCS = "README.md#when-the-check-fails";

/** Layout regression rules. MC0xx so they never collide with the hazard rules (MC1xx). */
export const LAYOUT_RULES = {
  "size-class": {
    id: "MC001",
    name: "SizeClassGrowth",
    text: "A struct moved to a larger allocator size class.",
    full:
      "A struct grew into a larger allocator size class: every new(T), and every slice or map of T, takes the larger class. " +
      "It fails the check for types with many values (allocated in loops or per request, held in slices, pooled) or marked hot.",
  },
  padding: {
    id: "MC002",
    name: "PaddingGrowth",
    text: "A struct's padding grew past the threshold.",
    full:
      "A change added padding (bytes lost to alignment) beyond thresholds.paddingGrowth (8 by default). Reordering the fields " +
      "(largest alignment first) usually removes it; memcheck suggests the order, and `memcheck fix` applies it.",
  },
  "pointer-depth": {
    id: "MC003",
    name: "PointerDepth",
    text: "A struct's pointer chain is deeper than the threshold.",
    full:
      "The change created a chain of pointer hops longer than thresholds.maxPointerDepth (4 by default). The garbage collector " +
      "follows every hop of every value, and each hop is a likely cache miss.",
  },
  "new-cycle": {
    id: "MC004",
    name: "NewPointerCycle",
    text: "A struct became part of a pointer cycle.",
    full:
      "The change put the struct on a pointer cycle through two or more struct types (a type pointing to itself, as lists " +
      "and trees do, is not reported). Cycles keep whole graphs alive as long as any member is reachable.",
  },
} as const;

/** The long help of a rule, usually read from its docs page by the caller (reports stay pure). */
export interface RuleHelp {
  /** One paragraph: what the rule finds. */
  fullDescription: string;
  /** The rule's page, markdown. */
  markdown: string;
}

export interface SarifOptions {
  toolVersion?: string;
  informationUri?: string;
  /** Short descriptions for the MC1xx rules, by rule id (default: the rules registry's titles). */
  ruleDescriptions?: Record<string, string>;
  /** Long help by rule id (default: built from the registry: title, severity and a link). */
  ruleHelp?: Record<string, RuleHelp>;
  /** Turns a repository-relative docs path ("docs/rules/MC101.md") into a help URI (default: on GitHub, main branch). */
  docsUri?: (path: string) => string;
}

type Level = "error" | "warning" | "note";
const LEVEL: Record<Severity, Level> = { error: "error", warning: "warning", notice: "note" };

interface SarifRule {
  id: string;
  name?: string;
  shortDescription: { text: string };
  fullDescription: { text: string };
  helpUri: string;
  help: { text: string; markdown: string };
  defaultConfiguration: { level: Level };
  properties?: Record<string, unknown>;
}

interface SarifResult {
  ruleId: string;
  ruleIndex: number;
  level: Level;
  message: { text: string };
  locations: unknown[];
  partialFingerprints: Record<string, string>;
}

/** PascalCase name from a title: "Unbounded request body" -> "UnboundedRequestBody". */
function ruleName(title: string): string {
  return title
    .replace(/[^A-Za-z0-9 ]+/g, " ")
    .split(/\s+/)
    .filter(Boolean)
    .map((w) => w[0].toUpperCase() + w.slice(1))
    .join("");
}

/** Every rule memcheck can report, in a fixed order: MC001-MC004, the registry's MC1xx, MC000. */
export function sarifRules(opts: SarifOptions = {}): SarifRule[] {
  const docsUri = opts.docsUri ?? ((p: string) => `${MEMCHECK_HOME}/blob/main/${p}`);
  const out: SarifRule[] = [];
  for (const r of Object.values(LAYOUT_RULES)) {
    const uri = docsUri(POLICY_DOCS);
    out.push({
      id: r.id,
      name: r.name,
      shortDescription: { text: r.text },
      fullDescription: { text: r.full },
      helpUri: uri,
      help: { text: `${r.full} See ${uri}.`, markdown: `**${r.id}: ${r.text}**\n\n${r.full}\n\n[When the check fails](${uri})` },
      defaultConfiguration: { level: "error" },
      properties: { tags: ["memory", "layout"] },
    });
  }
  for (const info of [...RULES, RULE_FAILURE]) {
    const uri = docsUri(info.docs);
    const short = opts.ruleDescriptions?.[info.id] ?? info.title;
    const h = opts.ruleHelp?.[info.id];
    const full = h?.fullDescription ?? `${info.title} (default severity: ${info.defaultSeverity}).`;
    out.push({
      id: info.id,
      name: ruleName(info.title),
      shortDescription: { text: short.endsWith(".") ? short : `${short}.` },
      fullDescription: { text: full },
      helpUri: uri,
      help: { text: `${full} See ${uri}.`, markdown: h?.markdown ?? `**${info.id}: ${info.title}**\n\n${full}\n\n[${info.docs}](${uri})` },
      defaultConfiguration: { level: LEVEL[info.defaultSeverity] },
      properties: { tags: ["memory", info.id === RULE_FAILURE.id ? "internal" : "hazard"] },
    });
  }
  return out;
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
  const rules = sarifRules(opts);
  const index = new Map(rules.map((r, i) => [r.id, i]));
  const rule = (id: string, level: Level): number => {
    let i = index.get(id);
    if (i === undefined) {
      // A rule id nothing registers (a newer finding format): listed with what is known.
      i = rules.length;
      const text = `A finding of memcheck rule ${id}, which this version does not describe`;
      rules.push({
        id,
        shortDescription: { text: `${text}.` },
        fullDescription: { text: `${text}.` },
        helpUri: opts.informationUri ?? MEMCHECK_HOME,
        help: { text, markdown: text },
        defaultConfiguration: { level },
      });
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
      const ri = rule(r.id, "error");
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
    const ri = rule(f.rule, level);
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
            ...(opts.toolVersion ? { version: opts.toolVersion, semanticVersion: opts.toolVersion } : {}),
            informationUri: opts.informationUri ?? MEMCHECK_HOME,
            rules,
          },
        },
        originalUriBaseIds: { "%SRCROOT%": { description: { text: "The repository root." } } },
        results,
      },
    ],
  };
}
