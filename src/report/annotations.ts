// Check-run annotations for regressions, changed structs and findings. Pure.
import type { Arch, Diff, Finding, Severity, StructDiff } from "../analysis/model.ts";
import { layoutDiagram } from "./diagram.ts";
import { rippleText } from "../analysis/ripple.ts";
import { change, deltaArch, groupRegressions, primaryArch, signed, truncateBytes, worstFirst } from "./format.ts";

/** The object GitHub's checks API takes in `output.annotations`. */
export interface Annotation {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: "notice" | "warning" | "failure";
  message: string;
  title?: string;
  raw_details?: string;
}

export interface AnnotationOptions {
  /** Cap on the notices for changed structs without regressions (default 100). */
  maxNotices?: number;
  /** Cap on all annotations (default 500, i.e. 10 API calls of 50): regressions first, then
   * findings, then notices. Everything stays in the summary. */
  maxAnnotations?: number;
}

/** GitHub caps message, title and raw_details; stay well inside. */
const MAX_TEXT = 60_000;
const MAX_TITLE = 255;

const LEVEL: Record<Severity, Annotation["annotation_level"]> = {
  error: "failure",
  warning: "warning",
  notice: "notice",
};

function span(s: StructDiff): { start_line: number; end_line: number } {
  const src = s.head?.source;
  const start = src?.line ?? s.line;
  const end = src && src.closeLine >= start ? src.closeLine : start;
  return { start_line: start, end_line: end };
}

function clip(s: string, max: number): string {
  return truncateBytes(s, max, "…");
}

function structNotice(s: StructDiff, archs: readonly Arch[]): string {
  const a = deltaArch(s, archs) ?? primaryArch(archs);
  const d = s.deltas[a];
  const h = d?.after;
  if (s.kind === "added" && h) {
    return (
      `New struct ${s.name}: ${h.size} B on ${a} (size class ${h.sizeClass}, padding ${h.padding} B, ` +
      `pointer bytes ${h.ptrBytes}${h.optimalSize < h.size ? `; reordered it would be ${h.optimalSize} B` : ""})`
    );
  }
  if (!d) return `${s.name} changed`;
  const fields = s.fieldChanges.length
    ? `; fields: ${s.fieldChanges.map((f) => `${f.name} ${f.kind}`).join(", ")}`
    : s.ripple
      ? `; unchanged itself, it holds a changed struct by value: ${rippleText(s.ripple)}`
      : "";
  return (
    `${s.name}: ${change(d.before?.size, d.after?.size)} B on ${a} (${signed(d.size)} B, size class ` +
    `${change(d.sizeClassBefore, d.sizeClassAfter)}, padding ${change(d.before?.padding, d.after?.padding)}, ` +
    `pointer bytes ${change(d.before?.ptrBytes, d.after?.ptrBytes)})${fields}`
  );
}

export function findingAnnotation(f: Finding): Annotation {
  return {
    path: f.file,
    start_line: f.line,
    end_line: f.endLine && f.endLine >= f.line ? f.endLine : f.line,
    annotation_level: LEVEL[f.severity] ?? "warning",
    title: clip(`${f.rule}`, MAX_TITLE),
    message: clip(f.message, MAX_TEXT),
  };
}

/**
 * Annotations: one failure per regressed struct, one per finding, and notices for other added or
 * changed structs (capped). Removed structs get none (their lines are gone on the head side).
 */
export function checkAnnotations(diff: Diff, opts: AnnotationOptions = {}): Annotation[] {
  const archs = diff.archs;
  const p = primaryArch(archs);
  const regressions: Annotation[] = [];
  const notices: Annotation[] = [];
  for (const s of worstFirst(diff)) {
    if (s.kind === "removed" || !s.head) continue;
    if (s.regressions.length) {
      const groups = groupRegressions(s.regressions);
      const lines = groups.map((g) => {
        const also = g.archs.filter((a) => a !== g.first.arch);
        return g.first.message + (also.length ? ` (also on ${also.join(", ")})` : "");
      });
      const arch = s.head.layouts[p] ? p : groups[0].first.arch;
      regressions.push({
        path: s.file,
        ...span(s),
        annotation_level: "failure",
        title: clip(`memcheck: ${s.name} ${groups.map((g) => g.kind).join(", ")}`, MAX_TITLE),
        message: clip(lines.join("\n"), MAX_TEXT),
        raw_details: clip(layoutDiagram(s.head, arch), MAX_TEXT),
      });
    } else if (notices.length < (opts.maxNotices ?? 100)) {
      const arch = deltaArch(s, archs) ?? p;
      notices.push({
        path: s.file,
        ...span(s),
        annotation_level: "notice",
        title: clip(`memcheck: ${s.name} ${s.kind}`, MAX_TITLE),
        message: clip(structNotice(s, archs), MAX_TEXT),
        ...(s.head.layouts[arch] ? { raw_details: clip(layoutDiagram(s.head, arch), MAX_TEXT) } : {}),
      });
    }
  }
  return [...regressions, ...diff.findings.map(findingAnnotation), ...notices].slice(0, opts.maxAnnotations ?? 500);
}

/** Split items into chunks of `size` (GitHub takes at most 50 annotations per request). */
export function batch<T>(items: readonly T[], size = 50): T[][] {
  if (size < 1) throw new RangeError("batch size must be at least 1");
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
