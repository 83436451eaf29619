// Base vs head: which structs were added, removed or changed, per arch, and which of those
// changes are memory regressions under the configured thresholds. Pure: no I/O.
//
// Classification rules (documented here because the reporters and the docs rely on them):
// - Structs are matched by `${package}.${name}`. When a key appears more than once on one side
//   (per-arch files declaring the same type), the layouts are merged per arch; the first
//   declaration that has a layout for an arch wins that arch.
// - "changed" means: on some arch, a layout number (size, align, padding, trailing padding,
//   pointer bytes, size class, optimal size/pointer bytes, pointer depth, cycle, pointer fields)
//   or the field list (name, type, offset, size, align, pointer bytes, embedding) differs, or one
//   side has a layout for an arch and the other does not (unless the side without it is
//   unresolved: then the change is unknown and that arch is skipped). Unchanged structs are left
//   out; head structs that are unresolved are listed in `Diff.unresolved`.
// - Field changes compare the field lists of the first arch where both sides have a layout.
//   "moved" means the field's position *relative to the other fields present on both sides*
//   changed, so inserting a field at the top does not mark every later field as moved.
// - Regressions, per arch (none for a head struct marked with a bare `//memcheck:ignore`):
//   size-class     changed structs only: sizeClassAfter > sizeClassBefore. An added struct has
//                  nothing to grow from, so it never has a size-class regression.
//   padding        changed structs only: padding grew by at least `paddingGrowth` bytes.
//   pointer-depth  head depth > maxPointerDepth and (base depth <= max, or the depth grew).
//                  An added struct counts as base depth 0.
//   new-cycle      cyclic on head and not on base; an added cyclic struct counts.
// Each regression carries `facts` (from zero size, a pre-existing deep chain, a self-recursive or
// already known cycle, an added struct): whether it fails the check is the fail policy's call
// (src/review/conclusion.ts), not the diff's.
import type {
  Analysis,
  Arch,
  ArchDelta,
  Diff,
  FieldChange,
  FieldLayout,
  Regression,
  StructDiff,
  StructLayout,
  StructReport,
  Thresholds,
} from "./model.ts";
import { pointerMap } from "./pointers.ts";
import { findRipples } from "./ripple.ts";

export const DEFAULT_THRESHOLDS: Thresholds = {
  sizeClassGrowth: true,
  paddingGrowth: 8,
  maxPointerDepth: 4,
  newCycle: true,
};

export function structKey(s: Pick<StructReport, "package" | "name">): string {
  return `${s.package}.${s.name}`;
}

/** Group structs by key, merging per-arch duplicates into one report. Order: first occurrence. */
export function mergeStructs(structs: StructReport[]): Map<string, StructReport> {
  const out = new Map<string, StructReport>();
  for (const s of structs) {
    const key = structKey(s);
    const prev = out.get(key);
    if (!prev) {
      out.set(key, { ...s, layouts: { ...s.layouts }, unresolved: [...s.unresolved] });
      continue;
    }
    for (const [arch, layout] of Object.entries(s.layouts) as [Arch, StructLayout][]) {
      if (layout && !prev.layouts[arch]) prev.layouts[arch] = layout;
    }
    for (const u of s.unresolved) if (!prev.unresolved.includes(u)) prev.unresolved.push(u);
    prev.resolved = prev.resolved && s.resolved;
    prev.source ??= s.source;
  }
  return out;
}

function fieldsEqual(a: FieldLayout[], b: FieldLayout[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i],
      y = b[i];
    if (
      x.name !== y.name ||
      x.type !== y.type ||
      x.offset !== y.offset ||
      x.size !== y.size ||
      x.align !== y.align ||
      x.ptrBytes !== y.ptrBytes ||
      !!x.embedded !== !!y.embedded
    )
      return false;
  }
  return true;
}

/** True when two layouts differ in any number or in the field list. */
export function layoutsDiffer(a: StructLayout | undefined, b: StructLayout | undefined): boolean {
  if (!a || !b) return a !== b;
  return (
    a.size !== b.size ||
    a.align !== b.align ||
    a.padding !== b.padding ||
    a.trailingPadding !== b.trailingPadding ||
    a.ptrBytes !== b.ptrBytes ||
    a.sizeClass !== b.sizeClass ||
    a.optimalSize !== b.optimalSize ||
    a.optimalPtrBytes !== b.optimalPtrBytes ||
    a.pointerDepth !== b.pointerDepth ||
    a.cyclic !== b.cyclic ||
    a.pointerFields !== b.pointerFields ||
    !fieldsEqual(a.fields, b.fields)
  );
}

