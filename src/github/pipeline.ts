// The seam between the worker and the analysis/report code: what runReview needs from the review
// pipeline (engine + diff + rules) and the reporters. default-pipeline.ts wires the real modules;
// tests may substitute parts.
import type { Analysis, Arch, Diff, Snapshot, StructReport, Thresholds } from "../analysis/model.ts";
import type { RuleSetting } from "../config.ts";
import type { ChangedLines } from "./files.ts";

export type Conclusion = "success" | "failure" | "neutral";

export interface CheckAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: "notice" | "warning" | "failure";
  message: string;
  title?: string;
  raw_details?: string;
}

export interface ReviewCommentDraft {
  path: string;
  line: number;
  side: "RIGHT";
  start_line?: number;
  start_side?: "RIGHT";
  /** The body carries a hidden marker identifying the finding. */
  body: string;
}

export interface ReviewInput {
  archs: Arch[];
  thresholds: Thresholds;
  rules: Record<string, RuleSetting>;
  changedLines: ChangedLines;
  maxFileBytes: number;
}

export interface Pipeline {
  review(base: Snapshot, head: Snapshot, o: ReviewInput): Promise<{ base: Analysis; head: Analysis; diff: Diff }>;
  title(diff: Diff): string;
  summary(diff: Diff, o: { skipped: string[] }): string;
  conclusion(diff: Diff): Conclusion;
  annotations(diff: Diff): CheckAnnotation[];
  reviewComments(diff: Diff, changed: ChangedLines, o: { maxComments: number; suggest: boolean; fileText: (path: string) => string | undefined }): ReviewCommentDraft[];
  /** The finding id hidden in one of our comment bodies, if any. */
  parseMarker(body: string): string | undefined;
  /** A byte-layout diagram of one struct on one arch (plain text). */
  diagram(struct: StructReport, arch: Arch): string;
}
