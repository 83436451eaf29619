// Rebuild a struct body in its optimal field order, as a GitHub suggestion. Pure.
//
// The replacement covers the lines strictly between the `{` line and the `}` line. Each field
// declaration group keeps its doc comments, line comment and tag verbatim. A group declaring
// several names (`a, b int`) stays one line unless the optimal order separates its names; then it
// is split into one line per name, each keeping the type and tag (the doc comment goes before the
// first, the line comment stays on each).
//
// No suggestion when it could be unsafe or wrong:
// - a `//memcheck:keep-order` or `//memcheck:ignore` directive;
// - a `structs.HostLayout` field (the layout is fixed for the host ABI);
// - with the file's text: the file uses cgo, or builds the struct with unkeyed composite literals
//   (reorder-safety.ts; `memcheck fix` checks the whole package);
// - the optimal order is not smaller than the current size;
// - the source positions do not account for every line of the body (a comment not attached to a
//   field would be lost): pass the file text so blank lines between groups can be verified;
// - repeated field names (blank `_` fields), or a multi-line declaration that must be split.
// A 64-bit first field (int64, uint64, atomic.Int64, atomic.Uint64) may be relied on for 64-bit
// alignment of sync/atomic operations on 32-bit archs, so it is kept first; the rest follow the
// optimal order, and the suggestion is made only if that order is still smaller.
import type { Arch, FieldLayout, StructLayout, StructReport } from "../analysis/model.ts";
import { hasUnkeyedLiteral, usesCgo } from "./reorder-safety.ts";

export interface Suggestion {
  /** 1-based, inclusive: the lines to replace (the body between `{` and `}`). */
  startLine: number;
  endLine: number;
  /** Replacement text, lines joined by "\n", no trailing newline. */
  text: string;
  /** Field order of the suggestion and the struct size it gives on the arch. */
  order?: string[];
  size?: number;
}

export type SuggestionPlan = { ok: true; suggestion: Suggestion } | { ok: false; reason: string };

const SIXTY_FOUR_BIT_FIRST = new Set(["int64", "uint64", "atomic.Int64", "atomic.Uint64"]);

function alignUp(n: number, a: number): number {
  return a > 1 ? Math.ceil(n / a) * a : n;
}

/** gc's layout of fields in the given order (sizes and aligns taken from the analysed layout). */
export function sizeOfOrder(layout: StructLayout, order: string[]): number {
  const byName = new Map(layout.fields.map((f) => [f.name, f]));
  let off = 0;
  let last: FieldLayout | undefined;
  for (const n of order) {
    const f = byName.get(n)!;
    off = alignUp(off, f.align) + f.size;
    last = f;
  }
  if (last && last.size === 0 && off > 0) off += 1;
  return alignUp(off, layout.align);
}

function isComment(line: string, inBlock: boolean): boolean {
  const t = line.trim();
  return inBlock || t.startsWith("//") || t.startsWith("/*");
}

