// Pointer-chain depth over the type graph: the longest chain of pointer hops (pointers, slices,
// maps, channels) from a struct through the types it reaches. A cycle is reported as cyclic,
// with its path, never as a number.
//
// Depth counts the hops the garbage collector follows into memory it must scan. A hop to an object
// that holds no pointers (`[]byte`, `*int64`, a pointer-free struct, a channel or map of
// pointer-free values) is marked but never scanned, so it ends the chain without adding to it. A
// channel is a pointer to the runtime's `hchan`, whose buffer the GC scans when the element holds
// pointers; its hop is named `chan T (hchan)`.
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
