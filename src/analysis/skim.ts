// Layouts never depend on function bodies, and bodies are most of a Go file. Before the parse,
// replace each top-level function body with just its newlines: tree-sitter then parses a fraction
// of the text, and every declaration keeps its line number. A lexical scan, aware of comments,
// strings, raw strings and runes, finds the bodies.

const NL = 10,
  SLASH = 47,
  STAR = 42,
  DQUOTE = 34,
  BQUOTE = 96,
  SQUOTE = 39,
  BACKSLASH = 92;
const LBRACE = 123,
  RBRACE = 125,
  LPAREN = 40,
  RPAREN = 41,
  LBRACK = 91,
  RBRACK = 93;

/** If a comment or literal starts at i, the index just after it; otherwise i. */
function skipLiteral(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === SLASH) {
    const d = s.charCodeAt(i + 1);
    if (d === SLASH) {
      const e = s.indexOf("\n", i + 2);
      return e < 0 ? s.length : e;
    }
    if (d === STAR) {
      const e = s.indexOf("*/", i + 2);
      return e < 0 ? s.length : e + 2;
    }
    return i;
  }
  if (c === BQUOTE) {
    const e = s.indexOf("`", i + 1);
    return e < 0 ? s.length : e + 1;
  }
  if (c === DQUOTE || c === SQUOTE) {
    let j = i + 1;
    while (j < s.length) {
      const d = s.charCodeAt(j);
      if (d === BACKSLASH) j += 2;
      else if (d === c) return j + 1;
      else if (d === NL)
        return j; // unterminated: stop at the line end, as the Go scanner does
      else j++;
    }
    return s.length;
  }
  return i;
}

function isIdent(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95 || c > 127;
}

/** Index of the `}` matching the `{` at `open`, or -1. */
function matchBrace(s: string, open: number): number {
  let depth = 0;
  let i = open;
  while (i < s.length) {
    const j = skipLiteral(s, i);
    if (j !== i) {
      i = j;
      continue;
    }
    const c = s.charCodeAt(i);
    if (c === LBRACE) depth++;
    else if (c === RBRACE && --depth === 0) return i;
    i++;
  }
  return -1;
}

/** Index of the `{` that opens the body of the func whose keyword ends at `from`, or -1 (no body). */
function findBody(s: string, from: number): number {
  let depth = 0;
  let i = from;
  // The last character that is neither white space nor in a comment: Go allows a newline or a
  // comment between `struct` and its `{`.
  let prev = from - 1;
  while (i < s.length) {
    const j = skipLiteral(s, i);
    if (j !== i) {
      if (s.charCodeAt(i) !== SLASH) prev = j - 1;
      i = j;
      continue;
    }
    const c = s.charCodeAt(i);
    if (c === LPAREN || c === LBRACK) depth++;
    else if (c === RPAREN || c === RBRACK) depth--;
    else if (c === NL && depth <= 0)
      return -1; // a declaration without a body (assembly stub)
    else if (c === LBRACE) {
      // `struct{...}` or `interface{...}` in a result type is not the body.
      if (depth > 0 || typeKeywordEndsAt(s, prev)) {
        const close = matchBrace(s, i);
        if (close < 0) return -1;
        prev = close;
        i = close + 1;
        continue;
      }
      return i;
    }
    if (!isSpace(c)) prev = i;
    i++;
  }
  return -1;
}

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === NL || c === 13;
}

/** Does the word `struct` or `interface` end at index k? */
function typeKeywordEndsAt(s: string, k: number): boolean {
  return k >= 0 && /(?:^|[^\w])(?:struct|interface)$/.test(s.slice(Math.max(0, k - 9), k + 1));
}

function newlinesIn(s: string, from: number, to: number): string {
  let n = 0;
  for (let k = s.indexOf("\n", from); k >= 0 && k < to; k = s.indexOf("\n", k + 1)) n++;
  return "\n".repeat(n);
}

/**
 * Is the top-level `{` at i the start of a value (not a struct or interface type body)? `prev` is
 * the last character before it that is neither white space nor in a comment.
 */
function isValueBrace(s: string, i: number, prev: number, stmtStart: number): boolean {
  if (typeKeywordEndsAt(s, prev)) return false;
  return !s.slice(stmtStart, i).includes("[...]");
}

export function skimFunctionBodies(s: string): string {
  const out: string[] = [];
  let last = 0;
  let depth = 0;
  let i = 0;
  let lineStart = true;
  // Where the current top-level declaration began (a line starting at depth 0).
  let stmtStart = 0;
  // The last character that is neither white space nor in a comment.
  let prev = -1;
  /** Keep the braces at open and close; between them keep only the newlines; go on after close. */
  const skip = (open: number, close: number) => {
    out.push(s.slice(last, open + 1), newlinesIn(s, open + 1, close));
    last = close;
    prev = close;
    i = close + 1;
    lineStart = false;
  };
  while (i < s.length) {
    const j = skipLiteral(s, i);
    if (j !== i) {
      if (s.charCodeAt(i) !== SLASH) prev = j - 1;
      i = j;
      lineStart = false;
      continue;
    }
    const c = s.charCodeAt(i);
    if (c === NL) lineStart = true;
    else if (c === LBRACE && depth === 0 && isValueBrace(s, i, prev, stmtStart)) {
      // A composite or func literal in a top-level var: its body is never part of a type, unless
      // it is a `[...]T{...}` whose element count is the array's length.
      const close = matchBrace(s, i);
      if (close > i + 1) {
        skip(i, close);
        continue;
      }
      depth++;
    } else if (c === LBRACE) depth++;
    else if (c === RBRACE) depth--;
    else if (lineStart && depth === 0 && c === 102 /* f */ && s.startsWith("func", i) && !isIdent(s.charCodeAt(i + 4))) {
      const open = findBody(s, i + 4);
      const close = open >= 0 ? matchBrace(s, open) : -1;
      if (close > open + 1) {
        skip(open, close);
        continue;
      }
    }
    if (!isSpace(c)) {
      prev = i;
      if (lineStart && depth === 0 && c !== RBRACE && c !== RPAREN && c !== 9 && i > 0 && s.charCodeAt(i - 1) === NL) stmtStart = i;
      lineStart = false;
    }
    i++;
  }
  if (last === 0) return s;
  out.push(s.slice(last));
  return out.join("");
}
