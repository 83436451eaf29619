// Hand-made but internally consistent StructReports for the diff and report tests.
// A tiny gc layout calculator (offsets, padding, ptrdata, size class, fieldalignment's order)
// for fields whose size/align/ptrdata are given per arch, so fixtures never carry made-up numbers.
import type { Analysis, Arch, FieldLayout, StructLayout, StructReport, StructSource } from "../src/analysis/model.ts";

export const SIZE_CLASSES = [
  0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704,
  768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472,
  9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768,
];

export function sizeClass(n: number): number {
  if (n === 0) return 0;
  const c = SIZE_CLASSES.find((x) => x >= n);
  return c ?? Math.ceil(n / 8192) * 8192;
}

const W64 = { word: 8, maxAlign: 8 };
const W32 = { word: 4, maxAlign: 4 };
function words(arch: Arch) {
  return ["386", "arm", "mips", "mipsle"].includes(arch) ? W32 : W64;
}

/** size, align, ptrdata of a Go type on an arch (only the types the tests use). */
export function typeInfo(type: string, arch: Arch): { size: number; align: number; ptr: number } {
  const { word } = words(arch);
  const arr = /^\[(\d+)\](.+)$/.exec(type);
  if (arr) {
    const n = Number(arr[1]);
    const e = typeInfo(arr[2], arch);
    return { size: n * e.size, align: e.align, ptr: n === 0 || e.ptr === 0 ? 0 : (n - 1) * e.size + e.ptr };
  }
  if (type.startsWith("*") || type.startsWith("map[") || type.startsWith("chan ") || type.startsWith("func(")) {
    return { size: word, align: word, ptr: word };
  }
  switch (type) {
    case "bool":
    case "byte":
    case "uint8":
    case "int8":
      return { size: 1, align: 1, ptr: 0 };
    case "int16":
    case "uint16":
      return { size: 2, align: 2, ptr: 0 };
    case "int32":
    case "uint32":
    case "float32":
    case "rune":
      return { size: 4, align: 4, ptr: 0 };
    case "int64":
    case "uint64":
    case "float64":
      return { size: 8, align: word === 8 ? 8 : 4, ptr: 0 };
    case "atomic.Int64":
    case "atomic.Uint64":
      return { size: 8, align: 8, ptr: 0 };
    case "int":
    case "uint":
    case "uintptr":
      return { size: word, align: word, ptr: 0 };
    case "string":
      return { size: 2 * word, align: word, ptr: word };
    case "error":
    case "any":
    case "interface{}":
      return { size: 2 * word, align: word, ptr: 2 * word };
    case "struct{}":
    case "structs.HostLayout":
      return { size: 0, align: 1, ptr: 0 };
    case "sync.Mutex":
      return { size: 8, align: 4, ptr: 0 };
    default:
      if (type.startsWith("[]")) return { size: 3 * word, align: word, ptr: word };
      throw new Error(`typeInfo: unknown type ${type}`);
  }
}

function alignUp(n: number, a: number) {
  return Math.ceil(n / a) * a;
}

interface F {
  name: string;
  type: string;
  size: number;
  align: number;
  ptr: number;
}

function place(fs: F[]): { size: number; align: number; offsets: number[]; ptr: number } {
  let off = 0,
    align = 1,
    ptr = 0;
  const offsets: number[] = [];
  for (const f of fs) {
    off = alignUp(off, f.align);
    offsets.push(off);
    if (f.ptr > 0) ptr = off + f.ptr;
    off += f.size;
    align = Math.max(align, f.align);
  }
  if (fs.length && fs[fs.length - 1].size === 0 && off > 0) off += 1;
  return { size: alignUp(off, align), align, offsets, ptr };
}

/** fieldalignment's optimal order (a stable sort). */
function optimal(fs: F[]): F[] {
  return [...fs].sort((a, b) => {
    if ((a.size === 0) !== (b.size === 0)) return a.size === 0 ? -1 : 1;
    if (a.align !== b.align) return b.align - a.align;
    if ((a.ptr === 0) !== (b.ptr === 0)) return a.ptr === 0 ? 1 : -1;
    if (a.ptr !== 0) {
      const ta = a.size - a.ptr,
        tb = b.size - b.ptr;
      if (ta !== tb) return ta - tb;
    }
    return b.size - a.size;
  });
}

