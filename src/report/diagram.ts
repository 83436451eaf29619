// A byte-by-byte text diagram of one struct's layout on one arch. Used by `memcheck explain`,
// `/memcheck explain`, annotations' raw details and the check summary. Pure.
import type { Arch, StructReport } from "../analysis/model.ts";

const SYMBOLS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const PAD = "░";
const THIRTY_TWO_BIT: ReadonlySet<Arch> = new Set<Arch>(["386", "arm", "mips", "mipsle"]);
/** Structs larger than this get no byte map (the field rows still show every offset). */
export const MAX_BYTE_MAP = 512;

export function symbolFor(i: number): string {
  return SYMBOLS[i] ?? "#";
}

export function layoutDiagram(struct: StructReport, arch: Arch): string {
  const l = struct.layouts[arch];
  if (!l) {
    const why = struct.unresolved.length ? ` (unresolved: ${struct.unresolved.join(", ")})` : "";
    return `${struct.name} (${arch}): no layout${why}\n`;
  }
  const out: string[] = [];
  out.push(`${struct.name} (${arch}): ${l.size} B, align ${l.align}, size class ${l.sizeClass}`);
  out.push(
    `padding ${l.padding} B${l.trailingPadding ? ` (trailing ${l.trailingPadding})` : ""}` +
      ` · pointer bytes ${l.ptrBytes} · pointer depth ${l.pointerDepth}${l.cyclic ? " (cyclic)" : ""}`,
  );
  out.push("");

  const w = Math.max(3, String(l.size).length);
  const off = (n: number) => String(n).padStart(w);
  const blank = " ".repeat(w);
  out.push(`${"off".padStart(w)}  ┃ field`);
  let cursor = 0;
  let ptrMarked = l.ptrBytes === 0 || l.ptrBytes >= l.size;
  const markPtr = (at: number) => {
    if (!ptrMarked && at >= l.ptrBytes) {
      out.push(`${blank}  ┠─ end of pointer bytes: the GC scans [0, ${l.ptrBytes})`);
      ptrMarked = true;
    }
  };
  l.fields.forEach((f, i) => {
    if (f.offset > cursor) {
      markPtr(cursor);
      out.push(`${off(cursor)}  ┃ ${PAD} padding ${f.offset - cursor}`);
    }
    markPtr(f.offset);
    const ptr = f.ptrBytes > 0 ? `, pointers ${f.ptrBytes}` : "";
    const emb = f.embedded ? " (embedded)" : "";
    out.push(`${off(f.offset)}  ┃ [${symbolFor(i)}] ${f.name} ${f.type}${emb} (${f.size}${ptr})`);
    cursor = Math.max(cursor, f.offset + f.size);
  });
  if (l.size > cursor) {
    markPtr(cursor);
    out.push(`${off(cursor)}  ┃ ${PAD} padding ${l.size - cursor} (trailing)`);
  }
  markPtr(l.size);
  out.push(`${off(l.size)}  ┗ end`);

  if (l.size > 0 && l.size <= MAX_BYTE_MAP) {
    const row = THIRTY_TWO_BIT.has(arch) ? 4 : 8;
    const bytes: string[] = new Array(l.size).fill(PAD);
    l.fields.forEach((f, i) => {
      for (let b = f.offset; b < f.offset + f.size && b < l.size; b++) bytes[b] = symbolFor(i);
    });
    out.push("");
    out.push(`bytes (${row} per row, ${PAD} = padding):`);
    for (let o = 0; o < l.size; o += row) out.push(`${off(o)}  ${bytes.slice(o, o + row).join("")}`);
  }

  out.push("");
  if (l.pointerChain.length > 1) {
    out.push(`${l.cyclic ? "pointer cycle" : "longest pointer chain"}: ${l.pointerChain.join(" → ")}`);
  }
  if (l.optimalSize < l.size) {
    out.push(
      `suggested order (${l.optimalSize} B, saves ${l.size - l.optimalSize} B` +
        `${l.optimalPtrBytes !== l.ptrBytes ? `, pointer bytes ${l.optimalPtrBytes}` : ""}): ${l.optimalOrder.join(", ")}`,
    );
  } else if (l.optimalPtrBytes < l.ptrBytes) {
    out.push(`suggested order (same ${l.size} B, pointer bytes ${l.ptrBytes} → ${l.optimalPtrBytes}): ${l.optimalOrder.join(", ")}`);
  } else {
    out.push(`field order is already optimal (${l.optimalSize} B)`);
  }
  return out.join("\n") + "\n";
}
