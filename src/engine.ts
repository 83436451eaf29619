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

  set(key: string, v: FileDecls): void {
    this.entries.set(key, v);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }
}

const READ_CONCURRENCY = 16;

export async function analyzeSnapshot(snapshot: Snapshot, options: EngineOptions = {}): Promise<Analysis> {
  const started = performance.now();
  const paths = await snapshot.paths();
  const diagnostics: Diagnostic[] = [];
  const modules: Module[] = [];
  const goFiles = paths.filter((p) => wantsFile(p, options));
  const goMods = paths.filter((p) => p === "go.mod" || p.endsWith("/go.mod"));

  const texts = new Map<string, string>();
  const all = [...goMods, ...goFiles];
  let index = 0;
  await Promise.all(
    Array.from({ length: READ_CONCURRENCY }, async () => {
      while (index < all.length) {
        const p = all[index++];
        try {
          texts.set(p, await snapshot.read(p));
        } catch (err) {
          diagnostics.push({ file: p, message: `could not read: ${(err as Error).message}` });
        }
      }
    }),
  );
  for (const p of goMods) {
    const text = texts.get(p);
    if (text !== undefined) modules.push(...moduleOf({ path: p, text }));
  }

  const cacheKey = (p: string, text: string) =>
    `${snapshot.hash?.(p) ?? createHash("sha1").update(text).digest("hex")}:${p}:${options.rules ? 1 : 0}`;
  const parsed: (FileDecls | undefined)[] = [];
  const todo: { i: number; file: SourceFile; key: string }[] = [];
  goFiles.forEach((p) => {
    const text = texts.get(p);
    if (text === undefined) return;
    const key = cacheKey(p, text);
    const hit = options.cache?.get(key);
    parsed.push(hit);
    if (!hit) todo.push({ i: parsed.length - 1, file: { path: p, text }, key });
  });

  const bytes = todo.reduce((n, t) => n + t.file.text.length, 0);
  const threads = options.threads ?? defaultThreads();
  const layoutOptions: AnalyzeOptions = { archs: options.archs, goos: options.goos, tests: options.tests, rules: options.rules, maxFileBytes: options.maxFileBytes };
  let fresh: FileDecls[];
  if (options.pool) {
    fresh = await options.pool.parse(todo.map((t) => t.file), layoutOptions, options.onProgress);
  } else if (threads > 1 && bytes >= PARALLEL_MIN_BYTES) {
    const pool = new ParsePool(threads);
    try {
      fresh = await pool.parse(todo.map((t) => t.file), layoutOptions, options.onProgress);
    } finally {
      await pool.close();
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
  todo.forEach((t, n) => {
    parsed[t.i] = fresh[n];
    options.cache?.set(t.key, fresh[n]);
  });
  const parseMs = performance.now() - started;
  const analysis = analyzeParsed(parsed.filter((d): d is FileDecls => !!d), modules, layoutOptions);
  analysis.diagnostics.unshift(...diagnostics);
  analysis.stats.parseMs = Math.round(parseMs);
  return analysis;
}
