// MC101 unbounded request body: a handler reads the whole HTTP request body (io.ReadAll,
// json.NewDecoder(...).Decode, io.Copy into a buffer, a huge ParseMultipartForm) without
// wrapping it in http.MaxBytesReader / io.LimitReader first.
import type { Node } from "web-tree-sitter";
import type { PendingHit, Rule } from "./rule.ts";
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

interface Handler {
  fn: FnInfo;
  /** Canonical request expression: `r`, `c.Request`, `c.Request()`. */
  req: string;
  /** Expression for the ResponseWriter, when one is at hand. */
  writer?: string;
}

/** Names of helpers (declared elsewhere) that may limit a request body they receive. */
const LIMITISH = /limit|max|size|bound|cap|body|wrap|prepare|setup|middleware|guard|restrict|read|parse|decode|bind/i;

/** Calls that take the request but cannot replace its body. */
const SAFE_REQ_CALLEES = new Set([
  "Error",
  "Errorf",
  "Printf",
  "Println",
  "Print",
  "Sprintf",
  "Fprintf",
  "Debugf",
  "Infof",
  "Warnf",
  "Warningf",
  "Tracef",
  "Debug",
  "Info",
  "Warn",
  "Trace",
  "Vars",
  "URLParam",
  "Param",
  "Redirect",
  "NotFound",
  "DumpRequest",
  "RealIP",
  "FromRequest",
  "ClientIP",
  "Header",
  "Get",
  "String",
  "Sprint",
]);

function handlersOf(facts: FileFacts, fn: FnInfo): Handler[] {
  const http = localName(facts, "net/http");
  const ginName = GIN.map((p) => localName(facts, p)).find(Boolean);
  const echoName = ECHO.map((p) => localName(facts, p)).find(Boolean);
  if (!http && !ginName && !echoName) return [];
  let writer: string | undefined;
  let req: string | undefined;
  const out: Handler[] = [];
  for (const p of params(fn.node)) {
    const t = typeText(p.type);
    if (http && t === `${http}.ResponseWriter`) writer = p.name;
    else if (http && t === `*${http}.Request`) req = p.name;
    else if (ginName && t === `*${ginName}.Context` && p.name !== "_") {
      out.push({ fn, req: `${p.name}.Request`, writer: `${p.name}.Writer` });
    } else if (echoName && t === `${echoName}.Context` && p.name !== "_") {
      out.push({ fn, req: `${p.name}.Request()`, writer: `${p.name}.Response()` });
    }
  }
  if (writer !== undefined && req !== undefined && req !== "_") {
    out.push({ fn, req, writer: writer === "_" ? undefined : writer });
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

export function mc101(facts: FileFacts, opts: { multipartLimit: number }): PendingHit[] {
  const limit = opts.multipartLimit;
  const out: PendingHit[] = [];
  const byOuter = eventsByOuter(facts);
  const wrapped = maxBytesHandled(facts);
  const callsAt = new Map<number, Ev>();
  for (const ev of facts.events) if (ev.kind === "call") callsAt.set(ev.start, ev);
  const http = localName(facts, "net/http");
  const seen = new Set<number>();
  // A helper that receives the request may limit its body: one declared in this file does when
  // its body assigns some X.Body or calls MaxBytesReader / LimitReader; one declared elsewhere is
  // assumed to when its name says so (limit, max, size, body, ...).
  const declared = facts.declared;
  const setters = new Set<string>();
  for (const f of facts.fns) {
    if (f.node.type === "func_literal") continue;
    const n = fnName(f);
    if (!n) continue;
    for (const ev of byOuter.get(f.outer) ?? []) {
      if (ev.kind === "assign" && assignSides(ev.node).left.some((l) => (exprKey(l) ?? "").endsWith(".Body"))) setters.add(n);
      if (ev.kind === "call") {
        const c = callee(ev.node);
        if (c && (c.name === "MaxBytesReader" || c.name === "LimitReader")) setters.add(n);
      }
      if (setters.has(n)) break;
    }
  }
  const mayLimit = (name: string) => (declared.has(name) ? setters.has(name) : LIMITISH.test(name));
  for (const fn of facts.fns) {
    const hs = handlersOf(facts, fn);
    if (!hs.length) continue;
    if (fn.callAncestors.length && insideMaxBytesHandler(fn, callsAt)) continue;
    if (wrapped.literals.has(fn.start)) continue;
    const name = fnName(fn);
    if (name && wrapped.texts.length && wrapped.texts.some((t) => new RegExp(`\\b${name}\\b`).test(t))) continue;
    const all = (byOuter.get(fn.outer) ?? []).filter((e) => e.start >= fn.start && e.start < fn.end);
    for (const h of hs) {
      // Nested functions whose parameters shadow the request's base name are not about it.
      const base = h.req.split(/[.(]/)[0];
      const shadow = fnsOf(facts, fn.outer).filter(
        (g) => g.id !== fn.id && g.start > fn.start && g.end <= fn.end && params(g.node).some((p) => p.name === base),
      );
      const evs = shadow.length ? all.filter((e) => !shadow.some((g) => e.start >= g.start && e.start < g.end)) : all;
      const reqs = new Set([h.req]);
      const bodies = new Set<string>([`${h.req}.Body`]);
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
            if (bodies.has(lk) && ev.kind === "assign" && lk.endsWith(".Body")) {
              changedAt = Math.min(changedAt, ev.start); // r.Body = ...: wrapped or replaced
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
            } else if (rk && bodies.has(rk) && left[i].type === "identifier" && rk.endsWith(".Body")) {
              bodies.add(lk);
            }
          }
          continue;
        }
        if (ev.kind !== "call") continue;
        const c = callee(ev.node);
        const args = callArgs(ev.node);
        // The request (or a framework's context holding it) handed to another function before the
        // read: that function may limit the body.
        const holder = (a: Node) => {
          const k = exprKey(a) ?? "\0";
          return reqs.has(k) || (k === base && h.req !== base);
        };
        if (c && !SAFE_REQ_CALLEES.has(c.name) && args.some(holder) && mayLimit(c.name)) {
          changedAt = Math.min(changedAt, ev.start);
          continue;
        }
        // http.MaxBytesReader / io.LimitReader over the body, whatever happens to the result:
        // the author thought about the size; stay silent from here on.
        if (c && (c.name === "MaxBytesReader" || c.name === "LimitReader") && args.some((a) => bodies.has(exprKey(a) ?? "\0"))) {
          changedAt = Math.min(changedAt, ev.start);
          continue;
        }
        const rd = readsOf(facts, ev, fn.outer, evs, { multipartLimit: limit });
        if (!rd) continue;
        if (rd.multipart !== undefined) {
          const rk = c?.recv;
          if (!rk || !reqs.has(rk)) continue;
        } else {
          const sk = exprKey(rd.src);
          if (!sk || !bodies.has(sk)) continue;
        }
        if (seen.has(ev.start)) continue;
        seen.add(ev.start);
        out.push(finding(facts, h, rd, http, ev));
      }
    }
  }
  return out.filter((f) => !isIgnored(facts, f.line, MC101));
}

