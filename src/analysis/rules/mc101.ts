// MC101 unbounded request body: a handler reads the whole HTTP request body (io.ReadAll,
// json.NewDecoder(...).Decode, io.Copy into a buffer, a huge ParseMultipartForm) without
// wrapping it in http.MaxBytesReader / io.LimitReader first.
import type { Node } from "web-tree-sitter";
import type { PendingHit, Rule } from "./rule.ts";
import type { CallEdge, Framework, Requires } from "../model.ts";
import { printable } from "../parse.ts";
import type { ParamKind } from "./summaries.ts";
import {
  type Ev,
  type FileFacts,
  type FnInfo,
  assignSides,
  callArgs,
  callee,
  eventsByOuter,
  evalInt,
  exprKey,
  findDecl,
  fnsOf,
  isIgnored,
  isPkgCall,
  lineOf,
  localName,
  params,
  typeText,
  unparen,
} from "./ast.ts";

export const MC101 = "MC101";

const GIN = ["github.com/gin-gonic/gin"];
const ECHO = ["github.com/labstack/echo/v4", "github.com/labstack/echo", "github.com/labstack/echo/v5"];

/** Where a request body comes from in one function: a parameter that carries it. */
export interface Origin {
  fn: FnInfo;
  kind: ParamKind;
  /** Argument position of the parameter. */
  index: number;
  /** Canonical request expression (`r`, `c.Request`, `c.Request()`); undefined for a reader. */
  req?: string;
  /** The parameter's name: the reader itself, the request, or the gin / echo context. */
  base: string;
  /** The ResponseWriter expression of a handler (`w`, `c.Writer`, `nil` when it is `_`). */
  writer?: string;
  /** A handler: the body is a client's, and reads are reported here. */
  handler: boolean;
  framework?: Framework;
}

/** Parameters in call order, with their argument positions (unnamed ones take a position too). */
export function paramSlots(fn: Node): { name?: string; type: Node; index: number }[] {
  const out: { name?: string; type: Node; index: number }[] = [];
  const list = fn.childForFieldName("parameters");
  if (!list) return out;
  let i = 0;
  for (const pd of list.namedChildren) {
    if (!pd || (pd.type !== "parameter_declaration" && pd.type !== "variadic_parameter_declaration")) continue;
    const t = pd.childForFieldName("type");
    const names = pd.childrenForFieldName("name").filter((n): n is Node => !!n);
    if (!t) {
      i += Math.max(1, names.length);
      continue;
    }
    if (!names.length) out.push({ type: t, index: i++ });
    for (const n of names) out.push({ name: n.text, type: t, index: i++ });
  }
  return out;
}

/** The body-carrying parameters of a function, handlers marked. */
export function originsOf(facts: FileFacts, fn: FnInfo): Origin[] {
  const http = localName(facts, "net/http");
  const io = localName(facts, "io");
  const ginName = GIN.map((p) => localName(facts, p)).find(Boolean);
  const echoName = ECHO.map((p) => localName(facts, p)).find(Boolean);
  if (!http && !ginName && !echoName && !io) return [];
  let writer: string | undefined;
  const out: Origin[] = [];
  let request: Origin | undefined;
  for (const p of paramSlots(fn.node)) {
    const t = typeText(p.type);
    if (http && t === `${http}.ResponseWriter`) writer = p.name ?? "_";
    if (!p.name || p.name === "_") continue;
    if (http && t === `*${http}.Request`) {
      request = { fn, kind: "request", index: p.index, req: p.name, base: p.name, handler: false, framework: "http" };
      out.push(request);
    } else if (ginName && t === `*${ginName}.Context`) {
      out.push({
        fn,
        kind: "gin",
        index: p.index,
        req: `${p.name}.Request`,
        base: p.name,
        writer: `${p.name}.Writer`,
        handler: true,
        framework: "gin",
      });
    } else if (echoName && (t === `${echoName}.Context` || t === `*${echoName}.Context`)) {
      // echo v4 passes the Context interface; echo v5 a *Context.
      out.push({
        fn,
        kind: "echo",
        index: p.index,
        req: `${p.name}.Request()`,
        base: p.name,
        writer: `${p.name}.Response()`,
        handler: true,
        framework: "echo",
      });
    } else if (io && (t === `${io}.Reader` || t === `${io}.ReadCloser`)) {
      out.push({ fn, kind: "reader", index: p.index, base: p.name, handler: false });
    }
  }
  if (request && writer !== undefined) {
    request.handler = true;
    request.writer = writer === "_" ? "nil" : writer;
  }
  return out;
}

