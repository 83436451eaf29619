// The check run's title, summary and conclusion, and the sticky PR comment. Pure.
import type { Arch, Diff, Finding, Regression, StructDiff } from "../analysis/model.ts";
import { layoutDiagram, pointerMapMermaid, pointerMapTree } from "./diagram.ts";
import { rippleText } from "../analysis/ripple.ts";
import {
  byteLength,
  cell,
  change,
  code,
  deltaArch,
  groupRegressions,
  plural,
  primaryArch,
  prose,
  signed,
  truncateBytes,
  worstFirst,
} from "./format.ts";

/** GitHub's limit for a check run's `summary` and `text`, and for a comment body. */
export const MAX_SUMMARY_BYTES = 65_535;
export const STICKY_MARKER = "<!-- memcheck:sticky -->";

export interface SummaryOptions {
  /** Files or notes that were skipped (too large, generated, vendored, over the limits...). */
  skipped?: string[];
  /** Byte cap for the whole summary (default 65,535). */
  maxBytes?: number;
  /** Layout diagrams of the worst regressions (default 3). */
  maxDiagrams?: number;
  /** Turns a file and line into a link (e.g. the blob at the head SHA). */
  fileUrl?: (file: string, line: number) => string;
  /**
   * Draw pointer maps as Mermaid diagrams (the sticky comment, `--markdown`); otherwise as text
   * trees (the check-run summary, where Mermaid is not rendered).
   */
  mermaid?: boolean;
  /** Pointer maps drawn (default 3). */
  maxPointerMaps?: number;
}

// The pass/fail decision lives in the review core; the formatter only renders it.
export { conclusion, isFailing, type Conclusion } from "../review/conclusion.ts";

/** The regression a struct is summed up by: the worst kind, preferring the primary arch. */
function headlineRegression(s: StructDiff, archs: readonly Arch[]): Regression | undefined {
  const groups = groupRegressions(s.regressions);
  if (!groups.length) return undefined;
  const p = primaryArch(archs);
  const g = groups[0];
  return s.regressions.find((r) => r.kind === g.kind && r.arch === p) ?? g.first;
}

/** A short description of a struct's headline regression, e.g. "Order +16 B (size class 48 → 64)". */
export function shortRegression(s: StructDiff, archs: readonly Arch[]): string {
  const r = headlineRegression(s, archs);
  if (!r) return s.name;
  const d = s.deltas[r.arch];
  const on = r.arch === primaryArch(archs) ? "" : ` on ${r.arch}`;
  switch (r.kind) {
    case "size-class":
      return `${s.name} ${signed(d?.size ?? 0)} B (size class ${d?.sizeClassBefore} → ${d?.sizeClassAfter})${on}`;
    case "padding":
      return `${s.name} padding ${signed(d?.padding ?? 0)} B${on}`;
    case "pointer-depth":
      return `${s.name} pointer depth ${d?.after?.pointerDepth}${on}`;
    case "new-cycle":
      return `${s.name} new pointer cycle${on}`;
  }
}

/** One-line headline for the check run. */
export function checkTitle(diff: Diff): string {
  const regressed = worstFirst(diff).filter((s) => s.regressions.length > 0);
  if (regressed.length) {
    const allGrew = regressed.every((s) => headlineRegression(s, diff.archs)?.kind === "size-class");
    const parts: string[] = [];
    let len = 0;
    for (const s of regressed) {
      const p = shortRegression(s, diff.archs);
      if (parts.length >= 3 || (parts.length > 0 && len + p.length > 120)) break;
      parts.push(p);
      len += p.length + 2;
    }
    const more = regressed.length > parts.length ? `, and ${regressed.length - parts.length} more` : "";
    return `${plural(regressed.length, "struct")} ${allGrew ? "grew" : "regressed"}: ${parts.join(", ")}${more}`;
  }
  const notices = diff.notices?.length ? ` · ${plural(diff.notices.length, "notice")}` : "";
  const findings = `${notices}${diff.findings.length ? ` · ${plural(diff.findings.length, "finding")}` : ""}`;
  if (diff.structs.length) return `No memory regressions in ${plural(diff.structs.length, "changed struct")}${findings}`;
  return `No Go structs changed${findings}`;
}

interface Limits {
  rows: number;
  notes: number;
  findings: number;
  unresolved: number;
  diagrams: number;
  maps: number;
}

