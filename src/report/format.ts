// Small formatting helpers shared by the reporters. Pure.
import type { Arch, Diff, Regression, StructDiff, StructLayout } from "../analysis/model.ts";
import { DEFAULT_ARCH } from "../analysis/model.ts";

/** The arch the headline numbers are shown for: the first requested arch. */
export function primaryArch(archs: readonly Arch[]): Arch {
  return archs[0] ?? DEFAULT_ARCH;
}

export function signed(n: number): string {
  return n > 0 ? `+${n}` : n < 0 ? `−${-n}` : "±0";
}

/** "48 → 64", or "48" when equal or when only one side exists (added or removed structs). */
export function change(before: number | undefined, after: number | undefined): string {
  if (before === undefined || after === undefined) return String(after ?? before ?? "—");
  return before === after ? String(after) : `${before} → ${after}`;
}

/** The arch whose delta represents a struct: the primary arch if it has one, else the first. */
export function deltaArch(s: StructDiff, archs: readonly Arch[]): Arch | undefined {
  const p = primaryArch(archs);
  if (s.deltas[p]) return p;
  return archs.find((a) => s.deltas[a]) ?? (Object.keys(s.deltas)[0] as Arch | undefined);
}

/** The layout to show for a struct on an arch: head side, or base for removed structs. */
export function shownLayout(s: StructDiff, arch: Arch): StructLayout | undefined {
  return s.head?.layouts[arch] ?? s.base?.layouts[arch];
}

const KIND_RANK: Record<Regression["kind"], number> = {
  "size-class": 0,
  "new-cycle": 1,
  "pointer-depth": 2,
  padding: 3,
};

/** A number that sorts structs worst-first: regressions, then size growth. */
export function severityScore(s: StructDiff, archs: readonly Arch[]): number {
  let score = 0;
  for (const r of s.regressions) score += 1_000_000 * (4 - KIND_RANK[r.kind]);
  const a = deltaArch(s, archs);
  const d = a ? s.deltas[a] : undefined;
  if (d) score += Math.max(-999, Math.min(999_999, d.size * 10 + d.padding));
  return score;
}

/** Structs sorted worst first; ties keep file order. */
export function worstFirst(diff: Diff): StructDiff[] {
  return diff.structs
    .map((s, i) => ({ s, i, score: severityScore(s, diff.archs) }))
    .sort((x, y) => y.score - x.score || x.i - y.i)
    .map((x) => x.s);
}

/** Group a struct's regressions by kind; each entry lists the archs it happens on. */
export function groupRegressions(rs: Regression[]): { kind: Regression["kind"]; archs: Arch[]; first: Regression }[] {
  const out: { kind: Regression["kind"]; archs: Arch[]; first: Regression }[] = [];
  for (const r of rs) {
    const g = out.find((x) => x.kind === r.kind);
    if (g) g.archs.push(r.arch);
    else out.push({ kind: r.kind, archs: [r.arch], first: r });
  }
  return out.sort((a, b) => KIND_RANK[a.kind] - KIND_RANK[b.kind]);
}

/** Escape text for a markdown table cell. */
export function cell(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/**
 * Text that came from the analysed code (messages quoting types, syntax-error snippets, paths), made
 * inert for GitHub markdown: no HTML, no @mentions that notify anyone, no markdown structure.
 */
export function prose(text: string): string {
  return text
    .replace(/\r?\n/g, " ")
    .replace(/([\\`*_[\]|~#])/g, "\\$1")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/@/g, "&#64;");
}

/** Inline code that survives backticks in the text. */
export function code(text: string): string {
  const t = text.replace(/\r?\n/g, " ");
  if (!t.includes("`")) return `\`${t}\``;
  return `\`\` ${t} \`\``;
}

export function byteLength(s: string): number {
  return Buffer.byteLength(s, "utf8");
}

/** Cut a string to at most `max` UTF-8 bytes without splitting a character. */
export function truncateBytes(s: string, max: number, tail = "\n…(truncated)\n"): string {
  if (byteLength(s) <= max) return s;
  const room = Math.max(0, max - byteLength(tail));
  const buf = Buffer.from(s, "utf8");
  let end = Math.min(room, buf.length);
  // Step back over UTF-8 continuation bytes (10xxxxxx).
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return buf.subarray(0, end).toString("utf8") + tail;
}

export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}
