// GitHubTreeSnapshot: the worker's Snapshot. Reads the packages a PR touches (plus the same-module
// packages they import) at one commit through the git trees and blobs API, with blobs cached by SHA
// in Redis, and hard limits on what it fetches. Everything it skips is reported.
import type { GitHubClient } from "./client.ts";
import type { Redis } from "ioredis";
import type { Snapshot } from "../analysis/model.ts";
import { isIgnored } from "../review/files.ts";
import { parseGoMod } from "../analysis/gopath.ts";
import { dirOf, isReviewedGoFile } from "./files.ts";
import { estimateTarBytes, fetchArchive, type ArchiveReadResult, type ArchiveWant } from "./archive.ts";

export interface BlobCache {
  get(sha: string): Promise<string | undefined>;
  set(sha: string, text: string): Promise<void>;
}

/** Blob text by git SHA, in Redis, with a TTL and a per-entry size cap. Cache errors never fail a job. */
export class RedisBlobCache implements BlobCache {
  constructor(
    private redis: Redis,
    private opts: { prefix?: string; ttlSeconds?: number; maxEntryBytes?: number } = {},
  ) {}
  private key(sha: string) {
    return `${this.opts.prefix ?? "memcheck"}:blob:${sha}`;
  }
  async get(sha: string) {
    try {
      return (await this.redis.get(this.key(sha))) ?? undefined;
    } catch {
      return undefined;
    }
  }
  async set(sha: string, text: string) {
    if (Buffer.byteLength(text) > (this.opts.maxEntryBytes ?? 256 * 1024)) return;
    try {
      await this.redis.set(this.key(sha), text, "EX", this.opts.ttlSeconds ?? 7 * 24 * 3600);
    } catch {
      /* best effort */
    }
  }
}

export class MemoryBlobCache implements BlobCache {
  m = new Map<string, string>();
  async get(sha: string) {
    return this.m.get(sha);
  }
  async set(sha: string, text: string) {
    this.m.set(sha, text);
  }
}

