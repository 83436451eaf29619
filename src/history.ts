// `memcheck history`: replay a repository's own first-parent history through the review and say,
// per commit, what the check would have concluded and why. It is how a team decides to make the
// check required, and how memcheck's defaults are tuned (docs/history.md).
//
// Local git only. Each commit is reviewed against its first parent, like a PR against its base,
// with the repository's .github/memcheck.yml at HEAD. Cost: one analysis per distinct Go tree (a
// commit's analysis is reused as the next commit's base when the Go files are the same), and
// parsed files are cached by blob SHA across commits, so after the first commit only the files a
// commit changed are parsed. The default and the legacy fail policies are judged on the same
// analyses, so their rates compare exactly.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { promisify } from "node:util";
import { wantsFile } from "./analysis/index.ts";
import { dirOf } from "./analysis/gopath.ts";
import type { Analysis, Diff, Snapshot, StructDiff } from "./analysis/model.ts";
import { CONFIG_PATH, parseConfigText, type MemcheckConfig } from "./review/config.ts";
import { isIgnored } from "./review/files.ts";
import { analyzeSnapshot, ParseCache, type EngineOptions } from "./engine.ts";
import { reviewAnalyses } from "./pipeline.ts";
import { conclusion, type Conclusion } from "./review/conclusion.ts";
import { GitError, GitRevSnapshot, changedLines } from "./snapshot/git.ts";

const run = promisify(execFile);

async function git(repo: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run("git", ["-C", repo, ...args], { maxBuffer: 256 * 1024 * 1024, encoding: "utf8" });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new GitError((e.stderr || e.message).trim().split("\n")[0]);
  }
}

export interface HistoryCommit {
  sha: string;
  parent?: string;
  date: string;
  subject: string;
}

/** The last `count` first-parent commits that touch Go files, newest first. */
export async function goCommits(repo: string, count: number, since?: string): Promise<HistoryCommit[]> {
  if (since && !/^[\w:.+ -]+$/.test(since)) throw new GitError(`not a valid date: ${since}`);
  const args = ["log", "--first-parent", "-z", "--format=%H%x1f%P%x1f%ad%x1f%s", "--date=short", `-n${count}`];
  if (since) args.push(`--since=${since}`);
  args.push("HEAD", "--", "*.go");
  const out = await git(repo, args);
  return out
    .split("\0")
    .filter((l) => l.trim())
    .map((l) => {
      const [sha, parents, date, subject] = l.trim().split("\x1f");
      return { sha, parent: parents.split(" ").filter(Boolean)[0], date, subject: subject ?? "" };
    });
}

/** The repository's config at HEAD (defaults when there is none); an invalid file is an error. */
export async function configAtHead(repo: string): Promise<MemcheckConfig> {
  const text = await git(repo, ["show", `HEAD:${CONFIG_PATH}`]).catch(() => "");
  const r = parseConfigText(text);
  if (!r.ok) throw new GitError(r.error);
  return r.config;
}

/** A git revision minus the config's ignored paths, with a fingerprint of its Go tree. */
class ReplaySnapshot implements Snapshot {
  readonly label: string;
  private inner: GitRevSnapshot;
  private listed?: Promise<string[]>;
  constructor(
    repo: string,
    sha: string,
    private ignore: string[],
  ) {
    this.inner = new GitRevSnapshot(repo, sha, sha.slice(0, 12));
    this.label = this.inner.label;
  }
  paths(): Promise<string[]> {
    this.listed ??= this.inner.paths().then((ps) => ps.filter((p) => !isIgnored(p, this.ignore)));
    return this.listed;
  }
  read(path: string): Promise<string> {
    return this.inner.read(path);
  }
  hash(path: string): string | undefined {
    return this.inner.hash(path);
  }
  /** Same fingerprint, same analysis: only the files the engine would read count. */
  async fingerprint(options: EngineOptions): Promise<string> {
    const h = createHash("sha1");
    for (const p of (await this.paths()).sort()) {
      if (p.endsWith(".go") && !wantsFile(p, options)) continue;
      h.update(`${p}\0${this.hash(p)}\n`);
    }
    return h.digest("hex");
  }
}

