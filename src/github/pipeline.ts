// The seam between the worker and the analysis/report code: what runReview needs from the review
// pipeline (engine + diff + rules) and the reporters. default-pipeline.ts wires the real modules;
// tests may substitute parts.
import type { Analysis, Arch, Diff, Snapshot, StructReport, Thresholds } from "../analysis/model.ts";
import type { Conclusion } from "../report/markdown.ts";
import type { FailOn } from "../review/conclusion.ts";
import type { Annotation as CheckAnnotation } from "../report/annotations.ts";
import type { ReviewComment as ReviewCommentDraft } from "../report/review.ts";
import type { RuleSetting, RuleThresholds } from "../review/config.ts";
import type { ChangedLines } from "./files.ts";
import type { ModuleSource } from "../modules/loader.ts";

// The payload shapes are the reporters' own; these names are what the worker calls them.
export type { Conclusion } from "../report/markdown.ts";
export type { Annotation as CheckAnnotation } from "../report/annotations.ts";
export type { ReviewComment as ReviewCommentDraft } from "../report/review.ts";

export interface ReviewInput {
  archs: Arch[];
  thresholds: Thresholds;
  ruleThresholds: RuleThresholds;
  rules: Record<string, RuleSetting>;
  changedLines: ChangedLines;
  maxFileBytes: number;
  /** `hot:` from the config: types whose layout regressions fail whatever their population. */
  hot?: string[];
  /** `go:` from the config: the Go release whose standard library layouts assume. */
  go?: string;
  /** Where other modules' packages come from (src/modules/app.ts); off when absent. */
  modules?: ModuleSource & { modFlag?: string };
}

export interface Pipeline {
  review(base: Snapshot, head: Snapshot, o: ReviewInput): Promise<{ base: Analysis; head: Analysis; diff: Diff }>;
  title(diff: Diff): string;
  /** The check-run summary; with `mermaid`, the sticky comment's (pointer maps as Mermaid diagrams). */
  summary(diff: Diff, o: { skipped: string[]; mermaid?: boolean }): string;
  /** `failOn` from the config (default: error-level findings and failing regressions). */
  conclusion(diff: Diff, failOn?: FailOn): Conclusion;
  annotations(diff: Diff): CheckAnnotation[];
  reviewComments(
    diff: Diff,
    changed: ChangedLines,
    o: { maxComments: number; suggest: boolean; fileText: (path: string) => string | undefined },
  ): ReviewCommentDraft[];
  /** The finding id hidden in one of our comment bodies, if any. */
  parseMarker(body: string): string | undefined;
  /** A byte-layout diagram of one struct on one arch (plain text). */
  diagram(struct: StructReport, arch: Arch): string;
  /** Start what the first review would otherwise start (threads, grammar), in the background. */
  warm?(): Promise<void>;
}