/** Field names with an occurrence suffix for repeats (blank fields "_" can appear many times). */
function fieldIds(fields: FieldLayout[]): string[] {
  const seen = new Map<string, number>();
  return fields.map((f) => {
    const n = seen.get(f.name) ?? 0;
    seen.set(f.name, n + 1);
    return n === 0 ? f.name : `${f.name}#${n + 1}`;
  });
}

export function fieldChanges(before: FieldLayout[], after: FieldLayout[]): FieldChange[] {
  const bIds = fieldIds(before),
    aIds = fieldIds(after);
  const bMap = new Map(bIds.map((id, i) => [id, before[i]]));
  const aMap = new Map(aIds.map((id, i) => [id, after[i]]));
  const out: FieldChange[] = [];
  for (const id of bIds) if (!aMap.has(id)) out.push({ name: id, kind: "removed", before: bMap.get(id)!.type });
  // Relative order among the fields present on both sides.
  const commonB = bIds.filter((id) => aMap.has(id));
  const commonA = aIds.filter((id) => bMap.has(id));
  const posB = new Map(commonB.map((id, i) => [id, i]));
  for (let i = 0; i < aIds.length; i++) {
    const id = aIds[i];
    const a = after[i];
    const b = bMap.get(id);
    if (!b) {
      out.push({ name: id, kind: "added", after: a.type });
      continue;
    }
    if (b.type !== a.type) out.push({ name: id, kind: "retyped", before: b.type, after: a.type });
    const j = commonA.indexOf(id);
    if (posB.get(id) !== j) {
      out.push({ name: id, kind: "moved", before: String(bIds.indexOf(id)), after: String(i) });
    }
  }
  return out;
}

function delta(before: StructLayout | undefined, after: StructLayout | undefined): ArchDelta {
  return {
    before,
    after,
    size: (after?.size ?? 0) - (before?.size ?? 0),
    padding: (after?.padding ?? 0) - (before?.padding ?? 0),
    ptrBytes: (after?.ptrBytes ?? 0) - (before?.ptrBytes ?? 0),
    pointerDepth: (after?.pointerDepth ?? 0) - (before?.pointerDepth ?? 0),
    sizeClassBefore: before?.sizeClass ?? 0,
    sizeClassAfter: after?.sizeClass ?? 0,
  };
}

/**
 * A cycle's identity: its members' type names without their import paths, so a module path change
 * (`.../v3` to `.../v4`) or a moved package does not make every existing cycle look new.
 */
function cycleKey(members: readonly string[]): string {
  return members
    .map((m) => m.slice(m.lastIndexOf(".") + 1))
    .sort()
    .join("|");
}

/** Every pointer cycle the base side has, by its member types. */
function knownCycles(base: Analysis): Set<string> {
  const out = new Set<string>();
  for (const s of base.structs) {
    for (const l of Object.values(s.layouts)) if (l?.cycle) out.add(cycleKey(l.cycle));
  }
  return out;
}

/** The type name a chain hop points to: "*pkg.Node" -> "Node", "[]*T" -> "T". */
function hopTypeName(label: string): string {
  const bare = label.replace(/\s*\(hchan\)$/, "").replace(/^(\*|\[\d*\]|map\[[^\]]*\]|chan\s+)+/, "");
  return bare.split(".").pop() ?? bare;
}

/**
 * Names of the struct types on a chain that was already beyond the limit on the base side, per
 * arch: a struct there that crosses the limit only extends that chain, it does not start one.
 */
function deepChainMembers(base: Analysis, max: number): Map<Arch, Set<string>> {
  const out = new Map<Arch, Set<string>>();
  for (const s of base.structs) {
    for (const [arch, l] of Object.entries(s.layouts) as [Arch, StructLayout][]) {
      if (!l || l.cyclic || l.pointerDepth <= max) continue;
      let set = out.get(arch);
      if (!set) {
        set = new Set();
        out.set(arch, set);
      }
      for (const hop of l.pointerChain.slice(1)) set.add(hopTypeName(hop));
    }
  }
  return out;
}

