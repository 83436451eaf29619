// MC161 GC scan growth: between base and head of a PR, a struct's pointer bytes (the prefix the
// GC must scan) grew by at least the threshold (default 16 bytes), by more than the best field
// order's pointer bytes grew: the growth comes from where the new fields were put.
import type { Diff } from "../model.ts";
import type { Hit, Rule } from "./rule.ts";
import { firstLayout, generated, keepOrder, structIgnored } from "./structs.ts";

export const MC161 = "MC161";

export function mc161(diff: Diff, threshold: number): Hit[] {
  const out: Hit[] = [];
  for (const d of diff.structs) {
    if (!d.base || !d.head) continue;
    if (generated(d.head) || structIgnored(d.head, MC161) || keepOrder(d.head)) continue;
    const archs = diff.archs.length ? diff.archs : undefined;
    const h = firstLayout(d.head, archs);
    const b = h ? d.base.layouts[h.arch] : undefined;
    if (!h || !b) continue;
    const hl = h.layout;
    const growth = hl.ptrBytes - b.ptrBytes;
    const optGrowth = hl.optimalPtrBytes - b.optimalPtrBytes;
    if (growth < threshold || growth - optGrowth < threshold) continue;
    out.push({
      file: d.file,
      line: d.line,
      message:
        `The GC now scans ${hl.ptrBytes} bytes of every ${d.name} instead of ${b.ptrBytes} (+${growth}) on ${h.arch}, ` +
        `because pointer-holding fields sit after non-pointer data. With pointer fields first it would scan ` +
        `${hl.optimalPtrBytes} bytes, ${hl.ptrBytes - hl.optimalPtrBytes} fewer (the best order grew by ${optGrowth}). ` +
        `Scan work is paid on every GC cycle ` +
        `for every live ${d.name}; move the pointer-holding fields (pointers, strings, slices, maps, interfaces) ` +
        `before the scalar ones.`,
    });
  }
  return out;
}

export const rule = {
  id: MC161,
  title: "GC scan growth",
  defaultSeverity: "warning",
  docs: "docs/rules/MC161.md",
  thresholds: {
    gcScanGrowth: { default: 16, description: "growth of pointer bytes beyond what the best order would need" },
  },
  diff: (diff, t) => mc161(diff, t.gcScanGrowth),
} satisfies Rule;