export interface SnapshotLimits {
  maxFiles: number;
  maxBytes: number;
  maxFileBytes: number;
  maxPackages: number;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface SnapshotStats {
  filesFetched: number;
  cacheHits: number;
  bytes: number;
  apiCalls: number;
  packages: number;
  /** Blob GETs (git/blobs), a part of apiCalls. */
  blobGets: number;
  /** Repository archives downloaded (one API call each, a part of apiCalls). */
  archives: number;
  /** Files taken from an archive (SHA-checked), a part of filesFetched. */
  archiveFiles: number;
  /** Compressed bytes read from archives. */
  archiveBytes: number;
}

/**
 * When a snapshot reads its files from one repository archive instead of one blob GET each.
 * An archive is used when, within one breadth-first step of include(), more than `minMisses` blobs
 * are neither cached nor already being fetched, the recursive tree is complete (its sizes bound the
 * archive), and the archive's estimated size is at most `bytesPerMiss` per missing blob and at most
 * `maxTarBytes`. Whatever the archive does not provide is fetched blob by blob.
 */
export interface ArchiveSettings {
  /** More misses than this use the archive; Infinity turns it off. Env MEMCHECK_ARCHIVE_THRESHOLD ("off"). */
  minMisses: number;
  /** Largest archive (uncompressed tar bytes) worth downloading; also the decompression cap. Env MEMCHECK_ARCHIVE_MAX_MB. */
  maxTarBytes: number;
  /** An archive is worth at most this many tar bytes per blob it saves (a blob GET is a round trip). */
  bytesPerMiss: number;
  /** Time budget of the download and read; past it the rest comes blob by blob. Env MEMCHECK_ARCHIVE_TIMEOUT_SECONDS. */
  timeoutMs: number;
}

export const DEFAULT_ARCHIVE_MIN_MISSES = 50;

/** The archive settings: explicit values, then the environment, then defaults derived from the limits. */
export function archiveSettings(
  limits: Pick<SnapshotLimits, "maxBytes">,
  o: Partial<ArchiveSettings> = {},
  env: NodeJS.ProcessEnv = process.env,
): ArchiveSettings {
  const num = (v: string | undefined) =>
    v != null && v.trim() !== "" && Number.isFinite(Number(v)) && Number(v) >= 0 ? Number(v) : undefined;
  const threshold = env.MEMCHECK_ARCHIVE_THRESHOLD?.trim().toLowerCase();
  const envMin = threshold === "off" || threshold === "false" ? Infinity : num(threshold);
  const envMaxMb = num(env.MEMCHECK_ARCHIVE_MAX_MB);
  const envTimeout = num(env.MEMCHECK_ARCHIVE_TIMEOUT_SECONDS);
  return {
    minMisses: o.minMisses ?? envMin ?? DEFAULT_ARCHIVE_MIN_MISSES,
    // 4x the per-side byte limit (the tar holds every file, not only Go), at least 64 MiB
    maxTarBytes: o.maxTarBytes ?? (envMaxMb != null ? envMaxMb * 2 ** 20 : Math.max(64 * 2 ** 20, 4 * limits.maxBytes)),
    bytesPerMiss: o.bytesPerMiss ?? 256 * 1024,
    timeoutMs: o.timeoutMs ?? (envTimeout != null ? envTimeout * 1000 : 30_000),
  };
}

export interface SnapshotLog {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
}

interface Entry {
  path: string;
  sha: string;
  size: number;
}

/** Import paths of a Go file, from its import declarations only (a cheap scan of the file's head). */
export function goImports(text: string): string[] {
  // Imports come before any other declaration; stop at the first func/type/var/const.
  const stop = /^(func|type|var|const)\b/m.exec(text);
  const head = (stop ? text.slice(0, stop.index) : text)
    .slice(0, 64 * 1024)
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/[^\n]*/g, "");
  const out = new Set<string>();
  for (const m of head.matchAll(/^\s*import\s*\(([\s\S]*?)\)/gm)) {
    for (const s of m[1]!.matchAll(/"([^"\n]+)"|`([^`\n]+)`/g)) out.add(s[1] ?? s[2]!);
  }
  for (const m of head.matchAll(/^\s*import\s+(?:[A-Za-z_.][\w]*\s+)?(?:"([^"\n]+)"|`([^`\n]+)`)/gm)) out.add(m[1] ?? m[2]!);
  return [...out];
}

export function modulePath(goMod: string): string | undefined {
  return parseGoMod(goMod);
}

export class GitHubTreeSnapshot implements Snapshot {
  readonly label: string;
  readonly skipped: SkippedFile[] = [];
  readonly stats: SnapshotStats = {
    filesFetched: 0,
    cacheHits: 0,
    bytes: 0,
    apiCalls: 0,
    packages: 0,
    blobGets: 0,
    archives: 0,
    archiveFiles: 0,
    archiveBytes: 0,
  };
  /** What each archive read did (for logs and tests). */
  readonly archiveReads: ArchiveReadResult[] = [];
  /** True when the recursive tree was truncated and directories were listed one by one. */
  truncated = false;
  private tree: Map<string, Entry> | undefined; // full recursive tree (when not truncated)
  private dirCache = new Map<string, Entry[]>();
  private texts = new Map<string, string>();
  private hashes = new Map<string, string>();
  private included = new Set<string>();
  private modules = new Map<string, string | null>(); // go.mod dir -> module path (null: none)

  private constructor(
    private octokit: GitHubClient,
    readonly owner: string,
    readonly repo: string,
    readonly sha: string,
    private cache: BlobCache,
    private limits: SnapshotLimits,
    private ignore: string[],
    private concurrency: number,
    private inflight: Map<string, Promise<string>>,
    private archive: ArchiveSettings,
    private log: SnapshotLog | undefined,
  ) {
    this.label = `${owner}/${repo}@${sha.slice(0, 12)}`;
  }

  static async open(
    octokit: GitHubClient,
    o: {
      owner: string;
      repo: string;
      sha: string;
      cache: BlobCache;
      limits: SnapshotLimits;
      ignore?: string[];
      concurrency?: number;
      /** Share between the base and head snapshots of one job so a blob is fetched once. */
      inflight?: Map<string, Promise<string>>;
      /** When to read many files from one repository archive (defaults: archiveSettings()). */
      archive?: Partial<ArchiveSettings>;
      /** Defaults to the Octokit's logger (Probot's, in the app). */
      log?: SnapshotLog;
    },
  ): Promise<GitHubTreeSnapshot> {
    // Probot's Octokit logs through pino, which takes (object, message) although Octokit types (message, info).
    const log = o.log ?? (typeof octokit?.log?.warn === "function" ? (octokit.log as unknown as SnapshotLog) : undefined);
    const s = new GitHubTreeSnapshot(
      octokit,
      o.owner,
      o.repo,
      o.sha,
      o.cache,
      o.limits,
      o.ignore ?? [],
      o.concurrency ?? 8,
      o.inflight ?? new Map(),
      archiveSettings(o.limits, o.archive),
      log,
    );
    s.stats.apiCalls++;
    const { data } = await octokit.rest.git.getTree({ owner: o.owner, repo: o.repo, tree_sha: o.sha, recursive: "true" });
    if (data.truncated) {
      s.truncated = true;
    } else {
      s.tree = new Map();
      for (const e of data.tree) {
        if (e.type === "blob" && e.path && e.sha) s.tree.set(e.path, { path: e.path, sha: e.sha, size: e.size ?? 0 });
      }
    }
    return s;
  }

