// The analysis thread: one whole review (analyse base and head, diff, rules) per request, away from
// the worker's event loop. It keeps its own parse cache and parse pool across jobs; the main thread
// terminates it when a job overruns its budget (see analysis-thread.ts).
import { parentPort } from "node:worker_threads";
import v8 from "node:v8";
import { review } from "./pipeline.ts";
import { AnalysisMemo, ParseCache } from "./engine.ts";
import { ParsePool } from "./parse-pool.ts";
import type { Snapshot } from "./analysis/model.ts";
import type { ModuleReply, ModuleRequest, SnapshotFiles, ThreadRequest, ThreadReply } from "./analysis-thread.ts";
import type { PackageTarget } from "./analysis/buildlist.ts";
import type { FileDecls } from "./analysis/parse.ts";
import { ModuleFetchError, type LoadedPackage, type ModuleSource } from "./modules/loader.ts";

let nextId = 0;
const waiting = new Map<number, { resolve: (l: LoadedPackage) => void; reject: (e: Error) => void }>();

/** Packages of other modules come from the main thread, which does the fetching and caching. */
const threadModules: ModuleSource = {
  loadPackage(target: PackageTarget, goSum: Map<string, string>): Promise<LoadedPackage> {
    const id = ++nextId;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      parentPort!.postMessage({ kind: "module-load", id, target, goSum: [...goSum] } satisfies ModuleRequest);
    });
  },
  storeDecls(key: string, decls: FileDecls[]): void {
    parentPort!.postMessage({ kind: "module-store", key, decls } satisfies ModuleRequest);
  },
};

let cache: ParseCache | undefined;
let pool: ParsePool | undefined;
/** The last base analyses (a branch's base is the same commit for all its PRs): laid out once. */
const memo = new AnalysisMemo(4);

function memorySnapshot(s: SnapshotFiles): Snapshot {
  const texts = new Map<string, string>();
  const hashes = new Map<string, string>();
  const failed = new Map<string, string>();
  s.files.forEach((p, i) => {
    texts.set(p, s.texts[i]);
    const h = s.hashes[i];
    if (h) hashes.set(p, h);
  });
  s.failed.forEach(([p, why]) => failed.set(p, why));
  const paths = [...s.files, ...failed.keys()].sort();
  return {
    label: s.label,
    paths: async () => paths,
    read: async (p) => {
      const t = texts.get(p);
      if (t !== undefined) return t;
      throw new Error(failed.get(p) ?? `no file ${p}`);
    },
    hash: (p) => hashes.get(p),
  };
}

parentPort!.on("message", async (req: ThreadRequest | ModuleReply) => {
  if ("kind" in req) {
    const w = waiting.get(req.id);
    waiting.delete(req.id);
    if (req.ok) w?.resolve(req.loaded);
    else w?.reject(new ModuleFetchError(req.message));
    return;
  }
  let reply: ThreadReply;
  try {
    cache ??= new ParseCache(req.cacheEntries);
    pool ??= new ParsePool(req.parseThreads, req.parseTimeoutMs);
    const modules = req.modules ? { source: threadModules, modFlag: req.modules.modFlag } : undefined;
    const result = await review(memorySnapshot(req.base), memorySnapshot(req.head), {
      ...req.options,
      cache,
      pool,
      memo,
      ...(modules ? { modules } : {}),
    });
    reply = { ok: true, result };
  } catch (err) {
    const e = err as Error;
    reply = { ok: false, message: e?.message ?? String(err), stack: e?.stack };
  }
  parentPort!.postMessage(reply);
  // The cache lives in this thread's heap, under the job's memory budget: never let it crowd out
  // the next job.
  const heap = v8.getHeapStatistics();
  if (heap.used_heap_size > heap.heap_size_limit / 3) {
    cache?.clear();
    memo.clear();
  }
});
