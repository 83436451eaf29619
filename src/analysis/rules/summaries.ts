// Package-wide facts for the syntax rules: what each function does with the request bodies it is
// given (function summaries), which names are sync.Pools, and which frameworks a body-limit
// middleware covers. Each file's facts are plain data, kept with the file (parse.ts, cached by
// blob like the rest), so a rule sees the whole package, and the module, without parsing twice.
//
// A syntax rule's hit may depend on such facts (`PendingFinding.requires`): "this call hands the
// body to `readBody`, a finding if `readBody` reads its parameter with no bound". `settle` decides
// them once the facts are known: first over the file itself (collectHazards), then over the
// whole package and module (analysis/index.ts). Names never decide; bodies do.
import type { CallEdge, Framework, PendingFinding, Requires } from "../model.ts";

export type { CallEdge, Framework, Requires } from "../model.ts";

/** What a parameter carries: an io.Reader, an *http.Request, a gin or an echo context. */
export type ParamKind = "reader" | "request" | "gin" | "echo";

export interface SinkSite {
  file: string;
  line: number;
  /** What reads it, e.g. "io.ReadAll" or "gin's ShouldBindJSON". */
  what: string;
}

export interface ParamSummary {
  /** Argument position in a call (the receiver does not count). */
  index: number;
  kind: ParamKind;
  /** Read whole with no bound in this function. */
  sink?: SinkSite;
  /** The function bounds it (assigns its Body, or wraps it in MaxBytesReader / LimitReader). */
  bound?: boolean;
  /** The function is itself a handler for this parameter: its reads are reported inside it. */
  handler?: boolean;
  /** Calls that hand it on before any bound. */
  calls: CallEdge[];
}

export interface FnSummary {
  /** `name` for a function, `.name` for a method. */
  key: string;
  file: string;
  line: number;
  params: ParamSummary[];
}

export interface FileSummary {
  fns: FnSummary[];
  /** Package-level variables of type sync.Pool / *sync.Pool. */
  pools: string[];
  /** Struct fields of type sync.Pool / *sync.Pool. */
  poolFields: string[];
  /** Library body limits found in this file (echo's BodyLimit, gin-contrib/size, chi's RequestSize, MaxBytesHandler(mux)): they cover the module. */
  bodyLimits: Framework[];
  /** Hand-written middleware that bounds the body: it covers its own package only (where it is wired cannot be seen). */
  localLimits?: Framework[];
}

export function emptySummary(): FileSummary {
  return { fns: [], pools: [], poolFields: [], bodyLimits: [], localLimits: [] };
}

/** Summaries looked up by package directory; `complete` says whether a missing name means "none". */
export interface SummaryView {
  complete: boolean;
  /** Functions of the package that holds `file`, by key. */
  fns(file: string, key: string): FnSummary[] | undefined;
  isPool(file: string, name: string, field: boolean): boolean | undefined;
  limited(file: string, fw: Framework): boolean | undefined;
}

/** Three-valued: a site, false (no), or undefined (cannot know yet). */
type Tri<T> = T | false | undefined;

const MAX_CHAIN = 12;

/** Does calling `edge` from `file` read the argument whole with no bound, following calls? */
export function sinkOf(view: SummaryView, file: string, edge: CallEdge, seen = new Set<string>()): Tri<SinkSite & { via: string[] }> {
  const id = `${file}\0${edge.callee}\0${edge.arg}`;
  if (seen.has(id) || seen.size > MAX_CHAIN) return false;
  seen.add(id);
  const fns = view.fns(file, edge.callee);
  if (!fns) return view.complete ? false : undefined;
  let unknown = false;
  let found: (SinkSite & { via: string[] }) | undefined;
  let all = fns.length > 0;
  for (const f of fns) {
    const p = f.params.find((x) => x.index === edge.arg);
    if (!p || p.handler) {
      all = false;
      continue;
    }
    let here: (SinkSite & { via: string[] }) | undefined = p.sink ? { ...p.sink, via: [f.key] } : undefined;
    if (!here) {
      for (const c of p.calls) {
        const s = sinkOf(view, f.file, c, seen);
        if (s === undefined) unknown = true;
        else if (s) {
          here = { ...s, via: [f.key, ...s.via] };
          break;
        }
      }
    }
    if (here) found ??= here;
    else all = false;
  }
  // Methods are matched by name: every method of that name must read it.
  if (found && all) return found;
  return unknown ? undefined : false;
}

/** Does calling `edge` bound the argument's body (for the caller's later reads)? */
export function boundOf(view: SummaryView, file: string, edge: CallEdge, seen = new Set<string>()): boolean | undefined {
  const id = `${file}\0${edge.callee}\0${edge.arg}`;
  if (seen.has(id) || seen.size > MAX_CHAIN) return false;
  seen.add(id);
  const fns = view.fns(file, edge.callee);
  if (!fns) return view.complete ? false : undefined;
  let unknown = false;
  for (const f of fns) {
    const p = f.params.find((x) => x.index === edge.arg);
    if (!p) continue;
    if (p.bound) return true;
    for (const c of p.calls) {
      const b = boundOf(view, f.file, c, seen);
      if (b) return true;
      if (b === undefined) unknown = true;
    }
  }
  return unknown ? undefined : false;
}