  /** Blob entries directly in one directory. */
  private async listDir(dir: string): Promise<Entry[]> {
    const cached = this.dirCache.get(dir);
    if (cached) return cached;
    let out: Entry[] = [];
    if (this.tree) {
      // The recursive tree is indexed by directory once, on first use.
      if (this.dirCache.size === 0) {
        for (const e of this.tree.values()) {
          const d = dirOf(e.path);
          const list = this.dirCache.get(d);
          if (list) list.push(e);
          else this.dirCache.set(d, [e]);
        }
        for (const list of this.dirCache.values()) list.sort((a, b) => (a.path < b.path ? -1 : 1));
        this.dirCache.set("\0indexed", []);
      }
      return this.dirCache.get(dir) ?? [];
    } else {
      this.stats.apiCalls++;
      try {
        const { data } = await this.octokit.rest.repos.getContent({
          owner: this.owner,
          repo: this.repo,
          path: dir === "." ? "" : dir,
          ref: this.sha,
        });
        if (Array.isArray(data)) out = data.filter((e) => e.type === "file").map((e) => ({ path: e.path, sha: e.sha, size: e.size ?? 0 }));
      } catch (e) {
        if ((e as { status?: number })?.status !== 404) throw e;
      }
    }
    out.sort((a, b) => (a.path < b.path ? -1 : 1));
    this.dirCache.set(dir, out);
    return out;
  }

  private fetchBlob(e: Entry): Promise<string> {
    let p = this.inflight.get(e.sha);
    if (!p) {
      p = this.loadBlob(e);
      this.inflight.set(e.sha, p);
      p.catch(() => this.inflight.delete(e.sha));
    }
    return p;
  }

  private async loadBlob(e: Entry): Promise<string> {
    const hit = await this.cache.get(e.sha);
    if (hit !== undefined) {
      this.stats.cacheHits++;
      return hit;
    }
    this.stats.apiCalls++;
    this.stats.blobGets++;
    const { data } = await this.octokit.rest.git.getBlob({ owner: this.owner, repo: this.repo, file_sha: e.sha });
    const text = data.encoding === "base64" ? Buffer.from(data.content, "base64").toString("utf8") : String(data.content);
    this.stats.filesFetched++;
    await this.cache.set(e.sha, text);
    return text;
  }

  /** The go.mod directory and module path governing `dir`, if any. */
  async moduleOf(dir: string): Promise<{ dir: string; path: string } | undefined> {
    let d = dir;
    for (;;) {
      if (!this.modules.has(d)) {
        const gm = (await this.listDir(d)).find((e) => e.path === (d === "." ? "go.mod" : `${d}/go.mod`));
        let mp: string | null = null;
        if (gm && gm.size <= 256 * 1024) {
          const text = await this.fetchBlob(gm);
          this.texts.set(gm.path, text);
          this.hashes.set(gm.path, gm.sha);
          mp = modulePath(text) ?? null;
        }
        this.modules.set(d, mp);
      }
      const mp = this.modules.get(d);
      if (mp) return { dir: d, path: mp };
      if (d === ".") return undefined;
      d = dirOf(d);
    }
  }

