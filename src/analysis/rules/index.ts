// The hazard rules (MC1xx): the registry, configuration, and the three entry points the engine
// and the reports call.
//
//   collectHazards(root, path, text)  syntax rules MC101, MC102, MC111 on one parsed file
//   structFindings(structs, opts)     MC121, MC131, MC141, MC151 from struct layouts
//   diffFindings(diff, opts)          MC161 and MC141's "new cycle", from base vs head
import type { Node } from "web-tree-sitter";
import type { Diff, Finding, PendingFinding, Severity, StructReport } from "../model.ts";
import { collectFacts } from "./ast.ts";
import { DEFAULT_MULTIPART_LIMIT, mc101 } from "./mc101.ts";
import { mc102 } from "./mc102.ts";
import { mc111 } from "./mc111.ts";
import { mc121 } from "./mc121.ts";
import { DEFAULT_BINDING_POINTER_FIELDS, mc131 } from "./mc131.ts";
import { DEFAULT_MAX_POINTER_DEPTH, mc141, mc141NewCycle } from "./mc141.ts";
import { DEFAULT_PADDING_WASTE, mc151 } from "./mc151.ts";
import { DEFAULT_GC_SCAN_GROWTH, mc161 } from "./mc161.ts";

export interface RuleInfo {
  id: string;
  title: string;
  defaultSeverity: Severity;
  docs: string;
}

export const RULES: RuleInfo[] = [
  { id: "MC101", title: "Unbounded request body", defaultSeverity: "warning", docs: "docs/rules/MC101.md" },
  { id: "MC102", title: "Unbounded decompression", defaultSeverity: "warning", docs: "docs/rules/MC102.md" },
  { id: "MC111", title: "sync.Pool put without reset", defaultSeverity: "warning", docs: "docs/rules/MC111.md" },
  { id: "MC121", title: "Interface boxing in containers", defaultSeverity: "notice", docs: "docs/rules/MC121.md" },
  { id: "MC131", title: "Pointer-heavy binding struct", defaultSeverity: "notice", docs: "docs/rules/MC131.md" },
  { id: "MC141", title: "Deep pointer chain or new cycle", defaultSeverity: "notice", docs: "docs/rules/MC141.md" },
  { id: "MC151", title: "Padding waste", defaultSeverity: "notice", docs: "docs/rules/MC151.md" },
  { id: "MC161", title: "GC scan growth", defaultSeverity: "warning", docs: "docs/rules/MC161.md" },
];

/** Per-rule severity override, or "off". Keys are rule ids ("MC101"). */
export type RuleConfig = Record<string, Severity | "off">;

/** Thresholds the rules use; every one is optional and has the documented default. */
export interface RuleOptions {
  /**
   * Structs used only to look things up (MC131: is `*T` a struct, and how big), never reported.
   * In a PR review, pass every head struct here while `structs` holds the changed ones.
   */
  context?: StructReport[];
  thresholds?: {
    /** MC101: ParseMultipartForm memory limits above this many bytes fire (default 64 MiB). */
    multipartMaxMemory?: number;
    /** MC131: pointer fields a binding struct needs before it fires (default 3). */
    bindingPointerFields?: number;
    /** MC141: pointer depth beyond this fires (default 4). */
    maxPointerDepth?: number;
    /** MC151: bytes a reorder must save (default 8), unless it drops a size class. */
    paddingWaste?: number;
    /** MC161: pointer-byte growth that fires (default 16). */
    gcScanGrowth?: number;
  };
}

export const DEFAULT_THRESHOLDS = {
  multipartMaxMemory: DEFAULT_MULTIPART_LIMIT,
  bindingPointerFields: DEFAULT_BINDING_POINTER_FIELDS,
  maxPointerDepth: DEFAULT_MAX_POINTER_DEPTH,
  paddingWaste: DEFAULT_PADDING_WASTE,
  gcScanGrowth: DEFAULT_GC_SCAN_GROWTH,
} as const;

function thresholds(opts?: RuleOptions) {
  const t = { ...DEFAULT_THRESHOLDS, ...(opts?.thresholds ?? {}) };
  for (const k of Object.keys(DEFAULT_THRESHOLDS) as (keyof typeof DEFAULT_THRESHOLDS)[]) {
    if (typeof t[k] !== "number" || !Number.isFinite(t[k])) (t as Record<string, number>)[k] = DEFAULT_THRESHOLDS[k];
  }
  return t;
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
 * Syntax rules on one parsed file. Never throws; bounded on hostile input (an explicit-stack
 * walk with a node budget). Call while the tree is alive.
 */
export function collectHazards(root: Node, path: string, text: string, opts?: RuleOptions): PendingFinding[] {
  const out: PendingFinding[] = [];
  // Cheap pre-filter: no trigger word, no walk.
  if (!/ReadAll|NewDecoder|Copy|ReadFrom|ParseMultipartForm|\.Put\(/.test(text)) return out;
  let facts;
  try {
    facts = collectFacts(root, path, text);
  } catch {
    return out;
  }
  const t = thresholds(opts);
  const rules: (() => PendingFinding[])[] = [
    () => mc101(facts, { multipartLimit: t.multipartMaxMemory }),
    () => mc102(facts),
    () => mc111(facts),
  ];
  for (const r of rules) {
    try {
      for (const f of r()) out.push(f); // not push(...): past ~125,000 arguments it overflows the stack
    } catch {
      // A rule that trips over odd syntax reports nothing for this file.
    }
  }
  return dedupe(out).sort(byPosition);
}

/** Struct rules MC121, MC131, MC141, MC151 over analysed structs. */
export function structFindings(structs: StructReport[], opts?: RuleOptions): Finding[] {
  const t = thresholds(opts);
  const out: Finding[] = [];
  const rules: (() => Finding[])[] = [
    () => mc121(structs),
    () => mc131(structs, t.bindingPointerFields, opts?.context),
    () => mc141(structs, t.maxPointerDepth),
    () => mc151(structs, t.paddingWaste),
  ];
  for (const r of rules) {
    try {
      for (const f of r()) out.push(f); // not push(...): past ~125,000 arguments it overflows the stack
    } catch {
      // never let one rule break the analysis
    }
  }
  return dedupe(out).sort(byPosition);
}

/** Diff rules: MC161 and MC141's new cycles, on the head side of a base/head diff. */
export function diffFindings(diff: Diff, opts?: RuleOptions): Finding[] {
  const t = thresholds(opts);
  const out: Finding[] = [];
  try {
    for (const f of mc161(diff, t.gcScanGrowth)) out.push(f);
  } catch { /* see structFindings */ }
  try {
    for (const d of diff.structs) {
      const f = mc141NewCycle(d);
      if (f) out.push(f);
    }
  } catch { /* see structFindings */ }
  return dedupe(out).sort(byPosition);
}

/**
 * Apply a rule configuration: severities are overridden, "off" rules dropped. Unknown rule ids
 * in the config are ignored; findings of rules not in the config keep their severity.
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