/** Split "Type `tag` // comment" into its parts; the type ends at a tag or comment at depth 0. */
export function splitDeclRest(rest: string): { type: string; tag: string; comment: string } {
  let depth = 0;
  let i = 0;
  for (; i < rest.length; i++) {
    const c = rest[i];
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (depth === 0 && (c === "`" || c === '"' || rest.startsWith("//", i) || rest.startsWith("/*", i))) break;
  }
  const type = rest.slice(0, i).trim();
  let after = rest.slice(i);
  let tag = "";
  const m = /^(`[^`]*`|"(?:[^"\\]|\\.)*")/.exec(after);
  if (m) {
    tag = m[1];
    after = after.slice(m[1].length).trimStart();
  }
  return { type, tag, comment: after.trim() };
}

const IDENT = "[\\p{L}_][\\p{L}\\p{N}_]*";
const NAMES_RE = new RegExp(`^(${IDENT}(?:\\s*,\\s*${IDENT})*)\\s+(.*)$`, "u");

interface SplitGroup {
  doc: string[];
  indent: string;
  type: string;
  tag: string;
  comment: string;
}

function parseMultiName(lines: string[], names: string[]): SplitGroup | undefined {
  const doc: string[] = [];
  let i = 0;
  let inBlock = false;
  for (; i < lines.length; i++) {
    if (!isComment(lines[i], inBlock)) break;
    const t = lines[i].trim();
    if (t.startsWith("/*") && !t.includes("*/")) inBlock = true;
    else if (inBlock && t.includes("*/")) inBlock = false;
    doc.push(lines[i]);
  }
  if (i !== lines.length - 1) return undefined; // the declaration must be exactly one line
  const decl = lines[i];
  const indent = /^\s*/.exec(decl)![0];
  const m = NAMES_RE.exec(decl.slice(indent.length));
  if (!m) return undefined;
  const declNames = m[1].split(",").map((s) => s.trim());
  if (declNames.join(",") !== names.join(",")) return undefined;
  const { type, tag, comment } = splitDeclRest(m[2]);
  if (!type) return undefined;
  return { doc, indent, type, tag, comment };
}

export function planReorder(struct: StructReport, arch: Arch, fileText?: string): SuggestionPlan {
  const no = (reason: string): SuggestionPlan => ({ ok: false, reason });
  const layout = struct.layouts[arch];
  if (!layout) return no(`no layout on ${arch}`);
  const src = struct.source;
  if (!src) return no("no source positions");
  // "keep-order" and a bare "ignore" block it; "ignore MC101" only silences that rule.
  if (
    src.directives.some((d) =>
      /^(keep-order\b|ignore$)/.test(
        d
          .replace(/^\/\/\s*/, "")
          .replace(/^memcheck:/, "")
          .trim(),
      ),
    )
  ) {
    return no("//memcheck:keep-order or //memcheck:ignore directive");
  }
  if (layout.fields.some((f) => /(^|\.)HostLayout$/.test(f.type.trim()))) return no("has a structs.HostLayout field");
  // With the file's text: cgo code may rely on the layout, and a `T{1, 2}` literal would change meaning.
  if (fileText !== undefined && usesCgo(fileText)) return no('the file uses cgo (import "C")');
  if (fileText !== undefined && hasUnkeyedLiteral(struct.name, [fileText]))
    return no(`the file builds ${struct.name} with unkeyed composite literals`);
  if (layout.optimalSize >= layout.size) return no("field order is already optimal");

  const names = layout.fields.map((f) => f.name);
  if (new Set(names).size !== names.length) return no("repeated field names (blank fields)");
  let order = [...layout.optimalOrder];
  if (order.length !== names.length || [...order].sort().join("\0") !== [...names].sort().join("\0")) {
    return no("optimal order does not match the fields");
  }
  const first = layout.fields[0];
  let size = layout.optimalSize;
  if (first && SIXTY_FOUR_BIT_FIRST.has(first.type.trim()) && order[0] !== first.name) {
    order = [first.name, ...order.filter((n) => n !== first.name)];
    size = sizeOfOrder(layout, order);
    if (size >= layout.size) return no(`keeping 64-bit first field ${first.name} first leaves nothing to save`);
  }

  // Source groups must cover the body exactly (blank lines aside) and name every field once.
  const groups = [...src.fieldGroups].sort((a, b) => a.startLine - b.startLine);
  const bodyStart = src.openLine + 1,
    bodyEnd = src.closeLine - 1;
  if (bodyEnd < bodyStart) return no("struct body is not on its own lines");
  const fileLines = fileText?.split(/\r?\n/);
  const groupOf = new Map<string, number>();
  let prevEnd = src.openLine;
  for (let gi = 0; gi < groups.length; gi++) {
    const g = groups[gi];
    if (g.startLine <= prevEnd || g.endLine < g.startLine || g.endLine > bodyEnd) {
      return no("field declarations share lines with each other or with the braces");
    }
    for (let ln = prevEnd + 1; ln < g.startLine; ln++) {
      if (!fileLines) return no("lines between fields cannot be verified without the file text");
      if ((fileLines[ln - 1] ?? "x").trim() !== "") return no(`line ${ln} is not attached to a field`);
    }
    prevEnd = g.endLine;
    for (const n of g.names) {
      if (groupOf.has(n)) return no(`field ${n} declared twice`);
      groupOf.set(n, gi);
    }
  }
  for (let ln = prevEnd + 1; ln <= bodyEnd; ln++) {
    if (!fileLines) return no("lines between fields cannot be verified without the file text");
    if ((fileLines[ln - 1] ?? "x").trim() !== "") return no(`line ${ln} is not attached to a field`);
  }
  if (groupOf.size !== names.length || names.some((n) => !groupOf.has(n))) {
    return no("source field groups do not match the layout's fields");
  }

  const groupLines = (gi: number): string[] => {
    const g = groups[gi];
    if (fileLines && fileLines.length >= g.endLine) return fileLines.slice(g.startLine - 1, g.endLine);
    return g.text.replace(/\r?\n$/, "").split(/\r?\n/);
  };
  // Indentation for groups whose stored text starts at the node, not at the line start.
  const indentOf = (l: string) => /^[ \t]*/.exec(l)![0];
  const someIndent = groups.map((_, gi) => indentOf(groupLines(gi)[0] ?? "")).find((s) => s.length > 0) ?? "\t";
  const withIndent = (lines: string[]): string[] =>
    lines.length && indentOf(lines[0]) === "" ? [someIndent + lines[0], ...lines.slice(1)] : lines;

  const pos = new Map(order.map((n, i) => [n, i]));
  const out: string[] = [];
  const emitted = new Set<number>();
  const splitDone = new Map<number, SplitGroup>();
  // The order as written: a whole `a, b T` group keeps its names' source order.
  const emittedOrder: string[] = [];
  for (const n of order) {
    const gi = groupOf.get(n)!;
    const g = groups[gi];
    if (g.names.length === 1) {
      out.push(...withIndent(groupLines(gi)));
      emittedOrder.push(n);
      continue;
    }
    const ps = g.names.map((x) => pos.get(x)!).sort((a, b) => a - b);
    const contiguous = ps[ps.length - 1] - ps[0] === ps.length - 1;
    if (contiguous) {
      if (!emitted.has(gi)) {
        emitted.add(gi);
        out.push(...withIndent(groupLines(gi)));
        emittedOrder.push(...g.names);
      }
      continue;
    }
    let sg = splitDone.get(gi);
    const firstOfGroup = !sg;
    if (!sg) {
      sg = parseMultiName(withIndent(groupLines(gi)), g.names);
      if (!sg) return no(`cannot split the declaration of ${g.names.join(", ")}`);
      splitDone.set(gi, sg);
    }
    if (firstOfGroup) out.push(...sg.doc);
    out.push(`${sg.indent}${n} ${sg.type}${sg.tag ? ` ${sg.tag}` : ""}${sg.comment ? ` ${sg.comment}` : ""}`);
    emittedOrder.push(n);
  }

  const text = out.join("\n");
  const original = fileLines && fileLines.length >= bodyEnd ? fileLines.slice(bodyStart - 1, bodyEnd).join("\n") : undefined;
  if (original !== undefined && original === text) return no("the suggestion equals the current text");
  return { ok: true, suggestion: { startLine: bodyStart, endLine: bodyEnd, text, order: emittedOrder, size } };
}

/**
 * The struct body rewritten in the optimal order for `arch`, or undefined when no safe suggestion
 * exists (see the header of this file). `fileText` (the head file's text) lets the suggestion
 * drop blank lines between field groups; without it, such gaps block the suggestion.
 */
export function reorderSuggestion(struct: StructReport, arch: Arch, fileText?: string): Suggestion | undefined {
  const p = planReorder(struct, arch, fileText);
  return p.ok ? p.suggestion : undefined;
}
