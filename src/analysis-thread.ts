// Runs a whole review (src/pipeline.ts: analyse base and head, diff, rules) in a worker thread, with
// a memory budget (the thread's V8 heap limit) and a wall-clock budget. The worker's event loop stays
// free for BullMQ's lock renewal and everything else, whatever the PR holds; a review that overruns
// either budget ends with a ReviewLimitError the job runner reports on the check run.
import { Worker } from "node:worker_threads";
import { wantsFile } from "./analysis/index.ts";
import type { Snapshot } from "./analysis/model.ts";
import type { Review, ReviewOptions } from "./pipeline.ts";
import { defaultThreads, DEFAULT_PARSE_TIMEOUT_MS } from "./parse-pool.ts";
import { ReviewLimitError } from "./review/limits.ts";
import type { PackageTarget } from "./analysis/buildlist.ts";
import type { FileDecls } from "./analysis/parse.ts";
import type { LoadedPackage, ModuleSource } from "./modules/loader.ts";

/** MEMCHECK_JOB_MEMORY_MB: the V8 heap one review may use (its thread's old generation). */
export const DEFAULT_JOB_MEMORY_MB = 1024;
/** MEMCHECK_JOB_SECONDS: wall-clock time one review (base + head analysis, diff, rules) may take. */
export const DEFAULT_JOB_SECONDS = 180;
/**
 * MEMCHECK_WORKER_MEMORY_MB: the RSS cap of the whole worker process (every thread: V8 heaps,
 * tree-sitter's WASM memory, buffers). A thread's heap limit does not cover WASM memory nor the
 * other reviews in flight, so the process watches its own RSS and stops the newest review above it.
 */
export const DEFAULT_WORKER_MEMORY_MB = 2048;
/** How often the RSS cap is checked while a review runs. */
const RSS_CHECK_MS = 200;
/** Above the cap, a review is stopped only if the process grew at least this much while it ran (more
 * than booting a fresh analysis thread with its parser costs). */
const RSS_GROWTH_TO_BLAME_MB = 256;

export interface AnalysisBudget {
  memoryMb: number;
  seconds: number;
  /** The worker process's RSS cap in MB (0: none). */
  workerMemoryMb: number;
}

export function budgetFromEnv(env: NodeJS.ProcessEnv = process.env): AnalysisBudget {
  const num = (v: string | undefined, d: number, min = 1) => {
    const n = Number(v);
    return v && Number.isFinite(n) && n >= min ? n : d;
  };
  return {
    memoryMb: num(env.MEMCHECK_JOB_MEMORY_MB, DEFAULT_JOB_MEMORY_MB),
    seconds: num(env.MEMCHECK_JOB_SECONDS, DEFAULT_JOB_SECONDS),
    workerMemoryMb: num(env.MEMCHECK_WORKER_MEMORY_MB, DEFAULT_WORKER_MEMORY_MB, 0),
  };
}

/** A snapshot's files, read on the main thread (I/O stays here) and sent as plain strings. */
export interface SnapshotFiles {
  label: string;
  files: string[];
  texts: string[];
  hashes: (string | undefined)[];
  /** Files that could not be read, with the reason (the engine reports them as diagnostics). */
  failed: [string, string][];
}

/** What crosses to the thread: everything in ReviewOptions that is plain data. */
export type ThreadReviewOptions = Omit<ReviewOptions, "cache" | "pool" | "onProgress" | "threads" | "memo">;

export interface ThreadRequest {
  base: SnapshotFiles;
  head: SnapshotFiles;
  options: ThreadReviewOptions;
  parseThreads: number;
  parseTimeoutMs: number;
  cacheEntries: number;
  /** Resolve other modules' packages: the thread asks the main thread for them (I/O stays there). */
  modules?: { modFlag?: string };
}

export type ThreadReply = { ok: true; result: Review } | { ok: false; message: string; stack?: string };

/** The thread asks for one package of another module, or hands parsed declarations to cache. */
export type ModuleRequest =
  | { kind: "module-load"; id: number; target: PackageTarget; goSum: [string, string][] }
  | { kind: "module-store"; key: string; decls: FileDecls[] };
export type ModuleReply =
  | { kind: "module-loaded"; id: number; ok: true; loaded: LoadedPackage }
  | { kind: "module-loaded"; id: number; ok: false; message: string };

/** Files besides .go and go.mod that module resolution reads at the root. */
export const MODULE_FILES = ["go.sum", "go.work", "go.work.sum", "vendor/modules.txt"];

const READ_CONCURRENCY = 16;