  /**
   * Fetch the Go files of `dirs`, then follow imports within the same module, breadth first,
   * until the limits are reached. Test files and ignored paths are never fetched. Each breadth-first
   * step is fetched at once (so it can come from one archive); limits apply in queue order.
   */
  async include(dirs: string[], opts: { followImports?: boolean } = {}): Promise<void> {
    let step = [...new Set(dirs)];
    let files = 0;
    while (step.length) {
      const planned: { dir: string; todo: Entry[] }[] = [];
      for (const dir of step) {
        if (this.included.has(dir)) continue;
        if (this.included.size >= this.limits.maxPackages) {
          this.skipped.push({ path: dir + "/", reason: `package limit (${this.limits.maxPackages}) reached` });
          continue;
        }
        this.included.add(dir);
        const entries = (await this.listDir(dir)).filter(
          (e) => e.path.endsWith(".go") && !e.path.endsWith("_test.go") && !isIgnored(e.path, this.ignore),
        );
        const todo: Entry[] = [];
        for (const e of entries) {
          if (this.texts.has(e.path)) continue;
          if (e.size > this.limits.maxFileBytes) {
            this.skipped.push({ path: e.path, reason: `larger than ${this.limits.maxFileBytes} bytes (${e.size})` });
            continue;
          }
          if (files >= this.limits.maxFiles) {
            this.skipped.push({ path: e.path, reason: `file limit (${this.limits.maxFiles}) reached` });
            continue;
          }
          if (this.stats.bytes + e.size > this.limits.maxBytes) {
            this.skipped.push({ path: e.path, reason: `byte limit (${this.limits.maxBytes}) reached` });
            continue;
          }
          files++;
          this.stats.bytes += e.size;
          todo.push(e);
        }
        planned.push({ dir, todo });
      }
      const todo = planned.flatMap((p) => p.todo);
      await this.prefetch(
        todo,
        planned.map((p) => p.dir),
      );
      await pool(todo, this.concurrency, async (e) => {
        const text = await this.fetchBlob(e);
        this.texts.set(e.path, text);
        this.hashes.set(e.path, e.sha);
      });
      const next: string[] = [];
      for (const { dir, todo } of planned) {
        const mod = await this.moduleOf(dir); // also brings go.mod into the snapshot
        if (!opts.followImports || todo.length === 0 || !mod) continue;
        for (const e of todo)
          for (const target of this.localImports(this.texts.get(e.path)!, mod))
            if (!this.included.has(target) && !isIgnored(target + "/", this.ignore)) next.push(target);
      }
      step = next;
    }
    this.stats.packages = this.included.size;
  }

  /**
   * Before a step's blobs are fetched one by one: when many of them are neither cached nor already
   * being fetched (by this snapshot or the other side of the job), read them from one repository
   * archive instead. Their promises go into the shared in-flight map first, so the other side waits
   * for them rather than fetching them too. Whatever the archive does not provide (a failure, a
   * mismatch, a link) is fetched blob by blob, with a log line.
   */
  private async prefetch(todo: Entry[], dirs: string[]): Promise<void> {
    const a = this.archive;
    if (!this.tree || !(a.minMisses < Infinity)) return;
    const bySha = new Map<string, Entry>();
    for (const e of todo) if (!this.inflight.has(e.sha)) bySha.set(e.sha, e);
    if (bySha.size <= a.minMisses) return;
    const unknown = [...bySha.values()];
    const hits = new Map<string, string>();
    await pool(unknown, 32, async (e) => {
      const hit = await this.cache.get(e.sha);
      if (hit !== undefined) hits.set(e.sha, hit);
    });
    for (const [sha, text] of hits) {
      if (this.inflight.has(sha)) continue;
      this.stats.cacheHits++;
      this.inflight.set(sha, Promise.resolve(text));
    }
    const misses = unknown.filter((e) => !this.inflight.has(e.sha)); // the other side may have taken some meanwhile
    if (misses.length <= a.minMisses) return;
    const tarBytes = estimateTarBytes(this.tree.values());
    const worth = Math.min(a.maxTarBytes, misses.length * a.bytesPerMiss);
    if (tarBytes > worth) {
      this.log?.info(
        { repo: `${this.owner}/${this.repo}`, sha: this.sha, misses: misses.length, tarBytes, worth },
        "memcheck: archive not worth it, fetching blobs",
      );
      return;
    }
    // go.mod files above the step's directories come along (moduleOf reads them next).
    const wanted = [...misses];
    for (const d of dirs) {
      for (let dir = d; ; dir = dirOf(dir)) {
        const gm = this.tree.get(dir === "." ? "go.mod" : `${dir}/go.mod`);
        if (gm && gm.size <= 256 * 1024 && !this.inflight.has(gm.sha) && !wanted.some((w) => w.sha === gm.sha)) wanted.push(gm);
        if (dir === ".") break;
      }
    }
    const pending = new Map<string, { entry: Entry; resolve: (t: string) => void; reject: (e: unknown) => void }>();
    for (const entry of wanted) {
      let resolve!: (t: string) => void;
      let reject!: (e: unknown) => void;
      const p = new Promise<string>((res, rej) => ((resolve = res), (reject = rej)));
      p.catch(() => this.inflight.delete(entry.sha)); // a failed blob is fetched again by whoever asks next
      this.inflight.set(entry.sha, p);
      pending.set(entry.sha, { entry, resolve, reject });
    }
    const wants = new Map<string, ArchiveWant>(wanted.map((e) => [e.path, e]));
    const caching: Promise<void>[] = [];
    this.stats.apiCalls++;
    this.stats.archives++;
    const r = await fetchArchive(
      this.octokit,
      { owner: this.owner, repo: this.repo, ref: this.sha },
      wants,
      (w, content) => {
        const d = pending.get(w.sha);
        if (!d) return;
        pending.delete(w.sha);
        const text = content.toString("utf8");
        this.stats.filesFetched++;
        this.stats.archiveFiles++;
        caching.push(this.cache.set(w.sha, text).catch(() => {}));
        d.resolve(text);
      },
      { maxTarBytes: Math.min(a.maxTarBytes, Math.ceil(tarBytes * 1.1) + 2 ** 20), timeoutMs: a.timeoutMs },
    );
    this.stats.archiveBytes += r.compressedBytes;
    this.archiveReads.push(r);
    await Promise.all(caching);
    const info = {
      repo: `${this.owner}/${this.repo}`,
      sha: this.sha,
      wanted: wanted.length,
      found: r.found,
      missing: pending.size,
      mismatched: r.mismatched,
      unsafePaths: r.unsafePaths,
      links: r.links,
      compressedBytes: r.compressedBytes,
      tarBytes: r.tarBytes,
      ms: Math.round(r.ms),
    };
    if (r.error || r.mismatched || r.unsafePaths)
      this.log?.warn({ ...info, err: r.error }, "memcheck: archive incomplete, fetching the rest blob by blob");
    else this.log?.info(info, "memcheck: archive read");
    // The rest blob by blob (cache first: the other side may have cached some meanwhile).
    await pool([...pending.values()], this.concurrency, async (d) => {
      try {
        d.resolve(await this.loadBlob(d.entry));
      } catch (e) {
        d.reject(e);
      }
    });
  }

