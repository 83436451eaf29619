// Which files a review looks at, decided once for every front end (app, CLI): Go source, not a
// test unless asked, not generated (Go's rule), not vendored, not ignored by the config's globs.
import { dirOf, GENERATED_RE, isGeneratedGo } from "../analysis/gopath.ts";

export { dirOf };

/** path -> lines (1-based, head side) added or modified by the change. */
export type ChangedLines = Map<string, Set<number>>;

export interface FileSelection {
  /** The config's `ignore:` patterns. */
  ignore: readonly string[];
  /** Review _test.go files too (the CLI's --tests). */
  tests?: boolean;
}

export { GENERATED_RE };

/** Go's rule: the marker line appears before the package clause. */
export function isGenerated(text: string): boolean {
  return isGeneratedGo(text);
}

/** Under a vendor/ directory at any depth (Go's vendoring): other people's code. */
export function isVendored(path: string): boolean {
  return path.startsWith("vendor/") || path.includes("/vendor/");
}

/** Paths the config ignores: prefixes ("vendor/"), path segments ("testdata/" anywhere) and globs with `*`. */
export function isIgnored(path: string, ignore: readonly string[]): boolean {
  for (const pat of ignore) {
    if (pat.includes("*")) {
      const re = new RegExp(
        `^${pat
          .split("*")
          .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
          .join("[^/]*")}(/|$)`,
      );
      if (re.test(path)) return true;
    } else if (pat.endsWith("/")) {
      if (path.startsWith(pat) || path.includes(`/${pat}`)) return true;
    } else if (path === pat || path.startsWith(`${pat}/`)) {
      return true;
    }
  }
  return false;
}

/**
 * Is this file reviewed? The path decides (Go, test, vendored, ignored); when its text is given,
 * a generated file is not reviewed either. The one answer for the app and the CLI.
 */
export function isReviewedFile(path: string, selection: FileSelection, text?: string): boolean {
  if (!path.endsWith(".go")) return false;
  if (!selection.tests && path.endsWith("_test.go")) return false;
  if (isVendored(path) || isIgnored(path, selection.ignore)) return false;
  return text === undefined || !isGenerated(text);
}

/**
 * The changed lines of reviewed files only. `read` gives a file's head text (undefined when the
 * file is not there, e.g. deleted or not fetched): such files are dropped.
 */
export async function reviewedChangedLines(
  changed: ChangedLines,
  selection: FileSelection,
  read: (path: string) => Promise<string | undefined>,
): Promise<ChangedLines> {
  const out: ChangedLines = new Map();
  for (const [file, lines] of changed) {
    if (!isReviewedFile(file, selection)) continue;
    const text = await read(file);
    if (text === undefined || !isReviewedFile(file, selection, text)) continue;
    out.set(file, lines);
  }
  return out;
}

/** The parts of a snapshot this module needs (structurally src/analysis/model.ts's Snapshot). */
interface PathSource {
  label: string;
  paths(): Promise<string[]>;
  read(path: string): Promise<string>;
  hash?(path: string): string | undefined;
}

/**
 * A snapshot without the paths the config ignores, as the app's GitHub snapshot never fetches
 * them: ignored code is not analysed at all (generated code is: its types are needed).
 */
export function withoutIgnored<S extends PathSource>(snapshot: S, ignore: readonly string[]): PathSource {
  if (ignore.length === 0) return snapshot;
  return {
    label: snapshot.label,
    paths: async () => (await snapshot.paths()).filter((p) => !p.endsWith(".go") || !isIgnored(p, ignore)),
    read: (p) => snapshot.read(p),
    hash: snapshot.hash ? (p) => snapshot.hash?.(p) : undefined,
  };
}
