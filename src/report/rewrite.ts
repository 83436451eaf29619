// `memcheck fix`: struct bodies rewritten in place to the suggested field order. Pure.
//
// The order and every safety rule are the PR suggestion's (planReorder in suggestion.ts: keep-order
// and ignore directives, //nolint:fieldalignment, structs.HostLayout, a 64-bit first field kept
// first, comments that cannot be attached). On top of it, what only a rewrite of the file needs:
// - no struct in a file that uses cgo (`import "C"`): C code may rely on the layout;
// - no struct that the package builds with unkeyed composite literals (`T{1, "a"}`): reordering
//   the fields would silently change what those literals mean, or break the build;
// - the new order must not make any other requested arch larger;
// - field declarations on one line each, no block comments (so nothing can be lost).
// The body is then laid out as gofmt does it: blank lines stay where they were (after the same
// number of fields), and names, types, tags and line comments are aligned in columns with
// text/tabwriter's rules (cells, column blocks, empty columns discarded).
import type { Arch, StructReport } from "../analysis/model.ts";
import { hasUnkeyedLiteral } from "./reorder-safety.ts";
import { planReorder, sizeOfOrder, splitDeclRest } from "./suggestion.ts";

export { blankCommentsAndStrings, hasUnkeyedLiteral, usesCgo } from "./reorder-safety.ts";

export interface StructEdit {
  struct: StructReport;
  /** 1-based, inclusive: the body lines replaced. */
  startLine: number;
  endLine: number;
  lines: string[];
  /** Size on the optimised arch before and after. */
  before: number;
  after: number;
}

export type EditPlan = { ok: true; edit: StructEdit } | { ok: false; reason: string };

export interface FixContext {
  /** The arch whose layout is optimised. */
  arch: Arch;
  /** Other archs whose size must not grow. */
  guardArchs?: readonly Arch[];
  /** The struct's file. */
  fileText: string;
  /** Every file of the struct's package (its own included), to look for unkeyed literals. */
  packageTexts?: readonly string[];
}

// ---- gofmt's alignment of a struct body -----------------------------------------------------

const IDENT = "[\\p{L}_][\\p{L}\\p{N}_]*";
const NAMES_RE = new RegExp(`^(${IDENT}(?:\\s*,\\s*${IDENT})*)\\s+(.*)$`, "u");

/** Split "Type `tag` // comment" at depth 0 (suggestion.ts's split), the type's spacing normalised. */
function splitRest(rest: string): { type: string; tag: string; comment: string } {
  const r = splitDeclRest(rest);
  return { ...r, type: r.type.replace(/\s+/g, " ") };
}

/**
 * The tabwriter cells of one body line after its indentation, as go/printer writes a field:
 * the last cell is not terminated (it never aligns). undefined: a line gofmt would not write so.
 */
export function fieldCells(line: string): string[] | undefined {
  const t = line.trim();
  if (t === "") return [];
  if (t.startsWith("//")) return [t];
  if (t.startsWith("/*")) return undefined;
  const m = NAMES_RE.exec(t);
  if (m) {
    const r = splitRest(m[2]);
    if (r.type) {
      const names = m[1]
        .split(",")
        .map((s) => s.trim())
        .join(", ");
      if (r.tag && r.comment) return [names, r.type, "", r.tag, r.comment];
      if (r.tag) return [names, r.type, "", r.tag];
      if (r.comment) return [names, r.type, r.comment];
      return [names, r.type];
    }
  }
  const r = splitRest(t);
  if (!r.type) return undefined;
  if (r.tag && r.comment) return [r.type, r.tag, r.comment];
  if (r.tag) return [r.type, r.tag];
  if (r.comment) return [r.type, "", r.comment];
  return [r.type];
}

function width(s: string): number {
  return [...s].length;
}

/**
 * Lines of cells laid out with text/tabwriter's algorithm as gofmt configures it (padding 1,
 * DiscardEmptyColumns): a column block is a run of lines that have a terminated cell in that
 * column; its width is the widest cell plus one, or 0 when every cell in it is empty.
 */
