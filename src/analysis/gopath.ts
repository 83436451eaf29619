// Go's path concepts, once: the module path a go.mod declares, the name an import path gets, and
// the directory (package) of a file. Pure; every front end and the analysis use these.

/** The directory of a slash-separated path, "." at the root (a file's package directory). */
export function dirOf(file: string): string {
  const i = file.lastIndexOf("/");
  return i <= 0 ? (i === 0 ? "/" : ".") : file.slice(0, i);
}

/**
 * The module path of a go.mod file, as `go mod edit -json` reports it: the first `module`
 * directive (also in a `module ( ... )` block), with `//` comments removed and a quoted path
 * ("..." with escapes, or `...`) unquoted. Undefined when there is none.
 */
export function parseGoMod(text: string): string | undefined {
  for (const d of goModDirectives(text)) if (d.verb === "module" && d.args[0]) return d.args[0];
  return undefined;
}

/** One directive of a go.mod or go.work file: its verb and arguments (quotes removed). */
export interface GoModDirective {
  verb: string;
  args: string[];
  line: number;
}

/**
 * The directives of a go.mod / go.work file, in order, as golang.org/x/mod/modfile reads them: a
 * line is a verb and its arguments; `verb ( ... )` is a block whose lines each take the verb; `//`
 * starts a comment (also right after a word); "..." and `...` are quoted tokens.
 */
export function goModDirectives(text: string): GoModDirective[] {
  const out: GoModDirective[] = [];
  let block: string | undefined;
  const lines = text.replace(/^\uFEFF/, "").split("\n");
  for (let n = 0; n < lines.length; n++) {
    let toks = tokenizeGoModLine(lines[n]);
    if (toks.length === 0) continue;
    if (block !== undefined) {
      const close = toks.indexOf(")");
      if (close < 0) {
        out.push({ verb: block, args: toks, line: n + 1 });
        continue;
      }
      if (close > 0) out.push({ verb: block, args: toks.slice(0, close), line: n + 1 });
      block = undefined;
      toks = toks.slice(close + 1);
      if (toks.length === 0) continue;
    }
    const [verb, ...rest] = toks;
    if (verb === "(" || verb === ")") continue;
    if (rest[0] === "(") {
      const inner = rest.slice(1);
      const close = inner.indexOf(")");
      if (close >= 0) {
        if (close > 0) out.push({ verb, args: inner.slice(0, close), line: n + 1 });
        continue;
      }
      if (inner.length) out.push({ verb, args: inner, line: n + 1 });
      block = verb;
      continue;
    }
    out.push({ verb, args: rest, line: n + 1 });
  }
  return out;
}

/** The tokens of one go.mod line: words, unquoted strings, and "(" / ")"; comments dropped. */
function tokenizeGoModLine(line: string): string[] {
  const toks: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "/" && line[i + 1] === "/") break;
    if (c === "(" || c === ")") {
      toks.push(c);
      i++;
      continue;
    }
    if (c === "`") {
      const end = line.indexOf("`", i + 1);
      if (end < 0) break;
      toks.push(line.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    if (c === '"') {
      const m = /^"((?:[^"\\]|\\.)*)"/.exec(line.slice(i));
      if (!m) break;
      try {
        toks.push(JSON.parse(`"${m[1]}"`) as string);
      } catch {
        toks.push(m[1]);
      }
      i += m[0].length;
      continue;
    }
    let j = i;
    while (j < line.length && !/[\s()]/.test(line[j]) && !(line[j] === "/" && line[j + 1] === "/")) j++;
    toks.push(line.slice(i, j));
    i = j;
  }
  return toks;
}

/** A module path and version ("" for a replacement's left side that matches every version). */
export interface ModuleVersion {
  path: string;
  version: string;
}

/** A `replace` directive: `new.version` is "" for a local directory replacement (`=> ../dir`). */
export interface Replacement {
  old: ModuleVersion;
  new: ModuleVersion;
  /** The replacement is a directory (a path starting with ./, ../ or /), not a module. */
  local: boolean;
}

/** What memcheck reads from a go.mod: the directives that decide which module versions build. */
export interface GoModFile {
  module?: string;
  /** The `go` directive (language version), e.g. "1.22" or "1.22.3". */
  go?: string;
  toolchain?: string;
  require: ModuleVersion[];
  replace: Replacement[];
  exclude: ModuleVersion[];
}

/** go.work: `use` directories (relative to the go.work) and workspace-wide replacements. */
export interface GoWorkFile {
  go?: string;
  toolchain?: string;
  use: string[];
  replace: Replacement[];
}

/** A local path in a replace or use directive: absolute, or starting with ./ or ../ (Go's rule). */
export function isLocalPath(p: string): boolean {
  return /^(\/|\.\.?$|\.\.?[/\\]|[A-Za-z]:[/\\])/.test(p);
}

