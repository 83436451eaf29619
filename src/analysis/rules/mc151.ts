// MC151 padding waste: a struct that could shrink by reordering its fields by at least the
// threshold (default 8 bytes), or whose reordered size falls into a smaller allocator size class.
import type { StructReport } from "../model.ts";
import type { Hit, Rule } from "./rule.ts";
import { allocBytes, firstLayout, keepOrder, structIgnored, generated } from "./structs.ts";

export const MC151 = "MC151";

/**
 * A struct whose first field is a plain 64-bit integer with "atomic" mentioned in its field
 * comments relies on Go's guarantee that the first word of an allocated struct is 64-bit aligned
 * on 32-bit platforms (sync/atomic's rule). Reordering could break it: leave such structs alone.
 */
function atomicFirst(s: StructReport): boolean {
  const groups = s.source?.fieldGroups ?? [];
  if (!groups.length) return false;
  const first = groups[0].text;
  if (!/\b(u?int64)\b/.test(first)) return false;
  return groups.some((g) => /atomic/i.test(g.text));
}

export function mc151(structs: StructReport[], threshold: number): Hit[] {
  const out: Hit[] = [];
  for (const s of structs) {
    if (generated(s) || structIgnored(s, MC151) || keepOrder(s) || atomicFirst(s)) continue;
    const fl = firstLayout(s);
    if (!fl) continue;
    const l = fl.layout;
    if (l.size === 0 || l.optimalSize >= l.size) continue;
    const saved = l.size - l.optimalSize;
    const classNow = allocBytes(l.size);
    const classOpt = allocBytes(l.optimalSize);
    if (saved < threshold && classOpt >= classNow) continue;
    out.push({
      file: s.file,
      line: s.line,
      message:
        `${s.name} is ${l.size} bytes on ${fl.arch}, ${l.padding} of them padding; ordering its fields as ` +
        `${orderText(l.optimalOrder)} makes it ${l.optimalSize} bytes (${saved} bytes, ` +
        `${Math.round((saved / l.size) * 100)}% less` +
        (classOpt < classNow ? `; new(${s.name}) drops from the ${classNow}-byte to the ${classOpt}-byte size class` : "") +
        `). A million values in a slice or array take ${saved} MB less.`,
    });
  }
  return out;
}

/** The suggested order, capped: a struct with 100,000 fields must not make an 800 KB message. */
function orderText(order: string[], max = 40): string {
  return order.length <= max ? order.join(", ") : `${order.slice(0, max).join(", ")}, … (${order.length - max} more)`;
}

export const rule = {
  id: MC151,
  title: "Padding waste",
  defaultSeverity: "notice",
  docs: "docs/rules/MC151.md",
  thresholds: {
    paddingWaste: { default: 8, description: "bytes a reorder must save (or drop a size class) to be reported" },
  },
  structs: (structs, t) => mc151(structs, t.paddingWaste),
} satisfies Rule;
