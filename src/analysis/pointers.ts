// Pointer-chain depth over the type graph: the longest chain of pointer hops (pointers, slices,
// maps, channels) from a struct through the types it reaches. A cycle is reported as cyclic,
// with its path, never as a number.
//
// Depth counts the hops the garbage collector follows into memory it must scan. A hop to an object
// that holds no pointers (`[]byte`, `*int64`, a pointer-free struct, a channel or map of
// pointer-free values) is marked but never scanned, so it ends the chain without adding to it. A
// channel is a pointer to the runtime's `hchan`, whose buffer the GC scans when the element holds
// pointers; its hop is named `chan T (hchan)`.
import type { PointerEdge, PointerMap } from "./model.ts";
import type { RType } from "./types.ts";

export interface PointerReach {
  depth: number;
  /** Hop labels, e.g. ["*Customer", "*Address"]; for a cycle it ends where the loop closes. */
  chain: string[];
  cyclic: boolean;
  /**
   * The named struct types on the loop the struct is on or reaches (canonical keys), so a diff can
   * tell a new cycle from one that already existed. One member: a self-recursive list or tree.
   */
  cycle?: string[];
}

/**
 * A chain as a shared linked list: a walk prepends one hop to its best successor's chain without
 * copying it. (Copying made a chain of n types cost O(n²) memory: 20,000 types took GBs.)
 */
interface Hops {
  label: string;
  next?: Hops;
  length: number;
  /** The last labels of the chain (shared with `next` once the chain is long). */
  tail: string[];
}

interface Walk {
  depth: number;
  chain?: Hops;
  cyclic: boolean;
  /** As PointerReach.cycle. */
  cycle?: string[];
  /** The named type where an unfinished cycle closes; results inside it are not memoised. */
  openAt?: string;
}

const LEAF: Walk = { depth: 0, cyclic: false };
/** Bound on visited nodes per struct, so hostile graphs cannot take unbounded time. */
const STEP_BUDGET = 20_000;
/**
 * Bound on nested visits (the walk recurses once per field, element or hop), so a long chain of
 * distinct types (`T0 -> *T1 -> ... -> *T5000`) cannot overflow the stack. A chain cut here
 * still reports a depth in the hundreds (a lower bound), far above any threshold.
 */
const MAX_NESTING = 500;
/** A reported chain keeps its first and last hops; the middle of a longer one is elided. */
const CHAIN_HEAD = 24;
const CHAIN_TAIL = 8;

function prepend(label: string, next: Hops | undefined): Hops {
  const length = (next?.length ?? 0) + 1;
  const tail = length <= CHAIN_TAIL ? [label, ...(next?.tail ?? [])] : next!.tail;
  return { label, next, length, tail };
}

/** The labels to report: all of a short chain; head, "… n more hops …", tail of a long one. */
function labels(chain: Hops | undefined): string[] {
  if (!chain) return [];
  const out: string[] = [];
  const whole = chain.length <= CHAIN_HEAD + CHAIN_TAIL + 1;
  for (let h: Hops | undefined = chain; h && (whole || out.length < CHAIN_HEAD); h = h.next) out.push(h.label);
  if (whole) return out;
  out.push(`… ${chain.length - CHAIN_HEAD - CHAIN_TAIL} more hops …`);
  return [...out, ...chain.tail];
}

/** A cycle through two or more struct types outranks a self-recursive one, which outranks none. */
function rank(w: Walk): number {
  if (!w.cyclic) return 0;
  return (w.cycle?.length ?? 1) > 1 ? 2 : 1;
}

function hopLabel(label: string): string {
  return label.startsWith("chan ") ? `${label} (hchan)` : label;
}

export class PointerGraph {
  private memo = new Map<string, Walk>();

  reach(root: RType): PointerReach {
    const state = { steps: 0, nesting: 0, stack: [] as { key: string; struct: boolean }[] };
    const r = this.visit(root, state);
    return { depth: r.depth, chain: labels(r.chain), cyclic: r.cyclic, ...(r.cycle ? { cycle: r.cycle } : {}) };
  }