function replacement(args: string[]): Replacement | undefined {
  const arrow = args.indexOf("=>");
  if (arrow < 1 || arrow > 2) return undefined;
  const left = args.slice(0, arrow);
  const right = args.slice(arrow + 1);
  if (right.length < 1 || right.length > 2) return undefined;
  const local = right.length === 1 && isLocalPath(right[0]);
  if (right.length === 1 && !local) return undefined;
  return { old: { path: left[0], version: left[1] ?? "" }, new: { path: right[0], version: right[1] ?? "" }, local };
}

/** The directives of a go.mod that select module versions (module, go, toolchain, require, replace, exclude). */
export function parseGoModFile(text: string): GoModFile {
  const out: GoModFile = { require: [], replace: [], exclude: [] };
  for (const d of goModDirectives(text)) {
    const [a, b] = d.args;
    if (d.verb === "module" && out.module === undefined && a) out.module = a;
    else if (d.verb === "go" && a) out.go = a;
    else if (d.verb === "toolchain" && a) out.toolchain = a;
    else if (d.verb === "require" && a && b) out.require.push({ path: a, version: b });
    else if (d.verb === "exclude" && a && b) out.exclude.push({ path: a, version: b });
    else if (d.verb === "replace") {
      const r = replacement(d.args);
      if (r) out.replace.push(r);
    }
  }
  return out;
}

/** A go.work file's directives. */
export function parseGoWork(text: string): GoWorkFile {
  const out: GoWorkFile = { use: [], replace: [] };
  for (const d of goModDirectives(text)) {
    if (d.verb === "go" && d.args[0]) out.go = d.args[0];
    else if (d.verb === "toolchain" && d.args[0]) out.toolchain = d.args[0];
    else if (d.verb === "use" && d.args[0]) out.use.push(d.args[0]);
    else if (d.verb === "replace") {
      const r = replacement(d.args);
      if (r) out.replace.push(r);
    }
  }
  return out;
}

/**
 * go.sum lines: `module version h1:...` (the module zip's hash) and `module version/go.mod h1:...`.
 * The key is "module version" or "module version/go.mod"; the first line for a key wins.
 */
export function parseGoSum(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3 || !f[2].startsWith("h1:")) continue;
    const key = `${f[0]} ${f[1]}`;
    if (!out.has(key)) out.set(key, f[2]);
  }
  return out;
}

/** One module of vendor/modules.txt: `# path version [=> replacement]` and its package lines. */
export interface VendoredModule {
  path: string;
  version: string;
  packages: string[];
}

export function parseModulesTxt(text: string): VendoredModule[] {
  const out: VendoredModule[] = [];
  let current: VendoredModule | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("# ")) {
      const f = line.slice(2).trim().split(/\s+/);
      current = { path: f[0], version: f[1] ?? "", packages: [] };
      out.push(current);
    } else if (line !== "" && !line.startsWith("#") && current) {
      current.packages.push(line);
    }
  }
  return out;
}

/** Module paths and versions as the module cache and proxies spell them: "A" becomes "!a". */
export function escapeModulePath(p: string): string {
  return p.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);
}

/** Is `prefix` a path prefix of `importPath` (equal, or followed by "/")? */
export function hasPathPrefix(importPath: string, prefix: string): boolean {
  return importPath === prefix || (importPath.startsWith(prefix) && importPath[prefix.length] === "/");
}

/** Anything that can look up a package of the tree by import path (types.ts's PackageSource). */
export interface PackageNames {
  packageByPath(path: string): { name?: string } | undefined;
}

/**
 * The local name an import gets when it is imported without one. When the package is in the tree,
 * its package clause decides (Go's rule). Otherwise the name Go tooling assumes (goimports'
 * ImportPathToAssumedName): the last path element, the one before it when the last is a major
 * version (`/v2`), minus a `go-` prefix, cut at the first character that cannot be in an
 * identifier (so `yaml.v3` -> yaml, `bar-baz` -> bar, `foo-go` -> foo).
 */
export function defaultImportName(importPath: string, source?: PackageNames): string {
  const pkg = source?.packageByPath(importPath);
  if (pkg?.name) return pkg.name;
  const parts = importPath.split("/");
  let base = parts[parts.length - 1];
  if (/^v\d+$/.test(base) && parts.length > 1) base = parts[parts.length - 2];
  if (base.startsWith("go-")) base = base.slice(3);
  const cut = base.search(/[^\p{L}\p{N}_]/u);
  return cut >= 0 ? base.slice(0, cut) : base;
}

/** Go's marker for generated files (https://go.dev/s/generatedcode). */
export const GENERATED_RE = /^\/\/ Code generated .* DO NOT EDIT\.\r?$/m;

/** Go's rule: the marker line appears anywhere before the package clause. */
export function isGeneratedGo(text: string): boolean {
  const head = text.slice(0, 65536);
  const pkg = /^package\s/m.exec(head);
  return GENERATED_RE.test(pkg ? head.slice(0, pkg.index) : head);
}