export interface LayoutExtras {
  pointerDepth?: number;
  cyclic?: boolean;
  pointerChain?: string[];
}

/** Lay out `fields` ([name, type] pairs) the way gc does on `arch`. */
export function layoutOf(fields: [string, string][], arch: Arch, extra: LayoutExtras = {}): StructLayout {
  const fs: F[] = fields.map(([name, type]) => ({ name, type, ...typeInfo(type, arch) }));
  const p = place(fs);
  const opt = optimal(fs);
  const po = place(opt);
  const fl: FieldLayout[] = fs.map((f, i) => ({
    name: f.name,
    type: f.type,
    offset: p.offsets[i],
    size: f.size,
    align: f.align,
    ptrBytes: f.ptr,
  }));
  const used = fs.reduce((s, f) => s + f.size, 0);
  let end = 0;
  for (const f of fl) end = Math.max(end, f.offset + f.size);
  return {
    size: p.size,
    align: p.align,
    padding: p.size - used,
    trailingPadding: p.size - end,
    ptrBytes: p.ptr,
    sizeClass: sizeClass(p.size),
    optimalSize: po.size,
    optimalPtrBytes: po.ptr,
    optimalOrder: opt.map((f) => f.name),
    pointerDepth: extra.pointerDepth ?? (p.ptr > 0 ? 1 : 0),
    cyclic: extra.cyclic ?? false,
    pointerChain: extra.pointerChain ?? [],
    pointerFields: fs.filter((f) => f.ptr > 0).length,
    fields: fl,
  };
}

export interface StructOpts extends LayoutExtras {
  pkg?: string;
  file?: string;
  line?: number;
  archs?: Arch[];
  source?: StructSource;
  resolved?: boolean;
}

export function struct(name: string, fields: [string, string][], o: StructOpts = {}): StructReport {
  const archs = o.archs ?? ["amd64"];
  const layouts: StructReport["layouts"] = {};
  if (o.resolved !== false) for (const a of archs) layouts[a] = layoutOf(fields, a, o);
  return {
    package: o.pkg ?? "example.com/shop",
    dir: ".",
    file: o.file ?? "order.go",
    line: o.line ?? 3,
    name,
    generic: false,
    resolved: o.resolved !== false,
    unresolved: o.resolved === false ? ["example.com/x.Y"] : [],
    layouts,
    source: o.source,
  };
}

export function analysis(structs: StructReport[], extra: Partial<Analysis> = {}): Analysis {
  return {
    schema: "memcheck.layout/v1",
    goos: "linux",
    archs: extra.archs ?? ["amd64"],
    structs,
    diagnostics: [],
    findings: [],
    stats: { files: 1, bytes: 0, parseMs: 0, layoutMs: 0 },
    ...extra,
  };
}

/**
 * Build a Go file and the StructSource of its one struct. `body` holds the struct's body lines
 * (tab-indented), groups are found the simple way: comment lines attach to the next field line.
 */
export function goFile(name: string, body: string[], directives: string[] = []): { text: string; source: StructSource } {
  const head = ["package shop", "", ...directives.map((d) => `//${d}`), `type ${name} struct {`];
  const openLine = head.length;
  const lines = [...head, ...body, "}", ""];
  const closeLine = openLine + body.length + 1;
  const fieldGroups: StructSource["fieldGroups"] = [];
  let start: number | undefined;
  body.forEach((l, i) => {
    const ln = openLine + 1 + i;
    const t = l.trim();
    if (t === "") {
      start = undefined;
      return;
    }
    if (t.startsWith("//")) {
      start ??= ln;
      return;
    }
    const decl = t.replace(/\/\/.*$/, "");
    const m = /^([\w]+(?:\s*,\s*\w+)*)\s+\S/.exec(decl);
    const names = m ? m[1].split(",").map((s) => s.trim()) : [decl.trim().replace(/^\*/, "").split(".").pop()!];
    const s = start ?? ln;
    fieldGroups.push({ names, startLine: s, endLine: ln, text: lines.slice(s - 1, ln).join("\n") });
    start = undefined;
  });
  return {
    text: lines.join("\n"),
    source: { line: openLine, openLine, closeLine, fieldGroups, directives: directives.map((d) => d.replace(/^memcheck:/, "")) },
  };
}