export interface HistoryRow {
  commit: HistoryCommit;
  conclusion: Conclusion;
  /** What the legacy policy (every regression fails) would have concluded on the same diff. */
  legacy: Conclusion;
  /** Failures under the default policy: "message — reason". */
  failures: string[];
  /** Failures under the legacy policy (messages only). */
  legacyFailures: string[];
  notices: number;
  /** Notices under the default policy: "message — reason". */
  noticeLines: string[];
  findings: number;
  /** Struct names with a failure or notice. */
  types: string[];
  ms: number;
  /** Set when the commit could not be analysed (the row then counts as neither fail nor comment). */
  error?: string;
}

export interface HistorySummary {
  commits: number;
  wouldFail: number;
  wouldFailLegacy: number;
  /** Passing commits whose check would still say something (notices or findings). */
  wouldComment: number;
  errors: number;
  /** Struct names by how many commits they failed or were noticed in, most first. */
  topTypes: { name: string; commits: number }[];
  ms: number;
}

export interface HistoryOptions {
  repo: string;
  count: number;
  since?: string;
  engine: EngineOptions;
  /** Called after each commit (the CLI prints rows as they come). */
  onRow?: (row: HistoryRow, index: number, total: number) => void;
}

function touchedDirs(changed: Map<string, Set<number>>): Set<string> {
  return new Set([...changed.keys()].filter((p) => p.endsWith(".go")).map(dirOf));
}

function structLabel(s: StructDiff): string {
  return s.name;
}

/** Replay `count` commits; rows are newest first. */
export async function replayHistory(o: HistoryOptions): Promise<{ rows: HistoryRow[]; summary: HistorySummary; config: MemcheckConfig }> {
  const started = performance.now();
  const config = await configAtHead(o.repo);
  const commits = await goCommits(o.repo, o.count, o.since);
  const cache = o.engine.cache ?? new ParseCache(200_000);
  const engine: EngineOptions = { ...o.engine, archs: o.engine.archs ?? config.archs, cache, rules: true };
  // The two most recent analyses by Go-tree fingerprint: a commit's base is usually the previous
  // (older) row's head.
  const recent: { key: string; analysis: Promise<Analysis> }[] = [];
  const analyse = async (sha: string): Promise<Analysis> => {
    const snap = new ReplaySnapshot(o.repo, sha, config.ignore);
    const key = await snap.fingerprint(engine);
    const hit = recent.find((r) => r.key === key);
    if (hit) return hit.analysis;
    const analysis = analyzeSnapshot(snap, engine);
    recent.push({ key, analysis });
    if (recent.length > 3) recent.shift();
    return analysis;
  };

  const rows: HistoryRow[] = [];
  for (const [i, commit] of commits.entries()) {
    const t0 = performance.now();
    let row: HistoryRow;
    if (!commit.parent) {
      row = emptyRow(commit, "root commit: nothing to compare with");
    } else {
      try {
        const head = await analyse(commit.sha);
        const base = await analyse(commit.parent);
        const changed = await changedLines(o.repo, commit.parent, commit.sha);
        const options = {
          thresholds: config.thresholds,
          ruleThresholds: config.ruleThresholds,
          ruleConfig: config.rules,
          changedLines: changed,
          hot: config.hot,
          onlyDirs: touchedDirs(changed),
        };
        const legacyDiff = reviewAnalyses(base, head, { ...options, policy: "legacy" });
        const diff = reviewAnalyses(base, head, { ...options, policy: "default" });
        row = rowOf(commit, diff, legacyDiff);
      } catch (err) {
        if (!(err instanceof GitError)) throw err;
        row = emptyRow(commit, err.message);
      }
    }
    row.ms = Math.round(performance.now() - t0);
    rows.push(row);
    o.onRow?.(row, i, commits.length);
  }
  return { rows, summary: summarize(rows, performance.now() - started), config };
}