const ROUTE_METHODS = new Set(["HandleFunc", "Handle", "Get", "Post", "Put", "Patch", "Delete", "Method", "MethodFunc", "Any"]);

/**
 * What the file wraps with http.MaxBytesHandler: the text of each wrapped handler expression, and
 * for a wrapped mux (`http.MaxBytesHandler(mux, n)`), the handlers registered on that mux here
 * (their text, and the positions of literal handlers).
 */
function maxBytesHandled(facts: FileFacts): { texts: string[]; literals: Set<number> } {
  const texts: string[] = [];
  const literals = new Set<number>();
  const muxes = new Set<string>();
  for (const ev of facts.events) {
    if (ev.kind !== "call") continue;
    const c = callee(ev.node);
    if (!c || c.name !== "MaxBytesHandler") continue;
    const a = callArgs(ev.node)[0];
    if (!a) continue;
    if (a.text.length < 2000) texts.push(a.text);
    const k = exprKey(a);
    if (k) muxes.add(k);
  }
  if (!muxes.size) return { texts, literals };
  for (const ev of facts.events) {
    if (ev.kind !== "call") continue;
    const c = callee(ev.node);
    if (!c || !c.recv || !muxes.has(c.recv) || !ROUTE_METHODS.has(c.name)) continue;
    const h = callArgs(ev.node).at(-1);
    if (!h) continue;
    if (h.type === "func_literal") literals.add(h.startIndex);
    else if (h.text.length < 2000) texts.push(h.text);
  }
  return { texts, literals };
}

function insideMaxBytesHandler(fn: FnInfo, callsAt: Map<number, Ev>): boolean {
  for (const at of fn.callAncestors) {
    const ev = callsAt.get(at);
    const c = ev ? callee(ev.node) : undefined;
    if (c && c.name === "MaxBytesHandler") return true;
  }
  return false;
}

function fnName(fn: FnInfo): string | undefined {
  if (fn.node.type === "func_literal") return undefined;
  return fn.node.childForFieldName("name")?.text;
}

/** Is `buf` (the destination of io.Copy / the receiver of ReadFrom) an in-memory buffer? */
export function isBufferExpr(facts: FileFacts, n: Node | null | undefined, outer: number, evs: Ev[]): boolean {
  n = unparen(n);
  if (!n) return false;
  let name: string | undefined;
  let addr = false;
  if (n.type === "unary_expression" && n.childForFieldName("operator")?.text === "&") {
    const inner = unparen(n.childForFieldName("operand"));
    if (!inner) return false;
    if (inner.type === "composite_literal") return isBufferType(typeText(inner.childForFieldName("type")), facts);
    if (inner.type !== "identifier") return false;
    name = inner.text;
    addr = true;
  } else if (n.type === "identifier") {
    name = n.text;
  } else if (n.type === "call_expression") {
    const c = callee(n);
    return !!c && !!c.recv && facts.imports.get(c.recv) === "bytes" && /^NewBuffer(String)?$/.test(c.name);
  } else {
    return false;
  }
  const d = findDecl(facts, outer, name, n.startIndex, evs);
  if (!d || !d.type) return false;
  const t = d.type.replace(/^\*/, "");
  if (!/^(bytes\.Buffer|strings\.Builder)$/.test(t)) return false;
  return addr ? !d.type.startsWith("*") : true;
}

