// Which module provides an import path, in Go's terms, from the texts of go.mod, go.work and
// vendor/modules.txt: the build list is the main modules' `require` lines (complete since Go 1.17),
// `replace` directives (go.work's win over go.mod's; a versioned one beats a wildcard), and the
// modules a go.work `use`s, which resolve from source. Pure: the source layer (src/modules/) reads
// the files and fetches what this names.
import path from "node:path/posix";
import { hasPathPrefix, parseGoModFile, parseGoWork, parseModulesTxt, type GoModFile, type Replacement } from "./gopath.ts";

/** Where one module's files come from. */
export type ModuleOrigin =
  /** A module version, from the module cache or a proxy (path differs from the required one when replaced). */
  | { kind: "module"; path: string; version: string }
  /** A directory: a local `replace` or a go.work `use`, relative to the snapshot root (may start with ../) or absolute. */
  | { kind: "dir"; dir: string };

/** A package to load: the module that provides it, where that module comes from, and the package's folder in it. */
export interface PackageTarget {
  importPath: string;
  /** The module path in the build list (the required path, before replacement). */
  module: string;
  origin: ModuleOrigin;
  /** The package's directory inside the module ("" for the module root). */
  sub: string;
}

/** How modules are used, as `-mod=` says: vendor/ only, or the module cache and proxies. */
export type ModMode = "vendor" | "readonly" | "mod";

export interface BuildListInput {
  /** Every go.mod of the snapshot: its directory relative to the root ("." at the root) and text. */
  goMods: { dir: string; text: string }[];
  /** A go.work governing the snapshot (directory relative to the root, may be "..", and text). */
  goWork?: { dir: string; text: string };
  /** vendor/modules.txt of the root module, if present. */
  modulesTxt?: string;
  /** -mod from GOFLAGS, if set. */
  modFlag?: string;
}

/** Compare two module versions by semantic version precedence (pseudo-versions included). */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const m = /^v(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(v);
    if (!m) return undefined;
    return { nums: [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)], pre: m[4] };
  };
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return pa ? 1 : pb ? -1 : a < b ? -1 : a > b ? 1 : 0;
  for (let i = 0; i < 3; i++) if (pa.nums[i] !== pb.nums[i]) return pa.nums[i] - pb.nums[i];
  if (pa.pre === pb.pre) return 0;
  if (pa.pre === undefined) return 1;
  if (pb.pre === undefined) return -1;
  const xa = pa.pre.split(".");
  const xb = pb.pre.split(".");
  for (let i = 0; i < Math.max(xa.length, xb.length); i++) {
    if (xa[i] === undefined) return -1;
    if (xb[i] === undefined) return 1;
    const na = /^\d+$/.test(xa[i]);
    const nb = /^\d+$/.test(xb[i]);
    if (na && nb && Number(xa[i]) !== Number(xb[i])) return Number(xa[i]) - Number(xb[i]);
    if (na !== nb) return na ? -1 : 1;
    if (xa[i] !== xb[i]) return xa[i] < xb[i] ? -1 : 1;
  }
  return 0;
}

/** Go's default -mod: vendor when the main module has vendor/modules.txt and says `go 1.14` or later. */
function defaultMode(root: GoModFile | undefined, input: BuildListInput): ModMode {
  if (input.goWork) return "readonly";
  if (input.modulesTxt === undefined || !root?.go) return "readonly";
  const [maj, min] = root.go.split(".").map(Number);
  return maj > 1 || (maj === 1 && min >= 14) ? "vendor" : "readonly";
}

export class BuildList {
  readonly mode: ModMode;
  /** The main module's go.mod (the root one), parsed. */
  readonly main?: GoModFile;
  /** Required module path -> selected version (the highest any main module requires). */
  readonly versions = new Map<string, string>();
  /** Modules used by go.work, by path: their directory relative to the root. */
  readonly workspace = new Map<string, string>();
  /** Vendored modules (modules.txt), by path. */
  readonly vendored = new Map<string, string>();
  private replaces: { r: Replacement; base: string }[] = [];

