// File text -> FileDecls: the small declaration model that layouts need. The tree-sitter tree is
// deleted before this returns, so only plain data outlives the parse.
import type { Node } from "web-tree-sitter";
import { goParser } from "./grammar.ts";
import { readBuildConstraint, type BuildConstraint } from "./buildtags.ts";
import { skimFunctionBodies } from "./skim.ts";
import type { Diagnostic, PendingFinding, StructSource } from "./model.ts";
import { populationFacts, type PopulationFact } from "./population-facts.ts";
import { directivesIn } from "./directives.ts";
import { isGeneratedGo } from "./gopath.ts";
import type { FileSummary } from "./rules/summaries.ts";

export type TypeExpr =
  | { k: "name"; name: string }
  | { k: "qual"; pkg: string; name: string }
  | { k: "ptr"; elem: TypeExpr }
  | { k: "slice"; elem: TypeExpr }
  | { k: "array"; len: ConstExpr; elem: TypeExpr }
  | { k: "map"; key: TypeExpr; value: TypeExpr }
  | { k: "chan"; elem: TypeExpr }
  | { k: "func" }
  | { k: "iface"; empty: boolean }
  | { k: "struct"; fields: FieldDecl[] }
  | { k: "generic"; base: TypeExpr; args: TypeExpr[] }
  | { k: "bad"; why: string };

export interface FieldDecl {
  name: string;
  embedded: boolean;
  type: TypeExpr;
  typeText: string;
  tag?: string;
  line: number;
}

export type ConstExpr =
  | { k: "int"; v: bigint }
  | { k: "str"; v: string }
  | { k: "bool"; v: boolean }
  | { k: "iota" }
  | { k: "ident"; name: string }
  | { k: "qual"; pkg: string; name: string }
  | { k: "unary"; op: string; x: ConstExpr }
  | { k: "binary"; op: string; x: ConstExpr; y: ConstExpr }
  /** A call: len, cap, unsafe.Sizeof/Alignof/Offsetof, or a conversion T(x). */
  | { k: "call"; fn: ConstExpr; fnType?: TypeExpr; args: ConstExpr[] }
  /** x.f selectors inside unsafe.Offsetof, and T{} composite literals inside unsafe.Sizeof. */
  | { k: "selector"; x: ConstExpr; field: string }
  | { k: "composite"; type: TypeExpr }
  | { k: "bad"; why: string };

export interface TypeSpecDecl {
  name: string;
  line: number;
  alias: boolean;
  typeParams: string[];
  type: TypeExpr;
  source?: StructSource;
}

export interface ConstSpecDecl {
  name: string;
  line: number;
  type?: TypeExpr;
  value: ConstExpr;
  iota: number;
}

export interface VarSpecDecl {
  name: string;
  type: TypeExpr;
}

export interface ImportDecl {
  /** Local name as written ("." and "_" included); undefined when the package name is used. */
  name?: string;
  path: string;
}

export interface FileDecls {
  path: string;
  packageName: string;
  imports: ImportDecl[];
  constraint: BuildConstraint;
  types: TypeSpecDecl[];
  consts: ConstSpecDecl[];
  vars: VarSpecDecl[];
  diagnostics: Diagnostic[];
  hazards: PendingFinding[];
  bytes: number;
  /** How many values of each type the code suggests (population.ts); from bodies only when hazards ran. */
  population?: PopulationFact[];
  /** Function summaries, pools and middleware for the package-wide syntax rules (when hazards ran). */
  summary?: FileSummary;
  /** Go's generated-file marker is present before the package clause. */
  generated?: boolean;
}

/** What a file gives its package for the syntax rules (rules/summaries.ts): plain data. */
export interface HazardFileFacts {
  findings: PendingFinding[];
  summary: FileSummary;
}

export type HazardCollector = (root: Node, path: string, text: string) => PendingFinding[] | HazardFileFacts;

/** Nesting beyond this is reported, not followed: real Go code never comes close. */
const MAX_DEPTH = 400;