function regressionsFor(
  name: string,
  arch: Arch,
  kind: "added" | "changed",
  d: ArchDelta,
  t: Thresholds,
  cycles: Set<string>,
  deepMembers: Map<Arch, Set<string>>,
): Regression[] {
  const out: Regression[] = [];
  const a = d.after;
  if (!a) return out;
  const b = d.before;
  const added = kind === "added" ? { added: true } : {};
  if (kind === "changed" && b) {
    const fromZero = b.size === 0 ? { fromZero: true } : {};
    if (t.sizeClassGrowth && d.sizeClassAfter > d.sizeClassBefore) {
      out.push({
        arch,
        kind: "size-class",
        message: `${name} grew ${b.size} → ${a.size} B on ${arch} (size class ${d.sizeClassBefore} → ${d.sizeClassAfter})`,
        facts: { ...fromZero },
      });
    }
    if (d.padding > 0 && d.padding >= t.paddingGrowth) {
      out.push({
        arch,
        kind: "padding",
        message: `${name} padding grew ${b.padding} → ${a.padding} B on ${arch} (+${d.padding} B; optimal order is ${a.optimalSize} B)`,
        facts: { ...fromZero },
      });
    }
  }
  const baseDepth = b?.pointerDepth ?? 0;
  if (a.pointerDepth > t.maxPointerDepth && (baseDepth <= t.maxPointerDepth || a.pointerDepth > baseDepth)) {
    const chain = a.pointerChain.length ? `: ${a.pointerChain.join(" → ")}` : "";
    out.push({
      arch,
      kind: "pointer-depth",
      message: `${name} pointer depth ${b ? `${baseDepth} → ` : ""}${a.pointerDepth} on ${arch} exceeds ${t.maxPointerDepth}${chain}`,
      facts: { ...added, ...(baseDepth > t.maxPointerDepth || deepMembers.get(arch)?.has(name) ? { preexisting: true } : {}) },
    });
  }
  if (t.newCycle && a.cyclic && !b?.cyclic) {
    const chain = a.pointerChain.length ? `: ${a.pointerChain.join(" → ")}` : "";
    const members = a.cycle ?? [];
    out.push({
      arch,
      kind: "new-cycle",
      message: `${name} ${kind === "added" ? "is" : "became"} part of a pointer cycle on ${arch}${chain}`,
      facts: {
        ...added,
        ...(members.length <= 1 ? { selfCycle: true } : {}),
        ...(members.length && cycles.has(cycleKey(members)) ? { knownCycle: true } : {}),
      },
    });
  }
  return out;
}

function isResolved(s: StructReport): boolean {
  return s.resolved && s.unresolved.length === 0;
}

function archOrder(base: Analysis, head: Analysis): Arch[] {
  const out: Arch[] = [...head.archs];
  for (const a of base.archs) if (!out.includes(a)) out.push(a);
  return out;
}

/** A bare `//memcheck:ignore` on a struct silences its regressions (`ignore MC1xx` silences one rule). */
function silenced(s: StructReport | undefined): boolean {
  return !!s?.source?.directives.some((d) => d.trim() === "ignore");
}

