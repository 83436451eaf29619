// The hazard rules (MC1xx): the one registry, thresholds and severities from config, and the
// three entry points the engine and the reports call. A rule that throws becomes an MC000 finding.
//
//   collectHazards(root, path, text)  syntax rules MC101, MC102, MC111 on one parsed file
//   structFindings(structs, opts)     MC121, MC131, MC141, MC151 from struct layouts
//   diffFindings(diff, opts)          MC161 and MC141's "new cycle", from base vs head
import type { Node } from "web-tree-sitter";
import type { Diff, Finding, PendingFinding, Severity, StructReport } from "../model.ts";
import { callArgs, callee, collectFacts, unparen, type FileFacts } from "./ast.ts";
import { isGeneratedGo } from "../gopath.ts";
import { bodyFlows } from "./mc101.ts";
import { packagePools } from "./mc111.ts";
import { emptySummary, fileView, packageView, settle, type FileSummary, type FnSummary, type Framework } from "./summaries.ts";
import { rule as mc101 } from "./mc101.ts";
import { rule as mc102 } from "./mc102.ts";
import { rule as mc111 } from "./mc111.ts";
import { rule as mc112 } from "./mc112.ts";
import { rule as mc121 } from "./mc121.ts";
import { rule as mc131 } from "./mc131.ts";
import { rule as mc141 } from "./mc141.ts";
import { rule as mc151 } from "./mc151.ts";
import { rule as mc161 } from "./mc161.ts";
import type { Hit, PendingHit, Rule, ThresholdValues } from "./rule.ts";

export type { Rule, ThresholdSpec } from "./rule.ts";
export { packageView, settle, type FileSummary } from "./summaries.ts";

/** The one list of rules. A new rule is one file exporting `rule`, added here. */
export const RULE_REGISTRY = [mc101, mc102, mc111, mc112, mc121, mc131, mc141, mc151, mc161] as const satisfies readonly Rule[];

export interface RuleInfo {
  id: string;
  title: string;
  defaultSeverity: Severity;
  docs: string;
}

export const RULES: readonly Rule[] = RULE_REGISTRY;

/**
 * A rule that threw: reported as a finding of this pseudo-rule (at the struct, or line 1 of the
 * file) so a crash is visible on the report instead of silently reporting nothing.
 */
export const RULE_FAILURE: RuleInfo = {
  id: "MC000",
  title: "A rule failed",
  defaultSeverity: "notice",
  docs: "docs/rules/README.md",
};

/** The registry entry (or MC000) for a rule id. */
export function ruleInfo(id: string): RuleInfo | undefined {
  return id === RULE_FAILURE.id ? RULE_FAILURE : RULES.find((r) => r.id === id);
}

type ThresholdName = (typeof RULE_REGISTRY)[number] extends infer R
  ? R extends { thresholds: infer T }
    ? keyof T & string
    : never
  : never;

/** Every rule threshold and its default, from the rules themselves. */
export const DEFAULT_THRESHOLDS = Object.freeze(
  Object.fromEntries(RULES.flatMap((r) => Object.entries(r.thresholds).map(([k, spec]) => [k, spec.default]))),
) as Readonly<Record<ThresholdName, number>>;

/** Per-rule severity override, or "off". Keys are rule ids ("MC101"). */
export type RuleConfig = Record<string, Severity | "off">;

/** Thresholds the rules use; every one is optional and has the default its rule declares. */
export interface RuleOptions {
  /**
   * Structs used only to look things up (MC131: is `*T` a struct, and how big), never reported.
   * In a PR review, pass every head struct here while `structs` holds the changed ones.
   */
  context?: StructReport[];
  thresholds?: Partial<Record<ThresholdName, number | undefined>>;
}

function thresholds(opts?: RuleOptions): ThresholdValues {
  const t: Record<string, number> = { ...DEFAULT_THRESHOLDS };
  for (const [k, v] of Object.entries(opts?.thresholds ?? {})) {
    if (k in t && typeof v === "number" && Number.isFinite(v)) t[k] = v;
  }
  return t;
}

function stamp<T extends Hit>(rule: RuleInfo, hit: T): T & Finding {
  return { rule: rule.id, severity: rule.defaultSeverity, ...hit };
}