export function parseFile(path: string, original: string, hazards?: HazardCollector): FileDecls {
  const decls: FileDecls = {
    path,
    packageName: "",
    imports: [],
    constraint: readBuildConstraint(original),
    types: [],
    consts: [],
    vars: [],
    diagnostics: [],
    hazards: [],
    bytes: original.length,
  };
  if (isGeneratedGo(original)) decls.generated = true;
  // Hazard rules read function bodies; layouts never do, so they parse the skimmed text.
  const text = hazards ? original : skimFunctionBodies(original);
  const tree = goParser().parse(text);
  if (!tree) {
    decls.diagnostics.push({ file: path, message: "the parser gave up on this file" });
    return decls;
  }
  try {
    const root = tree.rootNode;
    const lines = new LineIndex(text);
    for (const child of root.namedChildren) {
      if (!child) continue;
      switch (child.type) {
        case "package_clause":
          decls.packageName = child.namedChild(0)?.text ?? "";
          break;
        case "import_declaration":
          readImports(child, decls.imports);
          break;
        case "type_declaration":
          readTypeDecl(child, text, lines, decls);
          break;
        case "const_declaration":
          readConstDecl(child, text, decls);
          break;
        case "var_declaration":
          readVarDecl(child, text, decls);
          break;
        case "ERROR":
          decls.diagnostics.push({ file: path, line: child.startPosition.row + 1, message: `syntax error: ${snippet(child.text)}` });
          break;
      }
    }
    if (root.hasError && decls.diagnostics.length === 0) {
      const bad = firstError(root);
      decls.diagnostics.push({ file: path, line: bad ? bad.startPosition.row + 1 : undefined, message: "syntax error; kept what parsed" });
    }
    try {
      decls.population = populationFacts(root);
    } catch (err) {
      decls.diagnostics.push({ file: path, message: printable(`population facts failed: ${(err as Error).message}`) });
    }
    if (hazards) {
      try {
        const got = hazards(root, path, text);
        if (Array.isArray(got)) decls.hazards = got;
        else {
          decls.hazards = got.findings;
          decls.summary = got.summary;
        }
      } catch (err) {
        decls.diagnostics.push({ file: path, message: printable(`hazard rules failed: ${(err as Error).message}`) });
      }
    }
  } finally {
    tree.delete();
  }
  return decls;
}

/**
 * Source text made safe to put in a message: control and format characters (ESC, bidi overrides,
 * zero-width joiners, lone surrogates) are shown as \u{..} escapes, since messages reach
 * terminals and markdown. Valid Go has none of them outside comments and strings.
 */
