// PR files: every page of pulls.listFiles, the changed lines of each file from its patch, and the
// Go packages (directories) a PR touches.
import type { GitHubClient } from "./client.ts";
import { type ChangedLines, dirOf, isReviewedFile } from "../review/files.ts";

export { type ChangedLines, GENERATED_RE, dirOf, isGenerated } from "../review/files.ts";

export interface PrFile {
  filename: string;
  status: string;
  previous_filename?: string;
  patch?: string;
  sha?: string | null;
}

/** GitHub returns at most 3,000 files, 100 per page. */
export const MAX_PR_FILES = 3000;

/**
 * The PR's files (GitHub lists at most 3,000). With the PR's `changed_files` count the pages are
 * requested at once (a 1,000-file PR: 10 pages in one round trip, not ten); without it, page after
 * page. A page that comes back short ends the list either way.
 */
export async function listPrFiles(
  octokit: GitHubClient,
  owner: string,
  repo: string,
  pull_number: number,
  changedFiles?: number,
): Promise<PrFile[]> {
  const perPage = 100;
  const pages = changedFiles ? Math.ceil(Math.min(changedFiles, MAX_PR_FILES) / perPage) : 0;
  if (pages > 1) {
    const all = await Promise.all(
      Array.from({ length: pages }, (_, i) => octokit.rest.pulls.listFiles({ owner, repo, pull_number, per_page: perPage, page: i + 1 })),
    );
    const out = all.flatMap((r) => r.data);
    // The count changed meanwhile (a push): the last page is full, so there may be more.
    if (all.at(-1)!.data.length < perPage || out.length >= MAX_PR_FILES) return out.slice(0, MAX_PR_FILES);
  }
  const out: PrFile[] = [];
  for await (const page of octokit.paginate.iterator(octokit.rest.pulls.listFiles, { owner, repo, pull_number, per_page: perPage })) {
    for (const f of page.data) out.push(f);
    if (out.length >= MAX_PR_FILES) break;
  }
  return out.slice(0, MAX_PR_FILES);
}

/** Added lines on the head side of a unified diff patch (GitHub's `patch` field, hunks only). */
export function addedLines(patch: string | undefined): Set<number> {
  const lines = new Set<number>();
  if (!patch) return lines;
  let n = 0;
  let inHunk = false;
  for (const raw of patch.split("\n")) {
    const h = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(raw);
    if (h) {
      n = Number(h[1]);
      inHunk = true;
      continue;
    }
    if (!inHunk) continue;
    const c = raw[0];
    if (c === "+") lines.add(n++);
    else if (c === " " || raw === "") n++;
    // "-" lines and "\ No newline at end of file" do not advance the head side.
  }
  return lines;
}

export function changedLinesOf(files: PrFile[]): ChangedLines {
  const m: ChangedLines = new Map();
  for (const f of files) {
    if (f.status === "removed") continue;
    const s = addedLines(f.patch);
    if (s.size) m.set(f.filename, s);
  }
  return m;
}

/** A Go source file the review considers (src/review/files.ts decides; its text, if given, is checked too). */
export function isReviewedGoFile(path: string, ignore: string[], text?: string): boolean {
  return isReviewedFile(path, { ignore }, text);
}

export interface Touched {
  /** Directories with changed Go files (head side; base side for removed files and renames). */
  dirs: string[];
  /** The changed Go files considered (head paths). */
  files: string[];
}

export function touchedPackages(files: PrFile[], ignore: string[]): Touched {
  const dirs = new Set<string>();
  const changed: string[] = [];
  for (const f of files) {
    for (const p of [f.filename, f.previous_filename]) {
      if (p && isReviewedGoFile(p, ignore)) dirs.add(dirOf(p));
    }
    if (f.status !== "removed" && isReviewedGoFile(f.filename, ignore)) changed.push(f.filename);
  }
  return { dirs: [...dirs].sort(), files: changed };
}
