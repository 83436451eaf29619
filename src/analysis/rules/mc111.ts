// MC111 sync.Pool put without reset: pool.Put(x) where x points to a struct that holds
// pointers, and the function neither resets x before the Put nor defers a reset. Also a Put of a
// non-pointer value (staticcheck SA6002): the conversion to interface{} allocates on every Put.
import type { Node } from "web-tree-sitter";
import type { PendingHit, Rule } from "./rule.ts";
import {
  type Ev,
  type FileFacts,
  assignSides,
  callArgs,
  callee,
  canonType,
  eventsByOuter,
  exprKey,
  exprType,
  findDecl,
  isIgnored,
  typeText,
  unparen,
} from "./ast.ts";

export const MC111 = "MC111";

const RESET_NAME = /reset|clear|zero|recycle|release|free|truncate/i;
/** Methods that tear a field down before the Put (a stopped timer kept for reuse). */
const FIELD_TEARDOWN = /^(Stop|Close|close|stop)$/;
/**
 * Library types whose only pointer field is their own byte buffer (bytes.Buffer, strings.Builder)
 * are left out on purpose: Reset keeps the capacity, so resetting before Put frees nothing, and
 * resetting after Get is the common, correct idiom.
 */
const KNOWN_POINTER_STRUCTS = new Set<string>();

/**
 * Standard and common library types that keep the stream they were last Reset to (or created
 * over): a pooled one keeps that writer or reader, and all it references, alive.
 */
const STD_ATTACHED =
  /^\*((compress\/(gzip|zlib|flate)|github\.com\/klauspost\/compress\/(gzip|zlib|flate))\.Writer|bufio\.(Writer|Reader))$/;

