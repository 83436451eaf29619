// MC131 pointer-heavy binding structs: structs decoded from requests or rows (json, form,
// binding, gorm, db, yaml tags) whose fields are pointers to small scalars or to structs. Each
// such field that is present costs one heap allocation per decode and one pointer hop per read.
import type { StructReport } from "../model.ts";
import type { Hit, Rule } from "./rule.ts";
import { allocBytes, fieldsOf, firstLayout, structIgnored, tagValue, generated } from "./structs.ts";

export const MC131 = "MC131";
const TAG_KEYS = ["json", "form", "binding", "gorm", "db", "yaml"];
const SCALARS: Record<string, number> = {
  bool: 1,
  int8: 1,
  uint8: 1,
  byte: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  rune: 4,
  float32: 4,
  int: 8,
  uint: 8,
  int64: 8,
  uint64: 8,
  float64: 8,
  uintptr: 8,
  complex64: 8,
  complex128: 16,
  string: 16,
};
/** Well-known library structs (size on amd64). */
const KNOWN_STRUCTS: Record<string, number> = {
  "time.Time": 24,
  "url.URL": 144,
  "big.Int": 32,
  "big.Float": 32,
  "decimal.Decimal": 16,
};
/** Names that announce PATCH / partial-update semantics, where pointers are the point. */
const PATCH_NAME = /patch|update|partial|optional|override|diff|modif/i;

export function mc131(structs: StructReport[], minFields: number, context: StructReport[] = []): Hit[] {
  const out: Hit[] = [];
  const local = new Map<string, StructReport>();
  for (const s of [...context, ...structs]) local.set(`${s.package}\0${s.name}`, s);
  for (const s of structs) {
    if (generated(s) || structIgnored(s, MC131) || PATCH_NAME.test(s.name)) continue;
    const fields = fieldsOf(s);
    if (!fields.some((f) => TAG_KEYS.some((k) => tagValue(f.tag, k) !== undefined))) continue;
    const hits: { name: string; type: string; bytes: number; tiny: boolean }[] = [];
    for (const f of fields) {
      if (f.ignores.has(MC131) || f.ignores.has("*")) continue;
      const t = f.type.replace(/\s+/g, "");
      if (!t.startsWith("*") || t.startsWith("**")) continue;
      if (
        TAG_KEYS.every((k) => {
          const v = tagValue(f.tag, k);
          return v === undefined ? true : v.split(",")[0] === "-";
        }) &&
        TAG_KEYS.some((k) => tagValue(f.tag, k) !== undefined)
      )
        continue; // skipped by every decoder
      const inner = t.slice(1);
      let bytes: number | undefined = SCALARS[inner];
      // Go's tiny allocator packs pointer-free objects under 16 bytes into shared 16-byte blocks.
      let tiny = bytes !== undefined && inner !== "string" && bytes < 16;
      if (bytes === undefined) bytes = KNOWN_STRUCTS[inner];
      if (bytes === undefined && /^[A-Za-z_]\w*$/.test(inner)) {
        const target = local.get(`${s.package}\0${inner}`);
        const tl = target ? firstLayout(target)?.layout : undefined;
        if (tl) {
          bytes = tl.size;
          tiny = tl.ptrBytes === 0 && tl.size > 0 && tl.size < 16;
        }
      }
      if (bytes === undefined) continue;
      hits.push({ name: f.name, type: f.type, bytes, tiny });
    }
    if (hits.length < minFields) continue;
    const total = hits.reduce((a, h) => a + (h.tiny ? h.bytes : Math.max(allocBytes(h.bytes), 8)), 0);
    const tiny = hits.filter((h) => h.tiny).length;
    const depth = firstLayout(s)?.layout.pointerDepth;
    const line = fields.find((f) => f.name === hits[0].name)?.line ?? s.line;
    out.push({
      file: s.file,
      line,
      message:
        `${s.name} is a binding struct with ${hits.length} pointer fields (${hits.map((h) => `${h.name} ${h.type}`).join(", ")}). ` +
        `Decoding a fully populated value makes ${hits.length} extra heap allocations (about ${total} bytes from the ` +
        `allocator${tiny ? `; ${tiny === hits.length ? "all" : tiny} of them pointer-free values under 16 bytes, which Go's tiny allocator packs into shared 16-byte blocks, so they cost about their own size` : ""}) on top of the struct itself` +
        (depth ? `, and reads go through up to ${depth} pointer ${depth === 1 ? "hop" : "hops"}` : "") +
        `. Where "absent" and "zero" need not differ, use plain values with omitempty (or sql.NullInt64 / ` +
        `sql.NullString for nullable columns: no allocation). Keep pointers where they must differ, as in ` +
        `PATCH-style partial updates.`,
    });
  }
  return out;
}

export const rule = {
  id: MC131,
  title: "Pointer-heavy binding struct",
  defaultSeverity: "notice",
  docs: "docs/rules/MC131.md",
  thresholds: {
    bindingPointerFields: { default: 3, description: "pointer fields a binding struct needs before it is reported" },
  },
  structs: (structs, t, context) => mc131(structs, t.bindingPointerFields, context),
} satisfies Rule;
