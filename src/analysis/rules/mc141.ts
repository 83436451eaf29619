// MC141 deep pointer chains: a struct whose pointer depth exceeds the threshold (default 4).
// New pointer cycles are reported from the diff (see diffFindings in index.ts).
import type { StructReport, StructDiff } from "../model.ts";
import { DEFAULT_THRESHOLDS as LAYOUT_THRESHOLDS } from "../diff.ts";
import type { Hit, Rule } from "./rule.ts";
import { firstLayout, structIgnored, generated } from "./structs.ts";

export const MC141 = "MC141";

const BUILTIN = /^(u?int(8|16|32|64)?|uintptr|float(32|64)|complex(64|128)|bool|byte|rune|string|error|any)$/;

export function mc141(structs: StructReport[], maxDepth: number): Hit[] {
  const out: Hit[] = [];
  for (const s of structs) {
    if (generated(s) || structIgnored(s, MC141)) continue;
    const fl = firstLayout(s);
    if (!fl) continue;
    const l = fl.layout;
    if (l.cyclic || l.pointerDepth <= maxDepth || l.pointerChain.length < 2) continue;
    // A channel is a pointer to the runtime's hchan, but not a hop anyone can remove by embedding:
    // the chain is counted without its channel hops.
    const isChan = (hop: string) => /^(<-)?chan\b/.test(hop);
    const chans = l.pointerChain.slice(1).filter(isChan).length;
    const depth = l.pointerDepth - chans;
    if (depth <= maxDepth) continue;
    // Report each over-deep chain once: at the struct whose next named hop is no longer over the
    // threshold. The first named type on the chain, i hops in, has depth pointerDepth - i; when
    // that is still over the threshold, the chain is reported there (its parents only add hops).
    let skip = false;
    let passed = 0;
    for (let i = 1; i < l.pointerChain.length; i++) {
      const hop = l.pointerChain[i];
      if (!isChan(hop)) passed++;
      if (/^\*?[A-Za-z_][\w]*(\.[A-Za-z_]\w*)?(\[.*\])?$/.test(hop) && !BUILTIN.test(hop.replace(/^\*/, ""))) {
        skip = depth - passed > maxDepth;
        break;
      }
    }
    if (skip) continue;
    out.push({
      file: s.file,
      line: s.line,
      message:
        `${s.name} reaches data through ${depth} pointer ${depth === 1 ? "hop" : "hops"}${chans ? ` besides ${chans} channel${chans === 1 ? "" : "s"}` : ""} (${l.pointerChain.join(" -> ")}), ` +
        `more than ${maxDepth}. Each hop is a dependent load (a likely cache miss, about 100 ns from DRAM) and ` +
        `one more object for the GC to mark. Embed the inner structs by value where they are not shared or ` +
        `optional, or keep the fields that are read together in one struct.`,
    });
  }
  return out;
}

/** A pointer cycle that the base side did not have. */
export function mc141NewCycle(d: StructDiff): Hit | undefined {
  if (!d.base || !d.head || (!d.head.source && !d.head.layouts)) return undefined;
  if (structIgnored(d.head, MC141)) return undefined;
  const h = firstLayout(d.head)?.layout;
  const b = firstLayout(d.base)?.layout;
  if (!h || !b || !h.cyclic || b.cyclic) return undefined;
  // Only a struct that is itself on the cycle (its name comes back later in the chain), and only
  // where the PR changed fields: a struct that merely gained a path to another type's cycle (a
  // list node) did not add a cycle, and the other members of a new cycle are reported once, at
  // the struct whose fields closed it.
  const names = h.pointerChain.slice(1).map((x) =>
    x
      .replace(/^(\*|\[\d*\]|map\[[^\]]*\]|chan\s+)+/, "")
      .split(".")
      .pop(),
  );
  if (!names.includes(d.name) || d.fieldChanges.length === 0) return undefined;
  return {
    file: d.file,
    line: d.line,
    message:
      `${d.name} is now on a pointer cycle (${h.pointerChain.join(" -> ")}). Values on a cycle ` +
      `keep each other alive as long as any one is reachable, and walking them has no natural end; make sure ` +
      `the back-reference is needed (an index or ID often serves).`,
  };
}

export const rule = {
  id: MC141,
  title: "Deep pointer chain or new cycle",
  defaultSeverity: "notice",
  docs: "docs/rules/MC141.md",
  thresholds: {
    // The same number as the layout regression "pointer-depth" (config: thresholds.maxPointerDepth).
    maxPointerDepth: { default: LAYOUT_THRESHOLDS.maxPointerDepth, description: "pointer depth beyond this is reported" },
  },
  structs: (structs, t) => mc141(structs, t.maxPointerDepth),
  diff: (diff) => diff.structs.flatMap((d) => mc141NewCycle(d) ?? []),
} satisfies Rule;