export function printable(s: string): string {
  return s.replace(/[\p{Cc}\p{Cf}\p{Co}\p{Cs}\u2028\u2029]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

function snippet(s: string): string {
  const clean = printable(s.slice(0, 200).replace(/\s+/g, " ").trim());
  const chars = [...clean];
  return chars.length > 60 ? `${chars.slice(0, 57).join("")}...` : clean;
}

function firstError(root: Node): Node | undefined {
  const stack: Node[] = [root];
  let steps = 0;
  while (stack.length && steps++ < 100_000) {
    const n = stack.pop()!;
    if (n.isError || n.isMissing) return n;
    if (!n.hasError) continue;
    for (let i = n.childCount - 1; i >= 0; i--) {
      const c = n.child(i);
      if (c) stack.push(c);
    }
  }
  return undefined;
}

class LineIndex {
  private starts: number[] = [0];
  constructor(private text: string) {
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) this.starts.push(i + 1);
  }
  /** Text of 1-based lines [from, to], without the final newline. */
  lines(from: number, to: number): string {
    const start = this.starts[from - 1] ?? this.text.length;
    const end = to < this.starts.length ? this.starts[to] - 1 : this.text.length;
    return this.text.slice(start, end);
  }
}

function stringValue(node: Node): string {
  const raw = node.text;
  if (node.type === "raw_string_literal") return raw.slice(1, -1);
  try {
    return JSON.parse(raw.replace(/\\x([0-9a-fA-F]{2})/g, "\\u00$1")) as string;
  } catch {
    return raw.slice(1, -1);
  }
}

function readImports(node: Node, out: ImportDecl[]): void {
  const specs = node.descendantsOfType("import_spec");
  for (const spec of specs) {
    if (!spec) continue;
    const pathNode = spec.childForFieldName("path");
    if (!pathNode) continue;
    const nameNode = spec.childForFieldName("name");
    out.push({ path: stringValue(pathNode), name: nameNode?.text });
  }
}

// ---- types ------------------------------------------------------------------------------------

function readTypeDecl(decl: Node, text: string, lines: LineIndex, out: FileDecls): void {
  const declDirectives = directivesAbove(decl);
  for (const spec of decl.namedChildren) {
    if (!spec || (spec.type !== "type_spec" && spec.type !== "type_alias")) continue;
    const nameNode = spec.childForFieldName("name");
    const typeNode = spec.childForFieldName("type");
    if (!nameNode || !typeNode) continue;
    const typeParams: string[] = [];
    const params = spec.childForFieldName("type_parameters");
    if (params) {
      for (const p of params.namedChildren) {
        if (!p) continue;
        for (const n of namedField(p, "name")) typeParams.push(n.text);
      }
    }
    const typeSpec: TypeSpecDecl = {
      name: nameNode.text,
      line: nameNode.startPosition.row + 1,
      alias: spec.type === "type_alias",
      typeParams,
      type: typeNode.hasError ? { k: "bad", why: "syntax error in the declaration" } : toTypeExpr(typeNode, 0),
    };
    if (typeNode.type === "struct_type") {
      typeSpec.source = structSource(typeNode, typeSpec.line, lines, [
        ...declDirectives,
        ...directivesAbove(spec),
        ...trailingDirectives(spec, text),
      ]);
    }
    out.types.push(typeSpec);
  }
}

/** `//memcheck:...` (and `//nolint`) directives in the comment block directly above a node. */
function directivesAbove(node: Node): string[] {
  const found: string[] = [];
  let prev = node.previousSibling;
  let line = node.startPosition.row;
  while (prev && prev.type === "comment" && prev.endPosition.row >= line - 1) {
    found.push(...directivesIn(prev.text));
    line = prev.startPosition.row;
    prev = prev.previousSibling;
  }
  return found;
}

function trailingDirectives(node: Node, text: string): string[] {
  const lineStart = node.startIndex;
  const lineEnd = text.indexOf("\n", lineStart);
  const firstLine = text.slice(lineStart, lineEnd < 0 ? undefined : lineEnd);
  const c = firstLine.indexOf("//");
  return c < 0 ? [] : directivesIn(firstLine.slice(c));
}

function structSource(structNode: Node, line: number, lines: LineIndex, directives: string[]): StructSource {
  const list = structNode.namedChildren.find((c) => c?.type === "field_declaration_list") ?? structNode;
  const groups: StructSource["fieldGroups"] = [];
  const children = list.namedChildren;
  let pendingStart: number | undefined;
  for (let i = 0; i < children.length; i++) {
    const c = children[i];
    if (!c) continue;
    if (c.type === "comment") {
      // A comment on the `struct {` line belongs to the type, not to the first field.
      if (c.startPosition.row === structNode.startPosition.row) continue;
      // A comment on the same line as the previous field belongs to that field.
      const last = groups[groups.length - 1];
      if (last && c.startPosition.row + 1 === last.endLine && pendingStart === undefined) continue;
      pendingStart ??= c.startPosition.row + 1;
      continue;
    }
    if (c.type !== "field_declaration") continue;
    const startLine = pendingStart ?? c.startPosition.row + 1;
    pendingStart = undefined;
    let endLine = c.endPosition.row + 1;
    const next = children[i + 1];
    if (next && next.type === "comment" && next.startPosition.row + 1 === endLine) endLine = next.endPosition.row + 1;
    groups.push({ names: fieldNames(c), startLine, endLine, text: lines.lines(startLine, endLine) });
  }
  return {
    line,
    openLine: structNode.startPosition.row + 1,
    closeLine: structNode.endPosition.row + 1,
    fieldGroups: groups,
    directives,
  };
}

function fieldNames(field: Node): string[] {
  const names = namedField(field, "name").map((n) => n.text);
  if (names.length) return names;
  const t = field.childForFieldName("type");
  return [t ? embeddedName(t) : "_"];
}

function embeddedName(t: Node): string {
  if (t.type === "qualified_type") return t.childForFieldName("name")?.text ?? t.text;
  if (t.type === "generic_type") return embeddedName(t.childForFieldName("type") ?? t);
  if (t.type === "pointer_type") return embeddedName(t.namedChild(0) ?? t);
  return t.text;
}

function readFields(list: Node, depth: number): FieldDecl[] {
  const fields: FieldDecl[] = [];
  for (const f of list.namedChildren) {
    if (!f || f.type !== "field_declaration") continue;
    const typeNode = f.childForFieldName("type");
    if (!typeNode) continue;
    const tagNode = f.childForFieldName("tag");
    const tag = tagNode ? stringValue(tagNode) : undefined;
    const names = namedField(f, "name");
    const line = f.startPosition.row + 1;
    if (names.length === 0) {
      // Embedded field: `T`, `*T`, `pkg.T`, `*pkg.T`, `G[int]`. The `*` is an anonymous child.
      const star = f.children.some((c) => c?.type === "*");
      let type = toTypeExpr(typeNode, depth + 1);
      if (star) type = { k: "ptr", elem: type };
      fields.push({ name: embeddedName(typeNode), embedded: true, type, typeText: (star ? "*" : "") + typeNode.text, tag, line });
      continue;
    }
    const type = toTypeExpr(typeNode, depth + 1);
    for (const n of names) fields.push({ name: n.text, embedded: false, type, typeText: typeNode.text, tag, line });
  }
  return fields;
}

export function toTypeExpr(node: Node, depth: number): TypeExpr {
  if (depth > MAX_DEPTH) return { k: "bad", why: "type nested too deeply" };
  switch (node.type) {
    case "type_identifier":
    case "identifier":
      return { k: "name", name: node.text };
    case "qualified_type": {
      const pkg = node.childForFieldName("package")?.text;
      const name = node.childForFieldName("name")?.text;
      return pkg && name ? { k: "qual", pkg, name } : { k: "bad", why: `bad qualified type ${snippet(node.text)}` };
    }
    case "pointer_type": {
      const elem = node.namedChild(0);
      return elem ? { k: "ptr", elem: toTypeExpr(elem, depth + 1) } : { k: "bad", why: "bad pointer type" };
    }
    case "slice_type": {
      const elem = node.childForFieldName("element");
      return elem ? { k: "slice", elem: toTypeExpr(elem, depth + 1) } : { k: "bad", why: "bad slice type" };
    }
    case "array_type": {
      const len = node.childForFieldName("length");
      const elem = node.childForFieldName("element");
      if (!len || !elem) return { k: "bad", why: "bad array type" };
      return { k: "array", len: toConstExpr(len, depth + 1), elem: toTypeExpr(elem, depth + 1) };
    }
    case "implicit_length_array_type":
      return { k: "bad", why: "[...] array type outside a composite literal" };
    case "map_type": {
      const key = node.childForFieldName("key");
      const value = node.childForFieldName("value");
      if (!key || !value) return { k: "bad", why: "bad map type" };
      return { k: "map", key: toTypeExpr(key, depth + 1), value: toTypeExpr(value, depth + 1) };
    }
    case "channel_type": {
      const elem = node.childForFieldName("value");
      return { k: "chan", elem: elem ? toTypeExpr(elem, depth + 1) : { k: "bad", why: "bad channel type" } };
    }
    case "function_type":
      return { k: "func" };
    case "interface_type":
      return { k: "iface", empty: node.namedChildCount === 0 };
    case "struct_type": {
      const list = node.namedChildren.find((c) => c?.type === "field_declaration_list");
      return { k: "struct", fields: list ? readFields(list, depth + 1) : [] };
    }
    case "generic_type": {
      const base = node.childForFieldName("type");
      const argsNode = node.childForFieldName("type_arguments");
      if (!base || !argsNode) return { k: "bad", why: "bad generic type" };
      const args: TypeExpr[] = [];
      for (const a of argsNode.namedChildren) {
        if (!a) continue;
        const inner = a.type === "type_elem" ? a.namedChild(0) : a;
        if (inner) args.push(toTypeExpr(inner, depth + 1));
      }
      return { k: "generic", base: toTypeExpr(base, depth + 1), args };
    }
    case "parenthesized_type": {
      const inner = node.namedChild(0);
      return inner ? toTypeExpr(inner, depth + 1) : { k: "bad", why: "bad parenthesized type" };
    }
    case "type_elem": {
      const inner = node.namedChild(0);
      return inner && node.namedChildCount === 1 ? toTypeExpr(inner, depth + 1) : { k: "bad", why: "type set" };
    }
    default:
      return { k: "bad", why: `unsupported type syntax ${snippet(node.text)}` };
  }
}

// ---- constants --------------------------------------------------------------------------------

function readConstDecl(decl: Node, text: string, out: FileDecls): void {
  let iota = 0;
  let prevType: TypeExpr | undefined;
  let prevValues: ConstExpr[] = [];
  for (const spec of decl.namedChildren) {
    if (!spec || spec.type !== "const_spec") continue;
    const names = namedField(spec, "name");
    const typeNode = spec.childForFieldName("type");
    const valueNode = spec.childForFieldName("value");
    if (valueNode) {
      prevValues = valueNode.namedChildren.filter((n): n is Node => !!n).map((n) => toConstExpr(n, 0));
      prevType = typeNode ? toTypeExpr(typeNode, 0) : undefined;
    }
    // A spec without values repeats the previous expression list and type (implicit repetition).
    names.forEach((n, i) => {
      out.consts.push({
        name: n.text,
        line: n.startPosition.row + 1,
        type: prevType,
        value: prevValues[i] ?? { k: "bad", why: "missing constant value" },
        iota,
      });
    });
    iota++;
  }
  void text;
}

function readVarDecl(decl: Node, text: string, out: FileDecls): void {
  // Only this declaration's own specs: a func literal in an initializer has var specs of its own.
  const specs = decl.namedChildren.flatMap((c) => (c?.type === "var_spec_list" ? c.namedChildren : [c]));
  for (const spec of specs) {
    if (!spec || spec.type !== "var_spec") continue;
    const names = namedField(spec, "name");
    const typeNode = spec.childForFieldName("type");
    if (typeNode) {
      const type = toTypeExpr(typeNode, 0);
      for (const n of names) out.vars.push({ name: n.text, type });
      continue;
    }
    // `var x = T{...}` and `var x = [...]T{a, b}`: the literal gives the type.
    const values = namedField(spec, "value")[0]?.namedChildren ?? [];
    names.forEach((n, i) => {
      const v = values[i];
      const type = v?.type === "composite_literal" ? literalType(v) : undefined;
      if (type) out.vars.push({ name: n.text, type });
    });
  }
  void text;
}

function literalType(lit: Node): TypeExpr | undefined {
  const t = lit.childForFieldName("type");
  if (!t) return undefined;
  if (t.type !== "implicit_length_array_type") return toTypeExpr(t, 0);
  const body = lit.childForFieldName("body");
  const elem = t.childForFieldName("element");
  if (!body || !elem) return undefined;
  const elems = body.namedChildren.filter((c) => c && c.type !== "comment");
  if (elems.some((c) => c?.type === "keyed_element")) return undefined;
  return { k: "array", len: { k: "int", v: BigInt(elems.length) }, elem: toTypeExpr(elem, 0) };
}

/** Children of a field name, without the anonymous "," tokens tree-sitter also tags with it. */
function namedField(node: Node, field: string): Node[] {
  return node.childrenForFieldName(field).filter((n): n is Node => !!n && n.isNamed);
}

export function parseIntLiteral(raw: string): bigint | undefined {
  const s = raw.replace(/_/g, "");
  try {
    if (/^0[xX][0-9a-fA-F]+$/.test(s) || /^0[bB][01]+$/.test(s)) return BigInt(s);
    if (/^0[oO][0-7]+$/.test(s)) return BigInt(s);
    if (/^0[0-7]+$/.test(s)) return BigInt("0o" + s.slice(1));
    if (/^[0-9]+$/.test(s)) return BigInt(s);
  } catch {
    return undefined;
  }
  return undefined;
}

function parseRune(raw: string): bigint | undefined {
  const body = raw.slice(1, -1);
  if (!body.startsWith("\\")) {
    const cp = body.codePointAt(0);
    return cp === undefined ? undefined : BigInt(cp);
  }
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, "\\": 92, "'": 39, '"': 34 };
  const c = body[1];
  if (c in simple) return BigInt(simple[c]);
  if (c === "x" || c === "u" || c === "U") return BigInt("0x" + body.slice(2));
  if (/[0-7]/.test(c)) return BigInt("0o" + body.slice(1));
  return undefined;
}