  constructor(input: BuildListInput) {
    const mods = input.goMods.map((m) => ({ dir: m.dir, file: parseGoModFile(m.text) }));
    this.main = mods.find((m) => m.dir === ".")?.file;
    const mf = input.modFlag?.trim();
    this.mode = mf === "vendor" || mf === "mod" || mf === "readonly" ? mf : defaultMode(this.main, input);
    let sources = mods;
    if (input.goWork) {
      const work = parseGoWork(input.goWork.text);
      for (const r of work.replace) this.replaces.push({ r, base: input.goWork.dir });
      const used = new Set(work.use.map((u) => norm(input.goWork!.dir, u)));
      sources = mods.filter((m) => used.has(m.dir));
      for (const m of mods) if (used.has(m.dir) && m.file.module) this.workspace.set(m.file.module, m.dir);
    }
    // The root module's replacements come first (they govern), then the other main modules' ones.
    const ordered = [...sources].sort((a, b) => (a.dir === "." ? -1 : b.dir === "." ? 1 : a.dir < b.dir ? -1 : 1));
    for (const m of ordered) for (const r of m.file.replace) this.replaces.push({ r, base: m.dir });
    for (const m of ordered) {
      for (const req of m.file.require) {
        const had = this.versions.get(req.path);
        if (!had || compareVersions(req.version, had) > 0) this.versions.set(req.path, req.version);
      }
    }
    if (input.modulesTxt) for (const v of parseModulesTxt(input.modulesTxt)) this.vendored.set(v.path, v.version);
  }

  /** Record a go.work `use`d module found outside the snapshot (its go.mod read by the front end). */
  addWorkspaceModule(dir: string, goModText: string): void {
    const f = parseGoModFile(goModText);
    if (f.module && !this.workspace.has(f.module)) this.workspace.set(f.module, dir);
    for (const req of f.require) {
      const had = this.versions.get(req.path);
      if (!had || compareVersions(req.version, had) > 0) this.versions.set(req.path, req.version);
    }
  }

  /** The replacement that applies to module@version, if any: a versioned match beats a wildcard. */
  private replacementFor(mod: string, version: string): { r: Replacement; base: string } | undefined {
    return (
      this.replaces.find((x) => x.r.old.path === mod && x.r.old.version === version) ??
      this.replaces.find((x) => x.r.old.path === mod && x.r.old.version === "")
    );
  }

  /**
   * The packages that may provide an import path, longest module path first (Go takes the one
   * that holds the package; two that both hold it are an ambiguous import). Empty when no module
   * of the build list is a prefix: then the import cannot be resolved without `go get`.
   */
  candidates(importPath: string): PackageTarget[] {
    const out: PackageTarget[] = [];
    const seen = new Set<string>();
    const add = (module: string, origin: ModuleOrigin) => {
      if (seen.has(module)) return;
      seen.add(module);
      out.push({ importPath, module, origin, sub: importPath === module ? "" : importPath.slice(module.length + 1) });
    };
    for (const [mod, dir] of this.workspace) if (hasPathPrefix(importPath, mod)) add(mod, { kind: "dir", dir });
    for (const [mod, version] of this.versions) {
      if (!hasPathPrefix(importPath, mod)) continue;
      const rep = this.replacementFor(mod, version);
      if (!rep) add(mod, { kind: "module", path: mod, version });
      else if (rep.r.local) add(mod, { kind: "dir", dir: norm(rep.base, rep.r.new.path) });
      else add(mod, { kind: "module", path: rep.r.new.path, version: rep.r.new.version });
    }
    // A replacement without a require line still names a module Go can resolve (go mod tidy adds it).
    for (const { r, base } of this.replaces) {
      if (!hasPathPrefix(importPath, r.old.path) || seen.has(r.old.path)) continue;
      add(
        r.old.path,
        r.local ? { kind: "dir", dir: norm(base, r.new.path) } : { kind: "module", path: r.new.path, version: r.new.version },
      );
    }
    return out.sort((a, b) => b.module.length - a.module.length);
  }
}

/** A directive's directory relative to the snapshot root: absolute paths stay absolute. */
function norm(base: string, p: string): string {
  const slashed = p.replace(/\\/g, "/");
  if (slashed.startsWith("/") || /^[A-Za-z]:\//.test(slashed)) return path.normalize(slashed);
  return path.normalize(path.join(base, slashed));
}