function fileCell(s: { file: string; line: number }, o: SummaryOptions): string {
  const label = `${s.file}:${s.line}`;
  return o.fileUrl ? `[${cell(label)}](${o.fileUrl(s.file, s.line)})` : cell(code(label));
}

function tableRow(s: StructDiff, archs: readonly Arch[], o: SummaryOptions): string {
  const p = primaryArch(archs);
  const a = deltaArch(s, archs) ?? p;
  const d = s.deltas[a];
  const b = d?.before ?? s.base?.layouts[a];
  const h = d?.after ?? s.head?.layouts[a];
  const mark = s.regressions.length ? "🔴 " : s.kind === "added" ? "🆕 " : s.kind === "removed" ? "🗑️ " : "";
  const archNote = (a !== p ? ` (${a})` : "") + (s.ripple ? ` ⊃ ${cell(code(s.ripple.chain[s.ripple.chain.length - 1]!))}` : "");
  const size = `${change(b?.size, h?.size)} B`;
  const delta = d ? signed(d.size) : "±0";
  return (
    `| ${mark}${cell(code(s.name))}${archNote} | ${fileCell(s, o)} | ${size} | ${delta} | ` +
    `${change(b?.sizeClass, h?.sizeClass)} | ${change(b?.padding, h?.padding)} | ${change(b?.ptrBytes, h?.ptrBytes)} | ` +
    `${change(b?.pointerDepth, h?.pointerDepth)}${h?.cyclic ? " ↻" : ""} | ${h ? h.optimalSize : "—"} |`
  );
}

/** "386: 36 → 48 B (+12), size class 48 → 48" for every other arch whose change differs. */
function archNotes(s: StructDiff, archs: readonly Arch[]): string | undefined {
  if (s.kind !== "changed") return undefined;
  const a0 = deltaArch(s, archs);
  const d0 = a0 ? s.deltas[a0] : undefined;
  const notes: string[] = [];
  for (const a of archs) {
    if (a === a0) continue;
    const d = s.deltas[a];
    if (!d) continue;
    if (
      d0 &&
      d.size === d0.size &&
      d.sizeClassBefore === d0.sizeClassBefore &&
      d.sizeClassAfter === d0.sizeClassAfter &&
      d.padding === d0.padding
    )
      continue;
    notes.push(
      `${a} ${change(d.before?.size, d.after?.size)} B (${signed(d.size)}), size class ${change(d.sizeClassBefore, d.sizeClassAfter)}`,
    );
  }
  return notes.length ? `${code(s.name)}: ${notes.join("; ")}` : undefined;
}

/** "`Message` (`c/message.go:6`) 48 → 56 B, size class 48 → 64: `c.Message ⊃ b.Envelope ⊃ a.Header` (fields `Env`, `Hdr`)". */
function rippleLine(s: StructDiff, archs: readonly Arch[], o: SummaryOptions): string {
  const r = s.ripple!;
  const a = deltaArch(s, archs) ?? primaryArch(archs);
  const d = s.deltas[a];
  const size = d
    ? ` ${change(d.before?.size, d.after?.size)} B on ${a}, size class ${change(d.sizeClassBefore, d.sizeClassAfter)}, pointer bytes ${change(d.before?.ptrBytes, d.after?.ptrBytes)}`
    : "";
  const fields = r.fields.length ? ` (field${r.fields.length > 1 ? "s" : ""} ${r.fields.map((f) => code(f)).join(", ")})` : "";
  return `${code(s.name)} (${fileCell(s, o)})${size}: ${code(rippleText(r))}${fields}`;
}

function more(n: number, what = "more"): string {
  return `…and ${n} ${what}`;
}

function findingLine(f: Finding, o: SummaryOptions): string {
  const where = o.fileUrl ? `[${f.file}:${f.line}](${o.fileUrl(f.file, f.line)})` : code(`${f.file}:${f.line}`);
  return `- ${where} ${prose(f.message)}`;
}

