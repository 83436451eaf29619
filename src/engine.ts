// The one seam the CLI and the worker share: snapshot in, Analysis out.
import { createHash } from "node:crypto";
import path from "node:path/posix";
import { analyzeParsed, moduleOf, parseSource, wantsFile, type ExternalPackages } from "./analysis/index.ts";
import { BuildList, type PackageTarget } from "./analysis/buildlist.ts";
import { dirOf, parseGoSum, parseGoWork } from "./analysis/gopath.ts";
import { ModuleFetchError, type ModuleSource } from "./modules/loader.ts";
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
  /** Resolve imports of other modules (go.mod, go.work, module cache, proxy); off when absent. */
  modules?: EngineModules;
  /**
   * Whole analyses by the content of every file they read, shared across runs: a PR's base (the
   * same commit for every PR on the branch) is laid out once. Used only when every file has a hash.
   */
  memo?: AnalysisMemo;
}

/** A bounded LRU map: get() refreshes an entry and counts hits and misses; the oldest goes first. */
class Lru<V> {
  private entries = new Map<string, V>();
  hits = 0;
  misses = 0;
  constructor(private maxEntries: number) {}

  get(key: string): V | undefined {
    const v = this.entries.get(key);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, v);
    this.hits++;
    return v;
  }

  set(key: string, v: V): void {
    this.entries.set(key, v);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * A small LRU of whole analyses, keyed by the options and the (path, blob SHA) of every file read.
 * The analyses are shared, never copied: callers must not change them (the diff and the reporters
 * only read them).
 */
export class AnalysisMemo extends Lru<Analysis> {
  constructor(maxEntries = 2) {
    super(maxEntries);
  }
}

/** The memo key of a snapshot for these options, or undefined when a file has no content hash. */
function memoKey(snapshot: Snapshot, files: string[], o: AnalyzeOptions): string | undefined {
  const h = createHash("sha1").update(JSON.stringify([o.archs ?? [], o.goos ?? "", !!o.tests, !!o.rules, o.maxFileBytes ?? 0, o.go ?? ""]));
  for (const p of files) {
    const sha = snapshot.hash?.(p);
    if (!sha) return undefined;
    h.update(`\0${p}\0${sha}`);
  }
  return h.digest("hex");
}

/** Module resolution for one analysis: where packages come from, and files found outside the snapshot. */
export interface EngineModules {
  source: ModuleSource;
  /** -mod= from GOFLAGS. */
  modFlag?: string;
  /** GOWORK=off: ignore go.work files. */
  noWork?: boolean;
  /** A go.work above the snapshot (its directory relative to the snapshot root, e.g. ".."). */
  goWork?: { dir: string; text: string };
  /** go.mod files of go.work modules outside the snapshot (directory relative to the root). */
  goMods?: { dir: string; text: string }[];
  /** go.sum / go.work.sum texts found outside the snapshot. */
  goSums?: string[];
}

/** Rounds of "analyse, load the packages layouts asked for" before giving up (import depth). */
const MAX_MODULE_ROUNDS = 64;
const MODULE_CONCURRENCY = 8;

/** A bounded LRU of parsed files keyed by content hash and path. */
export class ParseCache extends Lru<FileDecls> {
  constructor(maxEntries = 20_000) {
    super(maxEntries);
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
  const goModTexts: { dir: string; text: string }[] = [];
  const goFiles = paths.filter((p) => wantsFile(p, options));
  const goMods = paths.filter((p) => p === "go.mod" || p.endsWith("/go.mod"));
  const layoutOptions: AnalyzeOptions = {
    archs: options.archs,
    goos: options.goos,
    tests: options.tests,
    rules: options.rules,
    maxFileBytes: options.maxFileBytes,
    go: options.go,
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
          goModTexts.push({ dir: dirOf(p), text });
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
  const files = parsed.filter((d): d is FileDecls => !!d);
  const analysis = options.modules
    ? await analyzeWithModules(snapshot, paths, files, modules, goModTexts, layoutOptions, options.modules, options.cache)
    : analyzeParsed(files, modules, layoutOptions);
  analysis.diagnostics.unshift(...diagnostics);
  analysis.stats.parseMs = Math.round(parseMs);
  if (memoId && diagnostics.length === 0) options.memo?.set(memoId, analysis);
  return analysis;
}

async function readOptional(snapshot: Snapshot, p: string): Promise<string | undefined> {
  try {
    return await snapshot.read(p);
  } catch {
    return undefined;
  }
}

/**
 * Analyse, then load the packages of other modules that layouts asked for (and only those), and
 * analyse again, until nothing new is asked: each round follows imports one level deeper. A package
 * that cannot be had is recorded with the reason, which the struct's unresolved note carries.
 */
async function analyzeWithModules(
  snapshot: Snapshot,
  paths: string[],
  files: FileDecls[],
  modules: Module[],
  goMods: { dir: string; text: string }[],
  layoutOptions: AnalyzeOptions,
  m: EngineModules,
  cache?: ParseCache,
): Promise<Analysis> {
  const started = performance.now();
  const goWorkText = m.noWork ? undefined : await readOptional(snapshot, "go.work");
  const goWork = m.noWork ? undefined : goWorkText !== undefined ? { dir: ".", text: goWorkText } : m.goWork;
  const goSum = new Map<string, string>();
  const sums = [...(m.goSums ?? [])];
  for (const dir of [".", ...(goWork ? parseGoWork(goWork.text).use.map((u) => path.normalize(path.join(goWork.dir, u))) : [])]) {
    if (dir.startsWith("..") || dir.startsWith("/")) continue;
    const t = await readOptional(snapshot, dir === "." ? "go.sum" : `${dir}/go.sum`);
    if (t) sums.push(t);
  }
  if (goWork?.dir === ".") sums.push((await readOptional(snapshot, "go.work.sum")) ?? "");
  for (const t of sums) for (const [k, v] of parseGoSum(t)) if (!goSum.has(k)) goSum.set(k, v);
  const buildList = new BuildList({
    goMods: [...goMods, ...(m.goMods ?? [])],
    goWork,
    modulesTxt: await readOptional(snapshot, "vendor/modules.txt"),
    modFlag: m.modFlag,
  });
  const ext: ExternalPackages = {
    packages: new Map(),
    unavailable: new Map(),
    wanted: new Set(),
    beforeVendor: buildList.mode !== "vendor",
  };
  const inTree = new Set(paths);
  await loadGoGrammar();

  const parseAll = (sources: SourceFile[], key?: string): FileDecls[] =>
    sources.map((f) => {
      const k = key ? `mod:${key}:${f.path}` : undefined;
      const hit = k ? cache?.get(k) : undefined;
      if (hit) return hit;
      const d = parseSource(f, layoutOptions);
      if (k) cache?.set(k, d);
      return d;
    });

  const loadTarget = async (t: PackageTarget): Promise<FileDecls[]> => {
    const o = t.origin;
    if (o.kind === "dir" && !o.dir.startsWith("..") && !path.isAbsolute(o.dir)) {
      // A replacement or workspace module inside the snapshot: its files are already here.
      const dir = path.normalize(path.join(o.dir, t.sub));
      const inDir = [...inTree].filter((p) => p.endsWith(".go") && dirOf(p) === dir);
      if (inDir.length === 0) throw new ModuleFetchError(`no Go files in ${dir}`);
      return parseAll(await Promise.all(inDir.map(async (p) => ({ path: p, text: await snapshot.read(p) }))));
    }
    const loaded = await m.source.loadPackage(t, goSum);
    if (loaded.decls) return loaded.decls;
    const decls = parseAll(loaded.files, loaded.key);
    if (loaded.key) m.source.storeDecls?.(loaded.key, decls);
    return decls;
  };

  const loadOne = async (importPath: string): Promise<void> => {
    if (buildList.mode === "vendor") {
      ext.unavailable.set(importPath, "not in vendor/ (-mod=vendor)");
      return;
    }
    const candidates = buildList.candidates(importPath);
    if (candidates.length === 0) {
      ext.unavailable.set(importPath, "no module in go.mod provides it");
      return;
    }
    let why = "";
    for (const t of candidates) {
      try {
        ext.packages.set(importPath, await loadTarget(t));
        return;
      } catch (err) {
        if (!(err instanceof ModuleFetchError)) throw err;
        why ||= err.message;
      }
    }
    ext.unavailable.set(importPath, why);
  };

  // Intermediate rounds only discover what layouts want; the last one (nothing new wanted) is the analysis.
  ext.discoverOnly = true;
  let analysis = analyzeParsed(files, modules, layoutOptions, ext);
  let rounds = 0;
  while (ext.wanted.size > 0 && rounds < MAX_MODULE_ROUNDS) {
    rounds++;
    const want = [...ext.wanted];
    ext.wanted.clear();
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(MODULE_CONCURRENCY, want.length) }, async () => {
        while (next < want.length) await loadOne(want[next++]);
      }),
    );
    analysis = analyzeParsed(files, modules, layoutOptions, ext);
  }
  ext.discoverOnly = false;
  ext.wanted.clear();
  analysis = analyzeParsed(files, modules, layoutOptions, ext);
  analysis.stats.modules = {
    packages: ext.packages.size,
    unavailable: ext.unavailable.size,
    rounds,
    ms: Math.round(performance.now() - started),
  };
  return analysis;
}