export function toConstExpr(node: Node, depth: number): ConstExpr {
  if (depth > MAX_DEPTH) return { k: "bad", why: "expression nested too deeply" };
  switch (node.type) {
    case "int_literal": {
      const v = parseIntLiteral(node.text);
      return v === undefined ? { k: "bad", why: `bad integer ${node.text}` } : { k: "int", v };
    }
    case "float_literal": {
      // Integral floats such as 1e3 are valid array lengths.
      const f = Number(node.text.replace(/_/g, ""));
      return Number.isInteger(f) && Math.abs(f) < 2 ** 53
        ? { k: "int", v: BigInt(f) }
        : { k: "bad", why: `non-integer constant ${node.text}` };
    }
    case "rune_literal": {
      const v = parseRune(node.text);
      return v === undefined ? { k: "bad", why: `bad rune ${node.text}` } : { k: "int", v };
    }
    case "interpreted_string_literal":
    case "raw_string_literal":
      return { k: "str", v: stringValue(node) };
    case "true":
      return { k: "bool", v: true };
    case "false":
      return { k: "bool", v: false };
    case "iota":
      return { k: "iota" };
    case "identifier":
    case "type_identifier":
      return { k: "ident", name: node.text };
    case "parenthesized_expression": {
      const inner = node.namedChild(0);
      return inner ? toConstExpr(inner, depth + 1) : { k: "bad", why: "empty parentheses" };
    }
    case "unary_expression": {
      const op = node.childForFieldName("operator")?.text ?? node.child(0)?.text ?? "";
      const x = node.childForFieldName("operand");
      return x ? { k: "unary", op, x: toConstExpr(x, depth + 1) } : { k: "bad", why: "bad unary expression" };
    }
    case "binary_expression": {
      const op = node.childForFieldName("operator")?.text ?? "";
      const x = node.childForFieldName("left");
      const y = node.childForFieldName("right");
      if (!x || !y) return { k: "bad", why: "bad binary expression" };
      return { k: "binary", op, x: toConstExpr(x, depth + 1), y: toConstExpr(y, depth + 1) };
    }
    case "selector_expression": {
      const x = node.childForFieldName("operand");
      const field = node.childForFieldName("field")?.text;
      if (!x || !field) return { k: "bad", why: "bad selector" };
      if (x.type === "identifier") return { k: "qual", pkg: x.text, name: field };
      return { k: "selector", x: toConstExpr(x, depth + 1), field };
    }
    case "qualified_type": {
      const pkg = node.childForFieldName("package")?.text;
      const name = node.childForFieldName("name")?.text;
      return pkg && name ? { k: "qual", pkg, name } : { k: "bad", why: "bad qualified name" };
    }
    case "call_expression":
    case "type_conversion_expression": {
      const fn = node.childForFieldName("function") ?? node.childForFieldName("type");
      const argsNode = node.childForFieldName("arguments");
      if (!fn) return { k: "bad", why: "bad call" };
      const args: ConstExpr[] = [];
      if (argsNode) {
        for (const a of argsNode.namedChildren) if (a) args.push(toConstExpr(a, depth + 1));
      } else {
        // A conversion to type syntax ([2]int64(x)) has its operand in a field of its own.
        const operand = node.childForFieldName("operand");
        if (operand) args.push(toConstExpr(operand, depth + 1));
      }
      const isTypeSyntax = !["identifier", "selector_expression", "parenthesized_expression"].includes(fn.type);
      const operand = fn.type === "selector_expression" ? fn.childForFieldName("operand") : null;
      const field = fn.type === "selector_expression" ? fn.childForFieldName("field") : null;
      // pkg.T(x) is a conversion to a qualified type when pkg.T is a type.
      const fnType: TypeExpr =
        operand?.type === "identifier" && field ? { k: "qual", pkg: operand.text, name: field.text } : toTypeExpr(fn, depth + 1);
      return { k: "call", fn: isTypeSyntax ? { k: "bad", why: "type" } : toConstExpr(fn, depth + 1), fnType, args };
    }
    case "composite_literal": {
      const t = node.childForFieldName("type");
      return t ? { k: "composite", type: toTypeExpr(t, depth + 1) } : { k: "bad", why: "bad composite literal" };
    }
    default:
      return { k: "bad", why: `unsupported constant expression ${snippet(node.text)}` };
  }
}
