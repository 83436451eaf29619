// Inline PR review comments. Pure.
//
// A comment is only ever placed on lines the caller says are in the diff (`changedLines`, the
// RIGHT-side lines of the PR's hunks per path): one bad line makes GitHub reject the whole review.
// A ```suggestion block is attached only when every line it replaces is in that set, and the
// comment then spans exactly those lines (GitHub applies a suggestion to the commented range).
// Each body carries a hidden marker with a stable id, so a rerun can skip (or update) comments
// it already posted instead of duplicating them.
import { createHash } from "node:crypto";
import type { Arch, Diff, Finding, StructDiff } from "../analysis/model.ts";
import { layoutDiagram } from "./diagram.ts";
import { groupRegressions, primaryArch, prose } from "./format.ts";
import { reorderSuggestion, type Suggestion } from "./suggestion.ts";

/** The fields of one entry of `pulls.createReview({ comments })`. */
export interface ReviewComment {
  path: string;
  line: number;
  side: "RIGHT";
  start_line?: number;
  start_side?: "RIGHT";
  body: string;
}

export interface ReviewOptions {
  /** Arch the suggestion and diagram are for (default: the diff's first arch). */
  arch?: Arch;
  /** Head file text by path: lets reorder suggestions drop blank lines between fields. */
  fileText?: (path: string) => string | undefined;
  /** Changed or added structs without regressions get a reorder suggestion only when it saves
   * at least this many bytes (default 8). Set to Infinity to comment on regressions only. */
  minSavings?: number;
  /** At most this many comments (default 30): regressions first, then findings, then savings. */
  maxComments?: number;
}

const MARKER_RE = /<!-- memcheck:finding ([^\s>]+) -->/;

/** The hidden marker for a finding id. Ids are made safe for an HTML comment. */
export function findingMarker(id: string): string {
  return `<!-- memcheck:finding ${id.replace(/[\s>]/g, "_").replace(/--/g, "-_")} -->`;
}

/** The id in a comment body's marker, or undefined. */
export function parseMarker(body: string): string | undefined {
  return MARKER_RE.exec(body)?.[1];
}

function shortHash(s: string): string {
  return createHash("sha1").update(s).digest("hex").slice(0, 10);
}

/** Stable id for a struct: its key (line numbers move between pushes; keys do not). */
export function structId(s: Pick<StructDiff, "key">): string {
  return `layout:${s.key}`;
}

/** Stable id for a finding: rule, file and message, plus an occurrence number for repeats. */
export function findingIds(findings: Finding[]): string[] {
  const seen = new Map<string, number>();
  return findings.map((f) => {
    // Line numbers quoted in the message (evidence such as `h.go:8`) move with every edit above them:
    // left out, so the id (review-comment markers, SARIF fingerprints) survives a line shift.
    const base = `${f.rule}:${f.file}:${shortHash(f.message.replace(/(\.go):\d+/g, "$1"))}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}:${n}`;
  });
}

function fence(text: string, info: string): string {
  let ticks = "```";
  while (text.includes(ticks)) ticks += "`";
  return `${ticks}${info}\n${text}\n${ticks}`;
}

function allIn(set: Set<number> | undefined, start: number, end: number): boolean {
  if (!set) return false;
  for (let l = start; l <= end; l++) if (!set.has(l)) return false;
  return true;
}

function anchor(set: Set<number> | undefined, preferred: number[], range: [number, number]): number | undefined {
  if (!set) return undefined;
  for (const l of preferred) if (set.has(l)) return l;
  for (let l = range[0]; l <= range[1]; l++) if (set.has(l)) return l;
  return undefined;
}

function place(path: string, body: string, line: number, start?: number): ReviewComment {
  const c: ReviewComment = { path, line, side: "RIGHT", body };
  if (start !== undefined && start < line) {
    c.start_line = start;
    c.start_side = "RIGHT";
  }
  return c;
}

/** The lines a struct's comment speaks for: from its `type` line to its closing brace. */
function structRange(s: StructDiff): [number, number] {
  const src = s.head?.source;
  const start = src?.line ?? s.line;
  return [start, Math.max(start, src?.closeLine ?? start)];
}

