// MC141 deep pointer chains: a struct whose pointer depth exceeds the threshold (default 4).
// New pointer cycles are reported from the diff (see diffFindings in index.ts).
import type { Finding, StructReport, StructDiff } from "../model.ts";
import { baseTypeName, firstLayout, structIgnored, generated } from "./structs.ts";

export const MC141 = "MC141";
export const DEFAULT_MAX_POINTER_DEPTH = 4;

export function mc141(structs: StructReport[], maxDepth = DEFAULT_MAX_POINTER_DEPTH): Finding[] {
  const out: Finding[] = [];
  const byName = new Map<string, StructReport[]>();
  for (const s of structs) {
    const list = byName.get(s.name) ?? [];
    list.push(s);
    byName.set(s.name, list);
  }
  for (const s of structs) {
    if (generated(s) || structIgnored(s, MC141)) continue;
    const fl = firstLayout(s);
    if (!fl) continue;
    const l = fl.layout;
    if (l.cyclic || l.pointerDepth <= maxDepth || l.pointerChain.length < 2) continue;
    // Report each over-deep chain once: at the struct whose next hop is no longer over the
    // threshold (its parents, which only add hops in front, stay silent).
    const next = baseTypeName(l.pointerChain[1]);
    const nextName = next.includes(".") ? next.split(".").pop()! : next;
    const qual = next.includes(".") ? next.split(".")[0] : undefined;
    const cands = (byName.get(nextName) ?? []).filter((c) =>
      qual ? c.package.split("/").pop() === qual || c.dir.split("/").pop() === qual : c.package === s.package);
    const nl = cands.length === 1 ? firstLayout(cands[0])?.layout : undefined;
    if (nl && !nl.cyclic && nl.pointerDepth > maxDepth) continue;
    out.push({
      rule: MC141, severity: "notice", file: s.file, line: s.line,
      message: `${s.name} reaches data through ${l.pointerDepth} pointer hops (${l.pointerChain.join(" -> ")}), ` +
        `more than ${maxDepth}. Each hop is a dependent load (a likely cache miss, about 100 ns from DRAM) and ` +
        `one more object for the GC to mark. Embed the inner structs by value where they are not shared or ` +
        `optional, or keep the fields that are read together in one struct.`,
    });
  }
  return out;
}

/** A pointer cycle that the base side did not have. */
export function mc141NewCycle(d: StructDiff): Finding | undefined {
  if (!d.base || !d.head || !d.head.source && !d.head.layouts) return undefined;
  if (structIgnored(d.head, MC141)) return undefined;
  const h = firstLayout(d.head)?.layout;
  const b = firstLayout(d.base)?.layout;
  if (!h || !b || !h.cyclic || b.cyclic) return undefined;
  return {
    rule: MC141, severity: "notice", file: d.file, line: d.line,
    message: `${d.name} now takes part in a pointer cycle (${h.pointerChain.join(" -> ")}). Values on a cycle ` +
      `keep each other alive as long as any one is reachable, and walking them has no natural end; make sure ` +
      `the back-reference is needed (an index or ID often serves).`,
  };
}