  private visit(t: RType, state: { steps: number; nesting: number; stack: { key: string; struct: boolean }[] }): Walk {
    if (++state.steps > STEP_BUDGET || state.nesting >= MAX_NESTING) return LEAF;
    const key = t.named;
    if (key) {
      const m = this.memo.get(key);
      if (m) return m;
      const at = state.stack.findIndex((e) => e.key === key);
      if (at >= 0) {
        const loop = state.stack.slice(at);
        const structs = loop.filter((e) => e.struct).map((e) => e.key);
        return { depth: 0, cyclic: true, openAt: key, cycle: structs.length ? structs : [key] };
      }
      state.stack.push({ key, struct: t.kind === "struct" });
    }
    state.nesting++;
    let best: Walk = LEAF;
    const consider = (w: Walk) => {
      const rw = rank(w),
        rb = rank(best);
      if (rw > rb || (rw === 0 && rb === 0 && w.depth > best.depth)) best = w;
    };
    if (t.fields) for (const f of t.fields) consider(this.visit(f.type, state));
    if (t.elem) consider(this.visit(t.elem, state));
    if (t.hops) {
      for (const hop of t.hops) {
        const target = hop.target();
        // Pointer-free target: the GC marks it and stops there.
        if (target && target.ptr === 0) continue;
        const sub = target ? this.visit(target, state) : LEAF;
        consider({ ...sub, depth: sub.depth + 1, chain: prepend(hopLabel(hop.label), sub.chain) });
      }
    }
    state.nesting--;
    if (key) {
      state.stack.pop();
      if (best.openAt === key) best = { ...best, openAt: undefined };
      if (!best.openAt) this.memo.set(key, best);
    }
    return best;
  }
}

/** Bound on the edges recorded per struct, and on the types walked to find them. */
const MAX_EDGES_PER_STRUCT = 128;
const EDGE_WALK_BUDGET = 2_000;

/**
 * The pointer edges of one struct: for each field, the named struct types it reaches through
 * pointer hops (pointers, slices, maps, channels), looking through arrays, anonymous structs and
 * unnamed pointer types on the way. Pointer-free targets end a chain (the GC does not scan them)
 * and are left out, as in `reach`.
 */
export function pointerEdges(t: RType): PointerEdge[] {
  const out: PointerEdge[] = [];
  const seen = new Set<string>();
  let steps = 0;
  const walk = (x: RType, field: string, hop: { label: string; hops: number } | undefined, nesting: number) => {
    if (++steps > EDGE_WALK_BUDGET || nesting > MAX_NESTING || out.length >= MAX_EDGES_PER_STRUCT) return;
    if (hop && x.named && x.kind === "struct") {
      const id = `${field}\0${x.named}`;
      if (!seen.has(id)) {
        seen.add(id);
        out.push({ field, label: hop.label, hops: hop.hops, to: x.named });
      }
      return;
    }
    // By value (the struct itself, arrays, anonymous or named non-struct containers): look inside.
    if (x.kind === "struct" && (nesting === 0 || !x.named || hop)) {
      for (const f of x.fields ?? []) walk(f.type, field ? `${field}.${f.name}` : f.name, hop, nesting + 1);
    } else if (x.kind === "struct") {
      // A named struct held by value: one edge of no hops to it; its own edges belong to it.
      const id = `${field}\0${x.named}`;
      if (x.ptr > 0 && x.named && !seen.has(id)) {
        seen.add(id);
        out.push({ field, label: x.label, hops: 0, to: x.named });
      }
      return;
    }
    if (x.elem) walk(x.elem, `${field}[]`, hop, nesting + 1);
    for (const h of x.hops ?? []) {
      const target = h.target();
      if (!target || target.ptr === 0) continue;
      walk(target, field, { label: hop?.label ?? hopLabel(h.label), hops: (hop?.hops ?? 0) + 1 }, nesting + 1);
    }
  };
  walk(t, "", undefined, 0);
  return out;
}

