// Loads the Go files of packages from other modules, for the engine: local directories (replace,
// go.work use), the module cache, then the GOPROXY list. Module zips are verified against go.sum's
// h1: hash before a byte of them is used. Modules are read only when asked (the engine asks for a
// package only when a layout needs one of its types by value), and each zip is fetched once.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { PackageTarget } from "../analysis/buildlist.ts";
import { escapeModulePath } from "../analysis/gopath.ts";
import type { SourceFile } from "../analysis/model.ts";
import type { FileDecls } from "../analysis/parse.ts";
import { hash1 } from "./dirhash.ts";
import { matchPrefixPatterns, type ModuleSettings } from "./settings.ts";
import { readModuleZip, ZIP_LIMITS, ZipError } from "./zip.ts";

/** Why a package could not be loaded; the message goes into the struct's unresolved note. */
export class ModuleFetchError extends Error {}

class NotFound extends Error {}

export interface LoadedPackage {
  /** module@version/sub for immutable module versions (parsed declarations may be cached by it). */
  key?: string;
  files: SourceFile[];
  /** Already parsed declarations (from a cache): then files is empty. */
  decls?: FileDecls[];
}

/** What the engine asks for the packages a layout needs. */
export interface ModuleSource {
  loadPackage(target: PackageTarget, goSum: Map<string, string>): Promise<LoadedPackage>;
  /** Parsed declarations of a package loaded with a key, for a cache to keep. */
  storeDecls?(key: string, decls: FileDecls[]): void;
}

/**
 * The go.sum rule for a module zip whose h1: hash is `got`: equal to go.sum's line, or no line and
 * the settings allow unverified modules (GOSUMDB=off, GONOSUMDB, GOFLAGS=-mod=mod). Throws otherwise.
 */
export function checkGoSum(
  settings: ModuleSettings,
  mod: string,
  version: string,
  got: string,
  goSum: Map<string, string>,
  what = "the downloaded zip",
): void {
  const want = goSum.get(`${mod} ${version}`);
  if (want && want !== got)
    throw new ModuleFetchError(`checksum mismatch for ${mod}@${version}: go.sum has ${want}, ${what} hashes to ${got}`);
  if (!want && !(settings.sumDbOff || settings.modFlag === "mod" || matchPrefixPatterns(settings.noSumDb, mod))) {
    throw new ModuleFetchError(
      `go.sum has no line for ${mod}@${version}, so its zip cannot be verified (run go mod tidy, or allow it with GONOSUMDB, GOSUMDB=off or GOFLAGS=-mod=mod)`,
    );
  }
}

export interface ModuleLoaderOptions {
  /** The snapshot's root on disk: local replacements and go.work `use` directories resolve against it. */
  root?: string;
  fetch?: typeof fetch;
  /** Time budget of one proxy request. */
  timeoutMs?: number;
  /** Fetches a module zip that matches GONOPROXY / GOPRIVATE (the app: through the GitHub API). */
  privateZip?: (module: string, version: string) => Promise<Buffer>;
  /** Called once per zip fetched from a proxy or GitHub (for figures). */
  onFetch?: (module: string, version: string, bytes: number, from: string) => void;
  /** Module versions whose files are kept in memory (least recently used first out). Default 64. */
  keepModules?: number;
}

/** A checked module zip: its .go files and go.mod by path inside the module, and its h1: hash. */
interface ModuleFiles {
  files: Map<string, string>;
  h1: string;
}

export class ModuleLoader implements ModuleSource {
  private zips = new Map<string, Promise<ModuleFiles>>();
  fetches = 0;

  constructor(
    readonly settings: ModuleSettings,
    private o: ModuleLoaderOptions = {},
  ) {}

