// MC112 deferred Put before a deferred Close: `defer x.Close()` (or Flush) followed by
// `defer pool.Put(x)` in the same function. Deferred calls run last-in, first-out, so the Put runs
// first: x is back in the pool, where another goroutine can Get it, while Close still writes
// through it.
import type { Node } from "web-tree-sitter";
import type { PendingHit, Rule } from "./rule.ts";
import { callArgs, callee, eventsByOuter, exprKey, isIgnored, type FileFacts, unparen } from "./ast.ts";
import { isPool, packagePools } from "./mc111.ts";

export const MC112 = "MC112";

const FINISH = /^(Close|Flush)$/;

function deferredCall(n: Node): Node | undefined {
  const c = n.namedChildren.find((x) => x && x.type !== "comment");
  const u = unparen(c);
  return u && u.type === "call_expression" ? u : undefined;
}

export function mc112(facts: FileFacts): PendingHit[] {
  const out: PendingHit[] = [];
  if (!facts.text.includes(".Put(") || !facts.text.includes("defer")) return out;
  const pkgPools = packagePools(facts);
  for (const [outer, evs] of eventsByOuter(facts)) {
    const defers = evs.filter((e) => e.kind === "defer");
    if (defers.length < 2) continue;
    for (const d of defers) {
      const call = deferredCall(d.node);
      const c = call ? callee(call) : undefined;
      if (!call || !c || c.name !== "Put") continue;
      const args = callArgs(call);
      const name = args.length === 1 ? exprKey(args[0]) : undefined;
      if (!name) continue;
      const pool = isPool(facts, c.recvNode, outer, evs, pkgPools);
      if (!pool) continue;
      // An earlier defer, in the same function, that finishes the same object: it runs after the Put.
      const earlier = defers.find((e) => {
        if (e.start >= d.start || e.fn !== d.fn) return false;
        const ec = deferredCall(e.node);
        const k = ec ? callee(ec) : undefined;
        return !!k && k.recv === name && FINISH.test(k.name);
      });
      if (!earlier) continue;
      const fin = callee(deferredCall(earlier.node)!)!.name;
      const line = d.node.startPosition.row + 1;
      out.push({
        file: facts.path,
        line,
        message:
          `defer ${c.recv ?? "pool"}.Put(${name}) runs before the earlier defer ${name}.${fin}() (line ${earlier.node.startPosition.row + 1}): ` +
          `deferred calls run last-in, first-out. ${name} is back in the pool, where another goroutine can Get it, ` +
          `while ${fin} still writes through it: two goroutines share one object (a data race, corrupted output). ` +
          `Defer the Put first, before defer ${name}.${fin}(), or do both in one deferred function: ${fin}, then Put.`,
        ...(pool === true ? {} : { requires: { pool } }),
      });
    }
  }
  return out.filter((f) => !isIgnored(facts, f.line, MC112));
}

export const rule = {
  id: MC112,
  title: "Deferred Put runs before a deferred Close",
  defaultSeverity: "warning",
  docs: "docs/rules/MC112.md",
  thresholds: {},
  syntax: (facts) => mc112(facts),
} satisfies Rule;
