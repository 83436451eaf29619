// MC121 interface boxing in hot containers: struct fields that are slices, arrays or maps of
// interface{} / any (a lone interface field does not fire). Each slot is two words (16 bytes on 64-bit), and storing a value that is not
// pointer-shaped (int, string, struct, slice...) heap-allocates a copy of it. Storing a pointer,
// map, chan or func does not allocate: the interface holds the pointer itself.
import type { Finding, StructReport } from "../model.ts";
import { fieldsOf, firstLayout, structIgnored, generated } from "./structs.ts";

export const MC121 = "MC121";

function isIface(t: string): boolean {
  return t === "any" || t === "interface{}";
}

/** Describe how a field type boxes, or undefined when it holds no empty interface. */
export function boxing(type: string): "field" | "slice" | "array" | "map" | undefined {
  const t = type.replace(/\s+/g, "");
  if (isIface(t)) return "field";
  const sl = /^\[\](.*)$/.exec(t);
  if (sl && isIface(sl[1])) return "slice";
  const ar = /^\[[^\]]+\](.*)$/.exec(t);
  if (ar && isIface(ar[1])) return "array";
  const mp = /^map\[(.*)\](.*)$/.exec(t);
  if (mp && (isIface(mp[2]) || isIface(mp[1]))) return "map";
  return undefined;
}

export function mc121(structs: StructReport[]): Finding[] {
  const out: Finding[] = [];
  for (const s of structs) {
    if (generated(s) || structIgnored(s, MC121)) continue;
    const fl = firstLayout(s);
    const word = fl && ["386", "arm", "mips", "mipsle"].includes(fl.arch) ? 4 : 8;
    const slot = word * 2;
    const hits: { name: string; type: string; kind: string; line: number }[] = [];
    for (const f of fieldsOf(s)) {
      if (f.name === "_" || f.ignores.has(MC121) || f.ignores.has("*")) continue;
      const k = boxing(f.type);
      // A single interface field is not a container: it costs one 16-byte slot, once.
      if (k && k !== "field") hits.push({ name: f.name, type: f.type.replace(/\s+/g, " "), kind: k, line: f.line });
    }
    if (!hits.length) continue;
    const parts = hits.map((h) =>
      h.kind === "field" ? `${h.name} ${h.type} (${slot} B)`
        : h.kind === "map" ? `${h.name} ${h.type} (${slot} B per boxed key or value)`
        : `${h.name} ${h.type} (${slot} B per element)`);
    out.push({
      rule: MC121, severity: "notice", file: s.file, line: hits[0].line,
      endLine: hits.length > 1 ? hits[hits.length - 1].line : undefined,
      message: `${s.name} stores values as interfaces: ${parts.join("; ")}. Each interface slot is two words ` +
        `(${slot} bytes on ${word * 8}-bit) and storing a value that is not pointer-shaped (an int, string, ` +
        `slice or struct) allocates a heap copy of it; pointers, maps, chans and funcs are stored without ` +
        `allocating. Where the set of types is known, use a concrete type, a type parameter, or a typed ` +
        `field per kind.`,
    });
  }
  return out;
}