  async loadPackage(t: PackageTarget, goSum: Map<string, string>): Promise<LoadedPackage> {
    const origin = t.origin;
    if (origin.kind === "dir") {
      if (!this.o.root && !path.isAbsolute(origin.dir)) {
        throw new ModuleFetchError(`${t.module} is replaced by the directory ${origin.dir}, which is not available here`);
      }
      const dir = path.resolve(this.o.root ?? "/", origin.dir, t.sub);
      return { files: await goFilesOfDir(dir, `@dir/${origin.dir}/${t.sub}`) };
    }
    const { path: mod, version } = origin;
    const key = `${mod}@${version}/${t.sub}`;
    const where = `${escapeModulePath(mod)}@${escapeModulePath(version)}`;
    for (const root of this.settings.modCache) {
      const modDir = path.join(root, where);
      let exists = false;
      try {
        await readdir(modDir);
        exists = true;
      } catch {
        // not extracted in this cache
      }
      if (!exists) continue;
      await this.checkZipHash(root, mod, version, goSum);
      return { key, files: await goFilesOfDir(path.join(modDir, t.sub), `@mod/${mod}@${version}/${t.sub}`) };
    }
    const { files, h1 } = await this.moduleFiles(mod, version);
    checkGoSum(this.settings, mod, version, h1, goSum);
    const prefix = t.sub === "" ? "" : `${t.sub}/`;
    const out: SourceFile[] = [];
    for (const [rel, text] of files) {
      if (rel.startsWith(prefix) && rel.endsWith(".go") && !rel.slice(prefix.length).includes("/")) {
        out.push({ path: `@mod/${mod}@${version}/${rel}`, text });
      }
    }
    if (out.length === 0) throw new ModuleFetchError(`module ${mod}@${version} has no package ${t.importPath}`);
    return { key, files: out.sort((a, b) => (a.path < b.path ? -1 : 1)) };
  }

  /** An extracted module whose cached .ziphash disagrees with go.sum is refused, as go refuses it. */
  private async checkZipHash(root: string, mod: string, version: string, goSum: Map<string, string>): Promise<void> {
    const want = goSum.get(`${mod} ${version}`);
    if (!want) return;
    let have: string;
    try {
      have = (
        await readFile(path.join(root, "cache", "download", escapeModulePath(mod), "@v", `${escapeModulePath(version)}.ziphash`), "utf8")
      ).trim();
    } catch {
      return;
    }
    if (have !== want)
      throw new ModuleFetchError(`checksum mismatch for ${mod}@${version}: go.sum has ${want}, the module cache has ${have}`);
  }

  /** The h1: hash of a module version's zip, once it has been read. */
  async moduleHash(mod: string, version: string): Promise<string | undefined> {
    return (await this.zips.get(`${mod}@${version}`)?.catch(() => undefined))?.h1;
  }

  private moduleFiles(mod: string, version: string): Promise<ModuleFiles> {
    const id = `${mod}@${version}`;
    let p = this.zips.get(id);
    if (p) {
      this.zips.delete(id);
      this.zips.set(id, p);
      return p;
    }
    p = this.fetchChecked(mod, version);
    // A failed fetch is not kept: the next review tries again.
    p.catch(() => this.zips.get(id) === p && this.zips.delete(id));
    this.zips.set(id, p);
    const keep = this.o.keepModules ?? 64;
    while (this.zips.size > keep) this.zips.delete(this.zips.keys().next().value!);
    return p;
  }

  private async fetchChecked(mod: string, version: string): Promise<ModuleFiles> {
    const zip = await this.fetchZip(mod, version);
    const prefix = `${mod}@${version}/`;
    let entries: ReturnType<typeof readModuleZip>;
    try {
      entries = readModuleZip(zip, prefix);
    } catch (err) {
      if (err instanceof ZipError) throw new ModuleFetchError(`module zip ${mod}@${version} refused: ${err.message}`);
      throw err;
    }
    const h1 = hash1(entries.map((e) => ({ name: e.name, data: e.data })));
    const files = new Map<string, string>();
    for (const e of entries) {
      const rel = e.name.slice(prefix.length);
      if (rel.endsWith(".go") || rel === "go.mod") files.set(rel, e.data.toString("utf8"));
    }
    return { files, h1 };
  }

