// MC121 interface boxing in hot containers: struct fields that are slices, arrays or maps of
// interface{} / any (a lone interface field does not fire). Each slot is two words (16 bytes on 64-bit), and storing a value that is not
// pointer-shaped (int, string, struct, slice...) heap-allocates a copy of it. Storing a pointer,
// map, chan or func does not allocate: the interface holds the pointer itself.
import type { StructReport } from "../model.ts";
import type { Hit, Rule } from "./rule.ts";
import { fieldsOf, firstLayout, structIgnored, generated } from "./structs.ts";

export const MC121 = "MC121";

function isIface(t: string): boolean {
  return t === "any" || t === "interface{}";
}

/** Split `map[K]V` into K and V, honouring nested brackets. */
function splitMap(t: string): [string, string] | undefined {
  if (!t.startsWith("map[")) return undefined;
  let depth = 0;
  for (let i = 3; i < t.length && i < 4096; i++) {
    if (t[i] === "[") depth++;
    else if (t[i] === "]" && --depth === 0) return [t.slice(4, i), t.slice(i + 1)];
  }
  return undefined;
}

/**
 * How a field type holds empty interfaces: as the field itself, as elements of a slice or array,
 * or as map keys / values (directly or one container deep: map[string][]any).
 */
export function boxing(type: string): { kind: "field" | "slice" | "array" | "map"; slots: string } | undefined {
  const t = type.replace(/\s+/g, "");
  if (isIface(t)) return { kind: "field", slots: "one slot" };
  const elem = (x: string): string | undefined => {
    const m = /^\[([^\]]*)\](.*)$/.exec(x);
    return m && isIface(m[2]) ? "per element" : undefined;
  };
  if (elem(t)) return { kind: t.startsWith("[]") ? "slice" : "array", slots: "per element" };
  const mp = splitMap(t);
  if (!mp) return undefined;
  const [k, v] = mp;
  const parts: string[] = [];
  if (isIface(k)) parts.push("per key");
  if (isIface(v)) parts.push("per value");
  else if (elem(v)) parts.push("per element of each value");
  else {
    const inner = splitMap(v);
    if (inner && (isIface(inner[0]) || isIface(inner[1]))) parts.push("per entry of each inner map");
  }
  return parts.length ? { kind: "map", slots: parts.join(" and ") } : undefined;
}

export function mc121(structs: StructReport[]): Hit[] {
  const out: Hit[] = [];
  for (const s of structs) {
    if (generated(s) || structIgnored(s, MC121)) continue;
    const fl = firstLayout(s);
    const word = fl && ["386", "arm", "mips", "mipsle"].includes(fl.arch) ? 4 : 8;
    const slot = word * 2;
    const hits: { name: string; type: string; slots: string; line: number }[] = [];
    for (const f of fieldsOf(s)) {
      if (f.name === "_" || f.ignores.has(MC121) || f.ignores.has("*")) continue;
      const k = boxing(f.type);
      // A single interface field is not a container: it costs one 16-byte slot, once.
      if (k && k.kind !== "field") hits.push({ name: f.name, type: f.type.replace(/\s+/g, " "), slots: k.slots, line: f.line });
    }
    if (!hits.length) continue;
    const parts = hits.map((h) => `${h.name} ${h.type} (${slot} B ${h.slots})`);
    out.push({
      file: s.file,
      line: hits[0].line,
      endLine: hits.length > 1 ? hits[hits.length - 1].line : undefined,
      message:
        `${s.name} stores values as interfaces: ${parts.join("; ")}. Each interface slot is two words ` +
        `(${slot} bytes on ${word * 8}-bit) and storing a value that is not pointer-shaped (an int, string, ` +
        `slice or struct) allocates a heap copy of it; pointers, maps, chans and funcs are stored without ` +
        `allocating. Where the set of types is known, use a concrete type, a type parameter, or a typed ` +
        `field per kind.`,
    });
  }
  return out;
}

export const rule = {
  id: MC121,
  title: "Interface boxing in containers",
  defaultSeverity: "notice",
  docs: "docs/rules/MC121.md",
  thresholds: {},
  structs: (structs) => mc121(structs),
} satisfies Rule;
