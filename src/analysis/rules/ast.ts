// Shared syntax facts for the syntax rules (MC101, MC102, MC111).
//
// One iterative cursor pass over a parsed file collects what the rules look at: imports,
// functions (declarations, methods, literals), calls, assignments, declarations, defers and
// `//memcheck:ignore` comments. Everything is bounded: the walk stops after a node budget, the
// event list has a cap, and every helper that looks into an expression has a depth limit, so a
// hostile file (deep nesting, tens of megabytes) costs bounded time and never overflows the stack.
import type { Node } from "web-tree-sitter";
import { defaultImportName } from "../gopath.ts";
import { nolintIds } from "../directives.ts";

/** Node visits per file before the walk gives up and the rules use what they have. */
export const MAX_VISITS = 20_000_000;
/** Recorded events per file. */
export const MAX_EVENTS = 400_000;
/** Depth limit for helpers that look into one expression. */
export const MAX_EXPR_DEPTH = 32;

export interface FnInfo {
  id: number;
  node: Node;
  /** Enclosing function id, -1 at top level. */
  parent: number;
  /** Outermost enclosing function (itself for a top-level declaration). */
  outer: number;
  start: number;
  end: number;
  startLine: number;
  endLine: number;
  /** Start positions of call expressions enclosing this function (literals only, 8 levels). */
  callAncestors: number[];
}

export type EventKind = "call" | "assign" | "short" | "var" | "defer" | "range";

export interface Ev {
  kind: EventKind;
  node: Node;
  /** Innermost function id, -1 at package level. */
  fn: number;
  start: number;
  /**
   * The statement containing the event when it sits directly in a block (1-based line, 0-based
   * column), found on the walk's ancestor stack: no parent lookups later.
   */
  stmt?: { line: number; column: number };
}

export interface StructFieldInfo {
  name: string;
  type: string;
}

export interface FileFacts {
  path: string;
  text: string;
  /** local name -> import path (blank and dot imports left out). */
  imports: Map<string, string>;
  fns: FnInfo[];
  events: Ev[];
  /** Package-level var specs (kind "var", fn -1) are in events too. */
  /** 1-based line -> rule ids silenced ("*" for all). */
  lineIgnores: Map<number, Set<string>>;
  /** Line ranges (function bodies) silenced by a directive in the function's doc comment. */
  rangeIgnores: { from: number; to: number; ids: Set<string> }[];
  /** Struct types declared in this file: name -> fields (name, type text). */
  structs: Map<string, StructFieldInfo[]>;
  /** Field names declared with type sync.Pool or *sync.Pool in this file's structs. */
  poolFields: Set<string>;
  /** Names of every top-level function and method, including the ones whose bodies were skipped. */
  declared: Set<string>;
  truncated: boolean;
  lines?: string[];
}

const EVENT_TYPES: Record<string, EventKind> = {
  call_expression: "call",
  assignment_statement: "assign",
  short_var_declaration: "short",
  var_spec: "var",
  defer_statement: "defer",
  range_clause: "range",
};
const FN_TYPES = new Set(["function_declaration", "method_declaration", "func_literal"]);

/**
 * Parse the rule ids of a `memcheck:ignore` comment; "*" when it names none. golangci-lint's
 * `//nolint`, `//nolint:memcheck` ("*") and `//nolint:fieldalignment` (MC151) count too.
 */
export function ignoreIds(comment: string): Set<string> | undefined {
  const m = /memcheck:ignore\b([^\n]*)/.exec(comment);
  if (!m) return nolintIds(comment);
  const ids = m[1].match(/MC\d{3}/g);
  return new Set(ids && ids.length ? ids : ["*"]);
}

function addIgnore(map: Map<number, Set<string>>, line: number, ids: Set<string>) {
  const cur = map.get(line);
  if (cur) for (const id of ids) cur.add(id);
  else map.set(line, new Set(ids));
}