export function tabwrite(rows: string[][], indent = "\t"): string[] {
  const widths: number[][] = rows.map(() => []);
  const format = (line0: number, line1: number, col: number) => {
    for (let i = line0; i < line1; ) {
      if (rows[i].length - 1 <= col) {
        i++;
        continue;
      }
      let j = i;
      let w = 0;
      while (j < line1 && rows[j].length - 1 > col) {
        w = Math.max(w, width(rows[j][col]));
        j++;
      }
      const cw = w === 0 ? 0 : w + 1;
      for (let k = i; k < j; k++) widths[k][col] = cw;
      format(i, j, col + 1);
      i = j;
    }
  };
  format(0, rows.length, 0);
  return rows.map((cells, r) => {
    if (cells.length === 0) return "";
    let out = indent;
    for (let c = 0; c < cells.length - 1; c++) out += cells[c] + " ".repeat(Math.max(0, widths[r][c] - width(cells[c])));
    return out + cells[cells.length - 1];
  });
}

/** Plan the in-place rewrite of one struct's body, or say why not. */
export function planFix(struct: StructReport, ctx: FixContext): EditPlan {
  const no = (reason: string): EditPlan => ({ ok: false, reason });
  const layout = struct.layouts[ctx.arch];
  const src = struct.source;
  if (!layout || !src) return no(`no layout on ${ctx.arch}`);
  const plan = planReorder(struct, ctx.arch, ctx.fileText);
  if (!plan.ok) return plan;
  const sug = plan.suggestion;
  const order = sug.order ?? layout.optimalOrder;
  for (const a of ctx.guardArchs ?? []) {
    const l = struct.layouts[a];
    if (l && a !== ctx.arch && sizeOfOrder(l, order) > l.size) return no(`the order for ${ctx.arch} makes it larger on ${a}`);
  }
  if (hasUnkeyedLiteral(struct.name, ctx.packageTexts ?? [ctx.fileText])) {
    return no(`the package builds ${struct.name} with unkeyed composite literals`);
  }
  const fileLines = ctx.fileText.split(/\r?\n/);
  const original = fileLines.slice(sug.startLine - 1, sug.endLine);
  // Each group must be comment lines and one single-line field (what can be re-aligned safely).
  for (const g of src.fieldGroups) {
    const lines = fileLines.slice(g.startLine - 1, g.endLine);
    if (lines.some((l) => l.includes("/*"))) return no("a block comment in the struct");
    if (lines.slice(0, -1).some((l) => !l.trim().startsWith("//"))) return no("a field declared on several lines");
  }
  // Blank lines stay after the same number of fields.
  const blanksAfter = new Map<number, number>();
  let fields = 0;
  for (const l of original) {
    if (l.trim() === "") blanksAfter.set(fields, (blanksAfter.get(fields) ?? 0) + 1);
    else if (!l.trim().startsWith("//")) fields++;
  }
  const rows: string[][] = [];
  let emitted = 0;
  const pushBlanks = () => {
    for (let b = blanksAfter.get(emitted) ?? 0; b > 0; b--) rows.push([]);
  };
  pushBlanks();
  for (const l of sug.text.split("\n")) {
    const cells = fieldCells(l);
    if (!cells) return no("a line memcheck cannot re-align");
    if (cells.length === 0) continue;
    rows.push(cells);
    if (!l.trim().startsWith("//")) {
      emitted++;
      if (emitted < fields) pushBlanks();
    }
  }
  // gofmt breaks alignment at blank lines and comment-only lines: tabwrite sections by blank rows.
  const out: string[] = [];
  let section: string[][] = [];
  const flush = () => {
    out.push(...tabwrite(section, indentOf(original)));
    section = [];
  };
  for (const r of rows) {
    if (r.length === 0) {
      flush();
      out.push("");
    } else section.push(r);
  }
  flush();
  if (out.join("\n") === original.join("\n")) return no("already in this order");
  return {
    ok: true,
    edit: {
      struct,
      startLine: sug.startLine,
      endLine: sug.endLine,
      lines: out,
      before: layout.size,
      after: sug.size ?? layout.optimalSize,
    },
  };
}