  /** The zip of module@version: the module cache's download folder, then GOPROXY in list order. */
  private async fetchZip(mod: string, version: string): Promise<Buffer> {
    const rel = `${escapeModulePath(mod)}/@v/${escapeModulePath(version)}.zip`;
    for (const root of this.settings.modCache) {
      try {
        return await readFile(path.join(root, "cache", "download", rel));
      } catch {
        // not downloaded in this cache
      }
    }
    if (matchPrefixPatterns(this.settings.noProxy, mod)) {
      if (this.o.privateZip) {
        const zip = await this.o.privateZip(mod, version);
        this.fetches++;
        this.o.onFetch?.(mod, version, zip.length, "github");
        return zip;
      }
      throw new ModuleFetchError(
        `${mod} matches GONOPROXY/GOPRIVATE and is not in the module cache (memcheck does not fetch from version control)`,
      );
    }
    let last = `${mod}@${version} is not in the module cache and GOPROXY names no proxy`;
    for (const entry of this.settings.proxies) {
      if (entry.kind === "off")
        throw new ModuleFetchError(`${mod}@${version} is not in the module cache, and module lookup is disabled by GOPROXY=off`);
      if (entry.kind === "direct") {
        last = `${mod}@${version}: GOPROXY "direct" (fetching from version control) is not supported by memcheck; ${last}`;
        if (entry.anyError) continue;
        break;
      }
      try {
        const zip = await this.fromProxy(entry.url, rel);
        this.fetches++;
        this.o.onFetch?.(mod, version, zip.length, entry.url);
        return zip;
      } catch (err) {
        last = `${mod}@${version} from ${redact(entry.url)}: ${(err as Error).message}`;
        if (err instanceof NotFound || entry.anyError) continue;
        break;
      }
    }
    throw new ModuleFetchError(last);
  }

  private async fromProxy(base: string, rel: string): Promise<Buffer> {
    if (base.startsWith("file://")) {
      try {
        return await readFile(path.join(fileURLToPath(`${base}/`), rel));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new NotFound("not found");
        throw err;
      }
    }
    if (!/^https?:\/\//.test(base)) throw new Error(`unsupported GOPROXY entry ${JSON.stringify(base)}`);
    const url = new URL(`${base}/${rel}`);
    const headers: Record<string, string> = {};
    const creds = url.username
      ? { login: decodeURIComponent(url.username), password: decodeURIComponent(url.password) }
      : this.settings.netrc.get(url.hostname);
    url.username = "";
    url.password = "";
    if (creds) headers.authorization = `Basic ${Buffer.from(`${creds.login}:${creds.password}`).toString("base64")}`;
    const res = await (this.o.fetch ?? fetch)(url, {
      headers,
      redirect: "follow",
      signal: AbortSignal.timeout(this.o.timeoutMs ?? 60_000),
    });
    if (res.status === 404 || res.status === 410) throw new NotFound(`${res.status} not found`);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const declared = Number(res.headers.get("content-length") ?? 0);
    if (declared > ZIP_LIMITS.maxZipBytes) throw new Error(`zip is ${declared} bytes, over the ${ZIP_LIMITS.maxZipBytes}-byte limit`);
    const body = Buffer.from(await res.arrayBuffer());
    if (body.length > ZIP_LIMITS.maxZipBytes) throw new Error(`zip is over the ${ZIP_LIMITS.maxZipBytes}-byte limit`);
    return body;
  }
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, "//");
}

/** The .go files directly in a directory (not its subdirectories). */
async function goFilesOfDir(dir: string, label: string): Promise<SourceFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith(".go")).map((e) => e.name);
  } catch {
    throw new ModuleFetchError(`no package directory ${label}`);
  }
  if (names.length === 0) throw new ModuleFetchError(`no Go files in ${label}`);
  names.sort();
  return Promise.all(
    names.map(async (n) => ({ path: `${label.replace(/\/$/, "")}/${n}`, text: await readFile(path.join(dir, n), "utf8") })),
  );
}
