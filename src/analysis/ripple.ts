// Ripple: a change to struct T also changes every struct that holds a T by value, directly or
// through other structs and arrays, in any package. This finds, for each changed struct whose own
// fields did not change, the chain of by-value holdings down to a struct the change did edit
// (`Message ⊃ Envelope ⊃ Header`). Pure: it reads the analyses' `holds` graph (index.ts).
//
// Rules:
// - A struct's layout "changed" for ripple when, on some arch, its size, alignment or pointer bytes
//   differ between base and head (a change that stays inside padding does not ripple).
// - An origin is such a struct whose own field list changed (a field added, removed, moved or
//   retyped), or which holds no other such struct (a constant changed an array length).
// - A rippled struct is such a struct whose own field list did not change and that holds, by
//   value, a chain of such structs down to an origin. The shortest chain is reported.
import type { Analysis, Arch, Diff, HeldStruct, Ripple, StructDiff } from "./model.ts";
import type { RType } from "./types.ts";

/** Bound on the holdings recorded per struct (a struct with more by-value struct fields is rare). */
const MAX_HELD = 256;
const MAX_NESTING = 64;

/**
 * The named structs `t` holds by value: its fields' types, looking through arrays, anonymous
 * structs, named non-struct types and generic instantiations, stopping at each named struct.
 */
export function heldStructs(t: RType): HeldStruct[] {
  const out: HeldStruct[] = [];
  const seen = new Set<string>();
  const walk = (x: RType, field: string, nesting: number) => {
    if (nesting > MAX_NESTING || out.length >= MAX_HELD) return;
    if (nesting > 0 && x.kind === "struct" && x.named && !x.named.includes("[")) {
      if (!seen.has(x.named)) {
        seen.add(x.named);
        out.push({ field, type: x.named });
      }
      return;
    }
    if (x.kind === "struct") {
      for (const f of x.fields ?? []) walk(f.type, field ? `${field}.${f.name}` : f.name, nesting + 1);
    } else if (x.kind === "array" && x.elem) {
      walk(x.elem, `${field}[]`, nesting + 1);
    }
  };
  walk(t, "", 0);
  return out;
}

/** True when a struct's size, alignment or pointer bytes differ on some arch. */
export function layoutMoved(s: StructDiff): boolean {
  if (s.kind !== "changed") return false;
  for (const d of Object.values(s.deltas)) {
    if (!d?.before || !d.after) continue;
    if (d.before.size !== d.after.size || d.before.align !== d.after.align || d.before.ptrBytes !== d.after.ptrBytes) return true;
  }
  return false;
}

/** True when a rippled struct matters outside the packages a PR touched: size, size class or pointer bytes. */
export function rippleMatters(s: StructDiff): boolean {
  for (const d of Object.values(s.deltas)) {
    if (!d?.before || !d.after) continue;
    if (d.size !== 0 || d.ptrBytes !== 0 || d.sizeClassBefore !== d.sizeClassAfter) return true;
  }
  return false;
}

function pkgName(key: string): string {
  const dot = key.lastIndexOf(".");
  const path = dot > 0 ? key.slice(0, dot) : key;
  return path.slice(path.lastIndexOf("/") + 1);
}

function typeName(key: string): string {
  return key.slice(key.lastIndexOf(".") + 1);
}

/** Names along a chain: bare while the package stays the same, `pkg.Name` where it changes. */
function chainLabels(keys: string[]): string[] {
  const pkgOf = (k: string) => k.slice(0, k.lastIndexOf("."));
  const one = keys.every((k) => pkgOf(k) === pkgOf(keys[0]!));
  return keys.map((k) => (one ? typeName(k) : `${pkgName(k)}.${typeName(k)}`));
}

/** "Message ⊃ Envelope ⊃ Header". */
export function rippleText(r: Ripple): string {
  return r.chain.join(" ⊃ ");
}

/**
 * Mark every rippled struct of a diff with its chain (`StructDiff.ripple`), and say in its
 * regressions' messages what it grew through. Changes the diff in place; returns it.
 */
export function findRipples(diff: Diff, head: Analysis): Diff {
  const holds = head.holds;
  if (!holds) return diff;
  const moved = new Map<string, StructDiff>();
  for (const s of diff.structs) if (layoutMoved(s)) moved.set(s.key, s);
  if (moved.size < 2) return diff;
  // Holdings among moved structs only: growth travels only through structs whose layout moved.
  const edges = new Map<string, HeldStruct[]>();
  for (const key of moved.keys())
    edges.set(
      key,
      (holds[key] ?? []).filter((h) => h.type !== key && moved.has(h.type)),
    );
  const origins = [...moved.values()].filter((s) => s.fieldChanges.length > 0 || edges.get(s.key)!.length === 0);
  // Breadth first from the origins up the reverse edges: each struct gets its shortest chain.
  const heldBy = new Map<string, { holder: string; field: string }[]>();
  for (const [holder, hs] of edges) {
    for (const h of hs) {
      const list = heldBy.get(h.type) ?? [];
      list.push({ holder, field: h.field });
      heldBy.set(h.type, list);
    }
  }
  const path = new Map<string, { keys: string[]; fields: string[] }>();
  for (const o of origins) path.set(o.key, { keys: [o.key], fields: [] });
  let frontier = origins.map((o) => o.key);
  while (frontier.length) {
    const next: string[] = [];
    for (const key of frontier) {
      const p = path.get(key)!;
      for (const { holder, field } of heldBy.get(key) ?? []) {
        if (path.has(holder)) continue;
        path.set(holder, { keys: [holder, ...p.keys], fields: [field, ...p.fields] });
        next.push(holder);
      }
    }
    frontier = next;
  }
  for (const s of moved.values()) {
    const p = path.get(s.key);
    if (!p || p.keys.length < 2 || s.fieldChanges.length > 0) continue;
    const ripple: Ripple = { keys: p.keys, chain: chainLabels(p.keys), fields: p.fields };
    s.ripple = ripple;
    const via = ` (holds ${typeName(p.keys[p.keys.length - 1]!)} by value: ${rippleText(ripple)})`;
    for (const r of s.regressions) r.message += via;
  }
  return diff;
}

/** Structs a PR review keeps beyond the packages it touched: rippled ones that grew or gained pointer bytes. */
export function rippledStructs(diff: Diff): StructDiff[] {
  return diff.structs.filter((s) => s.ripple && rippleMatters(s));
}

/** The archs on which a diff has a struct whose layout moved (for deciding to fetch the whole tree). */
export function layoutChanged(diff: Diff): Arch[] {
  const out = new Set<Arch>();
  for (const s of diff.structs) if (layoutMoved(s)) for (const a of Object.keys(s.deltas) as Arch[]) out.add(a);
  return [...out];
}