function finding(facts: FileFacts, h: Handler, rd: Read, http: string | undefined, ev: Ev): PendingHit {
  const line = rd.call.startPosition.row + 1;
  const srcKey = rd.src ? exprKey(rd.src) : `${h.req}.Body`;
  const bodyExpr = srcKey && srcKey.endsWith(".Body") ? srcKey : `${h.req}.Body`;
  let message: string;
  if (rd.multipart !== undefined) {
    const mib = Math.round(rd.multipart / (1 << 20));
    message =
      `ParseMultipartForm(${mib >= 1 << 20 ? "max int" : mib + " MiB"}) lets one request keep that much of its body in memory ` +
      `(file parts beyond it go to temporary files, and the rest of the body is unlimited). ` +
      `Use a limit near the default 32 MiB and cap the whole body first: ${bodyExpr} = http.MaxBytesReader(w, ${bodyExpr}, n).`;
  } else {
    message =
      `${rd.what} reads the whole request body into memory with no size limit: one client sending 1 GiB ` +
      `makes this handler allocate at least 1 GiB (more while the buffer grows: old and new arrays coexist during each copy). ` +
      `Cap it first: ${bodyExpr} = http.MaxBytesReader(${h.writer ?? "w"}, ${bodyExpr}, 10<<20) (10 MiB), ` +
      `or read through io.LimitReader.`;
  }
  const f: PendingHit = { file: facts.path, line, message };
  // A suggestion only when the read's argument is the body itself (not an alias taken earlier),
  // the statement begins its own line, and net/http is imported under a known name.
  const stmt = ev.stmt;
  if (stmt && http && h.writer && rd.src && exprKey(rd.src) === bodyExpr && rd.multipart === undefined) {
    const sLine = stmt.line;
    const text = lineOf(facts, sLine);
    const indent = /^[ \t]*/.exec(text)![0];
    if (stmt.column === indent.length && sLine === line) {
      f.suggestion = {
        startLine: sLine,
        endLine: sLine,
        text: `${indent}${bodyExpr} = ${http}.MaxBytesReader(${h.writer}, ${bodyExpr}, 10<<20)\n${text}`,
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