function isBufferType(t: string, facts: FileFacts): boolean {
  const m = /^(\w+)\.(Buffer|Builder)$/.exec(t);
  if (!m) return false;
  const p = facts.imports.get(m[1]);
  return (p === "bytes" && m[2] === "Buffer") || (p === "strings" && m[2] === "Builder");
}

interface Read {
  call: Node;
  /** The expression read from (undefined for ParseMultipartForm). */
  src?: Node;
  what: string;
  multipart?: number;
  /** The framework method that reads it (gin's ShouldBindJSON, echo's Bind). */
  framework?: string;
}

function readsOf(facts: FileFacts, ev: Ev, outer: number, evs: Ev[], opts: { multipartLimit: number }): Read | undefined {
  const call = ev.node;
  const c = callee(call);
  if (!c) return undefined;
  const args = callArgs(call);
  if (c.name === "ReadAll" && isPkgCall(facts, call, ["io", "io/ioutil"], ["ReadAll"])) {
    return { call, src: args[0], what: `${c.recv}.ReadAll` };
  }
  if ((c.name === "Copy" || c.name === "CopyBuffer") && isPkgCall(facts, call, ["io"], ["Copy", "CopyBuffer"])) {
    if (args.length >= 2 && isBufferExpr(facts, args[0], outer, evs)) {
      return { call, src: args[1], what: `${c.recv}.${c.name} into a buffer` };
    }
    return undefined;
  }
  if (c.name === "ReadFrom" && c.recvNode && args.length === 1 && isBufferExpr(facts, c.recvNode, outer, evs)) {
    return { call, src: args[0], what: "bytes.Buffer.ReadFrom" };
  }
  if (c.name === "NewDecoder" && isPkgCall(facts, call, ["encoding/json"], ["NewDecoder"])) {
    if (decodes(call, evs)) return { call, src: args[0], what: `${c.recv}.NewDecoder(...).Decode` };
    return undefined;
  }
  if (c.name === "ParseMultipartForm" && args.length === 1) {
    const v = evalInt(args[0], facts);
    if (v !== undefined && v > opts.multipartLimit) return { call, what: "ParseMultipartForm", multipart: v };
  }
  return undefined;
}

/** json.NewDecoder(x).Decode(...) chained, or assigned to a variable that later decodes. */
function decodes(call: Node, evs: Ev[]): boolean {
  const at = call.startIndex;
  const end = call.endIndex;
  let name: string | undefined;
  for (const ev of evs) {
    if (ev.start > at) break;
    if (ev.kind === "call") {
      const c = callee(ev.node);
      if (c && c.name === "Decode" && c.recvNode && c.recvNode.startIndex === at && c.recvNode.endIndex === end) return true;
    } else if (ev.kind === "short" || ev.kind === "assign" || ev.kind === "var") {
      const { left, right } = assignSides(ev.node);
      const i = right.findIndex((r) => r.startIndex === at && r.endIndex === end);
      if (i >= 0 && left[i]?.type === "identifier") name = left[i].text;
    }
  }
  if (!name) return false;
  for (const ev of evs) {
    if (ev.kind !== "call" || ev.start <= at) continue;
    const c = callee(ev.node);
    if (c && c.recv === name && (c.name === "Decode" || c.name === "More" || c.name === "Token")) return true;
  }
  return false;
}

/** gin methods that read the request body whole (the Query / Uri / Header binders do not). */
const GIN_BODY =
  /^(Should)?(Bind|MustBindWith)(JSON|XML|YAML|TOML|ProtoBuf|With|BodyWith|BodyWithJSON|BodyWithXML|BodyWithYAML|BodyWithTOML)?$|^GetRawData$/;
/** Binding engines that do not read the body whole: query, path, headers, forms (net/http caps forms at 10 MiB). */
const GIN_NOT_BODY = /\bbinding\.(Query|Uri|Header|Form|FormPost|FormMultipart)\b/;

