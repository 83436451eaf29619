// Module resolution in the app. One AppModules per worker: the module proxy list from
// MEMCHECK_GOPROXY (default https://proxy.golang.org), GOPRIVATE/GONOPROXY/GONOSUMDB from the
// worker's environment, and one ModuleLoader whose checked zips are shared by every job. Per job,
// forJob() gives the engine a ModuleSource that first asks Redis for the parsed declarations of a
// module@version package (shared by all installations for public modules, scoped to the
// installation for private ones), and fetches private modules on the repository's GitHub host
// through the GitHub API with the installation token. The go.sum of the reviewed repository is
// checked against the module's h1: hash on every use, cached or not.
import type { Redis } from "ioredis";
import type { PackageTarget } from "../analysis/buildlist.ts";
import type { FileDecls } from "../analysis/parse.ts";
import { moduleZipFromZipball, githubRef } from "./github.ts";
import { checkGoSum, ModuleFetchError, ModuleLoader, type LoadedPackage, type ModuleSource } from "./loader.ts";
import { matchPrefixPatterns, parseGoProxy, parseNetrc, settingsFromEnv, type ModuleSettings } from "./settings.ts";
import { readFileSync } from "node:fs";

/** Bumped when FileDecls changes shape: old cache entries are then ignored. */
const DECLS_SCHEMA = "1";
/**
 * Cached declarations expire after this long without use. Module versions are immutable, but the
 * app's Redis runs with noeviction (BullMQ needs it), so entries must not grow without bound.
 */
export const MODULE_CACHE_TTL_SECONDS = 30 * 24 * 3600;

export interface AppModulesOptions {
  redis?: Redis;
  /** Key prefix in Redis (the queue prefix keeps tests apart). */
  prefix?: string;
  env?: NodeJS.ProcessEnv;
  fetch?: typeof fetch;
  /** Called per zip fetched (figures, tests). */
  onFetch?: (module: string, version: string, bytes: number, from: string) => void;
}

/** What a job gives forJob: who is asking, and how to reach private modules. */
export interface JobModules {
  installationId: number;
  /** The GitHub host of the repository ("github.com", or a GHES host). */
  host: string;
  /** The zipball of owner/repo at ref, with the installation token (octokit's downloadZipballArchive). */
  zipball?: (owner: string, repo: string, ref: string) => Promise<Buffer>;
}

export function appModuleSettings(env: NodeJS.ProcessEnv = process.env): ModuleSettings {
  const s = settingsFromEnv(env);
  s.proxies = parseGoProxy(env.MEMCHECK_GOPROXY ?? "https://proxy.golang.org");
  if (env.MEMCHECK_NETRC) {
    try {
      s.netrc = parseNetrc(readFileSync(env.MEMCHECK_NETRC, "utf8"));
    } catch {
      // no netrc
    }
  }
  // The worker has no module cache of its own unless GOMODCACHE says so.
  s.modCache = env.GOMODCACHE ? [env.GOMODCACHE] : [];
  return s;
}

function replacer(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? { $bigint: v.toString() } : v;
}

function reviver(_k: string, v: unknown): unknown {
  return v && typeof v === "object" && "$bigint" in v && typeof (v as { $bigint: unknown }).$bigint === "string"
    ? BigInt((v as { $bigint: string }).$bigint)
    : v;
}

export class AppModules {
  readonly settings: ModuleSettings;
  readonly loader: ModuleLoader;
  hits = 0;
  misses = 0;

  constructor(private o: AppModulesOptions = {}) {
    this.settings = appModuleSettings(o.env);
    this.loader = new ModuleLoader(this.settings, { fetch: o.fetch, onFetch: o.onFetch });
  }

  private key(scope: string, mod: string, version: string, sub: string): string {
    return `${this.o.prefix ?? "memcheck"}:moddecls:${DECLS_SCHEMA}:${scope}:${mod}@${version}/${sub}`;
  }

  /** The engine's ModuleSource for one job. */
  forJob(job: JobModules): ModuleSource {
    const pending = new Map<string, string>(); // redis key -> h1 of the module it came from
    let privateLoader: ModuleLoader | undefined;
    const privateZip = async (mod: string, version: string): Promise<Buffer> => {
      const ref = githubRef(job.host, mod, version);
      if (!ref || !job.zipball) throw new ModuleFetchError(`${mod} matches GOPRIVATE but is not a repository on ${job.host}`);
      let zipball: Buffer;
      try {
        zipball = await job.zipball(ref.owner, ref.repo, ref.ref);
      } catch (err) {
        const status = (err as { status?: number }).status;
        throw new ModuleFetchError(
          `${mod}@${version}: GitHub archive of ${ref.owner}/${ref.repo}@${ref.ref}: ${status ?? (err as Error).message}`,
        );
      }
      return moduleZipFromZipball(zipball, mod, version, ref.dir);
    };
    return {
      loadPackage: async (t: PackageTarget, goSum: Map<string, string>): Promise<LoadedPackage> => {
        if (t.origin.kind === "dir")
          throw new ModuleFetchError(`${t.module} is replaced by the directory ${t.origin.dir}, outside what the app reads`);
        const { path: mod, version } = t.origin;
        const priv = matchPrefixPatterns(this.settings.noProxy, mod);
        const key = this.key(priv ? `inst:${job.installationId}` : "public", mod, version, t.sub);
        const cached = await this.o.redis?.get(key).catch(() => null);
        if (cached) {
          try {
            const entry = JSON.parse(cached, reviver) as { h1: string; decls: FileDecls[] };
            checkGoSum(this.settings, mod, version, entry.h1, goSum, "the module memcheck cached");
            this.hits++;
            void this.o.redis?.expire(key, MODULE_CACHE_TTL_SECONDS).catch(() => {});
            return { files: [], decls: entry.decls };
          } catch (err) {
            if (err instanceof ModuleFetchError) throw err;
            // a corrupt entry: fetch again
          }
        }
        this.misses++;
        let loader = this.loader;
        if (priv) loader = privateLoader ??= new ModuleLoader(this.settings, { privateZip, fetch: this.o.fetch, onFetch: this.o.onFetch });
        const loaded = await loader.loadPackage(t, goSum);
        const h1 = await loader.moduleHash(mod, version);
        if (h1) pending.set(key, h1);
        return { ...loaded, key };
      },
      storeDecls: (key: string, decls: FileDecls[]) => {
        const h1 = pending.get(key);
        if (!h1 || !this.o.redis) return;
        pending.delete(key);
        this.o.redis.set(key, JSON.stringify({ h1, decls }, replacer), "EX", MODULE_CACHE_TTL_SECONDS).catch(() => {});
      },
    };
  }
}
