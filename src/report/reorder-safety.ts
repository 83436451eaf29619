// What makes a field reorder unsafe beyond the struct itself, shared by the PR suggestions
// (suggestion.ts, on the struct's file) and `memcheck fix` (rewrite.ts, on the whole package):
// cgo, and unkeyed composite literals of the struct. Pure.

/** Go source with comments and string/rune literals blanked (same length, newlines kept). */
export function blankCommentsAndStrings(text: string): string {
  let out = "";
  let i = 0;
  const n = text.length;
  const blank = (s: string) => s.replace(/[^\n]/g, " ");
  while (i < n) {
    const c = text[i];
    if (c === "/" && text[i + 1] === "/") {
      const e = text.indexOf("\n", i);
      const end = e < 0 ? n : e;
      out += blank(text.slice(i, end));
      i = end;
    } else if (c === "/" && text[i + 1] === "*") {
      const e = text.indexOf("*/", i + 2);
      const end = e < 0 ? n : e + 2;
      out += blank(text.slice(i, end));
      i = end;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < n && text[j] !== c && text[j] !== "\n") j += text[j] === "\\" ? 2 : 1;
      out += `${c}${blank(text.slice(i + 1, j))}${c}`;
      i = j + 1;
    } else if (c === "`") {
      const e = text.indexOf("`", i + 1);
      const end = e < 0 ? n : e + 1;
      out += `\`${blank(text.slice(i + 1, end - 1))}\``;
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Does the file import "C" (cgo)? */
export function usesCgo(text: string): boolean {
  return /(^|\n)\s*import\s+"C"|(^|\n)import\s*\([^)]*(^|\s)"C"\s/m.test(text);
}

/** The index of the `}` matching the `{` at `open`, or -1. */
function closing(code: string, open: number): number {
  let depth = 0;
  for (let i = open; i < code.length; i++) {
    if (code[i] === "{") depth++;
    else if (code[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

/** Split a literal's contents at top-level commas. */
function elements(body: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === "{" || c === "(" || c === "[") depth++;
    else if (c === "}" || c === ")" || c === "]") depth--;
    else if (c === "," && depth === 0) {
      out.push(body.slice(start, i));
      start = i + 1;
    }
  }
  out.push(body.slice(start));
  return out.map((s) => s.trim()).filter(Boolean);
}

/** A literal body with entries that are not `Field: value` (an empty body is keyed enough). */
function unkeyed(body: string): boolean {
  const first = elements(body)[0];
  return first !== undefined && !/^[\p{L}_][\p{L}\p{N}_]*\s*:(?!=)/u.test(first);
}

/**
 * Is `name` built anywhere with an unkeyed composite literal: `T{1, 2}`, `&T{1, 2}`, or an
 * element whose type is elided in a `[]T{{1, 2}}`, `[N]T{…}` or `map[K]T{k: {1, 2}}`?
 * Function results (`func f() T {`) are not literals.
 */
export function hasUnkeyedLiteral(name: string, texts: readonly string[]): boolean {
  const esc = name.replace(/[$]/g, "\\$");
  const re = new RegExp(`(^|[^\\p{L}\\p{N}_.])(${esc})\\s*\\{`, "gu");
  for (const text of texts) {
    const code = blankCommentsAndStrings(text);
    for (const m of code.matchAll(re)) {
      const at = (m.index ?? 0) + m[1].length;
      const before = code.slice(Math.max(0, at - 200), at);
      if (/\btype\s+$/.test(before) || /\)\s*\*?\s*$/.test(before) || /\bstruct\s*$/.test(before)) continue;
      if (/\bfunc\b[^{}]*$/.test(before.split("\n").pop() ?? "")) continue; // a result type
      const open = code.indexOf("{", at);
      const close = closing(code, open);
      if (close < 0) return true;
      const body = code.slice(open + 1, close);
      if (unkeyed(body) && !/^\s*\{/.test(body)) return true;
      // `[]T{…}`, `[N]T{…}`, `map[K]T{…}`: elided element literals are T literals too.
      if (/\]\s*\*?\s*$/.test(before)) {
        for (const el of elements(body)) {
          const value = el.replace(/^[^{]*?:\s*(?=&?\{)/, "").replace(/^&/, "");
          if (!value.startsWith("{")) continue;
          const end = closing(value, 0);
          if (end > 0 && unkeyed(value.slice(1, end))) return true;
        }
      }
    }
  }
  return false;
}
