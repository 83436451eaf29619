// The one seam the CLI and the worker share: snapshot in, Analysis out.
import { createHash } from "node:crypto";
import { analyzeParsed, moduleOf, parseSource, wantsFile } from "./analysis/index.ts";
import { loadGoGrammar } from "./analysis/grammar.ts";
import type { FileDecls } from "./analysis/parse.ts";
import type { Module } from "./analysis/packages.ts";
import type { Analysis, AnalyzeOptions, Diagnostic, Snapshot, SourceFile } from "./analysis/model.ts";
import { PARALLEL_MIN_BYTES, ParsePool, defaultThreads } from "./parse-pool.ts";
import { hazardCollector } from "./hazards.ts";

export interface EngineOptions extends AnalyzeOptions {
  /** Worker threads for parsing; 1 parses inline. Default: the number of cores. */
  threads?: number;
  /** Parsed declarations by content, shared across runs (the base of a PR is shared by its PRs). */
  cache?: ParseCache;
  /**
   * Parse in this pool of worker threads, whatever the size: each file then has a time budget, which
   * untrusted code needs (tree-sitter can be exponential on hostile input). Without a pool, large
   * trees get a temporary one and small ones parse in-process.
   */
  pool?: ParsePool;
  /** Called as files are parsed (the CLI shows it on a TTY). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Whole analyses by the content of every file they read, shared across runs: a PR's base (the
   * same commit for every PR on the branch) is laid out once. Used only when every file has a hash.
   */
  memo?: AnalysisMemo;
}

/**
 * A small LRU of whole analyses, keyed by the options and the (path, blob SHA) of every file read.
 * The analyses are shared, never copied: callers must not change them (the diff and the reporters
 * only read them).
 */
export class AnalysisMemo {
  private entries = new Map<string, Analysis>();
  hits = 0;
  constructor(private maxEntries = 2) {}

  get(key: string): Analysis | undefined {
    const v = this.entries.get(key);
    if (v) {
      this.entries.delete(key);
      this.entries.set(key, v);
      this.hits++;
    }
    return v;
  }

  set(key: string, v: Analysis): void {
    this.entries.set(key, v);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  clear(): void {
    this.entries.clear();
  }
}

/** The memo key of a snapshot for these options, or undefined when a file has no content hash. */
function memoKey(snapshot: Snapshot, files: string[], o: AnalyzeOptions): string | undefined {
  const h = createHash("sha1").update(JSON.stringify([o.archs ?? [], o.goos ?? "", !!o.tests, !!o.rules, o.maxFileBytes ?? 0]));
  for (const p of files) {
    const sha = snapshot.hash?.(p);
    if (!sha) return undefined;
    h.update(`\0${p}\0${sha}`);
  }
  return h.digest("hex");
}

/** A bounded LRU of parsed files keyed by content hash and path. */
export class ParseCache {
  private entries = new Map<string, FileDecls>();
  hits = 0;
  misses = 0;
  constructor(private maxEntries = 20_000) {}

  get(key: string): FileDecls | undefined {
    const v = this.entries.get(key);
    if (v) {
      this.entries.delete(key);
      this.entries.set(key, v);
      this.hits++;
    } else {
      this.misses++;
    }
    return v;
  }

  clear(): void {
    this.entries.clear();
  }