  /**
   * Every Go package directory of the tree (non-test, reviewed files: not vendored, ignored or in
   * testdata, `_` or `.` directories), with its Go file count and bytes. Undefined when the
   * recursive tree was truncated (over 100,000 entries or 7 MB): then it cannot be listed cheaply.
   */
  goPackages(): Map<string, { files: number; bytes: number }> | undefined {
    if (!this.tree) return undefined;
    const out = new Map<string, { files: number; bytes: number }>();
    for (const e of this.tree.values()) {
      if (!isReviewedGoFile(e.path, this.ignore)) continue;
      const dir = dirOf(e.path);
      if (dir.split("/").some((p) => p === "testdata" || p.startsWith("_") || (p.startsWith(".") && p !== "."))) continue;
      const d = out.get(dir) ?? { files: 0, bytes: 0 };
      d.files++;
      d.bytes += e.size;
      out.set(dir, d);
    }
    return out;
  }

  /**
   * Fetch every Go package of the tree (what ripple needs: any package may hold a changed struct by
   * value), in path order, as far as the limits allow: whole packages only, so a package is either
   * searched or counted as left out. Returns how many packages were searched and a note when the
   * limits or a truncated tree stopped it.
   */
  async includeAll(): Promise<{ searched: number; total: number; note?: string }> {
    const all = this.goPackages();
    if (!all) {
      return {
        searched: this.included.size,
        total: this.included.size,
        note: "the repository's tree is too large to list in one request (over 100,000 entries): structs that hold a changed struct by value were searched only in the packages this pull request touches and their imports",
      };
    }
    const L = this.limits;
    let files = [...this.texts.keys()].filter((p) => p.endsWith(".go")).length;
    let bytes = this.stats.bytes;
    let packages = this.included.size;
    const take: string[] = [];
    let stoppedBy: string | undefined;
    const rest = [...all.keys()].filter((d) => !this.included.has(d)).sort();
    for (const dir of rest) {
      const d = all.get(dir)!;
      const over =
        packages + 1 > L.maxPackages
          ? `limits.maxPackages (${L.maxPackages})`
          : files + d.files > L.maxFiles
            ? `limits.maxFiles (${L.maxFiles})`
            : bytes + d.bytes > L.maxBytes
              ? `limits.maxBytes (${L.maxBytes})`
              : undefined;
      if (over) {
        stoppedBy ??= over;
        continue;
      }
      packages++;
      files += d.files;
      bytes += d.bytes;
      take.push(dir);
    }
    await this.include(take, { followImports: false });
    const total = all.size;
    const searched = [...all.keys()].filter((d) => this.included.has(d)).length;
    return {
      searched,
      total,
      ...(searched < total
        ? {
            note: `ripple searched ${searched} of ${total} Go packages (stopped by ${stoppedBy ?? "the limits"}): structs in the other ${total - searched} that hold a changed struct by value are not reported; raise the limit in .github/memcheck.yml to search them`,
          }
        : {}),
    };
  }

