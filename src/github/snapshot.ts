// GitHubTreeSnapshot: the worker's Snapshot. Reads the packages a PR touches (plus the same-module
// packages they import) at one commit through the git trees and blobs API, with blobs cached by SHA
// in Redis, and hard limits on what it fetches. Everything it skips is reported.
import type { Redis } from "ioredis";
import type { Snapshot } from "../analysis/model.ts";
import { isIgnored } from "../review/files.ts";
import { parseGoMod } from "../analysis/gopath.ts";
import { dirOf } from "./files.ts";

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
  const head = (stop ? text.slice(0, stop.index) : text).slice(0, 64 * 1024).replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/[^\n]*/g, "");
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
  readonly stats: SnapshotStats = { filesFetched: 0, cacheHits: 0, bytes: 0, apiCalls: 0, packages: 0 };
  /** True when the recursive tree was truncated and directories were listed one by one. */
  truncated = false;
  private tree: Map<string, Entry> | undefined; // full recursive tree (when not truncated)
  private dirCache = new Map<string, Entry[]>();
  private texts = new Map<string, string>();
  private hashes = new Map<string, string>();
  private included = new Set<string>();
  private modules = new Map<string, string | null>(); // go.mod dir -> module path (null: none)

  private constructor(
    private octokit: any,
    readonly owner: string,
    readonly repo: string,
    readonly sha: string,
    private cache: BlobCache,
    private limits: SnapshotLimits,
    private ignore: string[],
    private concurrency: number,
    private inflight: Map<string, Promise<string>>,
  ) {
    this.label = `${owner}/${repo}@${sha.slice(0, 12)}`;
  }

  static async open(
    octokit: any,
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
    },
  ): Promise<GitHubTreeSnapshot> {
    const s = new GitHubTreeSnapshot(octokit, o.owner, o.repo, o.sha, o.cache, o.limits, o.ignore ?? [], o.concurrency ?? 8, o.inflight ?? new Map());
    s.stats.apiCalls++;
    const { data } = await octokit.rest.git.getTree({ owner: o.owner, repo: o.repo, tree_sha: o.sha, recursive: "true" });
    if (data.truncated) {
      s.truncated = true;
    } else {
      s.tree = new Map();
      for (const e of data.tree as any[]) {
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
        const { data } = await this.octokit.rest.repos.getContent({ owner: this.owner, repo: this.repo, path: dir === "." ? "" : dir, ref: this.sha });
        if (Array.isArray(data)) out = data.filter((e: any) => e.type === "file").map((e: any) => ({ path: e.path, sha: e.sha, size: e.size ?? 0 }));
      } catch (e: any) {
        if (e?.status !== 404) throw e;
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
   * until the limits are reached. Test files and ignored paths are never fetched.
   */
  async include(dirs: string[], opts: { followImports?: boolean } = {}): Promise<void> {
    const queue = [...new Set(dirs)];
    let files = 0;
    for (let qi = 0; qi < queue.length; qi++) {
      const dir = queue[qi]!;
      if (this.included.has(dir)) continue;
      if (this.included.size >= this.limits.maxPackages) {
        this.skipped.push({ path: dir + "/", reason: `package limit (${this.limits.maxPackages}) reached` });
        continue;
      }
      this.included.add(dir);
      const entries = (await this.listDir(dir)).filter((e) => e.path.endsWith(".go") && !e.path.endsWith("_test.go") && !isIgnored(e.path, this.ignore));
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
      await pool(todo, this.concurrency, async (e) => {
        const text = await this.fetchBlob(e);
        this.texts.set(e.path, text);
        this.hashes.set(e.path, e.sha);
      });
      const mod = await this.moduleOf(dir); // also brings go.mod into the snapshot
      if (!opts.followImports || todo.length === 0 || !mod) continue;
      for (const e of todo) {
        for (const imp of goImports(this.texts.get(e.path)!)) {
          if (imp !== mod.path && !imp.startsWith(mod.path + "/")) continue;
          const rel = imp.slice(mod.path.length + 1);
          const target = mod.dir === "." ? rel || "." : rel ? `${mod.dir}/${rel}` : mod.dir;
          if (/(^|\/)\.\.?(\/|$)/.test(target)) continue;
          if (!this.included.has(target) && !isIgnored(target + "/", this.ignore)) queue.push(target);
        }
      }
    }
    this.stats.packages = this.included.size;
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
