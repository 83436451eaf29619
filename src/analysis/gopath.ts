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
  let inBlock = false;
  for (const raw of text.replace(/^\uFEFF/, "").split("\n")) {
    let line = raw.trim();
    if (inBlock) {
      if (line.startsWith(")")) {
        inBlock = false;
        continue;
      }
      const p = firstToken(line);
      if (p) return p;
      continue;
    }
    const m = /^module(?=[\s("`]|\/\/|$)(.*)$/.exec(line);
    if (!m) continue;
    line = m[1].trim();
    if (line.startsWith("(")) {
      const rest = line.slice(1).trim();
      const p = firstToken(rest.replace(/\).*$/, ""));
      if (p) return p;
      inBlock = !rest.includes(")");
      continue;
    }
    const p = firstToken(line);
    if (p) return p;
  }
  return undefined;
}

/** The first go.mod token of a line: a quoted string (unquoted) or a bare word; comments end it. */
function firstToken(line: string): string | undefined {
  const s = line.trim();
  if (s === "" || s.startsWith("//")) return undefined;
  if (s[0] === "`") {
    const end = s.indexOf("`", 1);
    return end > 1 ? s.slice(1, end) : undefined;
  }
  if (s[0] === '"') {
    const m = /^"((?:[^"\\]|\\.)*)"/.exec(s);
    if (!m) return undefined;
    try {
      return JSON.parse(`"${m[1]}"`) as string;
    } catch {
      return m[1];
    }
  }
  const word = /^[^\s]+?(?=\s|\/\/|$)/.exec(s)?.[0];
  return word || undefined;
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