/** The stream `name` is attached to at the Put: the last `name.Reset(x)` before it, when x is a real stream. */
function attachedAtPut(
  name: string,
  t: string,
  pool: string,
  line: number,
  putPos: number,
  evs: Ev[],
  facts: FileFacts,
): PendingHit | undefined {
  const deferRanges: [number, number][] = [];
  for (const ev of evs) if (ev.kind === "defer") deferRanges.push([ev.node.startIndex, ev.node.endIndex]);
  const deferred = (pos: number) => deferRanges.some(([a, b]) => pos >= a && pos < b);
  const putDeferred = deferred(putPos);
  let last: Node | undefined;
  let lastDeferred: Node | undefined;
  for (const ev of evs) {
    if (ev.kind !== "call") continue;
    if (ev.start >= putPos && !putDeferred && !deferred(ev.start)) continue;
    const c = callee(ev.node);
    if (!c || c.recv !== name || c.name !== "Reset") continue;
    const a = callArgs(ev.node)[0];
    if (!a) continue;
    if (deferred(ev.start)) lastDeferred = a;
    else last = a;
  }
  const arg = putDeferred ? (lastDeferred ?? last) : last;
  if (!arg) return undefined;
  const k = exprKey(arg) ?? "";
  if (isZeroValue(arg) || /(^|\.)Discard$/.test(k) || /^(bytes|strings)\.NewReader\(|^bytes\.NewBuffer\(nil\)/.test(arg.text))
    return undefined;
  const short = t.replace(/^\*(?:[\w.-]+\/)*/, "*");
  const what = arg.text.length > 40 ? `${arg.text.slice(0, 37)}...` : arg.text;
  return {
    file: facts.path,
    line,
    message:
      `${pool}.Put(${name}) returns a ${short} still attached to ${what} (its last Reset): while pooled it keeps ${what}, ` +
      `and everything that references, alive until the next Get or until two GC cycles flush the pool. ` +
      `Detach it before the Put: ${name}.Reset(${/Reader$/.test(t) ? "nil" : "io.Discard"}).`,
  };
}

function isPoolType(t: string | undefined): boolean {
  return t === "sync.Pool" || t === "*sync.Pool";
}

export function packagePools(facts: FileFacts): Set<string> {
  const out = new Set<string>();
  for (const ev of facts.events) {
    if (ev.fn !== -1 || ev.kind !== "var") continue;
    const t = ev.node.childForFieldName("type");
    const { left, right } = assignSides(ev.node);
    for (let i = 0; i < left.length; i++) {
      const tt = t ? canonType(typeText(t), facts) : exprType(right[i], facts);
      if (isPoolType(tt)) out.add(left[i].text);
    }
  }
  return out;
}

/**
 * Is `n` a sync.Pool? True or false when the file tells; otherwise the name to ask the package
 * about (a package-level variable or a struct field declared in another file).
 */
export function isPool(
  facts: FileFacts,
  n: Node | undefined,
  outer: number,
  evs: Ev[],
  pkgPools: Set<string>,
): boolean | { name: string; field: boolean } {
  n = unparen(n) ?? undefined;
  if (!n) return false;
  if (n.type === "identifier") {
    const d = findDecl(facts, outer, n.text, n.startIndex, evs);
    if (d) return isPoolType(d.type);
    if (pkgPools.has(n.text)) return true;
    return facts.imports.has(n.text) ? false : { name: n.text, field: false };
  }
  if (n.type === "selector_expression") {
    const op = unparen(n.childForFieldName("operand"));
    const f = n.childForFieldName("field")?.text;
    if (!op || !f) return false;
    if (op.type === "identifier" && facts.imports.has(op.text)) return false; // otherpkg.pool: unknown
    if (facts.poolFields.has(f)) return true;
    // A field of a struct declared in this file that is not a pool is not one.
    for (const fields of facts.structs.values()) if (fields.some((x) => x.name === f)) return false;
    return { name: f, field: true };
  }
  return false;
}

/** A syntactic guess: can a field of this type hold pointers? Unknown named types say yes. */
export function mayHoldPointers(t: string): boolean {
  return pointerKind(t) !== "no";
}

/**
 * Does a field of this type hold pointers: "yes" (pointers, strings, slices, maps, chans, funcs,
 * interfaces), "no" (numbers, bools, arrays and structs of them), or "maybe" (a named type
 * declared elsewhere). Local struct types of this file are looked into, to a bounded depth.
 */
export function pointerKind(t: string, structs?: Map<string, { type: string }[]>, depth = 0): "yes" | "no" | "maybe" {
  const s = t.replace(/\s+/g, "");
  if (depth > 8) return "maybe";
  if (/^(u?int(8|16|32|64)?|uintptr|float(32|64)|complex(64|128)|bool|byte|rune)$/.test(s)) return "no";
  const arr = /^\[\d+\](.*)$/.exec(s);
  if (arr) return pointerKind(arr[1], structs, depth + 1);
  if (/^(sync\.(Mutex|RWMutex|WaitGroup)|atomic\.(Int32|Int64|Uint32|Uint64|Bool))$/.test(s)) return "no";
  if (/^(\*|\[\]|map\[|chan\b|<-chan|func\b|func\(|string$|interface\{|any$|error$)/.test(s)) return "yes";
  if (/^struct\{/.test(s)) return "maybe";
  const local = structs?.get(s);
  if (local) {
    const kinds = local.map((f) => pointerKind(f.type, structs, depth + 1));
    return kinds.includes("yes") ? "yes" : kinds.includes("maybe") ? "maybe" : "no";
  }
  return "maybe";
}

/** Fields that a pool's New function sets up: they are meant to live with the pooled object. */
const newFieldCache = new WeakMap<FileFacts, Map<string, Set<string> | undefined>>();

function newInitialisedFields(facts: FileFacts, poolExpr: Node | undefined): Set<string> | undefined {
  const key = poolExpr ? exprKey(poolExpr) : undefined;
  if (!key) return undefined;
  const last = key.split(".").pop()!;
  let cache = newFieldCache.get(facts);
  if (!cache) newFieldCache.set(facts, (cache = new Map()));
  if (cache.has(last)) return cache.get(last);
  const got = computeNewFields(facts, last);
  cache.set(last, got);
  return got;
}

/**
 * Find the pool's `New` literal from the text just before each function literal (no parent
 * lookups): `<last> = sync.Pool{ ... New: func`, `<last>: sync.Pool{New: func`, or
 * `<last>.New = func`. Then collect the fields that literal sets up.
 */
function computeNewFields(facts: FileFacts, last: string): Set<string> | undefined {
  const out = new Set<string>();
  const esc = last.replace(/[$]/g, "\\$");
  const keyed = new RegExp(`\\b${esc}\\s*(?::=|=|:)\\s*&?\\s*(?:\\w+\\.)?Pool\\s*\\{\\s*New\\s*:\\s*$`);
  const assigned = new RegExp(`\\b${esc}\\s*\\.\\s*New\\s*=\\s*$`);
  let found = false;
  for (const f of facts.fns) {
    if (f.node.type !== "func_literal") continue;
    const before = facts.text.slice(Math.max(0, f.start - 300), f.start);
    if (!keyed.test(before) && !assigned.test(before)) continue;
    found = true;
    for (const ev of facts.events) {
      if (ev.start < f.start || ev.start >= f.end) continue;
      if (ev.kind === "assign") {
        for (const l of assignSides(ev.node).left) {
          const k = exprKey(l);
          if (k && k.includes(".")) out.add(k.split(".")[1]);
        }
      }
    }
    for (const kv of f.node.descendantsOfType("keyed_element")) {
      const k = kv?.namedChildren[0]?.text;
      if (k && /^\w+$/.test(k)) out.add(k);
    }
  }
  return found ? out : undefined;
}

function isZeroValue(n: Node | undefined): boolean {
  n = unparen(n) ?? undefined;
  if (!n) return false;
  switch (n.type) {
    case "nil":
    case "false":
      return true;
    case "int_literal":
    case "float_literal":
      return /^0+(\.0*)?$/.test(n.text);
    case "interpreted_string_literal":
    case "raw_string_literal":
      return n.text.length === 2;
    case "slice_expression": {
      const end = n.childForFieldName("end");
      return !!end && end.text === "0" && !n.childForFieldName("start");
    }
    case "composite_literal": {
      const body = n.childForFieldName("body");
      return !!body && body.namedChildren.filter((c) => c && c.type !== "comment").length === 0;
    }
    case "call_expression": {
      const c = callee(n);
      return !!c && !c.recv && (c.name === "make" || c.name === "new");
    }
    case "identifier":
      return n.text === "nil";
    default:
      return false;
  }
}

interface ResetState {
  full: boolean;
  fields: Set<string>;
  /** Fields given a value again after the reset, or used after being set: they hold it while pooled. */
  refilled: Set<string>;
}

/**
 * What resets `name` before the Put. `strict` (used for method summaries) counts a field only
 * when it gets a zero value; otherwise any plain assignment to x.f counts (the author chose what f
 * holds while pooled).
 */
function resetsOf(name: string, putPos: number, evs: Ev[], resetting: Set<string>, strict = false): ResetState {
  const st: ResetState = { full: false, fields: new Set(), refilled: new Set() };
  /** Non-zero assignments x.f = v not yet followed by a use of x: the author's choice for the pool, so far. */
  const assigned = new Set<string>();
  let deferredFull = false;
  const full = (pos: number) => {
    st.full = true;
    if (deferred(pos)) deferredFull = true;
    st.refilled.clear();
    assigned.clear();
  };
  const deferRanges: [number, number][] = [];
  for (const ev of evs) if (ev.kind === "defer") deferRanges.push([ev.node.startIndex, ev.node.endIndex]);
  const deferred = (pos: number) => deferRanges.some(([a, b]) => pos >= a && pos < b);
  // A deferred Put runs when the function returns: everything in the function comes first.
  const putDeferred = deferred(putPos);
  for (const ev of evs) {
    if (ev.start >= putPos && !putDeferred && !deferred(ev.start)) continue;
    if (ev.kind === "call") {
      const c = callee(ev.node);
      if (!c) continue;
      const resetCall =
        (c.recv === name && (RESET_NAME.test(c.name) || resetting.has(c.name))) ||
        (RESET_NAME.test(c.name) && callArgs(ev.node).some((a) => exprKey(a) === name));
      if (resetCall) full(ev.start);
      else if (!strict && (c.recv === name || callArgs(ev.node).some((a) => exprKey(a) === name))) {
        // x is used: what was set on it before was set for this use, not for the pool.
        for (const f of assigned) {
          st.refilled.add(f);
          st.fields.delete(f);
        }
        assigned.clear();
      }
      // x.buf.Reset(), x.timer.Stop(): that field is reset or torn down.
      if (c.recv && c.recv.startsWith(name + ".") && (RESET_NAME.test(c.name) || (!strict && FIELD_TEARDOWN.test(c.name)))) {
        st.fields.add(c.recv.slice(name.length + 1).split(".")[0]);
      }
      const args = callArgs(ev.node);
      if (!c.recv && c.name === "clear" && args.length === 1) {
        const k = exprKey(args[0]);
        if (k && k.startsWith(name + ".")) st.fields.add(k.slice(name.length + 1).split(".")[0]);
      }
      continue;
    }
    if (ev.kind !== "assign") continue;
    const { left, right, op } = assignSides(ev.node);
    if (op !== "=") continue;
    for (let i = 0; i < left.length; i++) {
      const l = unparen(left[i]);
      if (!l) continue;
      if (
        l.type === "unary_expression" &&
        l.childForFieldName("operator")?.text === "*" &&
        exprKey(l.childForFieldName("operand")) === name
      ) {
        full(ev.start);
        continue;
      }
      const rv = right.length === left.length ? right[i] : undefined;
      const k = exprKey(l);
      // x.f = <anything> before the Put: the author decided what f holds while pooled (nil, [:0],
      // a package constant such as _EMPTY_, a sentinel); only x.f.g = ... is not a reset of f.
      if (!strict && k && k.startsWith(name + ".") && !k.slice(name.length + 1).includes(".")) {
        const f = k.slice(name.length + 1);
        if (isZeroValue(rv) || deferred(ev.start)) {
          st.fields.add(f);
          st.refilled.delete(f);
          assigned.delete(f);
        } else if (st.full && !deferredFull) {
          st.refilled.add(f); // reset after Get, then filled again before the Put
          st.fields.delete(f);
        } else {
          st.fields.add(f);
          assigned.add(f);
        }
      } else if (k && k.startsWith(name + ".") && isZeroValue(rv)) {
        st.fields.add(k.slice(name.length + 1).split(".")[0]);
      }
      // x.f[i] = T{...} / nil (typically in a loop over x.f): f is being cleared.
      if (l.type === "index_expression") {
        const ok = exprKey(l.childForFieldName("operand"));
        const r = unparen(rv);
        if (ok && ok.startsWith(name + ".") && (isZeroValue(r ?? undefined) || r?.type === "composite_literal")) {
          st.fields.add(ok.slice(name.length + 1).split(".")[0]);
        }
      }
    }
  }
  if (deferredFull) st.refilled.clear();
  return st;
}

/**
 * Methods declared in this file that reset their receiver (assign a zero value to one of its
 * fields, overwrite *recv, or call a reset-like method on it or on a field), closed over calls
 * between such methods. Matched by method name only: precision over recall.
 */
function resettingMethods(facts: FileFacts): Set<string> {
  const methods: { name: string; recv: string; fn: number }[] = [];
  for (const f of facts.fns) {
    if (f.node.type !== "method_declaration") continue;
    const name = f.node.childForFieldName("name")?.text;
    const recv = f.node
      .childForFieldName("receiver")
      ?.namedChildren.find((c) => c?.type === "parameter_declaration")
      ?.childForFieldName("name")?.text;
    if (name && recv) methods.push({ name, recv, fn: f.id });
  }
  if (!methods.length) return new Set();
  const byFn = new Map<number, Ev[]>();
  for (const ev of facts.events) {
    if (ev.fn < 0) continue;
    let list = byFn.get(ev.fn);
    if (!list) byFn.set(ev.fn, (list = []));
    list.push(ev);
  }
  const out = new Set<string>();
  for (let round = 0; round < 4; round++) {
    const before = out.size;
    for (const m of methods) {
      if (out.has(m.name)) continue;
      const st = resetsOf(m.recv, Infinity, byFn.get(m.fn) ?? [], out, true);
      if (st.full || st.fields.size) out.add(m.name);
    }
    if (out.size === before) break;
  }
  return out;
}

export function mc111(facts: FileFacts): PendingHit[] {
  const out: PendingHit[] = [];
  const pkgPools = packagePools(facts);
  if (!pkgPools.size && !facts.poolFields.size && !facts.text.includes("sync.Pool") && !facts.text.includes(".Put(")) return out;
  let resetting: Set<string> | undefined;
  let owners: Set<string> | undefined;
  for (const [outer, evs] of eventsByOuter(facts)) {
    for (const ev of evs) {
      if (ev.kind !== "call") continue;
      const c = callee(ev.node);
      if (!c || c.name !== "Put") continue;
      const args = callArgs(ev.node);
      if (args.length !== 1) continue;
      const pool0 = isPool(facts, c.recvNode, outer, evs, pkgPools);
      if (!pool0) continue;
      const poolReq = pool0 === true ? undefined : pool0;
      const line = ev.node.startPosition.row + 1;
      const pool = c.recv ?? "pool";
      const arg = unparen(args[0]);
      if (!arg) continue;
      // Non-pointer values: slices and strings (SA6002).
      let t: string | undefined;
      let name: string | undefined;
      if (arg.type === "slice_expression") t = "[]";
      else if (arg.type === "composite_literal") t = exprType(arg, facts);
      else if (arg.type === "identifier") {
        name = arg.text;
        t = findDecl(facts, outer, name, arg.startIndex, evs)?.type;
      }
      if (!t) continue;
      // A struct value of a struct type declared in this file: also boxed on every Put.
      const structValue = /^[A-Za-z_]\w*$/.test(t) && facts.structs.has(t);
      if (t.startsWith("[]") || t === "string" || structValue) {
        out.push({
          file: facts.path,
          line,
          message:
            `${pool}.Put(${arg.text.slice(0, 60)}) stores a non-pointer value (${t === "[]" ? "a slice" : structValue ? `a ${t} struct` : t.replace(/(?:[\w.-]+\/)+/g, "")}): ` +
            `converting it to interface{} allocates ${structValue ? "a copy of the struct" : `a ${t === "string" ? 16 : 24}-byte header`} on every Put ` +
            `(staticcheck SA6002), which costs what the pool was meant to save. Put a pointer instead (*[]byte, or a struct pointer).`,
          ...(poolReq ? { requires: { pool: poolReq } } : {}),
        });
        continue;
      }
      if (!name) continue;
      // A value made fresh in this function (&T{...}, new(T)) holds nothing stale: pre-warming.
      const decl = findDecl(facts, outer, name, arg.startIndex, evs);
      const dv = unparen(decl?.value);
      const fresh =
        dv &&
        ((dv.type === "unary_expression" &&
          dv.childForFieldName("operator")?.text === "&" &&
          unparen(dv.childForFieldName("operand"))?.type === "composite_literal") ||
          (dv.type === "call_expression" && callee(dv)?.name === "new" && !callee(dv)?.recv));
      if (fresh) continue;
      if (STD_ATTACHED.test(t)) {
        const hit = attachedAtPut(name, t, pool, line, ev.start, evs, facts);
        if (hit) out.push(poolReq ? { ...hit, requires: { pool: poolReq } } : hit);
        continue;
      }
      const local = /^\*([A-Za-z_]\w*)$/.exec(t);
      const known = KNOWN_POINTER_STRUCTS.has(t);
      if (!local && !known) continue;
      const typeName = local ? local[1] : t.slice(1);
      resetting ??= resettingMethods(facts);
      const st = resetsOf(name, ev.start, evs, resetting);
      let unreset: string[] | undefined;
      let refilled: string[] = [];
      if (local) {
        const fields = facts.structs.get(typeName);
        const owned = newInitialisedFields(facts, c.recvNode);
        if (fields && st.refilled.size) {
          refilled = fields
            .filter((f) => st.refilled.has(f.name) && !owned?.has(f.name) && pointerKind(f.type, facts.structs) === "yes")
            .map((f) => f.name);
        }
        if (st.full && !refilled.length) continue;
        if (st.full) unreset = refilled;
        else if (fields) {
          // A back-reference to the struct that holds the pool lives as long as the pool does.
          owners ??= new Set(
            [...facts.structs].filter(([, fs]) => fs.some((f) => /^\*?sync\.Pool$/.test(f.type.replace(/\s+/g, "")))).map(([n]) => `*${n}`),
          );
          const own = owners;
          const open = fields.filter((f) => !st.fields.has(f.name) && !owned?.has(f.name) && !own.has(f.type.replace(/\s+/g, "")));
          const kinds = open.map((f) => pointerKind(f.type, facts.structs));
          unreset = open.filter((_, i) => kinds[i] === "yes").map((f) => f.name);
          // Only fields of types declared elsewhere are left: cannot decide.
          if (!unreset.length) continue;
        } else if (st.fields.size || owned?.size) {
          continue; // Some fields are reset or pool-owned, and the type is elsewhere: cannot decide.
        }
      } else if (st.full || st.fields.size) {
        continue;
      }
      const f: PendingHit = {
        file: facts.path,
        line,
        message:
          `${pool}.Put(${name}) returns a *${typeName} to the pool without resetting it` +
          (refilled.length && st.full
            ? ` (it is reset, then ${refilled.join(", ")} ${refilled.length === 1 ? "is" : "are"} filled again and kept)`
            : unreset && (st.fields.size || st.refilled.size)
              ? ` (fields not cleared: ${unreset.join(", ")})`
              : "") +
          `: while pooled it keeps everything its pointer fields reference alive (until reuse or until two GC cycles ` +
          `flush the pool), and the next Get sees stale data. Reset it before the Put (` +
          (known ? `${name}.Reset()` : `*${name} = ${typeName}{}, or nil / [:0] for each pointer field`) +
          `), or defer the reset.`,
      };
      if (local) f.requiresPointerStruct = typeName;
      if (poolReq) f.requires = { pool: poolReq };
      out.push(f);
    }
  }
  return out.filter((f) => !isIgnored(facts, f.line, MC111));
}

export const rule = {
  id: MC111,
  title: "sync.Pool put without reset",
  defaultSeverity: "warning",
  docs: "docs/rules/MC111.md",
  thresholds: {},
  syntax: (facts) => mc111(facts),
} satisfies Rule;
