// What a hazard rule is: one object per rule (id, title, default severity, docs, thresholds with
// their defaults, and the runners it has). The registry (index.ts) stamps each hit with the rule's
// id and its configured severity, so no rule writes either itself.
import type { Diff, Finding, PendingFinding, Severity, StructReport } from "../model.ts";
import type { FileFacts } from "./ast.ts";

/** What a rule reports: a finding without its rule id and severity (the registry adds both). */
export type Hit = Omit<Finding, "rule" | "severity">;
/** A syntax rule's hit, which may still depend on package facts (see resolvePending). */
export type PendingHit = Omit<PendingFinding, "rule" | "severity">;

export interface ThresholdSpec {
  default: number;
  /** One line for the docs: what the number means. */
  description: string;
}

/** Resolved threshold values, by name: every threshold a rule declares is present. */
export type ThresholdValues = Readonly<Record<string, number>>;

export interface Rule {
  id: string;
  title: string;
  defaultSeverity: Severity;
  /** Repository-relative docs page, e.g. docs/rules/MC101.md. */
  docs: string;
  thresholds: Readonly<Record<string, ThresholdSpec>>;
  /** Over one parsed file (function bodies included). */
  syntax?: (facts: FileFacts, t: ThresholdValues) => PendingHit[];
  /** Over analysed structs; `context` holds structs to look types up in (never reported). */
  structs?: (structs: StructReport[], t: ThresholdValues, context: StructReport[]) => Hit[];
  /** Over a base/head diff. */
  diff?: (diff: Diff, t: ThresholdValues) => Hit[];
}