/** Read every file the engine would read (Go files these options select, and go.mod files). */
export async function readSnapshot(snapshot: Snapshot, options: ThreadReviewOptions): Promise<SnapshotFiles> {
  const all = (await snapshot.paths()).filter(
    (p) => wantsFile(p, options) || p === "go.mod" || p.endsWith("/go.mod") || p.endsWith("/go.sum") || MODULE_FILES.includes(p),
  );
  const out: SnapshotFiles = { label: snapshot.label, files: [], texts: [], hashes: [], failed: [] };
  let next = 0;
  await Promise.all(
    Array.from({ length: READ_CONCURRENCY }, async () => {
      while (next < all.length) {
        const p = all[next++];
        try {
          const text = await snapshot.read(p);
          out.files.push(p);
          out.texts.push(text);
          out.hashes.push(snapshot.hash?.(p));
        } catch (err) {
          out.failed.push([p, (err as Error).message]);
        }
      }
    }),
  );
  return out;
}

const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

function sizeOf(s: SnapshotFiles): { files: number; bytes: number } {
  return { files: s.files.length, bytes: s.texts.reduce((n, t) => n + t.length, 0) };
}

function limitError(what: string, base: SnapshotFiles, head: SnapshotFiles): ReviewLimitError {
  const b = sizeOf(base);
  const h = sizeOf(head);
  return new ReviewLimitError(
    "memcheck could not finish: this PR is too large to analyse",
    `This PR's Go code is too large to analyse within the limits: ${what}. ` +
      `It analysed ${h.files} Go files (${mb(h.bytes)} MB) at the head and ${b.files} (${mb(b.bytes)} MB) at the base.\n\n` +
      "What can help: split the change into smaller pull requests, or skip generated and vendored code with " +
      "`ignore` (and large files with `limits.maxFileBytes`) in `.github/memcheck.yml`. " +
      "The operator of this memcheck installation can raise `MEMCHECK_JOB_SECONDS`, `MEMCHECK_JOB_MEMORY_MB` and `MEMCHECK_WORKER_MEMORY_MB`.",
  );
}

export interface AnalysisThreadsOptions {
  budget?: Partial<AnalysisBudget>;
  /** Parse threads inside each analysis thread (default: the number of cores, at most 8). */
  parseThreads?: number;
  parseTimeoutMs?: number;
  /** Parsed files cached per analysis thread (MEMCHECK_PARSE_CACHE_ENTRIES). */
  cacheEntries?: number;
  /** Above the RSS cap, how much the process must have grown during a review to stop it (default 256 MB). */
  growthToBlameMb?: number;
}

/**
 * Analysis threads, one per review in flight. An idle thread is reused (its parse cache stays warm);
 * one that overran a budget is terminated and replaced by a fresh one on the next review.
 */
export class AnalysisThreads {
  readonly budget: AnalysisBudget;
  private idle: Worker[] = [];
  private all = new Set<Worker>();
  private closed = false;
  /** Reviews in flight, newest last: the RSS watchdog stops the newest first. */
  private running = new Map<Worker, { stop: (why: string) => void; rssAtStart: number }>();
  private watchdog?: NodeJS.Timeout;
  private calmUntil = 0;

  constructor(private o: AnalysisThreadsOptions = {}) {
    this.budget = { ...budgetFromEnv(), ...o.budget };
  }