function structComment(
  s: StructDiff,
  changed: Map<string, Set<number>>,
  arch: Arch,
  o: ReviewOptions,
  related: Finding[],
): { comment: ReviewComment; regression: boolean } | undefined {
  const head = s.head;
  if (!head || s.kind === "removed") return undefined;
  const layout = head.layouts[arch];
  const set = changed.get(s.file);
  const sug: Suggestion | undefined = layout ? reorderSuggestion(head, arch, o.fileText?.(s.file)) : undefined;
  const regression = s.regressions.length > 0;
  if (!regression) {
    const saves = layout && sug?.size !== undefined ? layout.size - sug.size : 0;
    if (!sug || saves < (o.minSavings ?? 8)) return undefined;
  }
  const lines: string[] = [findingMarker(structId(s))];
  if (regression) {
    for (const g of groupRegressions(s.regressions)) {
      const also = g.archs.filter((a) => a !== g.first.arch);
      lines.push(`**memcheck:** ${prose(g.first.message)}${also.length ? ` (also on ${also.join(", ")})` : ""}`);
    }
  } else if (layout && !related.length) {
    lines.push(`**memcheck:** \`${s.name}\` is ${layout.size} B on ${arch} with ${layout.padding} B of padding.`);
  }
  // Findings about this declaration (MC151 padding waste, MC141 chains...) join this comment.
  for (const f of related) lines.push(`**${f.rule}:** ${prose(f.message)}`);
  const suggestionFits = !!sug && allIn(set, sug.startLine, sug.endLine);
  if (sug && layout) {
    lines.push("", `Reordering the fields makes it ${sug.size} B on ${arch} (saves ${layout.size - (sug.size ?? layout.size)} B).`);
    if (suggestionFits) lines.push(fence(sug.text, "suggestion"));
    else lines.push(`Suggested order: ${(sug.order ?? layout.optimalOrder).map((n) => `\`${n}\``).join(", ")}.`);
  }
  if (layout) {
    lines.push(
      "",
      `<details><summary>Layout on ${arch}</summary>`,
      "",
      fence(layoutDiagram(head, arch).trimEnd(), "text"),
      "",
      "</details>",
    );
  }
  const body = lines.join("\n");
  if (sug && suggestionFits) {
    return { comment: place(s.file, body, sug.endLine, sug.startLine), regression };
  }
  const range = structRange(s);
  const at = anchor(set, [range[0]], range);
  if (at === undefined) return undefined;
  return { comment: place(s.file, body, at), regression };
}

function findingComment(f: Finding, id: string, changed: Map<string, Set<number>>): ReviewComment | undefined {
  const set = changed.get(f.file);
  if (!set) return undefined;
  const sug = f.suggestion;
  const lines = [findingMarker(id), `**${f.rule}:** ${prose(f.message)}`];
  if (sug && sug.endLine >= sug.startLine && allIn(set, sug.startLine, sug.endLine)) {
    lines.push(fence(sug.text, "suggestion"));
    return place(f.file, lines.join("\n"), sug.endLine, sug.startLine);
  }
  const end = f.endLine && f.endLine >= f.line ? f.endLine : f.line;
  if (allIn(set, f.line, end)) return place(f.file, lines.join("\n"), end, f.line);
  const at = anchor(set, [f.line], [f.line, end]);
  return at === undefined ? undefined : place(f.file, lines.join("\n"), at);
}

/**
 * Inline comments for the regressed structs, the findings, and changed structs whose fields could
 * be reordered to save memory, only on changed lines. Each carries `findingMarker(id)`.
 */
export function reviewComments(diff: Diff, changedLines: Map<string, Set<number>>, opts: ReviewOptions = {}): ReviewComment[] {
  const arch = opts.arch ?? primaryArch(diff.archs);
  const regressions: ReviewComment[] = [];
  const savings: ReviewComment[] = [];
  const folded = new Set<number>();
  const byFile = new Map<string, { f: Finding; i: number }[]>();
  diff.findings.forEach((f, i) => {
    if (f.suggestion) return;
    const l = byFile.get(f.file) ?? [];
    l.push({ f, i });
    byFile.set(f.file, l);
  });
  for (const s of diff.structs) {
    const [from, to] = structRange(s);
    const related = (byFile.get(s.file) ?? []).filter(({ f, i }) => !folded.has(i) && f.line >= from && f.line <= to);
    const c = structComment(
      s,
      changedLines,
      arch,
      opts,
      related.map((x) => x.f),
    );
    if (!c) continue;
    for (const { i } of related) folded.add(i);
    (c.regression ? regressions : savings).push(c.comment);
  }
  const ids = findingIds(diff.findings);
  // Summary-only findings (struct notices without evidence of many values: src/review/impact.ts)
  // stay in the check summary.
  const findings = diff.findings
    .map((f, i) => (folded.has(i) || f.summaryOnly ? undefined : findingComment(f, ids[i], changedLines)))
    .filter((c): c is ReviewComment => !!c);
  return [...regressions, ...findings, ...savings].slice(0, opts.maxComments ?? 30);
}

/** Drop the comments whose marker already appears in one of the existing comment bodies. */
export function withoutPosted(comments: ReviewComment[], existingBodies: Iterable<string>): ReviewComment[] {
  const posted = new Set<string>();
  for (const b of existingBodies) {
    const id = parseMarker(b);
    if (id) posted.add(id);
  }
  return comments.filter((c) => !posted.has(parseMarker(c.body) ?? ""));
}