function emptyRow(commit: HistoryCommit, error: string): HistoryRow {
  return {
    commit,
    conclusion: "neutral",
    legacy: "neutral",
    failures: [],
    legacyFailures: [],
    notices: 0,
    noticeLines: [],
    findings: 0,
    types: [],
    ms: 0,
    error,
  };
}

function rowOf(commit: HistoryCommit, diff: Diff, legacyDiff: Diff): HistoryRow {
  const types = new Set<string>();
  for (const s of diff.structs) if (s.regressions.length || s.notices?.length) types.add(structLabel(s));
  return {
    commit,
    conclusion: conclusion(diff),
    legacy: conclusion(legacyDiff),
    failures: diff.regressions
      .map((r) => `${r.message}${r.reason ? ` — ${r.reason}` : ""}`)
      .concat(diff.findings.filter((f) => f.severity === "error").map((f) => `${f.rule} ${f.file}:${f.line} ${f.message}`)),
    legacyFailures: legacyDiff.regressions.map((r) => r.message),
    notices: diff.notices?.length ?? 0,
    noticeLines: (diff.notices ?? []).map((r) => `${r.message}${r.reason ? ` — ${r.reason}` : ""}`),
    findings: diff.findings.length,
    types: [...types],
    ms: 0,
  };
}

export function summarize(rows: HistoryRow[], ms: number): HistorySummary {
  const counts = new Map<string, number>();
  for (const r of rows) for (const t of r.types) counts.set(t, (counts.get(t) ?? 0) + 1);
  return {
    commits: rows.length,
    wouldFail: rows.filter((r) => r.conclusion === "failure").length,
    wouldFailLegacy: rows.filter((r) => r.legacy === "failure").length,
    wouldComment: rows.filter((r) => r.conclusion !== "failure" && !r.error && (r.notices > 0 || r.findings > 0)).length,
    errors: rows.filter((r) => r.error).length,
    topTypes: [...counts]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, 10)
      .map(([name, commits]) => ({ name, commits })),
    ms: Math.round(ms),
  };
}

function pct(n: number, of: number): string {
  return of ? `${((100 * n) / of).toFixed(1)}%` : "0%";
}

/** One commit as terminal text: the verdict line, then why it fails. */
export function historyRowText(r: HistoryRow): string {
  const verdict = r.error ? "skipped" : r.conclusion === "failure" ? "FAIL" : r.notices || r.findings ? "comment" : "pass";
  const legacy = r.legacy === "failure" && r.conclusion !== "failure" ? " (legacy: fail)" : "";
  const extra = r.error
    ? ` — ${r.error}`
    : r.notices || r.findings
      ? ` · ${r.notices} notice${r.notices === 1 ? "" : "s"}, ${r.findings} finding${r.findings === 1 ? "" : "s"}`
      : "";
  const lines = [`${r.commit.sha.slice(0, 10)}  ${r.commit.date}  ${verdict.padEnd(7)}${legacy}  ${r.commit.subject.slice(0, 72)}${extra}`];
  for (const f of r.failures.slice(0, 5)) lines.push(`    ✗ ${f}`);
  if (r.failures.length > 5) lines.push(`    …and ${r.failures.length - 5} more`);
  for (const n of r.noticeLines.slice(0, 3)) lines.push(`    ! ${n}`);
  if (r.noticeLines.length > 3) lines.push(`    …and ${r.noticeLines.length - 3} more notices`);
  return lines.join("\n");
}

export function historySummaryText(s: HistorySummary): string {
  const lines = [
    "",
    `commits replayed: ${s.commits}${s.errors ? ` (${s.errors} skipped)` : ""} in ${(s.ms / 1000).toFixed(1)} s`,
    `would fail:       ${s.wouldFail} (${pct(s.wouldFail, s.commits)})   legacy policy: ${s.wouldFailLegacy} (${pct(s.wouldFailLegacy, s.commits)})`,
    `would comment:    ${s.wouldComment} (${pct(s.wouldComment, s.commits)})`,
  ];
  if (s.topTypes.length) lines.push(`top types:        ${s.topTypes.map((t) => `${t.name} (${t.commits})`).join(", ")}`);
  return lines.join("\n");
}