function failure(rule: RuleInfo, file: string, line: number, err: unknown): Finding {
  const why = String((err as Error)?.message ?? err)
    .split("\n")[0]
    .slice(0, 300);
  return stamp(RULE_FAILURE, { file, line, message: `rule ${rule.id} failed on ${file}: ${why}` });
}

function dedupe<T extends Finding>(list: T[]): T[] {
  const seen = new Set<string>();
  return list.filter((f) => {
    const k = `${f.rule}\0${f.file}\0${f.line}\0${f.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function byPosition(a: Finding, b: Finding): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0);
}

/**
 * Run `run` over all items at once; if it throws, run it per item so that one bad item costs only
 * its own findings, and each item that still throws becomes an MC000 finding at its position.
 */
function runIsolated<T extends { file: string; line: number }>(
  rule: RuleInfo,
  items: T[],
  run: (items: T[]) => Hit[],
  out: Finding[],
): void {
  try {
    for (const h of run(items)) out.push(stamp(rule, h)); // not push(...): past ~125,000 arguments it overflows the stack
    return;
  } catch {
    // fall through: find the items that break it
  }
  for (const item of items) {
    try {
      for (const h of run([item])) out.push(stamp(rule, h));
    } catch (err) {
      out.push(failure(rule, item.file, item.line, err));
    }
  }
}

/** Words without which a file can matter to no syntax rule (nor to the package's summaries). */
const FILE_TRIGGER =
  /ReadAll|NewDecoder|Copy|ReadFrom|ParseMultipartForm|\.Put\(|Request\b|gin\.Context|echo\.Context|io\.Reader|io\.ReadCloser|Bind|GetRawData|sync\.Pool|MaxMultipartMemory|BodyLimit|RequestSize/;

/** What one file gives the package: its pending findings and its facts (plain data). */
export interface FileHazards {
  findings: PendingFinding[];
  summary: FileSummary;
}

/**
 * Syntax rules on one parsed file, with the file's package facts; conditions the file alone
 * decides are settled, the others stay pending for the package (analysis/index.ts). Never throws
 * (a rule that does becomes an MC000 finding); bounded on hostile input (an explicit-stack walk
 * with a node budget). Call while the tree is alive.
 */
export function collectFileHazards(root: Node, path: string, text: string, opts?: RuleOptions): FileHazards {
  const out: PendingFinding[] = [];
  const summary = emptySummary();
  // Cheap pre-filter: no trigger word, no walk.
  if (!FILE_TRIGGER.test(text)) return { findings: out, summary };
  let facts: FileFacts;
  try {
    facts = collectFacts(root, path, text);
  } catch (err) {
    return { findings: [failure({ ...RULE_FAILURE, id: "syntax rules" }, path, 1, err)], summary };
  }
  const t = thresholds(opts);
  const generated = isGeneratedGo(text);
  for (const r of RULES) {
    if (!r.syntax) continue;
    try {
      // A generated file is nobody's to fix: no findings, but its facts still serve the package.
      const hits = r.syntax(facts, t);
      if (!generated) for (const h of hits) out.push(stamp<PendingHit>(r, h));
    } catch (err) {
      out.push(failure(r, path, 1, err));
    }
  }
  let facts2 = summary;
  try {
    facts2 = summarizeFile(facts, t.multipartMaxMemory);
  } catch (err) {
    out.push(failure({ ...RULE_FAILURE, id: "package facts" }, path, 1, err));
  }
  return { findings: dedupe(settle(out, fileView(path, facts2))).sort(byPosition), summary: facts2 };
}

/**
 * Syntax rules on one parsed file, taken as its own package: every condition is decided (what the
 * file does not declare is not a sink, nor a bound, nor a pool). The engine uses collectFileHazards.
 */
export function collectHazards(root: Node, path: string, text: string, opts?: RuleOptions): PendingFinding[] {
  const { findings, summary } = collectFileHazards(root, path, text, opts);
  return settle(
    findings,
    packageView([{ path, summary }], () => []),
  );
}

/** The facts a file gives its package: function summaries, pools, body-limit middleware. */
export function summarizeFile(facts: FileFacts, multipartLimit: number): FileSummary {
  const s = emptySummary();
  const { flows } = bodyFlows(facts, multipartLimit);
  const byFn = new Map<number, FnSummary>();
  const limits = new Set<Framework>();
  const local = new Set<Framework>();
  for (const flow of flows) {
    const o = flow.origin;
    const fnText = () => facts.text.slice(o.fn.start, Math.min(o.fn.end, o.fn.start + 200_000));
    if (flow.bound && o.kind === "gin" && fnText().includes(".Next()")) local.add("gin");
    if (flow.bound && o.kind === "request" && fnText().includes(".ServeHTTP(")) local.add("http");
    if (o.fn.node.type === "func_literal") continue;
    const name = o.fn.node.childForFieldName("name")?.text;
    if (!name) continue;
    let f = byFn.get(o.fn.id);
    if (!f) {
      f = { key: o.fn.node.type === "method_declaration" ? `.${name}` : name, file: facts.path, line: o.fn.startLine, params: [] };
      byFn.set(o.fn.id, f);
      s.fns.push(f);
    }
    const direct = flow.reads.find((r) => !r.unlessBound.length && r.rd.multipart === undefined);
    f.params.push({
      index: o.index,
      kind: o.kind,
      ...(direct ? { sink: { file: facts.path, line: direct.ev.node.startPosition.row + 1, what: direct.rd.what } } : {}),
      ...(flow.bound ? { bound: true } : {}),
      ...(o.handler ? { handler: true } : {}),
      calls: flow.forwards.filter((x) => !x.unlessBound.length).map((x) => x.edge),
    });
  }
  for (const ev of facts.events) {
    if (ev.kind !== "call") continue;
    const c = callee(ev.node);
    if (!c || !c.recv) continue;
    const p = facts.imports.get(c.recv) ?? "";
    if (/^(BodyLimit|BodyLimitWithConfig)$/.test(c.name) && /labstack\/echo/.test(p)) limits.add("echo");
    if (c.name === "RequestSizeLimiter" && /gin-contrib\/size/.test(p)) limits.add("gin");
    if (c.name === "RequestSize" && /go-chi\/chi/.test(p)) limits.add("http");
    if (c.name === "MaxBytesHandler" && p === "net/http") {
      const a = unparen(callArgs(ev.node)[0]);
      if (a && (a.type === "identifier" || a.type === "selector_expression") && !facts.declared.has(a.text)) limits.add("http");
    }
  }
  s.bodyLimits = [...limits];
  s.localLimits = [...local];
  s.pools = [...packagePools(facts)];
  s.poolFields = [...facts.poolFields];
  return s;
}

/** Struct rules (MC121, MC131, MC141, MC151) over analysed structs. */
export function structFindings(structs: StructReport[], opts?: RuleOptions): Finding[] {
  const t = thresholds(opts);
  const context = opts?.context ?? [];
  const out: Finding[] = [];
  for (const r of RULES) {
    const run = r.structs;
    if (run) runIsolated(r, structs, (s) => run(s, t, context), out);
  }
  return dedupe(out).sort(byPosition);
}

/** Diff rules (MC161, MC141's new cycles) on the head side of a base/head diff. */
export function diffFindings(diff: Diff, opts?: RuleOptions): Finding[] {
  const t = thresholds(opts);
  const out: Finding[] = [];
  for (const r of RULES) {
    const run = r.diff;
    if (run) runIsolated(r, diff.structs, (structs) => run({ ...diff, structs }, t), out);
  }
  return dedupe(out).sort(byPosition);
}

/**
 * Apply a rule configuration: severities are overridden, "off" rules dropped. Unknown rule ids
 * in the config are ignored; findings of rules not in the config keep their default severity.
 */
export function applyRuleConfig<T extends Finding>(findings: T[], config: RuleConfig | undefined): T[] {
  if (!config) return findings;
  const out: T[] = [];
  for (const f of findings) {
    const c = config[f.rule];
    if (c === "off") continue;
    out.push(c ? { ...f, severity: c } : f);
  }
  return out;
}

/**
 * Resolve PendingFindings once package facts are known: `requiresPointerStruct` is kept only
 * when that package-local type is a struct with pointer bytes on the first analysed arch.
 * The engine may use this or do the same itself.
 */
export function resolvePending(pending: PendingFinding[], structsInPackage: StructReport[]): Finding[] {
  const out: Finding[] = [];
  for (const p of pending) {
    const { requiresPointerStruct, ...f } = p;
    if (requiresPointerStruct) {
      const s = structsInPackage.find((x) => x.name === requiresPointerStruct);
      const l = s ? Object.values(s.layouts)[0] : undefined;
      if (!l || l.ptrBytes <= 0) continue;
    }
    out.push(f);
  }
  return out;
}