function frameworkRead(o: Origin, ev: Ev): Read | undefined {
  const c = callee(ev.node);
  if (!c || c.recv !== o.base) return undefined;
  if (o.kind === "gin" && GIN_BODY.test(c.name)) {
    const args = callArgs(ev.node);
    if (/With$/.test(c.name) && args[1] && GIN_NOT_BODY.test(args[1].text)) return undefined;
    return { call: ev.node, what: `gin's ${o.base}.${c.name}`, framework: c.name };
  }
  if (o.kind === "echo" && c.name === "Bind" && callArgs(ev.node).length === 1) {
    return { call: ev.node, what: `echo's ${o.base}.Bind`, framework: c.name };
  }
  return undefined;
}

/** The key a call's callee has in the function summaries; undefined for the standard library. */
export function calleeKey(facts: FileFacts, call: Node): string | undefined {
  const c = callee(call);
  if (!c) return undefined;
  if (!c.recv) return c.name;
  const p = facts.imports.get(c.recv);
  if (p) return p.split("/")[0].includes(".") ? `${p}.${c.name}` : undefined;
  if (!c.recvNode || (c.recvNode.type !== "identifier" && c.recvNode.type !== "selector_expression")) return undefined;
  return `.${c.name}`;
}

/** Calls handing a body on that one function records (a generated file may have thousands). */
const MAX_FORWARDS = 64;

export interface Flow {
  origin: Origin;
  /** Unbounded reads, each with the helpers called before it that may have bounded the body. */
  reads: { ev: Ev; rd: Read; unlessBound: CallEdge[] }[];
  /** The body (or the request, or the context) handed to a function of the module. */
  forwards: { ev: Ev; edge: CallEdge; unlessBound: CallEdge[] }[];
  /** The function bounds the body itself (assigns it, or wraps it). */
  bound: boolean;
}

