// FileDecls -> packages per (dir, GOOS, GOARCH), and import paths <-> directories through go.mod.
import path from "node:path/posix";
import { constraintSatisfied, fileNameSatisfied, type BuildContext } from "./buildtags.ts";
import { printable, type FileDecls } from "./parse.ts";
import type { Diagnostic } from "./model.ts";

export interface Module {
  /** Directory of the go.mod, relative to the snapshot root ("." for the root). */
  dir: string;
  path: string;
  /** The go.mod's `go` and `toolchain` directives, when present. */
  go?: string;
  toolchain?: string;
}

/** Excluded from listings as `go build ./...` excludes them; vendor/ still serves imports. */
export function isListedDir(dir: string): boolean {
  if (dir === ".") return true;
  return !dir.split("/").some((p) => p === "vendor" || p === "testdata" || p.startsWith(".") || p.startsWith("_"));
}

export class ModuleMap {
  private modules: Module[];
  constructor(modules: Module[]) {
    // Longest module path first, so nested modules win.
    this.modules = [...modules].sort((a, b) => b.dir.length - a.dir.length);
  }

  /** The import path of a directory, or the directory itself outside any module. */
  importPathOf(dir: string): string {
    for (const m of this.modules) {
      if (m.dir === "." || dir === m.dir || dir.startsWith(m.dir + "/")) {
        const rel = m.dir === "." ? dir : dir.slice(m.dir.length + 1);
        return rel === "." || rel === "" ? m.path : `${m.path}/${rel}`;
      }
    }
    return dir;
  }

  /** Candidate directories for an import path: in a module of the tree, or its vendor/ folder. */
  dirsFor(importPath: string): string[] {
    return [...this.moduleDirsFor(importPath), ...this.vendorDirsFor(importPath)];
  }

  /** Candidate directories for an import path in the tree's modules, longest module path first. */
  moduleDirsFor(importPath: string): string[] {
    const dirs: string[] = [];
    const byPath = [...this.modules].sort((a, b) => b.path.length - a.path.length);
    for (const m of byPath) {
      if (importPath === m.path || importPath.startsWith(m.path + "/")) {
        const rest = importPath.slice(m.path.length + 1);
        dirs.push(rest ? path.join(m.dir, rest) : m.dir);
      }
    }
    return dirs;
  }

  /** Candidate vendor/ directories for an import path. */
  vendorDirsFor(importPath: string): string[] {
    const dirs = this.modules.map((m) => path.join(m.dir, "vendor", importPath));
    if (this.modules.length === 0) dirs.push(path.join("vendor", importPath));
    return dirs;
  }
}

export function fileBaseName(file: string): string {
  return path.basename(file);
}

/**
 * The files of one directory that `go build` would compile for this context. When files disagree
 * on the package name, the most common name wins and the rest are reported.
 */
export function selectFiles(files: FileDecls[], ctx: BuildContext, includeTests: boolean, diagnostics?: Diagnostic[]): FileDecls[] {
  // External test packages (package foo_test) are separate packages and never hold foo's types.
  const chosen = files.filter(
    (f) =>
      f.packageName !== "" &&
      !f.packageName.endsWith("_test") &&
      // cgo is off (cross-compiling, CGO_ENABLED=0): files that import "C" are not compiled.
      !f.imports.some((imp) => imp.path === "C") &&
      fileNameSatisfied(fileBaseName(f.path), ctx, includeTests) &&
      constraintSatisfied(f.constraint, ctx),
  );
  const counts = new Map<string, number>();
  for (const f of chosen) counts.set(f.packageName, (counts.get(f.packageName) ?? 0) + 1);
  if (counts.size <= 1) return chosen;
  const winner = [...counts.entries()].sort((a, b) => b[1] - a[1])[0][0];
  for (const f of chosen) {
    if (f.packageName !== winner) {
      diagnostics?.push({
        file: f.path,
        message: printable(`package ${f.packageName} differs from ${winner} in the same directory; file left out`),
      });
    }
  }
  return chosen.filter((f) => f.packageName === winner);
}
