// Shared helpers for the struct rules (MC121, MC131, MC141, MC151, MC161).
import type { Arch, StructLayout, StructReport } from "../model.ts";
import { ignoreIds } from "./ast.ts";
import { sizeClass } from "../sizes.ts";

/** Bytes new(T) really takes: the allocator size class, or whole 8 KiB pages for large objects. */
export function allocBytes(size: number): number {
  return sizeClass(size);
}

/** The first analysed arch's layout (amd64 first when present). */
export function firstLayout(s: StructReport, archs?: Arch[]): { arch: Arch; layout: StructLayout } | undefined {
  const order = archs && archs.length ? archs : (Object.keys(s.layouts) as Arch[]);
  for (const a of order) {
    const l = s.layouts[a];
    if (l) return { arch: a, layout: l };
  }
  return undefined;
}

/** Is `rule` silenced by a `//memcheck:ignore` directive on the struct? */
export function structIgnored(s: StructReport, rule: string): boolean {
  for (const d of s.source?.directives ?? []) {
    const ids = ignoreIds(d.includes("memcheck:") ? d : `memcheck:${d.replace(/^\/\/\s*/, "")}`);
    if (ids && (ids.has("*") || ids.has(rule))) return true;
  }
  return false;
}

/** Files that are generated (protobuf, deepcopy, ...): nobody edits them by hand. */
export const GENERATED_FILE = /(^|\/)generated\/|(\.pb\.go|\.pb\.gw\.go|_generated\.go|zz_generated[^/]*\.go|\.gen\.go|_gen\.go)$/;

export function generated(s: StructReport): boolean {
  return GENERATED_FILE.test(s.file);
}

export function keepOrder(s: StructReport): boolean {
  return (s.source?.directives ?? []).some((d) => d.includes("keep-order"));
}

export interface FieldInfo {
  name: string;
  /** Type as written (from the layout when there is one, else from the source text). */
  type: string;
  /** Raw struct tag without backquotes, "" when none. */
  tag: string;
  /** 1-based line of the field's declaration (after its doc comment). */
  line: number;
  /** The declaration's text carries its own `//memcheck:ignore` for this rule. */
  ignores: Set<string>;
}

/** Field facts from StructReport.source.fieldGroups, with types from the first layout. */
export function fieldsOf(s: StructReport): FieldInfo[] {
  const layout = firstLayout(s)?.layout;
  const typeByName = new Map<string, string>();
  for (const f of layout?.fields ?? []) typeByName.set(f.name, f.type);
  const out: FieldInfo[] = [];
  for (const g of s.source?.fieldGroups ?? []) {
    const lines = g.text.split("\n");
    // The declaration line: the first line that starts with the field's name (or, for an
    // embedded field, its type); doc comments and anything before them are skipped.
    const n0 = (g.names[0] ?? "").replace(/[$]/g, "\\$");
    const declRe = new RegExp(`^\\s*\\*?(\\w+\\.)?${n0}\\b`);
    let first = lines.findIndex((l) => declRe.test(l) && !/^\s*(\/\/|\/\*)/.test(l));
    if (first < 0) {
      first = 0;
      while (first < lines.length - 1 && /^\s*(\/\/|\/\*|\*)/.test(lines[first])) first++;
    }
    const last = lines[lines.length - 1];
    const tagMatch = /`([^`]*)`/.exec(last) ?? /\s"((?:[a-z]+:\\?"[^"]*\\?"\s*)+)"/.exec(last);
    const tag = tagMatch ? tagMatch[1] : "";
    const ignores = new Set<string>();
    for (const m of g.text.matchAll(/memcheck:ignore\b[^\n]*|\/\/\s?nolint\b[^\n]*/g))
      for (const id of ignoreIds(m[0]) ?? []) ignores.add(id);
    const declText = lines
      .slice(first)
      .join("\n")
      .replace(/`[^`]*`/g, "")
      .replace(/\/\/[^\n]*/g, "")
      .trim();
    for (const name of g.names) {
      let type = typeByName.get(name);
      if (!type) type = typeFromDecl(declText, g.names);
      out.push({ name, type, tag, line: g.startLine + first, ignores });
    }
  }
  return out;
}

function typeFromDecl(decl: string, names: string[]): string {
  const prefix = new RegExp(`^${names.map((n) => n.replace(/[$]/g, "\\$")).join("\\s*,\\s*")}\\s+`);
  if (names.length && prefix.test(decl)) return decl.replace(prefix, "").trim();
  return decl.trim(); // embedded field
}

/** The value of key `k` in a struct tag (`json:"name,omitempty"` -> "name,omitempty"). */
export function tagValue(tag: string, k: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${k}:"([^"]*)"`).exec(tag);
  return m ? m[1] : undefined;
}

/** The named type a field type points at / holds: "*pkg.T" -> "pkg.T", "[]*T" -> "T". */
export function baseTypeName(t: string): string {
  return t.replace(/^(\*|\[\d*\]|map\[[^\]]*\])+/, "");
}

export function fmtBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}
