// A byte-by-byte text diagram of one struct's layout on one arch. Used by `memcheck explain`,
// `/memcheck explain`, annotations' raw details and the check summary. Pure.
import type { Arch, PointerMap, StructReport } from "../analysis/model.ts";
import { byteLength } from "./format.ts";

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

/** Bytes of one drawn pointer map (Mermaid or text), before "and N more". */
export const MAX_POINTER_MAP_BYTES = 6_000;

function mapHeadline(m: PointerMap): string {
  const depth =
    m.depth.before !== undefined && m.depth.before !== m.depth.after ? `${m.depth.before} → ${m.depth.after}` : String(m.depth.after);
  const cycle = m.cyclic.after ? (m.cyclic.before === false ? ", new cycle" : ", cyclic") : m.cyclic.before ? ", cycle removed" : "";
  return `pointer depth ${depth}${cycle} on ${m.arch}`;
}

function leftOut(m: PointerMap, types: number, edges: number): string | undefined {
  const t = m.moreNodes + types;
  const e = m.moreEdges + edges;
  if (!t && !e) return undefined;
  const parts = [t ? `${t} more type${t === 1 ? "" : "s"}` : "", e ? `${e} more edge${e === 1 ? "" : "s"}` : ""].filter(Boolean);
  return `… and ${parts.join(", ")}`;
}

/** Text for a Mermaid label: no quotes, angle brackets or fences breaking out of it. */
function mermaidText(s: string): string {
  return s
    .replace(/[\r\n]+/g, " ")
    .replace(/&/g, "#amp;")
    .replace(/"/g, "#quot;")
    .replace(/</g, "#lt;")
    .replace(/>/g, "#gt;")
    .replace(/`/g, "#96;")
    .replace(/[|]/g, "#124;");
}

/**
 * A struct's pointer map as a Mermaid flowchart (GitHub renders it in comments): types as nodes with
 * their hop distance, fields as edges; new edges thick, edges on a cycle red, structs held by value
 * dotted. At most `maxBytes`, then "… and N more".
 */
export function pointerMapMermaid(m: PointerMap, maxBytes = MAX_POINTER_MAP_BYTES): string {
  const head = ["graph LR"];
  const tail: string[] = ["  classDef root stroke-width:3px", "  classDef new fill:#fff4d6,stroke:#b45309"];
  const body: string[] = [];
  let bytes = byteLength(head.join("\n")) + byteLength(tail.join("\n")) + 200;
  const shown = new Set<number>();
  const node = (i: number): string | undefined => {
    if (shown.has(i)) return "";
    const n = m.nodes[i]!;
    const cls = i === 0 ? ":::root" : n.new ? ":::new" : "";
    const label = i === 0 ? `${n.label} · ${mapHeadline(m)}` : `${n.label} · depth ${n.depth}${n.new ? " · newly reached" : ""}`;
    const line = `  n${i}["${mermaidText(label)}"]${cls}`;
    if (bytes + byteLength(line) > maxBytes) return undefined;
    bytes += byteLength(line) + 1;
    shown.add(i);
    body.push(line);
    return line;
  };
  node(0);
  const styles: string[] = [];
  let link = 0;
  let droppedEdges = 0;
  for (const e of m.edges) {
    const before = body.length;
    if (node(e.from) === undefined || node(e.to) === undefined) {
      body.length = before;
      droppedEdges++;
      continue;
    }
    const arrow = e.byValue ? "-.->" : e.new ? "==>" : "-->";
    const text = e.byValue ? `${e.field} (by value)` : `${e.field} ${e.label}`;
    const line = `  n${e.from} ${arrow}|"${mermaidText(text + (e.new ? " · new" : "") + (e.cycle ? " ↻" : ""))}"| n${e.to}`;
    if (bytes + byteLength(line) > maxBytes) {
      droppedEdges++;
      continue;
    }
    bytes += byteLength(line) + 1;
    body.push(line);
    if (e.cycle) styles.push(`  linkStyle ${link} stroke:#dc2626,stroke-width:2px`);
    link++;
  }
  const more = leftOut(m, m.nodes.length - shown.size, droppedEdges);
  if (more) body.push(`  more["${mermaidText(more)}"]`);
  return [...head, ...body, ...styles, ...tail].join("\n") + "\n";
}

/** The same map as a plain-text tree (terminal, check-run summary): each type once, cycles marked. */
export function pointerMapTree(m: PointerMap, maxBytes = MAX_POINTER_MAP_BYTES): string {
  const out: string[] = [`${m.nodes[0]?.label ?? m.root} (${mapHeadline(m)})`];
  const children = new Map<number, PointerMap["edges"]>();
  for (const e of m.edges) children.set(e.from, [...(children.get(e.from) ?? []), e]);
  const expanded = new Set<number>([0]);
  let bytes = byteLength(out[0]!);
  let drawn = 0;
  let full = false;
  const walk = (i: number, prefix: string) => {
    const list = children.get(i) ?? [];
    list.forEach((e, k) => {
      if (full) return;
      const last = k === list.length - 1;
      const n = m.nodes[e.to]!;
      const how = e.byValue ? `${e.field} (by value)` : `${e.field} ${e.label}`;
      const again = expanded.has(e.to);
      const marks = [e.new ? "new" : "", e.cycle ? "cycle" : "", n.new && !again ? "newly reached" : ""].filter(Boolean);
      const line = `${prefix}${last ? "└─ " : "├─ "}${how} → ${e.cycle && again ? "↻ " : ""}${n.label}${again ? "" : ` · depth ${n.depth}`}${marks.length ? ` [${marks.join(", ")}]` : ""}`;
      if (bytes + byteLength(line) + 1 > maxBytes) {
        full = true;
        return;
      }
      bytes += byteLength(line) + 1;
      out.push(line);
      drawn++;
      if (!again) {
        expanded.add(e.to);
        walk(e.to, prefix + (last ? "   " : "│  "));
      }
    });
  };
  walk(0, "");
  const more = leftOut(m, m.nodes.length - expanded.size, m.edges.length - drawn);
  if (more) out.push(more);
  return out.join("\n") + "\n";
}
