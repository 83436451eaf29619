// The terminal report for `memcheck diff`: a compact table plus regressions. Pure.
import pc from "picocolors";
import type { Arch, Diff } from "../analysis/model.ts";
import { findingText, type PlacedFinding } from "./findings.ts";
import { checkTitle } from "./markdown.ts";
import { pointerMapTree } from "./diagram.ts";
import { rippleText } from "../analysis/ripple.ts";
import { change, deltaArch, groupRegressions, plural, primaryArch, signed, worstFirst } from "./format.ts";

export interface TextOptions {
  /** ANSI colours (default false; the CLI passes `process.stdout.isTTY`). */
  color?: boolean;
  /** Rows of the table before "…and N more" (default 50). */
  maxRows?: number;
  /** Findings listed before "…and N more" (default 50). */
  maxFindings?: number;
  /**
   * The findings placed for printing (paths relative to the current directory, columns), printed
   * as Go tools print them; default: the diff's findings at their snapshot paths, column 1.
   */
  placed?: PlacedFinding[];
  /** Each finding's whole explanation (the CLI's --verbose). */
  verbose?: boolean;
}

/** Display width, good enough for our output (no wide characters in it). */
function width(s: string): number {
  return [...s].length;
}

function table(rows: string[][], rightAlign: Set<number>): string[] {
  const w: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      w[i] = Math.max(w[i] ?? 0, width(c));
    });
  return rows.map((r) =>
    r
      .map((c, i) => {
        const pad = " ".repeat(w[i] - width(c));
        return rightAlign.has(i) ? pad + c : c + pad;
      })
      .join("  ")
      .trimEnd(),
  );
}

export function textReport(diff: Diff, opts: TextOptions = {}): string {
  const paint = pc.createColors(!!opts.color);
  const c = (code: "red" | "green" | "yellow" | "dim" | "bold", s: string) => paint[code](s);
  const archs = diff.archs;
  const p: Arch = primaryArch(archs);
  const out: string[] = [];
  const regressed = diff.regressions.length > 0;
  out.push(c("bold", `memcheck: ${checkTitle(diff)}`));

  const sorted = worstFirst(diff);
  if (sorted.length) {
    const maxRows = opts.maxRows ?? 50;
    const rows: string[][] = [["", "TYPE", "FILE", `SIZE (${p})`, "Δ", "CLASS", "PADDING", "PTR BYTES", "DEPTH", "OPTIMAL"]];
    for (const s of sorted.slice(0, maxRows)) {
      const a = deltaArch(s, archs) ?? p;
      const d = s.deltas[a];
      const b = d?.before,
        h = d?.after;
      const mark = s.regressions.length ? "✗" : s.kind === "added" ? "+" : s.kind === "removed" ? "-" : "~";
      rows.push([
        mark,
        s.name + (a !== p ? ` (${a})` : ""),
        `${s.file}:${s.line}`,
        change(b?.size, h?.size),
        d ? signed(d.size) : "±0",
        change(b?.sizeClass, h?.sizeClass),
        change(b?.padding, h?.padding),
        change(b?.ptrBytes, h?.ptrBytes),
        change(b?.pointerDepth, h?.pointerDepth) + (h?.cyclic ? " ↻" : ""),
        h ? String(h.optimalSize) : "—",
      ]);
    }
    const lines = table(rows, new Set([3, 4, 5, 6, 7, 8, 9]));
    out.push("", c("dim", lines[0]));
    sorted.slice(0, maxRows).forEach((s, i) => {
      const line = lines[i + 1];
      out.push(s.regressions.length ? c("red", line) : s.kind === "removed" ? c("dim", line) : line);
    });
    if (sorted.length > maxRows) out.push(`…and ${sorted.length - maxRows} more changed structs`);
  }

  if (regressed) {
    out.push("", c("bold", "Regressions:"));
    for (const s of sorted) {
      for (const g of groupRegressions(s.regressions)) {
        const also = g.archs.filter((a) => a !== g.first.arch);
        out.push(`  ${c("red", "✗")} ${g.first.message}${also.length ? ` (also on ${also.join(", ")})` : ""}`);
        if (g.first.reason) out.push(`      why: ${g.first.reason}`);
      }
    }
  }

  const rippled = sorted.filter((s) => s.ripple);
  if (rippled.length) {
    out.push("", c("bold", "Grew through embedding (held by value, unchanged themselves):"));
    for (const s of rippled.slice(0, opts.maxRows ?? 50)) {
      const a = deltaArch(s, archs) ?? p;
      const d = s.deltas[a];
      const size = d ? ` ${change(d.before?.size, d.after?.size)} B, class ${change(d.sizeClassBefore, d.sizeClassAfter)}` : "";
      out.push(`  ${s.regressions.length ? c("red", "✗") : "~"} ${s.name} ${s.file}:${s.line}${size}: ${rippleText(s.ripple!)}`);
    }
    if (rippled.length > (opts.maxRows ?? 50)) out.push(`  …and ${rippled.length - (opts.maxRows ?? 50)} more`);
  }

  const mapped = sorted.filter((s) => s.pointerMap);
  if (mapped.length) {
    out.push("", c("bold", "Pointer chains:"));
    for (const s of mapped.slice(0, 3)) {
      out.push(
        ...pointerMapTree(s.pointerMap!)
          .trimEnd()
          .split("\n")
          .map((l) => `  ${l}`),
      );
    }
    if (mapped.length > 3) out.push(`  …and ${mapped.length - 3} more pointer maps`);
  }

  const noticed = sorted.filter((s) => s.notices?.length);
  if (noticed.length) {
    out.push("", c("bold", "Notices (not failing):"));
    for (const s of noticed) {
      for (const g of groupRegressions(s.notices ?? [])) {
        out.push(`  ${c("yellow", "!")} ${g.first.message}`);
        if (g.first.reason) out.push(`      ${c("dim", g.first.reason)}`);
      }
    }
  }

  if (diff.findings.length) {
    const max = opts.maxFindings ?? 50;
    out.push("", c("bold", `Findings (${diff.findings.length}):`));
    const placed = opts.placed ?? diff.findings.map((finding) => ({ finding, path: finding.file, column: 1 }));
    for (const f of placed.slice(0, max)) out.push(findingText(f, { verbose: opts.verbose, paint }));
    if (diff.findings.length > max) out.push(`  …and ${diff.findings.length - max} more`);
  }

  if (diff.unresolved.length || diff.diagnostics.length) {
    out.push("");
    if (diff.unresolved.length) {
      const names = diff.unresolved
        .slice(0, 10)
        .map((u) => u.name)
        .join(", ");
      out.push(c("dim", `Not laid out: ${plural(diff.unresolved.length, "struct")} (${names}${diff.unresolved.length > 10 ? ", …" : ""})`));
    }
    if (diff.diagnostics.length) out.push(c("dim", `Input problems: ${diff.diagnostics.length}`));
  }
  if (archs.length > 1) out.push("", c("dim", `archs: ${archs.join(", ")}; table shows ${p}`));
  return out.join("\n") + "\n";
}