  set(key: string, v: FileDecls): void {
    this.entries.set(key, v);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}

const READ_CONCURRENCY = 16;
/** Read files go to the parse pool in chunks of about this much text. */
const PARSE_CHUNK_BYTES = 1024 * 1024;

export async function analyzeSnapshot(snapshot: Snapshot, options: EngineOptions = {}): Promise<Analysis> {
  const started = performance.now();
  const paths = await snapshot.paths();
  const diagnostics: Diagnostic[] = [];
  const modules: Module[] = [];
  const goFiles = paths.filter((p) => wantsFile(p, options));
  const goMods = paths.filter((p) => p === "go.mod" || p.endsWith("/go.mod"));
  const layoutOptions: AnalyzeOptions = {
    archs: options.archs,
    goos: options.goos,
    tests: options.tests,
    rules: options.rules,
    maxFileBytes: options.maxFileBytes,
  };
  const memoId = options.memo ? memoKey(snapshot, [...goMods, ...goFiles], layoutOptions) : undefined;
  const remembered = memoId ? options.memo?.get(memoId) : undefined;
  if (remembered) return { ...remembered, stats: { ...remembered.stats, parseMs: 0, layoutMs: 0 } };
  const cacheKey = (p: string, text: string) =>
    `${snapshot.hash?.(p) ?? createHash("sha1").update(text).digest("hex")}:${p}:${options.rules ? 1 : 0}`;

  const indexOf = new Map(goFiles.map((p, i) => [p, i]));
  const parsed: (FileDecls | undefined)[] = new Array(goFiles.length);
  const todo: { i: number; file: SourceFile; key: string }[] = [];
  const store = (t: { i: number; key: string }, d: FileDecls) => {
    parsed[t.i] = d;
    options.cache?.set(t.key, d);
  };

  // With a pool, files go to the workers in chunks as they are read, so reading overlaps parsing.
  const pool = options.pool;
  const parsing: Promise<void>[] = [];
  let chunk: typeof todo = [];
  let chunkBytes = 0;
  let parsedCount = 0;
  const flush = () => {
    if (!pool || chunk.length === 0) return;
    const c = chunk;
    chunk = [];
    chunkBytes = 0;
    parsing.push(
      pool
        .parse(
          c.map((t) => t.file),
          layoutOptions,
        )
        .then((ds) => {
          ds.forEach((d, n) => store(c[n], d));
          parsedCount += ds.length;
          options.onProgress?.(parsedCount, goFiles.length);
        }),
    );
  };

  const all = [...goMods, ...goFiles];
  let next = 0;
  await Promise.all(
    Array.from({ length: READ_CONCURRENCY }, async () => {
      while (next < all.length) {
        const p = all[next++];
        let text: string;
        try {
          text = await snapshot.read(p);
        } catch (err) {
          diagnostics.push({ file: p, message: `could not read: ${(err as Error).message}` });
          continue;
        }
        const i = indexOf.get(p);
        if (i === undefined) {
          modules.push(...moduleOf({ path: p, text }));
          continue;
        }
        const key = cacheKey(p, text);
        const hit = options.cache?.get(key);
        if (hit) {
          parsed[i] = hit;
          continue;
        }
        const t = { i, file: { path: p, text }, key };
        if (!pool) {
          todo.push(t);
          continue;
        }
        chunk.push(t);
        chunkBytes += text.length;
        if (chunkBytes >= PARSE_CHUNK_BYTES) flush();
      }
    }),
  );
  flush();
  await Promise.all(parsing);

  if (!pool && todo.length) {
    const bytes = todo.reduce((n, t) => n + t.file.text.length, 0);
    const threads = options.threads ?? defaultThreads();
    let fresh: FileDecls[];
    if (threads > 1 && bytes >= PARALLEL_MIN_BYTES) {
      const temporary = new ParsePool(threads);
      try {
        fresh = await temporary.parse(
          todo.map((t) => t.file),
          layoutOptions,
          options.onProgress,
        );
      } finally {
        await temporary.close();
      }
    } else {
      await loadGoGrammar();
      const hazards = options.rules ? await hazardCollector() : undefined;
      fresh = [];
      for (const t of todo) {
        fresh.push(parseSource(t.file, layoutOptions, hazards));
        options.onProgress?.(fresh.length, todo.length);
      }
    }
    todo.forEach((t, n) => store(t, fresh[n]));
  }
  const parseMs = performance.now() - started;
  const analysis = analyzeParsed(
    parsed.filter((d): d is FileDecls => !!d),
    modules,
    layoutOptions,
  );
  analysis.diagnostics.unshift(...diagnostics);
  analysis.stats.parseMs = Math.round(parseMs);
  if (memoId && diagnostics.length === 0) options.memo?.set(memoId, analysis);
  return analysis;
}
