// Build constraints: which files make a package for a given GOOS/GOARCH, as `go build` decides.
// cgo is treated as disabled: cgo types cannot be laid out from source anyway.

export const KNOWN_OS = new Set([
  "aix",
  "android",
  "darwin",
  "dragonfly",
  "freebsd",
  "hurd",
  "illumos",
  "ios",
  "js",
  "linux",
  "nacl",
  "netbsd",
  "openbsd",
  "plan9",
  "solaris",
  "wasip1",
  "windows",
  "zos",
]);
export const KNOWN_ARCH = new Set([
  "386",
  "amd64",
  "amd64p32",
  "arm",
  "armbe",
  "arm64",
  "arm64be",
  "loong64",
  "mips",
  "mipsle",
  "mips64",
  "mips64le",
  "mips64p32",
  "mips64p32le",
  "ppc",
  "ppc64",
  "ppc64le",
  "riscv",
  "riscv64",
  "s390",
  "s390x",
  "sparc",
  "sparc64",
  "wasm",
]);
const UNIX_OS = new Set([
  "aix",
  "android",
  "darwin",
  "dragonfly",
  "freebsd",
  "hurd",
  "illumos",
  "ios",
  "linux",
  "netbsd",
  "openbsd",
  "solaris",
]);
/** Release tags go1.1 … go1.N are all satisfied; N follows the newest Go we model. */
const NEWEST_GO_MINOR = 24;

export interface BuildContext {
  goos: string;
  goarch: string;
  /** Extra tags given by the user (e.g. `--tags integration`). */
  tags?: string[];
}

export function tagSatisfied(tag: string, ctx: BuildContext): boolean {
  if (tag === ctx.goos || tag === ctx.goarch || tag === "gc") return true;
  if (tag === "unix") return UNIX_OS.has(ctx.goos);
  if (tag === "linux" && ctx.goos === "android") return true;
  if (tag === "solaris" && ctx.goos === "illumos") return true;
  if (tag === "darwin" && ctx.goos === "ios") return true;
  const release = /^go1\.(\d+)$/.exec(tag);
  if (release) return Number(release[1]) <= NEWEST_GO_MINOR;
  return ctx.tags?.includes(tag) ?? false;
}

/** Evaluate a `//go:build` expression. Returns undefined when the expression is malformed. */
export function evalGoBuild(expr: string, ctx: BuildContext): boolean | undefined {
  const tokens = expr.match(/\(|\)|!|&&|\|\||[A-Za-z0-9_.]+|\S/g) ?? [];
  let pos = 0;
  const peek = () => tokens[pos];
  // Recursive descent with a depth bound, so hostile input cannot blow the stack.
  const parseOr = (depth: number): boolean | undefined => {
    let left = parseAnd(depth);
    while (left !== undefined && peek() === "||") {
      pos++;
      const right = parseAnd(depth);
      left = right === undefined ? undefined : left || right;
    }
    return left;
  };
  const parseAnd = (depth: number): boolean | undefined => {
    let left = parseNot(depth);
    while (left !== undefined && peek() === "&&") {
      pos++;
      const right = parseNot(depth);
      left = right === undefined ? undefined : left && right;
    }
    return left;
  };
  const parseNot = (depth: number): boolean | undefined => {
    if (depth > 100) return undefined;
    const tok = tokens[pos++];
    if (tok === "!") {
      const v = parseNot(depth + 1);
      return v === undefined ? undefined : !v;
    }
    if (tok === "(") {
      const v = parseOr(depth + 1);
      if (tokens[pos++] !== ")") return undefined;
      return v;
    }
    if (tok !== undefined && /^[A-Za-z0-9_.]+$/.test(tok)) return tagSatisfied(tok, ctx);
    return undefined;
  };
  const result = parseOr(0);
  return pos === tokens.length ? result : undefined;
}

/** Evaluate legacy `// +build` lines: lines AND together, space-separated terms OR, commas AND. */
export function evalPlusBuild(lines: string[], ctx: BuildContext): boolean {
  return lines.every((line) =>
    line
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .some((term) =>
        term.split(",").every((atom) => (atom.startsWith("!") ? !tagSatisfied(atom.slice(1), ctx) : tagSatisfied(atom, ctx))),
      ),
  );
}

export interface BuildConstraint {
  goBuild?: string;
  plusBuild: string[];
}

/**
 * Read the constraint comments at the top of a file: only line comments (and blank lines or block
 * comments) before the package clause count, as in go/build.
 */
export function readBuildConstraint(text: string): BuildConstraint {
  const result: BuildConstraint = { plusBuild: [] };
  // `// +build` lines count only when a blank line follows them before the package clause
  // (go/build's file header); `//go:build` counts anywhere in the leading comments.
  const pending: string[] = [];
  let i = 0;
  const limit = Math.min(text.length, 64 * 1024);
  while (i < limit) {
    let end = text.indexOf("\n", i);
    if (end < 0) end = text.length;
    const line = text.slice(i, end).trim();
    if (line.startsWith("/*")) {
      const close = text.indexOf("*/", i + 2);
      if (close < 0) break;
      i = close + 2;
      continue;
    }
    if (line === "") {
      result.plusBuild.push(...pending.splice(0));
    } else if (!line.startsWith("//")) {
      break;
    }
    const goBuild = /^\/\/go:build\s+(.*)$/.exec(line);
    if (goBuild && result.goBuild === undefined) result.goBuild = goBuild[1];
    const plus = /^\/\/\s*\+build\s+(.*)$/.exec(line);
    if (plus) pending.push(plus[1]);
    i = end + 1;
  }
  return result;
}

export function constraintSatisfied(c: BuildConstraint, ctx: BuildContext): boolean {
  if (c.goBuild !== undefined) return evalGoBuild(c.goBuild, ctx) ?? false;
  return evalPlusBuild(c.plusBuild, ctx);
}

/** File-name rules: _test.go, leading _ or ., and _GOOS / _GOARCH / _GOOS_GOARCH suffixes. */
export function fileNameSatisfied(fileName: string, ctx: BuildContext, includeTests: boolean): boolean {
  if (!fileName.endsWith(".go") || fileName.startsWith("_") || fileName.startsWith(".")) return false;
  let stem = fileName.slice(0, -3);
  if (stem.endsWith("_test")) {
    if (!includeTests) return false;
    stem = stem.slice(0, -5);
  }
  const parts = stem.split("_");
  // The first element is the name proper and never a constraint (so "linux.go" applies everywhere).
  const n = parts.length;
  if (n >= 3 && KNOWN_OS.has(parts[n - 2]) && KNOWN_ARCH.has(parts[n - 1])) {
    return tagSatisfied(parts[n - 2], ctx) && parts[n - 1] === ctx.goarch;
  }
  if (n >= 2) {
    const last = parts[n - 1];
    if (KNOWN_OS.has(last)) return tagSatisfied(last, ctx);
    if (KNOWN_ARCH.has(last)) return last === ctx.goarch;
  }
  return true;
}
