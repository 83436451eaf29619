// Parses files in worker threads, each task under a wall-clock budget. Tree-sitter's error recovery
// can be exponential on hostile input, inside one WASM call that nothing in the same thread can
// interrupt; a worker past its budget is terminated, the file is reported as skipped, and a fresh
// worker carries on. Used for large trees (speed) and for untrusted code (the app, `diff`, `check`).
import { Worker } from "node:worker_threads";
import os from "node:os";
import type { AnalyzeOptions, SourceFile } from "./analysis/model.ts";
import type { FileDecls } from "./analysis/parse.ts";
import { skippedDecls } from "./analysis/index.ts";

/** Below this much text, one thread in-process is faster than starting workers. */
export const PARALLEL_MIN_BYTES = 4 * 1024 * 1024;
/** Files are sent in batches up to this size; a batch that times out is retried file by file. */
const BATCH_BYTES = 256 * 1024;
export const DEFAULT_PARSE_TIMEOUT_MS = 10_000;
/** A worker that has not loaded its grammar by then is treated as failed. */
const BOOT_TIMEOUT_MS = 120_000;

export function defaultThreads(): number {
  return Math.max(1, Math.min(os.availableParallelism?.() ?? os.cpus().length, 8));
}

/** The budget for a task: a fixed allowance plus 5 ms per KB (a 200 KB/s floor, far below normal). */
function budgetMs(base: number, files: SourceFile[]): number {
  return base + files.reduce((n, f) => n + f.text.length, 0) / 200;
}

interface Task {
  files: SourceFile[];
  done: (decls: FileDecls[]) => void;
}

export class ParsePool {
  private workers = new Set<Worker>();
  private idle: Worker[] = [];
  private queue: { task: Task; options: AnalyzeOptions }[] = [];
  private closed = false;
  private ready = new WeakSet<Worker>();

  constructor(
    readonly threads = defaultThreads(),
    readonly timeoutMs = DEFAULT_PARSE_TIMEOUT_MS,
  ) {}

  /** Parse files; results come back in input order. Never rejects for a file's sake. */
  async parse(files: SourceFile[], options: AnalyzeOptions, onProgress?: (done: number, total: number) => void): Promise<FileDecls[]> {
    if (this.closed) throw new Error("parse pool is closed");
    const results: FileDecls[][] = [];
    let done = 0;
    const tasks: Promise<void>[] = [];
    let batch: SourceFile[] = [];
    let bytes = 0;
    const flush = () => {
      if (!batch.length) return;
      const index = results.length;
      results.push([]);
      const chunk = batch;
      tasks.push(
        new Promise<void>((resolve) => {
          this.submit(
            {
              files: chunk,
              done: (decls) => {
                results[index] = decls;
                done += decls.length;
                onProgress?.(done, files.length);
                resolve();
              },
            },
            options,
          );
        }),
      );
      batch = [];
      bytes = 0;
    };
    for (const f of files) {
      batch.push(f);
      bytes += f.text.length;
      if (bytes >= BATCH_BYTES) flush();
    }
    flush();
    await Promise.all(tasks);
    return results.flat();
  }

  /** Start every worker now, so their start-up (tsx, the grammar) overlaps with reading files. */
  warm(): this {
    while (!this.closed && this.workers.size < this.threads) {
      const w = this.spawn();
      w.unref();
      this.idle.push(w);
    }
    return this;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.workers];
    this.workers.clear();
    this.idle = [];
    await Promise.all(all.map((w) => w.terminate()));
  }

  private submit(task: Task, options: AnalyzeOptions): void {
    this.queue.push({ task, options });
    this.pump();
  }

  private pump(): void {
    while (this.queue.length) {
      let worker = this.idle.pop();
      if (!worker && this.workers.size < this.threads) worker = this.spawn();
      if (!worker) return;
      const { task, options } = this.queue.shift()!;
      this.run(worker, task, options);
    }
  }

  private spawn(): Worker {
    const w = new Worker(new URL("./parse-worker-boot.mjs", import.meta.url));
    this.workers.add(w);
    // A file's budget starts when its worker can parse: booting (tsx, the grammar) on a loaded
    // machine can take seconds, which must not make a small file look hostile.
    const onReady = (m: { ready?: boolean }) => {
      if (!m?.ready) return;
      this.ready.add(w);
      w.off("message", onReady);
      w.emit("memcheck:ready");
    };
    w.on("message", onReady);
    return w;
  }

  private retire(w: Worker): void {
    this.workers.delete(w);
    this.idle = this.idle.filter((x) => x !== w);
    void w.terminate();
  }

  private run(w: Worker, task: Task, options: AnalyzeOptions): void {
    w.ref();
    let settled = false;
    const finish = (decls: FileDecls[] | undefined, why?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      w.off("memcheck:ready", start);
      w.off("message", onMessage);
      w.off("error", onError);
      w.off("exit", onExit);
      if (decls) {
        w.unref();
        this.idle.push(w);
        task.done(decls);
      } else {
        this.retire(w);
        if (task.files.length > 1) {
          // Find the culprit: every file of the batch gets its own task and budget.
          let left = task.files.length;
          const out: FileDecls[] = new Array(task.files.length);
          task.files.forEach((f, i) =>
            this.queue.push({
              task: {
                files: [f],
                done: ([d]) => {
                  out[i] = d;
                  if (--left === 0) task.done(out);
                },
              },
              options,
            }),
          );
        } else {
          task.done([skippedDecls(task.files[0], `skipped: ${why}`)]);
        }
      }
      this.pump();
    };
    const onMessage = (msg: { decls?: FileDecls[]; ready?: boolean }) => {
      if (msg.decls) finish(msg.decls);
    };
    const onError = (err: Error) => finish(undefined, `the parser failed (${err.message})`);
    const onExit = (code: number) => finish(undefined, `the parser exited (${code})`);
    const limit = budgetMs(this.timeoutMs, task.files);
    let timer = setTimeout(() => finish(undefined, `the parser did not start within ${BOOT_TIMEOUT_MS / 1000} s`), BOOT_TIMEOUT_MS);
    const start = () => {
      w.off("memcheck:ready", start);
      if (settled) return;
      clearTimeout(timer);
      timer = setTimeout(() => finish(undefined, `parsing took over ${Math.round(limit / 1000)} s`), limit);
      w.postMessage({ files: task.files, options });
    };
    w.on("message", onMessage);
    w.on("error", onError);
    w.on("exit", onExit);
    if (this.ready.has(w)) start();
    else w.on("memcheck:ready", start);
  }
}