/** Compare two analyses. Unchanged structs are left out of `structs`. */
export function diffAnalyses(base: Analysis, head: Analysis, thresholds?: Partial<Thresholds>): Diff {
  const t: Thresholds = { ...DEFAULT_THRESHOLDS, ...thresholds };
  const archs = archOrder(base, head);
  const b = mergeStructs(base.structs);
  const h = mergeStructs(head.structs);
  // Same directory and name, new import path (a module path change such as /v3 -> /v4): the same
  // type, not a removal and an addition.
  const byDirName = new Map([...b.entries()].map(([k, s]) => [`${s.dir}\0${s.name}`, k]));
  for (const [k, s] of h) {
    const old = b.has(k) ? undefined : byDirName.get(`${s.dir}\0${s.name}`);
    if (old === undefined || h.has(old)) continue;
    b.set(k, b.get(old)!);
    b.delete(old);
  }
  const keys = [...h.keys()];
  for (const k of b.keys()) if (!h.has(k)) keys.push(k);
  const cycles = knownCycles(base);
  const deepMembers = deepChainMembers(base, t.maxPointerDepth);

  const structs: StructDiff[] = [];
  for (const key of keys) {
    const bs = b.get(key),
      hs = h.get(key);
    const ref = (hs ?? bs)!;
    const kind = !bs ? "added" : !hs ? "removed" : "changed";
    const deltas: StructDiff["deltas"] = {};
    const regressions: Regression[] = [];
    let differs = kind !== "changed";
    let fc: FieldChange[] = [];
    let fieldsCompared = false;
    for (const arch of archs) {
      const before = bs?.layouts[arch],
        after = hs?.layouts[arch];
      if (!before && !after) continue;
      if (kind === "changed" && !layoutsDiffer(before, after)) continue;
      // One side has no layout on this arch because it could not be resolved: the change is
      // unknown, not a shrink to zero or a growth from zero. (A resolved side without a layout is a
      // real change: the type is not declared for that arch there.)
      if (kind === "changed" && ((!after && !isResolved(hs!)) || (!before && !isResolved(bs!)))) continue;
      differs = true;
      const d = delta(before, after);
      deltas[arch] = d;
      if (kind !== "removed" && !silenced(hs)) regressions.push(...regressionsFor(ref.name, arch, kind, d, t, cycles, deepMembers));
      if (kind === "changed" && before && after && !fieldsCompared) {
        fieldsCompared = true;
        fc = fieldChanges(before.fields, after.fields);
      }
    }
    if (!differs) continue;
    structs.push({
      key,
      package: ref.package,
      name: ref.name,
      file: ref.file,
      line: ref.line,
      kind,
      base: bs,
      head: hs,
      deltas,
      fieldChanges: fc,
      regressions,
    });
  }
  structs.sort((x, y) => x.file.localeCompare(y.file) || x.line - y.line || x.key.localeCompare(y.key));
  addPointerMaps(structs, archs, base, head);
  findRipples({ archs, structs, regressions: [], unresolved: [], diagnostics: [], findings: [] }, head);
  return {
    archs,
    structs,
    regressions: structs.flatMap((s) => s.regressions),
    unresolved: [...h.values()].filter((s) => !s.resolved),
    diagnostics: [...head.diagnostics],
    findings: [...head.findings],
    ...(head.go ? { go: head.go } : {}),
  };
}

/** Pointer maps drawn per diff at most (the reporters show fewer). */
export const MAX_POINTER_MAPS = 10;

/**
 * A pointer map for each struct whose pointer depth or cycle changed (an added struct: only when it
 * is cyclic or regresses in depth), worst first, at most MAX_POINTER_MAPS.
 */
function addPointerMaps(structs: StructDiff[], archs: Arch[], base: Analysis, head: Analysis): void {
  const edges = head.pointerEdges;
  if (!edges) return;
  const candidates: { s: StructDiff; arch: Arch; score: number }[] = [];
  for (const s of structs) {
    if (s.kind === "removed") continue;
    for (const arch of archs) {
      const d = s.deltas[arch];
      const a = d?.after;
      if (!a) continue;
      const b = d.before;
      const cycleChanged = a.cyclic !== !!b?.cyclic;
      const depthChanged = a.pointerDepth !== (b?.pointerDepth ?? 0);
      if (s.kind === "added" ? !(a.cyclic || s.regressions.some((r) => r.kind === "pointer-depth")) : !(cycleChanged || depthChanged))
        continue;
      candidates.push({ s, arch, score: (cycleChanged ? 1000 : 0) + Math.abs(a.pointerDepth - (b?.pointerDepth ?? 0)) });
      break;
    }
  }
  candidates.sort((x, y) => y.score - x.score);
  for (const { s, arch } of candidates.slice(0, MAX_POINTER_MAPS)) {
    const d = s.deltas[arch]!;
    s.pointerMap = pointerMap(s.key, edges, s.kind === "added" ? undefined : base.pointerEdges, {
      arch,
      depth: { ...(d.before ? { before: d.before.pointerDepth } : {}), after: d.after!.pointerDepth },
      cyclic: { ...(d.before ? { before: d.before.cyclic } : {}), after: d.after!.cyclic },
    });
  }
}