  async review(
    base: Snapshot,
    head: Snapshot,
    options: ThreadReviewOptions,
    modules?: ModuleSource & { modFlag?: string },
  ): Promise<Review> {
    if (this.closed) throw new Error("analysis threads are closed");
    const [baseFiles, headFiles] = await Promise.all([readSnapshot(base, options), readSnapshot(head, options)]);
    const request: ThreadRequest = {
      base: baseFiles,
      head: headFiles,
      options,
      parseThreads: this.o.parseThreads ?? defaultThreads(),
      parseTimeoutMs: this.o.parseTimeoutMs ?? DEFAULT_PARSE_TIMEOUT_MS,
      cacheEntries: this.o.cacheEntries ?? 20_000,
      ...(modules ? { modules: { modFlag: modules.modFlag } } : {}),
    };
    const worker = this.idle.pop() ?? this.spawn();
    worker.ref();
    return new Promise<Review>((resolve, reject) => {
      let settled = false;
      const finish = (keep: boolean, outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.running.delete(worker);
        if (this.running.size === 0) this.stopWatchdog();
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
        if (keep && !this.closed) {
          worker.unref();
          this.idle.push(worker);
        } else {
          this.all.delete(worker);
          void worker.terminate();
        }
        outcome();
      };
      const onMessage = (reply: ThreadReply | ModuleRequest) => {
        if ("kind" in reply) {
          if (reply.kind === "module-store") modules?.storeDecls?.(reply.key, reply.decls);
          else if (reply.kind === "module-load") {
            const answer = (r: ModuleReply) => {
              if (!settled) worker.postMessage(r);
            };
            if (!modules) answer({ kind: "module-loaded", id: reply.id, ok: false, message: "module resolution is off" });
            else
              modules.loadPackage(reply.target, new Map(reply.goSum)).then(
                (loaded) => answer({ kind: "module-loaded", id: reply.id, ok: true, loaded }),
                (err: Error) => answer({ kind: "module-loaded", id: reply.id, ok: false, message: err?.message ?? String(err) }),
              );
          }
          return;
        }
        finish(true, () => {
          if (reply.ok) resolve(reply.result);
          else reject(Object.assign(new Error(reply.message), { stack: reply.stack ?? reply.message }));
        });
      };
      const onError = (err: Error & { code?: string }) =>
        finish(false, () =>
          reject(
            err.code === "ERR_WORKER_OUT_OF_MEMORY"
              ? limitError(`the analysis needed more than its memory budget of ${this.budget.memoryMb} MB`, baseFiles, headFiles)
              : err,
          ),
        );
      const onExit = (code: number) => finish(false, () => reject(new Error(`the analysis thread exited (${code})`)));
      const timer = setTimeout(
        () =>
          finish(false, () =>
            reject(limitError(`the analysis did not finish within its time budget of ${this.budget.seconds} s`, baseFiles, headFiles)),
          ),
        this.budget.seconds * 1000,
      );
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
      this.running.set(worker, {
        stop: (why) => finish(false, () => reject(limitError(why, baseFiles, headFiles))),
        rssAtStart: process.memoryUsage.rss(),
      });
      this.startWatchdog();
      worker.postMessage(request);
    });
  }

  /**
   * Boot one analysis thread (its modules, a parse thread, the grammar) and run a tiny review on it,
   * so the first real review does not pay for the start-up. Best effort: a failure only logs nothing.
   */
  /** Analysis threads booted and waiting for a review. */
  get idleThreads(): number {
    return this.idle.length;
  }

  async warm(): Promise<void> {
    const text = "package warm\n\ntype Warm struct {\n\tOn   bool\n\tSize int64\n\tName string\n}\n";
    const files = new Map([
      ["go.mod", "module example.com/warm\n\ngo 1.21\n"],
      ["warm.go", text],
    ]);
    const snap = (label: string): Snapshot => ({ label, paths: async () => [...files.keys()], read: async (p) => files.get(p) ?? "" });
    await this.review(snap("base"), snap("head"), { archs: ["amd64"], rules: true }).catch(() => undefined);
  }

  /**
   * While reviews run, check the process's RSS; above the cap, stop the newest review (its thread's
   * heap and its parse threads' WASM memory go with it) and give the memory a moment to return.
   */
  private startWatchdog(): void {
    const capMb = this.budget.workerMemoryMb;
    if (!capMb || this.watchdog) return;
    this.watchdog = setInterval(() => {
      const rss = process.memoryUsage.rss();
      if (Date.now() < this.calmUntil || rss <= capMb * 2 ** 20) return;
      const newest = [...this.running.values()].at(-1);
      // Memory an earlier review left behind (not yet returned to the system) is not this one's
      // doing: stop a review only when the process grew while it ran.
      if (!newest || rss - newest.rssAtStart < (this.o.growthToBlameMb ?? RSS_GROWTH_TO_BLAME_MB) * 2 ** 20) return;
      this.calmUntil = Date.now() + 1000;
      newest.stop(
        `the worker process reached its memory cap of ${capMb} MB (MEMCHECK_WORKER_MEMORY_MB) while this review ran` +
          (this.running.size > 1 ? ` beside ${this.running.size - 1} other review(s); re-running the check may succeed` : ""),
      );
    }, RSS_CHECK_MS);
    this.watchdog.unref();
  }

  private stopWatchdog(): void {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopWatchdog();
    const all = [...this.all];
    this.all.clear();
    this.idle = [];
    await Promise.all(all.map((w) => w.terminate()));
  }

  private spawn(): Worker {
    const memory = Math.max(16, Math.round(this.budget.memoryMb));
    const w = new Worker(new URL("./analysis-thread-boot.mjs", import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: memory, maxYoungGenerationSizeMb: Math.min(64, Math.max(4, Math.round(memory / 16))) },
    });
    this.all.add(w);
    // An idle thread that dies must not take the process with it (an unhandled 'error' would).
    w.on("error", () => {});
    w.on("exit", () => {
      this.all.delete(w);
      this.idle = this.idle.filter((x) => x !== w);
    });
    return w;
  }
}