function unquote(s: string): string {
  return s.replace(/^["`]|["`]$/g, "");
}

/**
 * Words without which a top-level function cannot matter to any syntax rule. Functions whose text
 * has none of them are not walked (methods are, when the file puts into a pool: MC111 summarises
 * what they reset).
 */
const BODY_TRIGGER =
  /ReadAll|NewDecoder|Copy|ReadFrom|ParseMultipartForm|\.Put\(|\.Body\b|MaxBytes|LimitReader|HandleFunc|Handle\(|Pool\b|Request\b|gin\.Context|echo\.Context|io\.Reader|io\.ReadCloser|Bind|GetRawData|MaxMultipartMemory|BodyLimit|RequestSize/;

/** Walk the file once, iteratively, and collect the facts the syntax rules need. */
export function collectFacts(root: Node, path: string, text: string): FileFacts {
  const wantMethods = text.includes(".Put(");
  // With http.MaxBytesHandler in the file, route registrations anywhere matter: walk everything.
  const walkAll = text.includes("MaxBytesHandler");
  const facts: FileFacts = {
    path,
    text,
    imports: new Map(),
    fns: [],
    events: [],
    lineIgnores: new Map(),
    rangeIgnores: [],
    structs: new Map(),
    poolFields: new Set(),
    declared: new Set(),
    truncated: false,
  };
  const cursor = root.walk();
  const fnStack: FnInfo[] = [];
  /** The cursor's ancestors (and itself): type and start, by depth. */
  const anc: { type: string; start: number; row: number; col: number }[] = [];
  /** Every comment seen: rows and the ids it silences (empty when it is not a directive). */
  const comments: { startRow: number; endRow: number; ids?: Set<string> }[] = [];
  let depth = 0;
  let visits = 0;
  try {
    for (;;) {
      if (++visits > MAX_VISITS) {
        facts.truncated = true;
        break;
      }
      const type = cursor.nodeType;
      const start = cursor.startIndex;
      const pos = cursor.startPosition;
      anc[depth] = { type, start, row: pos.row, col: pos.column };
      anc.length = depth + 1;
      while (fnStack.length && start >= fnStack[fnStack.length - 1].end) fnStack.pop();
      const fn = fnStack.length ? fnStack[fnStack.length - 1].id : -1;
      let descend = true;
      if (type === "comment") {
        const t = cursor.nodeText;
        const ids = t.length < 4096 ? ignoreIds(t) : undefined;
        const endRow = cursor.endPosition.row;
        if (comments.length < MAX_EVENTS) comments.push({ startRow: pos.row, endRow, ids });
        if (ids) {
          // The directive covers its own line and the line below it.
          addIgnore(facts.lineIgnores, pos.row + 1, ids);
          addIgnore(facts.lineIgnores, pos.row + 2, ids);
        }
      } else if (type === "import_spec") {
        recordImport(facts, cursor.currentNode);
        descend = false;
      } else if (
        FN_TYPES.has(type) &&
        !walkAll &&
        !fnStack.length &&
        type !== "func_literal" &&
        !(type === "method_declaration" && wantMethods) &&
        !BODY_TRIGGER.test(text.slice(start, Math.min(cursor.endIndex, start + 2_000_000)))
      ) {
        // Nothing here for the rules: remember the name and skip the body.
        const nameNode = cursor.currentNode.childForFieldName("name");
        if (nameNode) facts.declared.add(nameNode.text);
        descend = false;
      } else if (FN_TYPES.has(type)) {
        const node = cursor.currentNode;
        if (!fnStack.length && type !== "func_literal") {
          const nameNode = node.childForFieldName("name");
          if (nameNode) facts.declared.add(nameNode.text);
        }
        const parent = fnStack.length ? fnStack[fnStack.length - 1] : undefined;
        const callAncestors: number[] = [];
        if (type === "func_literal") {
          for (let d = depth - 1; d >= 0 && d >= depth - 8; d--) if (anc[d].type === "call_expression") callAncestors.push(anc[d].start);
        }
        const info: FnInfo = {
          id: facts.fns.length,
          node,
          parent: parent ? parent.id : -1,
          outer: parent ? parent.outer : facts.fns.length,
          start: node.startIndex,
          end: node.endIndex,
          startLine: pos.row + 1,
          endLine: node.endPosition.row + 1,
          callAncestors,
        };
        facts.fns.push(info);
        fnStack.push(info);
        if (type !== "func_literal") docIgnores(facts, comments, info);
      } else if (type === "type_spec" && fn === -1) {
        recordStruct(facts, cursor.currentNode);
      } else if (type in EVENT_TYPES) {
        if (facts.events.length >= MAX_EVENTS) {
          facts.truncated = true;
          break;
        }
        const ev: Ev = { kind: EVENT_TYPES[type], node: cursor.currentNode, fn, start };
        // The enclosing statement: the highest ancestor below a statement list / block, without
        // leaving the function.
        for (let d = depth; d >= 1; d--) {
          const up = anc[d - 1].type;
          if (up === "statement_list" || up === "block") {
            ev.stmt = { line: anc[d].row + 1, column: anc[d].col };
            break;
          }
          if (FN_TYPES.has(anc[d].type) || up === "source_file") break;
        }
        facts.events.push(ev);
      }
      if (descend && cursor.gotoFirstChild()) {
        depth++;
        continue;
      }
      let done = false;
      while (!cursor.gotoNextSibling()) {
        if (!cursor.gotoParent()) {
          done = true;
          break;
        }
        depth--;
      }
      if (done) break;
    }
  } catch {
    facts.truncated = true;
  } finally {
    cursor.delete();
  }
  return facts;
}

export function lineOf(facts: FileFacts, line: number): string {
  facts.lines ??= facts.text.split("\n");
  return (facts.lines[line - 1] ?? "").replace(/\r$/, "");
}

function recordImport(facts: FileFacts, node: Node) {
  const pathNode = node.childForFieldName("path");
  if (!pathNode) return;
  const p = unquote(pathNode.text);
  const nameNode = node.childForFieldName("name");
  const name = nameNode ? nameNode.text : defaultImportName(p);
  if (name === "_" || name === ".") return;
  facts.imports.set(name, p);
}

/**
 * `//memcheck:ignore` in the doc comment of a function silences its whole body. The doc comment is
 * the run of comments that ends on the line above the declaration (taken from the comments seen
 * so far on the walk, not from sibling lookups, which cost a scan of the parent each).
 */
function docIgnores(facts: FileFacts, comments: { startRow: number; endRow: number; ids?: Set<string> }[], fn: FnInfo) {
  let expect = fn.startLine - 2; // 0-based row above the declaration
  const ids = new Set<string>();
  for (let i = comments.length - 1, n = 0; i >= 0 && n < 200; i--, n++) {
    const c = comments[i];
    if (c.endRow !== expect) break;
    if (c.ids) for (const id of c.ids) ids.add(id);
    expect = c.startRow - 1;
  }
  if (ids.size) facts.rangeIgnores.push({ from: fn.startLine, to: fn.endLine, ids });
}

function recordStruct(facts: FileFacts, spec: Node) {
  const name = spec.childForFieldName("name");
  const type = spec.childForFieldName("type");
  if (!name || !type || type.type !== "struct_type") return;
  const list = type.namedChildren.find((c) => c?.type === "field_declaration_list");
  if (!list) return;
  const fields: StructFieldInfo[] = [];
  for (const fd of list.namedChildren) {
    if (!fd || fd.type !== "field_declaration") continue;
    const t = fd.childForFieldName("type");
    if (!t) continue;
    const tt = t.text;
    const names = fd
      .childrenForFieldName("name")
      .filter((n): n is Node => !!n)
      .map((n) => n.text);
    if (!names.length) names.push(tt.replace(/^\*/, "").replace(/^.*\./, ""));
    for (const n of names) fields.push({ name: n, type: tt });
    if (/^\*?sync\.Pool$/.test(tt.replace(/\s+/g, ""))) for (const n of names) facts.poolFields.add(n);
  }
  facts.structs.set(name.text, fields);
}

// ---------------------------------------------------------------------------------------------
// Expression helpers (all bounded).

export function unparen(n: Node | null | undefined): Node | null {
  for (let i = 0; n && n.type === "parenthesized_expression" && i < MAX_EXPR_DEPTH; i++) {
    n = n.namedChildren.find((c) => c && c.type !== "comment") ?? null;
  }
  return n ?? null;
}

/**
 * A canonical text for a simple expression: identifiers joined by selectors, and calls with no
 * arguments (`c.Request().Body`). Anything else gives undefined.
 */
export function exprKey(n: Node | null | undefined, depth = 0): string | undefined {
  n = unparen(n);
  if (!n || depth > MAX_EXPR_DEPTH) return undefined;
  switch (n.type) {
    case "identifier":
    case "field_identifier":
    case "package_identifier":
    case "type_identifier":
      return n.text;
    case "selector_expression": {
      const op = exprKey(n.childForFieldName("operand"), depth + 1);
      const f = n.childForFieldName("field");
      return op && f ? `${op}.${f.text}` : undefined;
    }
    case "call_expression": {
      const args = n.childForFieldName("arguments");
      if (args && callArgs(n).length) return undefined;
      const f = exprKey(n.childForFieldName("function"), depth + 1);
      return f ? `${f}()` : undefined;
    }
    default:
      return undefined;
  }
}

export function callArgs(call: Node): Node[] {
  const args = call.childForFieldName("arguments");
  if (!args) return [];
  return args.namedChildren.filter((c): c is Node => !!c && c.type !== "comment");
}

export interface Callee {
  /** Operand text of a selector callee (`io` in io.ReadAll, `p.pool` in p.pool.Put). */
  recv?: string;
  recvNode?: Node;
  name: string;
}

export function callee(call: Node): Callee | undefined {
  const f = unparen(call.childForFieldName("function"));
  if (!f) return undefined;
  if (f.type === "identifier") return { name: f.text };
  if (f.type === "selector_expression") {
    const field = f.childForFieldName("field");
    const op = f.childForFieldName("operand");
    if (!field || !op) return undefined;
    return { recv: exprKey(op), recvNode: unparen(op) ?? undefined, name: field.text };
  }
  return undefined;
}

/** True when `call` is `<pkg>.<name>(...)` and pkg is the local name of one of `paths`. */
export function isPkgCall(facts: FileFacts, call: Node, paths: string[], names: string[]): boolean {
  const c = callee(call);
  if (!c || !c.recv || !names.includes(c.name)) return false;
  const p = facts.imports.get(c.recv);
  return !!p && paths.includes(p);
}

/** The local name of an import path, if the file imports it. */
export function localName(facts: FileFacts, importPath: string): string | undefined {
  for (const [name, p] of facts.imports) if (p === importPath) return name;
  return undefined;
}

/** Left and right expressions of an assignment / short var declaration / var spec. */
export function assignSides(n: Node): { left: Node[]; right: Node[]; op: string } {
  if (n.type === "var_spec") {
    const left = n.childrenForFieldName("name").filter((c): c is Node => !!c);
    const v = n.childForFieldName("value");
    const right = v ? v.namedChildren.filter((c): c is Node => !!c && c.type !== "comment") : [];
    return { left, right, op: "=" };
  }
  const l = n.childForFieldName("left");
  const r = n.childForFieldName("right");
  const left = l ? l.namedChildren.filter((c): c is Node => !!c && c.type !== "comment") : [];
  const right = r ? r.namedChildren.filter((c): c is Node => !!c && c.type !== "comment") : [];
  const opNode = n.childForFieldName("operator");
  const op = n.type === "short_var_declaration" ? ":=" : opNode ? opNode.text : "=";
  return { left, right, op };
}

/** Parameters of a function node: [name, type node] pairs (unnamed params are skipped). */
export function params(fn: Node): { name: string; type: Node }[] {
  const out: { name: string; type: Node }[] = [];
  const lists = [fn.childForFieldName("parameters")];
  if (fn.type === "method_declaration") lists.push(fn.childForFieldName("receiver"));
  for (const list of lists) {
    if (!list) continue;
    for (const pd of list.namedChildren) {
      if (!pd || (pd.type !== "parameter_declaration" && pd.type !== "variadic_parameter_declaration")) continue;
      const t = pd.childForFieldName("type");
      if (!t) continue;
      for (const n of pd.childrenForFieldName("name")) if (n) out.push({ name: n.text, type: t });
    }
  }
  return out;
}

/** Normalised type text: no spaces. */
export function typeText(t: Node | null | undefined): string {
  if (!t) return "";
  const s = t.text;
  return s.length > 400 ? s.slice(0, 400) : s.replace(/\s+/g, "");
}

/** The innermost function containing position `pos`, walking from function `fn` outwards. */
export function fnChain(facts: FileFacts, fn: number): number[] {
  const out: number[] = [];
  for (let i = fn, guard = 0; i >= 0 && guard < 10_000; i = facts.fns[i].parent, guard++) out.push(i);
  return out;
}

/** Is event position inside function `fnId`'s node range? */
export function inFn(facts: FileFacts, fnId: number, pos: number): boolean {
  const f = facts.fns[fnId];
  return pos >= f.start && pos < f.end;
}

export function isIgnored(facts: FileFacts, line: number, rule: string): boolean {
  const s = facts.lineIgnores.get(line);
  if (s && (s.has("*") || s.has(rule))) return true;
  for (const r of facts.rangeIgnores) {
    if (line >= r.from && line <= r.to && (r.ids.has("*") || r.ids.has(rule))) return true;
  }
  return false;
}

/** Evaluate a small integer constant expression (literals, << * + - |, math.MaxInt*). */
export function evalInt(n: Node | null | undefined, facts: FileFacts, depth = 0): number | undefined {
  n = unparen(n);
  if (!n || depth > MAX_EXPR_DEPTH) return undefined;
  switch (n.type) {
    case "int_literal": {
      const t = n.text.replace(/_/g, "");
      const v =
        t.startsWith("0x") || t.startsWith("0X")
          ? parseInt(t.slice(2), 16)
          : t.startsWith("0b") || t.startsWith("0B")
            ? parseInt(t.slice(2), 2)
            : t.startsWith("0o") || t.startsWith("0O")
              ? parseInt(t.slice(2), 8)
              : /^0\d/.test(t)
                ? parseInt(t.slice(1), 8)
                : parseInt(t, 10);
      return Number.isFinite(v) ? v : undefined;
    }
    case "selector_expression": {
      const k = exprKey(n);
      if (k && /^\w+\.MaxInt(64)?$|^\w+\.MaxUint(64)?$/.test(k) && facts.imports.get(k.split(".")[0]) === "math") {
        return 2 ** 63;
      }
      if (k && /^\w+\.MaxInt32$/.test(k) && facts.imports.get(k.split(".")[0]) === "math") return 2 ** 31 - 1;
      return undefined;
    }
    case "binary_expression": {
      const l = evalInt(n.childForFieldName("left"), facts, depth + 1);
      const r = evalInt(n.childForFieldName("right"), facts, depth + 1);
      const op = n.childForFieldName("operator")?.text;
      if (l === undefined || r === undefined) return undefined;
      switch (op) {
        case "<<":
          return l * 2 ** r;
        case ">>":
          return Math.floor(l / 2 ** r);
        case "*":
          return l * r;
        case "+":
          return l + r;
        case "-":
          return l - r;
        case "|":
          return l + r; // good enough for disjoint bit patterns
        case "/":
          return r ? Math.floor(l / r) : undefined;
        default:
          return undefined;
      }
    }
    case "call_expression": {
      // int64(x), uint(x) conversions.
      const f = n.childForFieldName("function");
      const a = callArgs(n);
      if (f && /^u?int(8|16|32|64)?$/.test(f.text) && a.length === 1) return evalInt(a[0], facts, depth + 1);
      return undefined;
    }
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Local type inference, just enough for the rules: the type of a variable from its nearest
// declaration before a position, within one outermost function (parameters of every function on
// the way count too). Qualified names are canonicalised to their import path
// ("*bytes.Buffer", "*compress/gzip.Reader"); package-local names stay bare ("*T").

/** Canonicalise `pkg.Name` to `importpath.Name` in a type text. */
export function canonType(t: string, facts: FileFacts): string {
  return t.replace(/\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)/g, (m, pkg: string, name: string) => {
    const p = facts.imports.get(pkg);
    return p ? `${p}.${name}` : m;
  });
}

/** The type an expression has, when syntax alone tells (literals, new, make, assertions). */
export function exprType(n: Node | null | undefined, facts: FileFacts): string | undefined {
  n = unparen(n);
  if (!n) return undefined;
  switch (n.type) {
    case "composite_literal":
      return canonType(typeText(n.childForFieldName("type")), facts);
    case "unary_expression": {
      const op = n.childForFieldName("operator")?.text;
      const inner = unparen(n.childForFieldName("operand"));
      if (op === "&" && inner && inner.type === "composite_literal") {
        return "*" + canonType(typeText(inner.childForFieldName("type")), facts);
      }
      return undefined;
    }
    case "type_assertion_expression":
      return canonType(typeText(n.childForFieldName("type")), facts);
    case "slice_expression":
      return "[]";
    case "call_expression": {
      const c = callee(n);
      const a = n.childForFieldName("arguments");
      const first = a ? a.namedChildren.find((x) => x && x.type !== "comment") : undefined;
      if (c && !c.recv && c.name === "new" && first) return "*" + canonType(typeText(first), facts);
      if (c && !c.recv && c.name === "make" && first) return canonType(typeText(first), facts);
      if (c && c.recv && facts.imports.get(c.recv) === "bytes" && /^NewBuffer(String)?$/.test(c.name)) return "*bytes.Buffer";
      // A conversion to a slice type: []byte(s).
      const f = n.childForFieldName("function");
      if (f && (f.type === "slice_type" || f.type === "parenthesized_type")) return canonType(typeText(f), facts);
      return undefined;
    }
    case "interpreted_string_literal":
    case "raw_string_literal":
      return "string";
    default:
      return undefined;
  }
}

export interface VarDecl {
  start: number;
  /** Canonical type, when known. */
  type?: string;
  /** The initialising expression, when there is one. */
  value?: Node;
  /** The declaring event (undefined for parameters). */
  ev?: Ev;
}

/**
 * The nearest declaration of `name` before `pos` inside outermost function `outer`: parameters
 * of functions enclosing pos, `:=`, `var` and range clauses. Plain `=` assignments are not
 * declarations; callers that care about reassignment look at them separately.
 */
export function findDecl(facts: FileFacts, outer: number, name: string, pos: number, evs: Ev[]): VarDecl | undefined {
  let best: VarDecl | undefined;
  const candidates = declIndex(evs).get(name) ?? [];
  for (const ev of candidates) {
    if (ev.start >= pos) break;
    if (ev.kind === "range") {
      best = { start: ev.start, ev };
      continue;
    }
    const { left, right } = assignSides(ev.node);
    const i = left.findIndex((l) => l.type === "identifier" && l.text === name);
    if (i < 0) continue;
    let type: string | undefined;
    let value: Node | undefined;
    if (ev.kind === "var") {
      const t = ev.node.childForFieldName("type");
      if (t) type = canonType(typeText(t), facts);
    }
    if (right.length === left.length) value = right[i];
    else if (right.length === 1 && i === 0) value = right[0];
    if (!type && value) type = exprType(value, facts);
    best = { start: ev.start, type, value, ev };
  }
  // Parameters of the functions enclosing pos (innermost first) shadow only when later.
  for (const f of fnsOf(facts, outer)) {
    if (pos < f.start || pos >= f.end) continue;
    for (const p of params(f.node)) {
      if (p.name !== name) continue;
      if (!best || f.start > best.start) best = { start: f.start, type: canonType(typeText(p.type), facts) };
    }
  }
  return best;
}

const fnsByOuter = new WeakMap<FileFacts, Map<number, FnInfo[]>>();

export function fnsOf(facts: FileFacts, outer: number): FnInfo[] {
  let m = fnsByOuter.get(facts);
  if (!m) {
    m = new Map();
    for (const f of facts.fns) {
      let list = m.get(f.outer);
      if (!list) m.set(f.outer, (list = []));
      list.push(f);
    }
    fnsByOuter.set(facts, m);
  }
  return m.get(outer) ?? [];
}

const declIndexes = new WeakMap<Ev[], Map<string, Ev[]>>();

/** Declaring events (`:=`, var, range) of an event list, by declared name, in source order. */
function declIndex(evs: Ev[]): Map<string, Ev[]> {
  let m = declIndexes.get(evs);
  if (m) return m;
  m = new Map();
  for (const ev of evs) {
    if (ev.kind !== "short" && ev.kind !== "var" && ev.kind !== "range") continue;
    let names: string[];
    if (ev.kind === "range") {
      const l = ev.node.childForFieldName("left");
      names = l ? l.namedChildren.filter((c): c is Node => !!c && c.type === "identifier").map((c) => c.text) : [];
    } else {
      names = assignSides(ev.node)
        .left.filter((l) => l.type === "identifier")
        .map((l) => l.text);
    }
    for (const n of names) {
      let list = m.get(n);
      if (!list) m.set(n, (list = []));
      list.push(ev);
    }
  }
  declIndexes.set(evs, m);
  return m;
}

/** Events of one outermost function (sorted by position, as collected). */
export function eventsByOuter(facts: FileFacts): Map<number, Ev[]> {
  const m = new Map<number, Ev[]>();
  for (const ev of facts.events) {
    if (ev.fn < 0) continue;
    const o = facts.fns[ev.fn].outer;
    let list = m.get(o);
    if (!list) m.set(o, (list = []));
    list.push(ev);
  }
  return m;
}
