// MC111 sync.Pool put without reset: pool.Put(x) where x points to a struct that holds
// pointers, and the function neither resets x before the Put nor defers a reset. Also a Put of a
// non-pointer value (staticcheck SA6002): the conversion to interface{} allocates on every Put.
import type { Node } from "web-tree-sitter";
import type { PendingFinding } from "../model.ts";
import {
  type Ev, type FileFacts, assignSides, callArgs, callee, canonType, eventsByOuter, exprKey,
  exprType, findDecl, isIgnored, typeText, unparen,
} from "./ast.ts";

export const MC111 = "MC111";

const RESET_NAME = /reset|clear|zero|recycle|release|free|truncate/i;
/**
 * Library types whose only pointer field is their own byte buffer (bytes.Buffer, strings.Builder)
 * are left out on purpose: Reset keeps the capacity, so resetting before Put frees nothing, and
 * resetting after Get is the common, correct idiom.
 */
const KNOWN_POINTER_STRUCTS = new Set<string>();

function isPoolType(t: string | undefined): boolean {
  return t === "sync.Pool" || t === "*sync.Pool";
}

function packagePools(facts: FileFacts): Set<string> {
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

function isPool(facts: FileFacts, n: Node | undefined, outer: number, evs: Ev[], pkgPools: Set<string>): boolean {
  n = unparen(n) ?? undefined;
  if (!n) return false;
  if (n.type === "identifier") {
    const d = findDecl(facts, outer, n.text, n.startIndex, evs);
    if (d) return isPoolType(d.type);
    return pkgPools.has(n.text);
  }
  if (n.type === "selector_expression") {
    const op = unparen(n.childForFieldName("operand"));
    const f = n.childForFieldName("field")?.text;
    if (!op || !f) return false;
    if (op.type === "identifier" && facts.imports.has(op.text)) return false; // otherpkg.pool: unknown
    return facts.poolFields.has(f);
  }
  return false;
}

/** A syntactic guess: can a field of this type hold pointers? Unknown named types say yes. */
export function mayHoldPointers(t: string): boolean {
  const s = t.replace(/\s+/g, "");
  if (/^(u?int(8|16|32|64)?|uintptr|float(32|64)|complex(64|128)|bool|byte|rune)$/.test(s)) return false;
  const arr = /^\[\d+\](.*)$/.exec(s);
  if (arr) return mayHoldPointers(arr[1]);
  if (/^(sync\.(Mutex|RWMutex|Once|WaitGroup)|atomic\.(Int32|Int64|Uint32|Uint64|Bool))$/.test(s)) return false;
  return true;
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
}

function resetsOf(name: string, putPos: number, evs: Ev[]): ResetState {
  const st: ResetState = { full: false, fields: new Set() };
  const deferRanges: [number, number][] = [];
  for (const ev of evs) if (ev.kind === "defer") deferRanges.push([ev.node.startIndex, ev.node.endIndex]);
  const deferred = (pos: number) => deferRanges.some(([a, b]) => pos >= a && pos < b);
  for (const ev of evs) {
    if (ev.start >= putPos && !deferred(ev.start)) continue;
    if (ev.kind === "call") {
      const c = callee(ev.node);
      if (!c) continue;
      if (c.recv === name && RESET_NAME.test(c.name)) st.full = true;
      const args = callArgs(ev.node);
      if (RESET_NAME.test(c.name) && args.some((a) => exprKey(a) === name)) st.full = true;
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
      if (l.type === "unary_expression" && l.childForFieldName("operator")?.text === "*" &&
          exprKey(l.childForFieldName("operand")) === name) {
        st.full = true;
        continue;
      }
      const k = exprKey(l);
      if (k && k.startsWith(name + ".") && isZeroValue(right.length === left.length ? right[i] : undefined)) {
        st.fields.add(k.slice(name.length + 1).split(".")[0]);
      }
    }
  }
  return st;
}

export function mc111(facts: FileFacts): PendingFinding[] {
  const out: PendingFinding[] = [];
  const pkgPools = packagePools(facts);
  if (!pkgPools.size && !facts.poolFields.size && !facts.text.includes("sync.Pool")) return out;
  for (const [outer, evs] of eventsByOuter(facts)) {
    for (const ev of evs) {
      if (ev.kind !== "call") continue;
      const c = callee(ev.node);
      if (!c || c.name !== "Put") continue;
      const args = callArgs(ev.node);
      if (args.length !== 1) continue;
      if (!isPool(facts, c.recvNode, outer, evs, pkgPools)) continue;
      const line = ev.node.startPosition.row + 1;
      const pool = c.recv ?? "pool";
      const arg = unparen(args[0]);
      if (!arg) continue;
      // Non-pointer values: slices and strings (SA6002).
      let t: string | undefined;
      let name: string | undefined;
      if (arg.type === "slice_expression") t = "[]";
      else if (arg.type === "identifier") {
        name = arg.text;
        t = findDecl(facts, outer, name, arg.startIndex, evs)?.type;
      }
      if (!t) continue;
      if (t.startsWith("[]") || t === "string") {
        out.push({
          rule: MC111, severity: "warning", file: facts.path, line,
          message: `${pool}.Put(${arg.text.slice(0, 60)}) stores a non-pointer value (${t === "[]" ? "a slice" : t}): ` +
            `converting it to interface{} allocates a ${t === "string" ? 16 : 24}-byte header on every Put ` +
            `(staticcheck SA6002), which costs what the pool was meant to save. Put a pointer instead (*[]byte, or a struct pointer).`,
        });
        continue;
      }
      if (!name) continue;
      const local = /^\*([A-Za-z_]\w*)$/.exec(t);
      const known = KNOWN_POINTER_STRUCTS.has(t);
      if (!local && !known) continue;
      const typeName = local ? local[1] : t.slice(1);
      const st = resetsOf(name, ev.start, evs);
      if (st.full) continue;
      let unreset: string[] | undefined;
      if (local) {
        const fields = facts.structs.get(typeName);
        if (fields) {
          unreset = fields.filter((f) => mayHoldPointers(f.type) && !st.fields.has(f.name)).map((f) => f.name);
          if (!unreset.length) continue;
        } else if (st.fields.size) {
          continue; // Some fields are reset and the type is elsewhere: cannot decide.
        }
      } else if (st.fields.size) {
        continue;
      }
      const f: PendingFinding = {
        rule: MC111, severity: "warning", file: facts.path, line,
        message: `${pool}.Put(${name}) returns a *${typeName} to the pool without resetting it` +
          (unreset && st.fields.size ? ` (fields not cleared: ${unreset.join(", ")})` : "") +
          `: while pooled it keeps everything its pointer fields reference alive (until reuse or until two GC cycles ` +
          `flush the pool), and the next Get sees stale data. Reset it before the Put (` +
          (known ? `${name}.Reset()` : `*${name} = ${typeName}{}, or nil / [:0] for each pointer field`) +
          `), or defer the reset.`,
      };
      if (local) f.requiresPointerStruct = typeName;
      out.push(f);
    }
  }
  return out.filter((f) => !isIgnored(facts, f.line, MC111));
}