function indentOf(lines: string[]): string {
  for (const l of lines) if (l.trim()) return /^[ \t]*/.exec(l)?.[0] || "\t";
  return "\t";
}

/** A file's text with edits applied (edits must not overlap). */
export function applyEdits(text: string, edits: readonly Pick<StructEdit, "startLine" | "endLine" | "lines">[]): string {
  const eol = text.includes("\r\n") ? "\r\n" : "\n";
  const lines = text.split(/\r?\n/);
  for (const e of [...edits].sort((a, b) => b.startLine - a.startLine))
    lines.splice(e.startLine - 1, e.endLine - e.startLine + 1, ...e.lines);
  return lines.join(eol);
}

/** A unified diff (`diff -u`, 3 lines of context) of two versions of a file. */
export function unifiedDiff(file: string, before: string, after: string, context = 3): string {
  const a = before.split("\n");
  const b = after.split("\n");
  // Changes are whole struct bodies of equal or similar length: a line LCS is cheap enough here.
  const n = a.length;
  const m = b.length;
  let pre = 0;
  while (pre < n && pre < m && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < n - pre && suf < m - pre && a[n - 1 - suf] === b[m - 1 - suf]) suf++;
  const A = a.slice(pre, n - suf);
  const B = b.slice(pre, m - suf);
  const dp: Uint32Array[] = Array.from({ length: A.length + 1 }, () => new Uint32Array(B.length + 1));
  for (let i = A.length - 1; i >= 0; i--)
    for (let j = B.length - 1; j >= 0; j--) dp[i][j] = A[i] === B[j] ? dp[i + 1][j + 1] + 1 : Math.max(dp[i + 1][j], dp[i][j + 1]);
  type Op = { t: " " | "-" | "+"; s: string; ai: number; bi: number };
  const ops: Op[] = [];
  for (let k = 0; k < pre; k++) ops.push({ t: " ", s: a[k], ai: k, bi: k });
  let i = 0;
  let j = 0;
  while (i < A.length || j < B.length) {
    if (i < A.length && j < B.length && A[i] === B[j]) {
      ops.push({ t: " ", s: A[i], ai: pre + i, bi: pre + j });
      i++;
      j++;
    } else if (j < B.length && (i === A.length || dp[i][j + 1] >= dp[i + 1][j])) {
      ops.push({ t: "+", s: B[j], ai: pre + i, bi: pre + j });
      j++;
    } else {
      ops.push({ t: "-", s: A[i], ai: pre + i, bi: pre + j });
      i++;
    }
  }
  for (let k = 0; k < suf; k++) ops.push({ t: " ", s: a[n - suf + k], ai: n - suf + k, bi: m - suf + k });
  const out = [`--- a/${file}`, `+++ b/${file}`];
  const changed = ops.map((o, k) => (o.t !== " " ? k : -1)).filter((k) => k >= 0);
  let h = 0;
  while (h < changed.length) {
    let start = Math.max(0, changed[h] - context);
    let end = Math.min(ops.length - 1, changed[h] + context);
    while (h + 1 < changed.length && changed[h + 1] - context <= end + 1) {
      h++;
      end = Math.min(ops.length - 1, changed[h] + context);
    }
    h++;
    const hunk = ops.slice(start, end + 1);
    const aStart = hunk[0].ai;
    const bStart = hunk[0].bi;
    const aLen = hunk.filter((o) => o.t !== "+").length;
    const bLen = hunk.filter((o) => o.t !== "-").length;
    out.push(`@@ -${aLen ? aStart + 1 : aStart},${aLen} +${bLen ? bStart + 1 : bStart},${bLen} @@`);
    for (const o of hunk) out.push(`${o.t}${o.s}`);
    start = end;
  }
  return out.join("\n") + "\n";
}