/** `helper` (in api/util.go:14) for a message. */
function describeVia(s: SinkSite & { via: string[] }): string {
  const chain = s.via.map((k) => `\`${k.replace(/^\./, "")}\``).join(" → ");
  return `${chain} reads it with ${s.what} (${s.file}:${s.line})`;
}

/**
 * Decide the conditions of pending findings that the view can decide; keep the others pending
 * (only when the view is not complete). The result has no `requires` left when `view.complete`.
 */
export function settle(pending: PendingFinding[], view: SummaryView): PendingFinding[] {
  const out: PendingFinding[] = [];
  for (const p of pending) {
    const req = p.requires;
    if (!req) {
      out.push(p);
      continue;
    }
    let open = false;
    const rest: Requires = {};
    let message = p.message;
    if (req.pool) {
      const v = view.isPool(p.file, req.pool.name, req.pool.field);
      if (v === false) continue;
      if (v === undefined) {
        open = true;
        rest.pool = req.pool;
      }
    }
    if (req.unlessLimited) {
      const v = view.limited(p.file, req.unlessLimited);
      if (v) continue;
      if (v === undefined) {
        open = true;
        rest.unlessLimited = req.unlessLimited;
      }
    }
    if (req.unlessBound?.length) {
      let drop = false;
      const left: CallEdge[] = [];
      for (const e of req.unlessBound) {
        const b = boundOf(view, p.file, e);
        if (b) drop = true;
        else if (b === undefined) left.push(e);
      }
      if (drop) continue;
      if (left.length) {
        open = true;
        rest.unlessBound = left;
      }
    }
    if (req.sink) {
      const s = sinkOf(view, p.file, req.sink);
      if (s === false) continue;
      if (s === undefined) {
        open = true;
        rest.sink = req.sink;
      } else {
        message = message.replace("{via}", describeVia(s));
      }
    }
    const { requires: _, ...f } = p;
    out.push(open ? { ...f, message, requires: rest } : { ...f, message });
  }
  return out;
}

/** The directory of a path ("" at the root). */
function dirOfPath(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? "" : p.slice(0, i);
}

/**
 * A view over many files' summaries: functions by package directory, and qualified keys
 * (`import/path.Name`) through `dirsOf` (the module map). Complete: what is not there is not a sink.
 */
export function packageView(files: { path: string; summary?: FileSummary }[], dirsOf: (importPath: string) => string[]): SummaryView {
  const byDir = new Map<string, Map<string, FnSummary[]>>();
  const pools = new Map<string, Set<string>>();
  const limits = new Set<string>();
  for (const f of files) {
    const s = f.summary;
    if (!s) continue;
    const dir = dirOfPath(f.path);
    let m = byDir.get(dir);
    if (!m) byDir.set(dir, (m = new Map()));
    for (const fn of s.fns) {
      let list = m.get(fn.key);
      if (!list) m.set(fn.key, (list = []));
      list.push(fn);
    }
    let ps = pools.get(dir);
    if (!ps) pools.set(dir, (ps = new Set()));
    for (const n of s.pools) ps.add(n);
    for (const n of s.poolFields) ps.add(`.${n}`);
    for (const l of s.bodyLimits) limits.add(l);
    for (const l of s.localLimits ?? []) limits.add(`${dir}\0${l}`);
  }
  return {
    complete: true,
    fns(file, key) {
      const dot = key.lastIndexOf(".");
      if (dot > 0) {
        const importPath = key.slice(0, dot);
        const name = key.slice(dot + 1);
        for (const d of dirsOf(importPath)) {
          const got = byDir.get(d)?.get(name);
          if (got) return got;
        }
        return undefined;
      }
      return byDir.get(dirOfPath(file))?.get(key);
    },
    isPool(file, name, field) {
      return pools.get(dirOfPath(file))?.has(field ? `.${name}` : name) ?? false;
    },
    limited(file, fw) {
      return limits.has(fw) || limits.has(`${dirOfPath(file)}\0${fw}`);
    },
  };
}

/** A view over one file alone; names it does not declare stay undecided. */
export function fileView(path: string, summary: FileSummary): SummaryView {
  const inner = packageView([{ path, summary }], () => []);
  return {
    complete: false,
    fns: (file, key) => (key.lastIndexOf(".") > 0 ? undefined : inner.fns(file, key)),
    isPool: (file, name, field) => (inner.isPool(file, name, field) ? true : undefined),
    limited: (file, fw) => (inner.limited(file, fw) ? true : undefined),
  };
}