  /** The directories of the module's own packages a file imports. */
  private localImports(text: string, mod: { dir: string; path: string }): string[] {
    const out: string[] = [];
    for (const imp of goImports(text)) {
      if (imp !== mod.path && !imp.startsWith(mod.path + "/")) continue;
      const rel = imp.slice(mod.path.length + 1);
      const target = mod.dir === "." ? rel || "." : rel ? `${mod.dir}/${rel}` : mod.dir;
      if (!/(^|\/)\.\.?(\/|$)/.test(target)) out.push(target);
    }
    return out;
  }

  /**
   * Keep, of the packages read, those that `keep` names plus every package that imports one of
   * `sources` directly or through others (only those can hold a struct of `sources` by value); drop
   * the rest from the snapshot, so the analysis does not parse them. Returns how many were dropped.
   */
  async retainImportersOf(sources: string[], keep: string[]): Promise<number> {
    const importers = new Map<string, Set<string>>();
    for (const [path, text] of this.texts) {
      if (!path.endsWith(".go")) continue;
      const dir = dirOf(path);
      const mod = await this.moduleOf(dir);
      if (!mod) continue;
      for (const target of this.localImports(text, mod)) {
        if (!importers.has(target)) importers.set(target, new Set());
        importers.get(target)!.add(dir);
      }
    }
    const wanted = new Set([...keep, ...sources]);
    const queue = [...sources];
    while (queue.length) {
      for (const d of importers.get(queue.pop()!) ?? []) if (!wanted.has(d)) wanted.add(d), queue.push(d);
    }
    const filesOf = new Map<string, string[]>();
    for (const path of this.texts.keys()) if (path.endsWith(".go")) filesOf.set(dirOf(path), [...(filesOf.get(dirOf(path)) ?? []), path]);
    let dropped = 0;
    for (const dir of [...this.included]) {
      if (wanted.has(dir)) continue;
      this.included.delete(dir);
      dropped++;
      for (const path of filesOf.get(dir) ?? []) this.texts.delete(path), this.hashes.delete(path);
    }
    this.stats.packages = this.included.size;
    return dropped;
  }

  /**
   * The root's go.sum, go.work, go.work.sum and vendor/modules.txt, when the tree has them (module
   * resolution reads them). Each at most 8 MiB; one that cannot be read is left out.
   */
  async includeModuleFiles(names: readonly string[] = ["go.sum", "go.work", "go.work.sum", "vendor/modules.txt"]): Promise<void> {
    await Promise.all(
      names.map(async (name) => {
        if (this.texts.has(name)) return;
        const e = (await this.listDir(dirOf(name)).catch(() => [] as Entry[])).find((x) => x.path === name);
        if (!e || e.size > 8 * 1024 * 1024) return;
        try {
          this.texts.set(name, await this.loadBlob(e));
          this.hashes.set(name, e.sha);
        } catch {
          // without it, modules resolve without verification notes
        }
      }),
    );
  }

  /** Directories included so far. */
  packages(): string[] {
    return [...this.included];
  }

  has(path: string): boolean {
    return this.texts.has(path);
  }

  async paths(): Promise<string[]> {
    return [...this.texts.keys()].sort();
  }

  async read(path: string): Promise<string> {
    const t = this.texts.get(path);
    if (t === undefined) throw new Error(`${this.label}: ${path} was not fetched`);
    return t;
  }

  /** Text of a fetched file (synchronous), or undefined. */
  textOf(path: string): string | undefined {
    return this.texts.get(path);
  }

  hash(path: string): string | undefined {
    return this.hashes.get(path);
  }
}

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<void>): Promise<void> {
  let i = 0;
  const run = async () => {
    while (i < items.length) {
      const it = items[i++]!;
      await fn(it);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, run));
}
