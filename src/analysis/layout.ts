// Struct figures: padding, ptrdata, the optimal field order (fieldalignment's sort, made stable),
// the allocator size class, and the pointer chain.
import type { FieldLayout, StructLayout } from "./model.ts";
import { structFigures, type RType } from "./types.ts";
import { sizeClass } from "./sizes.ts";
import type { PointerGraph } from "./pointers.ts";

/**
 * fieldalignment's optimalOrder: zero-size first, then larger alignment, then pointerful before
 * pointer-free, then (pointerful) fewer trailing non-pointer bytes, then larger size. Ties keep the
 * original order, so the suggestion is stable.
 */
export function optimalOrder<T extends { type: RType }>(fields: T[]): T[] {
  const indexed = fields.map((f, i) => ({ f, i }));
  indexed.sort((a, b) => {
    const x = a.f.type;
    const y = b.f.type;
    const zx = x.size === 0;
    const zy = y.size === 0;
    if (zx !== zy) return zx ? -1 : 1;
    if (x.align !== y.align) return y.align - x.align;
    const nx = x.ptr === 0;
    const ny = y.ptr === 0;
    if (nx !== ny) return nx ? 1 : -1;
    if (!nx) {
      const tx = x.size - x.ptr;
      const ty = y.size - y.ptr;
      if (tx !== ty) return tx - ty;
    }
    if (x.size !== y.size) return y.size - x.size;
    return a.i - b.i;
  });
  return indexed.map((e) => e.f);
}

export function structLayout(name: string, t: RType, graph: PointerGraph): StructLayout {
  const fields = t.fields ?? [];
  const fieldLayouts: FieldLayout[] = fields.map((f) => ({
    name: f.name,
    type: f.typeText,
    offset: f.offset,
    size: f.type.size,
    align: f.type.align,
    ptrBytes: f.type.ptr,
    ...(f.embedded ? { embedded: true } : {}),
  }));
  const used = fields.reduce((sum, f) => sum + f.type.size, 0);
  const last = fields[fields.length - 1];
  // gc gives a trailing zero-size field at offset > 0 one byte, which is not padding.
  const end = last ? last.offset + last.type.size + (last.offset > 0 && last.type.size === 0 ? 1 : 0) : 0;
  const reordered = optimalOrder(fields);
  const optimal = structFigures(reordered.map((f) => ({ type: f.type, offset: 0 })));
  const reach = graph.reach(t);
  return {
    size: t.size,
    align: t.align,
    padding: t.size - used,
    trailingPadding: t.size - end,
    ptrBytes: t.ptr,
    sizeClass: sizeClass(t.size),
    optimalSize: optimal.size,
    optimalPtrBytes: optimal.ptr,
    optimalOrder: reordered.map((f) => f.name),
    pointerDepth: reach.depth,
    cyclic: reach.cyclic,
    ...(reach.cycle ? { cycle: reach.cycle } : {}),
    pointerChain: reach.depth > 0 || reach.cyclic ? [name, ...reach.chain] : [],
    pointerFields: fields.filter((f) => f.type.ptr > 0).length,
    fields: fieldLayouts,
  };
}