function render(diff: Diff, o: SummaryOptions, lim: Limits): string {
  const archs = diff.archs;
  const p = primaryArch(archs);
  const out: string[] = [];
  const sorted = worstFirst(diff);
  const regressed = sorted.filter((s) => s.regressions.length);
  const counts = {
    added: diff.structs.filter((s) => s.kind === "added").length,
    removed: diff.structs.filter((s) => s.kind === "removed").length,
    changed: diff.structs.filter((s) => s.kind === "changed").length,
  };
  out.push(`**${checkTitle(diff)}**`, "");
  out.push(
    `${plural(counts.changed, "struct")} changed, ${counts.added} added, ${counts.removed} removed` +
      ` · ${plural(diff.regressions.length, "regression")}` +
      `${diff.notices?.length ? ` · ${plural(diff.notices.length, "notice")}` : ""} · ${plural(diff.findings.length, "finding")}` +
      ` · ${archs.length > 1 ? `archs ${archs.join(", ")} (table: ${p})` : `arch ${p}`}` +
      `${diff.go ? ` · std ${diff.go}` : ""}`,
    "",
  );

  if (diff.structs.length) {
    out.push(`### Changed structs (${p})`, "");
    out.push("| Type | File | Size | Δ B | Size class | Padding | Pointer bytes | Pointer depth | Optimal |");
    out.push("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    const rows = sorted.slice(0, lim.rows);
    for (const s of rows) out.push(tableRow(s, archs, o));
    if (sorted.length > rows.length) out.push("", more(sorted.length - rows.length, "more changed structs"));
    out.push("");
    if (archs.length > 1) {
      const notes = sorted.map((s) => archNotes(s, archs)).filter((x): x is string => !!x);
      if (notes.length) {
        out.push("Other archs differ:", "");
        for (const n of notes.slice(0, lim.notes)) out.push(`- ${n}`);
        if (notes.length > lim.notes) out.push(`- ${more(notes.length - lim.notes)}`);
        out.push("");
      }
    }
  }

  if (regressed.length) {
    out.push("### Regressions", "");
    for (const s of regressed.slice(0, lim.rows)) {
      for (const g of groupRegressions(s.regressions)) {
        const also = g.archs.filter((a) => a !== g.first.arch);
        out.push(`- ${prose(g.first.message)}${also.length ? ` (also on ${also.join(", ")})` : ""}`);
        if (g.first.reason) out.push(`  - Why it fails: ${prose(g.first.reason)}`);
      }
    }
    if (regressed.length > lim.rows) out.push(`- ${more(regressed.length - lim.rows, "more regressed structs")}`);
    out.push("");
    const diagrams = regressed.slice(0, lim.diagrams);
    for (const s of diagrams) {
      const r = headlineRegression(s, archs)!;
      const arch = s.head?.layouts[p] ? p : r.arch;
      if (!s.head?.layouts[arch]) continue;
      out.push(`<details><summary>Layout of ${code(s.name)} on ${arch}</summary>`, "", "```text");
      out.push(layoutDiagram(s.head, arch).trimEnd());
      out.push("```", "", "</details>", "");
    }
  }

  const rippled = sorted.filter((s) => s.ripple);
  if (rippled.length) {
    out.push("### Grew through embedding", "");
    out.push("These structs did not change in this pull request: they hold a struct that did, by value.", "");
    for (const s of rippled.slice(0, lim.rows)) out.push(`- ${rippleLine(s, archs, o)}`);
    if (rippled.length > lim.rows) out.push(`- ${more(rippled.length - lim.rows, "more structs")}`);
    out.push("");
  }

  const mapped = sorted.filter((s) => s.pointerMap).slice(0, lim.maps);
  if (mapped.length) {
    out.push("### Pointer chains", "");
    for (const s of mapped) {
      const m = s.pointerMap!;
      out.push(`${code(s.name)} (${fileCell(s, o)})`, "");
      if (o.mermaid) out.push("```mermaid", pointerMapMermaid(m).trimEnd(), "```", "");
      else out.push("```text", pointerMapTree(m).trimEnd(), "```", "");
    }
    const all = sorted.filter((s) => s.pointerMap).length;
    if (all > mapped.length) out.push(more(all - mapped.length, "more pointer maps"), "");
  }

  const noticed = sorted.filter((s) => s.notices?.length);
  if (noticed.length) {
    out.push("### Notices (not failing)", "");
    for (const s of noticed.slice(0, lim.rows)) {
      for (const g of groupRegressions(s.notices ?? [])) {
        const also = g.archs.filter((a) => a !== g.first.arch);
        const why = g.first.reason ? ` — ${prose(g.first.reason)}` : "";
        out.push(`- ${prose(g.first.message)}${also.length ? ` (also on ${also.join(", ")})` : ""}${why}`);
      }
    }
    if (noticed.length > lim.rows) out.push(`- ${more(noticed.length - lim.rows, "more structs with notices")}`);
    out.push("");
  }

  if (diff.findings.length) {
    out.push("### Findings", "");
    const byRule = new Map<string, Finding[]>();
    for (const f of diff.findings) {
      const l = byRule.get(f.rule) ?? [];
      l.push(f);
      byRule.set(f.rule, l);
    }
    let shown = 0;
    for (const [rule, fs] of [...byRule].sort((a, b) => a[0].localeCompare(b[0]))) {
      out.push(`**${rule}** · ${plural(fs.length, "finding")}`, "");
      const room = Math.max(0, lim.findings - shown);
      for (const f of fs.slice(0, room)) out.push(findingLine(f, o));
      shown += Math.min(room, fs.length);
      if (fs.length > room) out.push(`- ${more(fs.length - room)}`);
      out.push("");
    }
  }

  const skipped = o.skipped ?? [];
  if (diff.unresolved.length || diff.diagnostics.length || skipped.length) {
    out.push("### Not analysed", "");
    if (diff.unresolved.length) {
      out.push(`Structs that could not be laid out (${diff.unresolved.length}):`, "");
      for (const u of diff.unresolved.slice(0, lim.unresolved)) {
        const why = u.unresolved.length ? `: ${u.unresolved.map((x) => code(x)).join(", ")}` : "";
        out.push(`- ${code(u.name)} (${code(`${u.file}:${u.line}`)})${why}`);
      }
      if (diff.unresolved.length > lim.unresolved) out.push(`- ${more(diff.unresolved.length - lim.unresolved)}`);
      out.push("");
    }
    if (diff.diagnostics.length) {
      out.push(`Input problems (${diff.diagnostics.length}):`, "");
      for (const d of diff.diagnostics.slice(0, lim.unresolved)) {
        out.push(`- ${code(d.line ? `${d.file}:${d.line}` : d.file)} ${prose(d.message)}`);
      }
      if (diff.diagnostics.length > lim.unresolved) out.push(`- ${more(diff.diagnostics.length - lim.unresolved)}`);
      out.push("");
    }
    if (skipped.length) {
      out.push(`Skipped (${skipped.length}):`, "");
      for (const s of skipped.slice(0, lim.unresolved)) out.push(`- ${prose(s)}`);
      if (skipped.length > lim.unresolved) out.push(`- ${more(skipped.length - lim.unresolved)}`);
      out.push("");
    }
  }
  return out.join("\n");
}

const STEPS = [Infinity, 2000, 1000, 500, 200, 100, 50, 20, 10, 5, 0];

/** The check run's markdown summary, always within `maxBytes` (65,535 by default). */
export function checkSummary(diff: Diff, opts: SummaryOptions = {}): string {
  const max = opts.maxBytes ?? MAX_SUMMARY_BYTES;
  const diagrams = opts.maxDiagrams ?? 3;
  const maps = opts.maxPointerMaps ?? 3;
  const limits = (i: number, n: number): Limits => ({
    rows: n,
    notes: n,
    findings: n,
    unresolved: n,
    diagrams: i === 0 ? diagrams : Math.max(0, diagrams - Math.ceil(i / 3)),
    maps: i === 0 ? maps : Math.max(0, maps - Math.ceil(i / 3)),
  });
  let text = "";
  for (let i = 0; i < STEPS.length; i++) {
    text = render(diff, opts, limits(i, STEPS[i]));
    if (byteLength(text) > max) continue;
    // Fits: use the room left by searching between this step and the one that did not fit.
    let lo = STEPS[i],
      hi = i > 0 && Number.isFinite(STEPS[i - 1]) ? STEPS[i - 1] : lo;
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const t = render(diff, opts, limits(i, mid));
      if (byteLength(t) <= max) {
        lo = mid;
        text = t;
      } else hi = mid;
    }
    return text;
  }
  return truncateBytes(text, max);
}

/** The sticky PR comment: a marker to find it again, then the same summary. */
export function stickyComment(diff: Diff, opts: SummaryOptions = {}): string {
  const max = (opts.maxBytes ?? MAX_SUMMARY_BYTES) - byteLength(STICKY_MARKER) - 1;
  return `${STICKY_MARKER}\n${checkSummary(diff, { ...opts, maxBytes: max })}`;
}