/** Follow one origin's body through its function's statements, in order. */
function track(facts: FileFacts, o: Origin, evs: Ev[], limit: number): Flow {
  const flow: Flow = { origin: o, reads: [], forwards: [], bound: false };
  const fn = o.fn;
  const base = o.base;
  const reqs = new Set(o.req ? [o.req] : []);
  const bodies = new Set<string>(o.req ? [`${o.req}.Body`] : [base]);
  let helpers: CallEdge[] = [];
  /** Position after which the body may no longer be the raw request body. */
  let changedAt = Infinity;
  for (const ev of evs) {
    if (ev.start >= changedAt) break;
    if (ev.kind === "short" || ev.kind === "assign" || ev.kind === "var") {
      const { left, right } = assignSides(ev.node);
      for (let i = 0; i < left.length; i++) {
        const lk = exprKey(left[i]);
        if (!lk) continue;
        if (ev.kind !== "assign" && (reqs.has(lk) || bodies.has(lk) || lk === base)) {
          changedAt = Math.min(changedAt, ev.start); // redeclared (shadowed): no longer the request
          continue;
        }
        if (bodies.has(lk) && ev.kind === "assign" && (lk.endsWith(".Body") || lk === base)) {
          changedAt = Math.min(changedAt, ev.start); // r.Body = ...: wrapped or replaced
          if (lk.endsWith(".Body")) flow.bound = true;
        } else if (bodies.has(lk) && ev.kind === "assign") {
          bodies.delete(lk); // body = gzipReader: the alias may no longer be the raw body
          continue;
        } else if (reqs.has(lk) && ev.kind === "assign") {
          // r = something else: track only if it is r.WithContext / Clone of the same request.
          const rk = right.length === left.length ? right[i] : undefined;
          if (!rk || !/\.(WithContext|Clone)\(/.test(rk.text.slice(0, 200))) changedAt = Math.min(changedAt, ev.start);
        }
        const rv = right.length === left.length ? right[i] : undefined;
        const rk = rv ? exprKey(rv) : undefined;
        if (rk && reqs.has(rk) && left[i].type === "identifier") {
          reqs.add(lk);
          bodies.add(`${lk}.Body`);
        } else if (rk && bodies.has(rk) && left[i].type === "identifier" && (rk.endsWith(".Body") || rk === base)) {
          bodies.add(lk);
        }
      }
      continue;
    }
    if (ev.kind !== "call") continue;
    const c = callee(ev.node);
    const args = callArgs(ev.node);
    // http.MaxBytesReader / io.LimitReader over the body, whatever happens to the result:
    // the author thought about the size; stay silent from here on.
    if (c && (c.name === "MaxBytesReader" || c.name === "LimitReader") && args.some((a) => bodies.has(exprKey(a) ?? "\0"))) {
      changedAt = Math.min(changedAt, ev.start);
      flow.bound = true;
      continue;
    }
    const fw = o.kind === "gin" || o.kind === "echo" ? frameworkRead(o, ev) : undefined;
    const rd = fw ?? readsOf(facts, ev, fn.outer, evs, { multipartLimit: limit });
    if (rd) {
      if (rd.framework) {
        flow.reads.push({ ev, rd, unlessBound: helpers });
        continue;
      }
      if (rd.multipart !== undefined) {
        if (c?.recv && reqs.has(c.recv)) flow.reads.push({ ev, rd, unlessBound: helpers });
        continue;
      }
      const sk = exprKey(rd.src);
      if (sk && bodies.has(sk)) {
        flow.reads.push({ ev, rd, unlessBound: helpers });
        continue;
      }
    }
    // The body, the request or the context handed to a function of the module: its summary
    // decides whether it reads the body (a sink) or bounds it (later reads are fine).
    const key = calleeKey(facts, ev.node);
    if (!key) continue;
    for (let i = 0; i < args.length; i++) {
      const k = exprKey(args[i]) ?? "\0";
      const isBody = bodies.has(k);
      const isHolder = reqs.has(k) || (k === base && o.req !== undefined && o.req !== base);
      if (!isBody && !isHolder) continue;
      const edge = { callee: key, arg: i };
      if (flow.forwards.length < MAX_FORWARDS) flow.forwards.push({ ev, edge, unlessBound: helpers });
      // Copy on write: every read shares the list of helpers called before it.
      if (isHolder && helpers.length < MAX_FORWARDS && !helpers.some((h) => h.callee === key && h.arg === i)) helpers = [...helpers, edge];
    }
  }
  return flow;
}

const flowCache = new WeakMap<FileFacts, { limit: number; flows: Flow[]; wrapped: Set<number> }>();

/**
 * Every body-carrying parameter of every function in the file, followed through its function
 * (cached per file: MC101 reports from it, the summaries are built from it). `wrapped` holds the
 * ids of handler functions that a MaxBytesHandler in the file covers.
 */
export function bodyFlows(facts: FileFacts, limit: number): { flows: Flow[]; wrapped: Set<number> } {
  const hit = flowCache.get(facts);
  if (hit && hit.limit === limit) return hit;
  const byOuter = eventsByOuter(facts);
  const wrappedBy = maxBytesHandled(facts);
  const callsAt = new Map<number, Ev>();
  for (const ev of facts.events) if (ev.kind === "call") callsAt.set(ev.start, ev);
  const flows: Flow[] = [];
  const wrapped = new Set<number>();
  for (const fn of facts.fns) {
    const os = originsOf(facts, fn);
    if (!os.length) continue;
    const name = fnName(fn);
    if (
      (fn.callAncestors.length && insideMaxBytesHandler(fn, callsAt)) ||
      wrappedBy.literals.has(fn.start) ||
      (name && wrappedBy.texts.length && wrappedBy.texts.some((t) => new RegExp(`\\b${name}\\b`).test(t)))
    ) {
      wrapped.add(fn.id);
    }
    const all = (byOuter.get(fn.outer) ?? []).filter((e) => e.start >= fn.start && e.start < fn.end);
    for (const o of os) {
      // Nested functions whose parameters shadow the origin's name are not about it.
      const shadow = fnsOf(facts, fn.outer).filter(
        (g) => g.id !== fn.id && g.start > fn.start && g.end <= fn.end && params(g.node).some((p) => p.name === o.base),
      );
      const evs = shadow.length ? all.filter((e) => !shadow.some((g) => e.start >= g.start && e.start < g.end)) : all;
      flows.push(track(facts, o, evs, limit));
    }
  }
  const got = { limit, flows, wrapped };
  flowCache.set(facts, got);
  return got;
}

const JSON_VALUE =
  "the value is as big as the client makes it: one 1 GiB string or array is held in memory whole, " +
  "and decoding it costs more (the decoder buffers the raw value, then builds the result)";

function readMessage(rd: Read): string {
  if (rd.framework === "GetRawData") {
    return `${rd.what}() reads the whole request body into memory with io.ReadAll, and gin sets no body limit: `;
  }
  if (rd.framework && /^(Should)?Bind$/.test(rd.framework) && rd.what.startsWith("gin")) {
    return (
      `${rd.what} picks its decoder from the request's Content-Type, so a client can always choose JSON, ` +
      `which decodes one value from the body with no size limit (gin sets none): ${JSON_VALUE}. `
    );
  }
  if (rd.framework && rd.what.startsWith("gin")) {
    return /BodyWith/.test(rd.framework)
      ? `${rd.what} reads the whole request body into memory (io.ReadAll, kept in the context) with no size limit: `
      : `${rd.what} decodes one value from the request body with no size limit (gin sets none): ${JSON_VALUE}. `;
  }
  if (rd.framework) {
    return `${rd.what} decodes the request body (JSON, XML or form, by Content-Type) with no size limit unless echo's middleware.BodyLimit is in use: ${JSON_VALUE}. `;
  }
  if (rd.what.endsWith("NewDecoder(...).Decode")) {
    return `${rd.what} reads one JSON value from the request body with no size limit: ${JSON_VALUE}. `;
  }
  return `${rd.what} reads the whole request body into memory with no size limit: `;
}

const ONE_GIB =
  "one client sending 1 GiB makes this handler allocate at least 1 GiB (more while the buffer grows: old and new arrays coexist during each copy). ";

export function mc101(facts: FileFacts, opts: { multipartLimit: number }): PendingHit[] {
  const limit = opts.multipartLimit;
  const out: PendingHit[] = [];
  const http = localName(facts, "net/http");
  const seen = new Set<number>();
  const { flows, wrapped } = bodyFlows(facts, limit);
  for (const flow of flows) {
    const o = flow.origin;
    if (!o.handler || wrapped.has(o.fn.id)) continue;
    for (const { ev, rd, unlessBound } of flow.reads) {
      if (seen.has(ev.start)) continue;
      seen.add(ev.start);
      const f = finding(facts, o, rd, http, ev);
      const requires: Requires = {};
      if (unlessBound.length) requires.unlessBound = unlessBound;
      if (o.framework) requires.unlessLimited = o.framework;
      if (requires.unlessBound || requires.unlessLimited) f.requires = requires;
      out.push(f);
    }
    for (const { ev, edge, unlessBound } of flow.forwards) {
      if (seen.has(ev.start)) continue;
      seen.add(ev.start);
      const bodyExpr = `${o.req ?? o.base}.Body`;
      const call = ev.node.text.length > 80 ? `${ev.node.text.slice(0, 77)}...` : ev.node.text;
      const f: PendingHit = {
        file: facts.path,
        line: ev.node.startPosition.row + 1,
        message:
          `${printable(call.replace(/\s+/g, " "))} hands the request body to a function that reads it whole with no size limit: {via}. ` +
          `One client sending 1 GiB makes this handler allocate at least 1 GiB. ` +
          `Cap it first: ${bodyExpr} = http.MaxBytesReader(${o.writer ?? "nil"}, ${bodyExpr}, 10<<20) (10 MiB), or read through io.LimitReader.`,
        requires: { sink: edge, ...(unlessBound.length ? { unlessBound } : {}), ...(o.framework ? { unlessLimited: o.framework } : {}) },
      };
      out.push(f);
    }
  }
  // gin's Engine.MaxMultipartMemory: what c.FormFile / c.MultipartForm keep in memory per request.
  for (const ev of facts.events) {
    if (ev.kind !== "assign") continue;
    const { left, right } = assignSides(ev.node);
    if (left.length !== 1 || right.length !== 1) continue;
    if (!(exprKey(left[0]) ?? "").endsWith(".MaxMultipartMemory")) continue;
    const v = evalInt(right[0], facts);
    if (v === undefined || v <= limit) continue;
    const mib = Math.round(v / (1 << 20));
    out.push({
      file: facts.path,
      line: ev.node.startPosition.row + 1,
      message:
        `MaxMultipartMemory = ${mib >= 1 << 20 ? "max int" : mib + " MiB"} lets each multipart request keep that much of its file parts in memory ` +
        `(gin passes it to ParseMultipartForm for c.FormFile and c.MultipartForm; parts beyond it go to temporary files). ` +
        `It does not limit the body itself. Keep it near the default 32 MiB, and cap bodies with http.MaxBytesReader in a middleware.`,
    });
  }
  return out.filter((f) => !isIgnored(facts, f.line, MC101));
}

function finding(facts: FileFacts, h: Origin, rd: Read, http: string | undefined, ev: Ev): PendingHit {
  const line = rd.call.startPosition.row + 1;
  const req = h.req ?? h.base;
  const srcKey = rd.src ? exprKey(rd.src) : `${req}.Body`;
  const bodyExpr = srcKey && srcKey.endsWith(".Body") ? srcKey : `${req}.Body`;
  const writer = h.writer ?? "nil";
  let message: string;
  if (rd.multipart !== undefined) {
    const mib = Math.round(rd.multipart / (1 << 20));
    message =
      `ParseMultipartForm(${mib >= 1 << 20 ? "max int" : mib + " MiB"}) lets one request keep that much of its body in memory ` +
      `(file parts beyond it go to temporary files, and the rest of the body is unlimited). ` +
      `Use a limit near the default 32 MiB and cap the whole body first: ${bodyExpr} = http.MaxBytesReader(${writer}, ${bodyExpr}, n).`;
  } else {
    const head = readMessage(rd);
    message =
      head +
      (head.endsWith(": ") ? ONE_GIB : "") +
      `Cap it first: ${bodyExpr} = http.MaxBytesReader(${writer}, ${bodyExpr}, 10<<20) (10 MiB)` +
      (rd.framework && h.kind === "echo"
        ? ", or use middleware.BodyLimit."
        : h.kind === "gin"
          ? ", in a middleware for every route."
          : ", or read through io.LimitReader.");
  }
  const f: PendingHit = { file: facts.path, line, message };
  // A suggestion only when the read's argument is the body itself (not an alias taken earlier),
  // the statement begins its own line, and net/http is imported under a known name.
  const stmt = ev.stmt;
  const wantSuggestion = rd.framework ? true : !!rd.src && exprKey(rd.src) === bodyExpr && rd.multipart === undefined;
  if (stmt && http && wantSuggestion) {
    const sLine = stmt.line;
    const text = lineOf(facts, sLine);
    const indent = /^[ \t]*/.exec(text)![0];
    if (stmt.column === indent.length && sLine === line) {
      f.suggestion = {
        startLine: sLine,
        endLine: sLine,
        text: `${indent}${bodyExpr} = ${http}.MaxBytesReader(${writer}, ${bodyExpr}, 10<<20)\n${text}`,
      };
    }
  }
  return f;
}

export const rule = {
  id: MC101,
  title: "Unbounded request body",
  defaultSeverity: "warning",
  docs: "docs/rules/MC101.md",
  thresholds: {
    multipartMaxMemory: {
      // ParseMultipartForm keeps up to this many bytes in memory before spilling to disk.
      default: 64 << 20,
      description: "ParseMultipartForm memory limits above this many bytes are reported",
    },
  },
  syntax: (facts, t) => mc101(facts, { multipartLimit: t.multipartMaxMemory }),
} satisfies Rule;