/** Bounds of a pointer map: nodes and edges drawn, and types walked to count what is left out. */
export const POINTER_MAP_NODES = 24;
export const POINTER_MAP_EDGES = 40;
const POINTER_MAP_WALK = 10_000;

function shortName(key: string): string {
  const cut = key.indexOf("[");
  const base = cut >= 0 ? key.slice(0, cut) : key;
  const dot = base.lastIndexOf(".");
  return dot >= 0 ? key.slice(dot + 1) : key;
}

/**
 * The graph of a struct's pointer chains on the head side: types as nodes (with their hop distance
 * from the root), fields as edges, edges the base did not have marked new, edges on a cycle marked.
 * Breadth first and bounded: at most POINTER_MAP_NODES nodes and POINTER_MAP_EDGES edges, with
 * the number of types and edges left out.
 */
export function pointerMap(
  root: string,
  head: Record<string, PointerEdge[]>,
  base: Record<string, PointerEdge[]> | undefined,
  facts: Pick<PointerMap, "arch" | "depth" | "cyclic">,
): PointerMap {
  const index = new Map<string, number>([[root, 0]]);
  const nodes: PointerMap["nodes"] = [{ key: root, label: shortName(root), depth: 0 }];
  const edges: PointerMap["edges"] = [];
  const baseHas = (from: string, e: PointerEdge) => !!base?.[from]?.some((b) => b.field === e.field && b.to === e.to);
  const baseReach = new Set<string>();
  if (base) {
    const q = [root];
    baseReach.add(root);
    for (let i = 0; i < q.length && i < POINTER_MAP_WALK; i++) {
      for (const e of base[q[i]!] ?? []) if (!baseReach.has(e.to)) baseReach.add(e.to), q.push(e.to);
    }
  }
  const seen = new Set<string>([root]);
  let moreEdges = 0;
  const queue = [root];
  let walked = 0;
  for (let i = 0; i < queue.length && walked < POINTER_MAP_WALK; i++) {
    const from = queue[i]!;
    const fromIdx = index.get(from);
    for (const e of head[from] ?? []) {
      walked++;
      let to = index.get(e.to);
      if (to === undefined && fromIdx !== undefined && nodes.length < POINTER_MAP_NODES) {
        to = nodes.length;
        index.set(e.to, to);
        nodes.push({
          key: e.to,
          label: shortName(e.to),
          depth: nodes[fromIdx]!.depth + e.hops,
          ...(base && !baseReach.has(e.to) ? { new: true } : {}),
        });
      }
      if (to === undefined || fromIdx === undefined || edges.length >= POINTER_MAP_EDGES) moreEdges++;
      else
        edges.push({
          from: fromIdx,
          to,
          field: e.field,
          label: e.label,
          ...(e.hops === 0 ? { byValue: true } : {}),
          ...(base && !baseHas(from, e) ? { new: true } : {}),
        });
      if (!seen.has(e.to)) {
        seen.add(e.to);
        queue.push(e.to);
      }
    }
  }
  // An edge is on a cycle when its target reaches its source among the drawn edges.
  const out = new Map<number, number[]>();
  for (const e of edges) out.set(e.from, [...(out.get(e.from) ?? []), e.to]);
  const reaches = (a: number, b: number) => {
    const seen = new Set([a]);
    const st = [a];
    while (st.length) {
      const n = st.pop()!;
      if (n === b) return true;
      for (const m of out.get(n) ?? []) if (!seen.has(m)) seen.add(m), st.push(m);
    }
    return false;
  };
  for (const e of edges) if (reaches(e.to, e.from)) e.cycle = true;
  return { root, nodes, edges, moreNodes: seen.size - nodes.length, moreEdges, ...facts };
}
