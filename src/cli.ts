// The `memcheck` command: the same engine as the GitHub App, on a local checkout, with the
// conventions of Go tools (package patterns, `path:line:col: message` findings, exit codes).
import { Command, InvalidArgumentError, Option } from "commander";
import { readFileSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import pc from "picocolors";
import { ALL_ARCHS, type Analysis, type Arch, type Diff, type Finding, type Snapshot, type StructReport } from "./analysis/model.ts";
import { KNOWN_OS } from "./analysis/buildtags.ts";
import { dirOf, parseGoMod } from "./analysis/gopath.ts";
import { packageRoot } from "./analysis/package-root.ts";
import { analyzeSnapshot, type EngineOptions } from "./engine.ts";
import { ParsePool, defaultThreads } from "./parse-pool.ts";
import { LocalDirSnapshot, findEnclosingGoMod } from "./snapshot/local.ts";
import { localModules } from "./modules/local.ts";
import { GitError, GitRevSnapshot, changedLines, repoRoot, resolveRef } from "./snapshot/git.ts";
import { layoutTable } from "./report/layout-table.ts";
import { layoutDiagram } from "./report/diagram.ts";
import { checkSummary } from "./report/markdown.ts";
import { FAIL_ON, FAIL_POLICIES, findingsFail, isFailing, type FailOn, type FailPolicy } from "./review/conclusion.ts";
import { textReport } from "./report/text.ts";
import { LAYOUT_RULES, MEMCHECK_HOME, toSarif, type SarifOptions } from "./report/sarif.ts";
import {
  findingText,
  findingsMarkdown,
  findingsSummary,
  firstColumn,
  githubDiffCommands,
  githubFindingCommands,
  type Paint,
  type PlacedFinding,
} from "./report/findings.ts";
import { CONFIG_PATH, DEFAULT_ARCHS, parseConfig, parseConfigText, type MemcheckConfig } from "./review/config.ts";
import { isReviewedFile, reviewedChangedLines, withoutIgnored } from "./review/files.ts";
import { ruleHelpFromDocs } from "./rule-docs.ts";

/** An error the user can fix: printed as one line, exit code 2. */
export class UsageError extends Error {}

/** memcheck's version, from its package.json. */
export const VERSION: string = (() => {
  try {
    return String(JSON.parse(readFileSync(path.join(packageRoot, "package.json"), "utf8")).version ?? "unknown");
  } catch {
    return "unknown";
  }
})();

export function parseArchs(value: string): Arch[] {
  const archs = value
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  for (const a of archs) {
    if (!(ALL_ARCHS as readonly string[]).includes(a)) {
      throw new InvalidArgumentError(`unknown arch "${a}" (known: ${ALL_ARCHS.join(", ")})`);
    }
  }
  if (archs.length === 0) throw new InvalidArgumentError("empty arch list");
  return archs as Arch[];
}

/** GOOS values gc knows (the build-constraint table's). */
export function parseGoos(value: string): string {
  const v = value.trim();
  if (!KNOWN_OS.has(v)) throw new InvalidArgumentError(`unknown GOOS "${v}" (known: ${[...KNOWN_OS].sort().join(", ")})`);
  return v;
}

// ---- output: stdout that may close, colour ----------------------------------------------------

let stdoutClosed = false;

function print(text: string): void {
  if (stdoutClosed) return;
  process.stdout.write(text.endsWith("\n") ? text : text + "\n");
}

/**
 * Colour on a terminal, as https://no-color.org asks: NO_COLOR (non-empty) turns it off, then
 * FORCE_COLOR (not "0" or "false") turns it on, else stdout being a TTY (and TERM not "dumb").
 */
export function colorEnabled(env: NodeJS.ProcessEnv, isTTY: boolean | undefined): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== "0" && env.FORCE_COLOR !== "false";
  return !!isTTY && env.TERM !== "dumb";
}

function paint(): Paint & { enabled: boolean } {
  const on = colorEnabled(process.env, process.stdout.isTTY);
  return { ...pc.createColors(on), enabled: on };
}

function progress(quiet?: boolean): EngineOptions["onProgress"] {
  if (quiet || !process.stderr.isTTY) return undefined;
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (done === total) process.stderr.write("\r\x1b[K");
    else if (now - last > 100) {
      last = now;
      process.stderr.write(`\rparsing ${done}/${total} files`);
    }
  };
}

// ---- output formats ------------------------------------------------------------------------

export const FORMATS = ["text", "json", "sarif", "markdown", "github"] as const;
export type Format = (typeof FORMATS)[number];

function parseFormat(v: string): Format {
  if (!(FORMATS as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${FORMATS.join(", ")}`);
  return v as Format;
}

/**
 * The output format from --format and its aliases (--json, --sarif, --markdown). Two different
 * formats are a usage error, never a silent pick.
 */
function chooseFormat(opts: { format?: Format; json?: boolean; sarif?: boolean; markdown?: boolean }, allowed: readonly Format[]): Format {
  const picked = new Set<Format>();
  if (opts.format) picked.add(opts.format);
  for (const f of ["json", "sarif", "markdown"] as const) if (opts[f]) picked.add(f);
  if (picked.size > 1) throw new UsageError(`conflicting output formats: ${[...picked].join(" and ")} (choose one with --format)`);
  const f = [...picked][0] ?? "text";
  if (!allowed.includes(f)) throw new UsageError(`--format ${f} is not available here (choose ${allowed.join(", ")})`);
  return f;
}

function parseFailOn(v: string): FailOn {
  if (!(FAIL_ON as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${FAIL_ON.join(", ")}`);
  return v as FailOn;
}

// ---- package patterns ------------------------------------------------------------------------

/** One package pattern, resolved: the snapshot root (the module, else the directory) and what it selects. */
export interface Target {
  pattern: string;
  /** Absolute directory read as the snapshot (the enclosing module, so imports between its packages resolve). */
  root: string;
  /** The selected directory relative to root ("." for root). */
  dir: string;
  /** `dir/...`: the directory and everything below it. */
  recursive: boolean;
}

/** Does a directory (relative to the root) belong to one of the targets? */
export function selects(targets: readonly Target[], dir: string): boolean {
  return targets.some((t) => (t.recursive ? t.dir === "." || dir === t.dir || dir.startsWith(`${t.dir}/`) : dir === t.dir));
}

/** An import path of the module around the current directory, as a directory. */
async function importPathDir(p: string): Promise<string | undefined> {
  if (p.startsWith(".") || path.isAbsolute(p) || !p.includes("/")) return undefined;
  const mod = await findEnclosingGoMod(process.cwd()).catch(() => undefined);
  const modPath = mod ? parseGoMod(mod.text) : undefined;
  if (!mod || !modPath) return undefined;
  if (p === modPath) return mod.dir;
  if (!p.startsWith(`${modPath}/`)) return undefined;
  const dir = path.join(mod.dir, ...p.slice(modPath.length + 1).split("/"));
  return (await stat(dir).catch(() => undefined))?.isDirectory() ? dir : undefined;
}

/**
 * A pattern as the go command reads it: `./pkg` (or `pkg`, an absolute path, a .go file's
 * directory, an import path of the current module) is one package; `./pkg/...` is it and every
 * package below; `.` is the current package and `./...` everything.
 */
export async function resolveTarget(pattern: string): Promise<Target> {
  const recursive = pattern === "..." || pattern.endsWith("/...");
  const p = recursive ? pattern.slice(0, -3).replace(/\/+$/, "") || (pattern.startsWith("/") ? "/" : ".") : pattern;
  let abs: string;
  const info = await stat(p).catch(() => undefined);
  if (info) {
    if (info.isDirectory()) abs = path.resolve(p);
    else if (!recursive && p.endsWith(".go")) abs = path.dirname(path.resolve(p));
    else throw new UsageError(`${p}: not a directory or a Go file`);
  } else {
    const dir = await importPathDir(p);
    if (!dir) throw new UsageError(`${p}: no such file or directory`);
    abs = dir;
  }
  const mod = await findEnclosingGoMod(abs);
  const root = mod?.dir ?? abs;
  return { pattern, root, dir: path.relative(root, abs).split(path.sep).join("/") || ".", recursive };
}

/** The analysis of one snapshot root and the targets that select from it. */
interface Part {
  root: string;
  targets: Target[];
  snapshot: Snapshot;
  analysis: Analysis;
}

/** Analyse each snapshot root once, for all the targets under it. No Go files selected is a usage error. */
async function analyzeTargets(
  patterns: string[],
  options: EngineOptions,
  ignore: readonly string[] = [],
  quiet?: boolean,
): Promise<Part[]> {
  const targets = await Promise.all((patterns.length ? patterns : ["./..."]).map(resolveTarget));
  const byRoot = new Map<string, Target[]>();
  for (const t of targets) byRoot.set(t.root, [...(byRoot.get(t.root) ?? []), t]);
  const parts: Part[] = [];
  for (const [root, ts] of byRoot) {
    const snapshot = withoutIgnored(new LocalDirSnapshot(root), ignore);
    const goDirs = new Set((await snapshot.paths()).filter((p) => p.endsWith(".go")).map(dirOf));
    for (const t of ts) {
      if ([...goDirs].some((d) => selects([t], d))) continue;
      const below = !t.recursive && [...goDirs].some((d) => selects([{ ...t, recursive: true }], d));
      throw new UsageError(`${t.pattern}: no Go files${below ? ` (for the packages below it: ${t.pattern.replace(/\/$/, "")}/...)` : ""}`);
    }
    // Other modules' types (go.mod, go.work, vendor/, the module cache, GOPROXY): src/modules.
    const modules = options.modules === undefined && process.env.MEMCHECK_MODULES !== "off" ? localModules(root) : options.modules;
    const analysis = await analyzeSnapshot(snapshot, { ...options, modules, onProgress: progress(quiet) });
    parts.push({ root, targets: ts, snapshot, analysis });
  }
  return parts;
}

/** The structs and diagnostics the patterns select, as one analysis (paths relative to each root). */
function selectedLayout(parts: Part[]): Analysis {
  const [first, ...rest] = parts.map((p) => ({
    ...p.analysis,
    structs: p.analysis.structs.filter((s) => selects(p.targets, s.dir)),
    diagnostics: p.analysis.diagnostics.filter((d) => !d.file || selects(p.targets, dirOf(d.file))),
  }));
  for (const r of rest) {
    first.structs.push(...r.structs);
    first.diagnostics.push(...r.diagnostics);
    first.findings.push(...r.findings);
    first.stats.files += r.stats.files;
    first.stats.bytes += r.stats.bytes;
  }
  return first;
}

function findStruct(analysis: Analysis, name: string): StructReport[] {
  const dot = name.lastIndexOf(".");
  const [pkg, type] = dot > 0 ? [name.slice(0, dot), name.slice(dot + 1)] : [undefined, name];
  return analysis.structs.filter((s) => s.name === type && (!pkg || s.package === pkg || s.package.endsWith("/" + pkg) || s.dir === pkg));
}

// ---- paths as printed --------------------------------------------------------------------------

/**
 * The path to print for an absolute file: relative to the current directory (or its absolute
 * form when shorter, as the go command does); in GitHub Actions, relative to the workspace.
 */
export function displayPath(abs: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const base = env.GITHUB_ACTIONS === "true" && env.GITHUB_WORKSPACE ? env.GITHUB_WORKSPACE : cwd;
  const rel = path.relative(base, abs);
  const shown = rel.startsWith("..") && abs.length <= rel.length ? abs : rel;
  return shown.split(path.sep).join("/");
}

/** The repository root above a directory (for SARIF and annotations); the directory itself outside git. */
async function repoRootOf(dir: string): Promise<string> {
  return repoRoot(dir).catch(() => dir);
}

/** A path relative to the repository root, with forward slashes. */
export function repoPathOf(repo: string, abs: string): string {
  return path.relative(repo, abs).split(path.sep).join("/");
}

/** Reads files once; columns and the generated-code check share the text. */
class TextCache {
  private readonly texts = new Map<string, Promise<string | undefined>>();
  read(abs: string, read: () => Promise<string>): Promise<string | undefined> {
    let t = this.texts.get(abs);
    if (!t) {
      t = read().catch(() => undefined);
      this.texts.set(abs, t);
    }
    return t;
  }
}

// ---- config --------------------------------------------------------------------------------

/**
 * The review config for `diff` and `check`: --no-config gives the defaults, --config FILE reads
 * that file, otherwise .github/memcheck.yml of the repository holding `from` (the nearest one on
 * the way up, stopping at the repository root). A broken file is a usage error (exit 2).
 */
export async function cliConfig(from: string, option: string | false | undefined): Promise<MemcheckConfig> {
  const fromText = (text: string, source: string): MemcheckConfig => {
    const r = parseConfigText(text, source);
    if (!r.ok) throw new UsageError(r.error);
    return r.config;
  };
  if (option === false) return defaultConfig();
  if (typeof option === "string") {
    let text: string;
    try {
      text = await readFile(option, "utf8");
    } catch {
      throw new UsageError(`${option}: cannot read the config file`);
    }
    return fromText(text, option);
  }
  let dir = path.resolve(from);
  try {
    if (!(await stat(dir)).isDirectory()) dir = path.dirname(dir);
  } catch {
    return defaultConfig();
  }
  for (;;) {
    const file = path.join(dir, CONFIG_PATH);
    const text = await readFile(file, "utf8").catch(() => undefined);
    if (text !== undefined) return fromText(text, path.relative(process.cwd(), file) || CONFIG_PATH);
    const isRepoRoot = await stat(path.join(dir, ".git")).then(
      () => true,
      () => false,
    );
    const parent = path.dirname(dir);
    if (isRepoRoot || parent === dir) return defaultConfig();
    dir = parent;
  }
}

function defaultConfig(): MemcheckConfig {
  const r = parseConfig(null);
  if (!r.ok) throw new Error(r.error);
  return r.config;
}

function positiveInt(v: string): number {
  const n = Number.parseInt(v, 10);
  if (!Number.isInteger(n) || n < 1 || String(n) !== v.trim()) throw new InvalidArgumentError("expected a positive whole number");
  return n;
}

interface CommonOptions {
  /** Undefined when --arch is not given: the config's archs, else DEFAULT_ARCHS. */
  arch?: Arch[];
  goos: string;
  tests: boolean;
  threads?: number;
  parseTimeout: number;
  quiet?: boolean;
  /** The Go release whose standard library layouts assume (--go, or the config's `go`). */
  go?: string;
}

/**
 * Run with a parse pool: every file is parsed in a worker thread under a time budget, because
 * tree-sitter can be exponential on hostile input and nothing in-process can stop it.
 */
async function withPool<T>(opts: CommonOptions, fn: (engine: EngineOptions) => Promise<T>): Promise<T> {
  const pool = new ParsePool(opts.threads ?? defaultThreads(), opts.parseTimeout * 1000).warm();
  try {
    return await fn({
      archs: opts.arch ?? [...DEFAULT_ARCHS],
      goos: opts.goos,
      tests: opts.tests,
      pool,
      ...(opts.go ? { go: opts.go } : {}),
    });
  } finally {
    await pool.close();
  }
}

export function sarifOptions(): SarifOptions {
  return { toolVersion: VERSION, informationUri: MEMCHECK_HOME, ruleHelp: ruleHelpFromDocs() };
}

/** Layout regressions the policy fails on, as error findings (MC001-MC004) for the one-line formats. */
export function regressionFindings(diff: Diff): Finding[] {
  const out: Finding[] = [];
  for (const s of diff.structs) {
    if (!s.head) continue;
    const seen = new Set<string>();
    for (const r of s.regressions) {
      if (seen.has(r.kind)) continue;
      seen.add(r.kind);
      const archs = s.regressions.filter((x) => x.kind === r.kind).map((x) => x.arch);
      out.push({
        rule: LAYOUT_RULES[r.kind].id,
        severity: "error",
        file: s.file,
        line: s.head.source?.line ?? s.line,
        message: `${r.message}${archs.length > 1 ? ` (on ${archs.join(", ")})` : ""}${r.reason ? `: ${r.reason}` : ""}`,
      });
    }
  }
  return out;
}

export interface RepoReviewOptions extends Partial<CommonOptions> {
  repo: string;
  base: string;
  /** Default: the working tree. */
  head?: string;
  /** A config file, false for the defaults, undefined for the repository's own. */
  config?: string | false;
  policy?: FailPolicy;
  allFindings?: boolean;
}

export interface RepoReview {
  /** The repository root: every path in the diff is relative to it. */
  root: string;
  config: MemcheckConfig;
  diff: Diff;
  head: Snapshot;
  changed: Map<string, Set<number>>;
  /** The diff's (or other) findings with a printed path (`shown` of the absolute path) and a column. */
  place(findings: Finding[], shown: (abs: string) => string): Promise<PlacedFinding[]>;
}

/**
 * `memcheck diff`'s review, for the CLI and the GitHub Action alike: the repository's config, base
 * and head snapshots, the reviewed changed lines, and the shared pipeline (src/pipeline.ts).
 */
export async function reviewRepo(opts: RepoReviewOptions): Promise<RepoReview> {
  const root = await repoRoot(opts.repo).catch(() => {
    throw new UsageError(`${opts.repo}: not a git repository`);
  });
  const config = await cliConfig(root, opts.config);
  const baseSha = await resolveRef(root, opts.base);
  const headSha = opts.head ? await resolveRef(root, opts.head) : undefined;
  const base = withoutIgnored(new GitRevSnapshot(root, baseSha, opts.base), config.ignore);
  const head = withoutIgnored(headSha ? new GitRevSnapshot(root, headSha, opts.head) : new LocalDirSnapshot(root), config.ignore);
  const selection = { ignore: config.ignore, tests: opts.tests };
  const changed = await reviewedChangedLines(await changedLines(root, baseSha, headSha), selection, (p) =>
    head.read(p).catch(() => undefined),
  );
  const { review } = await import("./pipeline.ts");
  const common: CommonOptions = {
    goos: opts.goos ?? "linux",
    tests: !!opts.tests,
    threads: opts.threads,
    parseTimeout: opts.parseTimeout ?? 10,
    arch: opts.arch ?? config.archs,
    go: opts.go ?? config.go,
  };
  const { diff } = await withPool(common, (engine) =>
    review(base, head, {
      ...engine,
      ...(process.env.MEMCHECK_MODULES !== "off" ? { modules: localModules(root) } : {}),
      thresholds: config.thresholds,
      ruleThresholds: config.ruleThresholds,
      ruleConfig: config.rules,
      hot: config.hot,
      changedLines: changed,
      allFindings: opts.allFindings,
      maxFileBytes: config.limits.maxFileBytes,
      policy: opts.policy,
      onProgress: progress(opts.quiet),
    }),
  );
  const texts = new TextCache();
  const place = async (fs: Finding[], shown: (abs: string) => string): Promise<PlacedFinding[]> =>
    Promise.all(
      fs.map(async (f) => {
        const abs = path.join(root, f.file);
        return { finding: f, path: shown(abs), column: firstColumn(await texts.read(abs, () => head.read(f.file)), f.line) };
      }),
    );
  return { root, config, diff, head, changed, place };
}

export function buildProgram(): Command {
  const program = new Command();
  // Set before the subcommands exist, so they inherit it: usage errors must exit 2, not 1, and
  // are one line ("memcheck: unknown arch ..."), not the help text.
  program.exitOverride();
  program.configureOutput({
    outputError: (str, write) => write(`memcheck: ${str.replace(/^error: /, "").trimEnd()}\n`),
  });
  program
    .name("memcheck")
    .description("Exact Go struct layouts, GC pointer bytes, pointer chains and memory hazards, from source.")
    .version(`memcheck ${VERSION}`, "-V, --version", "print the version")
    .addHelpText(
      "after",
      `
Packages are named as the go command names them: ./pkg is one package, ./pkg/... it and every
package below, . the current one, ./... all of them (the default); import paths of the current
module work too. Exit codes: 0 clean, 1 the gate tripped (a regression, or a finding at or above
--fail-on), 2 usage error, 3 internal error.

Examples:
  memcheck layout ./...                      every struct under the current directory
  memcheck layout ./pkg --arch amd64,386     one package, two archs
  memcheck explain Order ./order             byte-by-byte diagram of one struct
  memcheck check ./... --fail-on warning     hazards; exit 1 on a warning or an error
  memcheck check ./... --format github       GitHub Actions annotations
  memcheck diff --base origin/main           what this branch changes; exit 1 on a regression
  memcheck diff --base main --format markdown  the report the GitHub check run shows
  memcheck fix ./... --dry-run               the reorders memcheck fix would make, as a diff`,
    );

  const common = (cmd: Command) =>
    cmd
      .option("--arch <list>", `comma-separated GOARCH list (default: the config's archs, else ${DEFAULT_ARCHS.join(",")})`, parseArchs)
      .option("--goos <os>", "GOOS", parseGoos, "linux")
      .option("--tests", "include _test.go files", false)
      .option("--threads <n>", "parse threads (default: cores)", positiveInt)
      .option("--parse-timeout <seconds>", "time budget per file; a file over it is skipped with a note", positiveInt, 10)
      .option("--go <release>", "Go release whose standard library layouts assume, e.g. 1.22 (default: the config's go, else from go.mod)")
      .option("-q, --quiet", "print only findings: no progress, no summary lines");
  const formatOption = (cmd: Command, formats: readonly Format[]) =>
    cmd.addOption(new Option("--format <format>", `output format: ${formats.join(", ")}`).argParser(parseFormat));
  const failOnOption = (cmd: Command) =>
    cmd.addOption(
      new Option(
        "--fail-on <severity>",
        `exit 1 on a finding of this severity or worse: ${FAIL_ON.join(", ")} (default: the config's failOn, else error)`,
      ).argParser(parseFailOn),
    );

  formatOption(common(program.command("layout").argument("[packages...]", "package patterns (default ./...)")), ["text", "json"])
    .description("list every struct's layout")
    .option("--json", "the same as --format json: memcheck.layout/v1 JSON")
    .action(async (patterns: string[], opts) => {
      const format = chooseFormat(opts, ["text", "json"]);
      const a = await withPool(opts, async (engine) => selectedLayout(await analyzeTargets(patterns, engine, [], opts.quiet)));
      if (format === "json") {
        const { schema, go, goos, archs, structs } = a;
        print(JSON.stringify({ schema, go, goos, archs, structs: structs.map(({ source: _s, ...rest }) => rest) }, null, 2));
      } else {
        print(layoutTable(a));
      }
    });

  common(program.command("explain").argument("<type>", "struct name, or pkg.Name").argument("[package]", "package pattern", "./..."))
    .description("byte-by-byte layout diagram of one struct, with its suggested order")
    .action(async (type: string, pattern: string, opts) => {
      const a = await withPool(opts, async (engine) => selectedLayout(await analyzeTargets([pattern], engine, [], opts.quiet)));
      const found = findStruct(a, type);
      if (found.length === 0) throw new UsageError(`no struct named ${type} in ${pattern}`);
      for (const s of found) {
        print(`${s.package}.${s.name}  ${s.file}:${s.line}`);
        for (const arch of (opts.arch as Arch[] | undefined) ?? DEFAULT_ARCHS) print(layoutDiagram(s, arch));
      }
    });

  failOnOption(formatOption(common(program.command("diff")), FORMATS))
    .description("compare two git revisions; exit 1 when a regression passes the thresholds")
    .requiredOption("--base <ref>", "base revision")
    .option("--head <ref>", "head revision (default: the working tree)")
    .option("--repo <dir>", "repository", ".")
    .option("--json", "the same as --format json")
    .option("--markdown", "the same as --format markdown: the check run's report")
    .option("--sarif", "the same as --format sarif: SARIF 2.1.0")
    .option("--verbose", "each finding's whole explanation")
    .option("--all-findings", "report hazard findings on unchanged lines too")
    .option("--config <file>", `review config (default: the repository's ${CONFIG_PATH})`)
    .option("--no-config", "ignore any config file: the defaults")
    .option(
      "--policy <name>",
      "fail policy: default (layout regressions fail only for types with many values) or legacy (every regression fails)",
      parsePolicy,
      "default",
    )
    .action(async (opts) => {
      const format = chooseFormat(opts, FORMATS);
      const { root, config, diff, place } = await reviewRepo(opts);
      const failOn: FailOn = opts.failOn ?? config.failOn;
      const p = paint();
      if (format === "json") print(JSON.stringify(diff, (k, v) => (k === "source" || k === "base" || k === "head" ? undefined : v), 2));
      else if (format === "markdown") print(checkSummary(diff, { mermaid: true }));
      else if (format === "sarif") print(JSON.stringify(toSarif(diff, sarifOptions()), null, 2));
      else if (format === "github") {
        const lines = githubDiffCommands(diff, await place(diff.findings, (abs) => repoPathOf(root, abs)), (f) => f);
        if (lines.length) print(lines.join("\n"));
      } else if (opts.quiet) {
        const placed = await place([...regressionFindings(diff), ...diff.findings], (abs) => displayPath(abs));
        for (const f of placed) print(findingText(f, { verbose: opts.verbose, paint: p }));
      } else {
        const placed = await place(diff.findings, (abs) => displayPath(abs));
        print(textReport(diff, { color: p.enabled, placed, verbose: opts.verbose }));
      }
      process.exitCode = isFailing(diff, failOn) ? 1 : 0;
    });

  common(program.command("history"))
    .description("replay the last N first-parent commits that touch Go files: what the check would have concluded, and why")
    .option("--repo <dir>", "repository", ".")
    .option("-n, --count <n>", "commits to replay", positiveInt, 100)
    .option("--since <date>", "only commits after this date (git's --since)")
    .option("--json", "print rows and summary as JSON")
    .action(async (opts) => {
      const root = await repoRoot(opts.repo).catch(() => {
        throw new UsageError(`${opts.repo}: not a git repository`);
      });
      const { replayHistory, historyRowText, historySummaryText } = await import("./history.ts");
      const { rows, summary } = await withPool(opts, (engine) =>
        replayHistory({
          repo: root,
          count: opts.count,
          since: opts.since,
          engine: { ...engine, archs: opts.arch },
          onRow: opts.json ? undefined : (row) => print(historyRowText(row)),
        }),
      );
      if (opts.json) print(JSON.stringify({ rows, summary }, null, 2));
      else if (!opts.quiet) print(historySummaryText(summary));
    });

  failOnOption(formatOption(common(program.command("check").argument("[packages...]", "package patterns (default ./...)")), FORMATS))
    .description("every hazard finding (MC1xx) in a tree")
    .option("--json", "the same as --format json")
    .option("--sarif", "the same as --format sarif: SARIF 2.1.0")
    .option("--markdown", "the same as --format markdown")
    .option("--verbose", "each finding's whole explanation")
    .option("--config <file>", `review config (default: the repository's ${CONFIG_PATH})`)
    .option("--no-config", "ignore any config file: the defaults")
    .action(async (patterns: string[], opts) => {
      const format = chooseFormat(opts, FORMATS);
      const first = patterns.length ? (await resolveTarget(patterns[0])).root : process.cwd();
      const config = await cliConfig(first, opts.config);
      const failOn: FailOn = opts.failOn ?? config.failOn;
      const { treeFindings } = await import("./pipeline.ts");
      const parts = await withPool({ ...opts, arch: opts.arch ?? config.archs, go: opts.go ?? config.go }, (engine) =>
        analyzeTargets(patterns, { ...engine, rules: true, maxFileBytes: config.limits.maxFileBytes }, config.ignore, opts.quiet),
      );
      const selection = { ignore: config.ignore, tests: opts.tests };
      const texts = new TextCache();
      const located: { finding: Finding; abs: string; repo: string; column: number }[] = [];
      for (const part of parts) {
        const repo = await repoRootOf(part.root);
        const found = treeFindings(part.analysis, config.rules, config.ruleThresholds).filter((f) => selects(part.targets, dirOf(f.file)));
        for (const f of found) {
          // Findings in reviewed files only: a generated file's findings are dropped, as the app
          // drops its changed lines.
          if (!isReviewedFile(f.file, selection)) continue;
          const abs = path.join(part.root, f.file);
          const text = await texts.read(abs, () => part.snapshot.read(f.file));
          if (text !== undefined && !isReviewedFile(f.file, selection, text)) continue;
          located.push({ finding: f, abs, repo, column: firstColumn(text, f.line) });
        }
      }
      const findings = located.map((l) => l.finding);
      if (format === "json") print(JSON.stringify(findings, null, 2));
      else if (format === "sarif") {
        const inRepo = located.map((l) => ({ ...l.finding, file: repoPathOf(l.repo, l.abs) }));
        print(JSON.stringify(toSarif(inRepo, sarifOptions()), null, 2));
      } else if (format === "github") {
        const lines = githubFindingCommands(
          located.map((l) => ({ finding: l.finding, path: repoPathOf(l.repo, l.abs), column: l.column })),
        );
        if (lines.length) print(lines.join("\n"));
      } else {
        const placed = located.map((l) => ({ finding: l.finding, path: displayPath(l.abs), column: l.column }));
        if (format === "markdown") print(findingsMarkdown(placed));
        else {
          const p = paint();
          for (const f of placed) print(findingText(f, { verbose: opts.verbose, paint: p }));
          if (!opts.quiet) print(findingsSummary(findings));
        }
      }
      process.exitCode = findingsFail(findings, failOn) ? 1 : 0;
    });
  common(program.command("fix").argument("[packages...]", "package patterns (default ./...)"))
    .description("reorder struct fields in place to the suggested order (comments, tags and blank lines kept)")
    .option("--dry-run", "print a unified diff instead of writing the files")
    .option("--verbose", "also list the padded structs left alone, and why")
    .option("--config <file>", `review config: its ignore list and archs (default: the repository's ${CONFIG_PATH})`)
    .option("--no-config", "ignore any config file: the defaults")
    .addHelpText(
      "after",
      "\n--arch LIST: the first arch is the one optimised (default amd64); the order is never applied when it makes\n" +
        "another listed arch, or one of the config's archs, larger.",
    )
    .action(async (patterns: string[], opts) => {
      const first = patterns.length ? (await resolveTarget(patterns[0])).root : process.cwd();
      const config = await cliConfig(first, opts.config);
      const requested: Arch[] = opts.arch ?? ["amd64"];
      const [arch] = requested;
      const guards = [...new Set([...requested.slice(1), ...config.archs])].filter((a) => a !== arch);
      const parts = await withPool({ ...opts, arch: [arch, ...guards] }, (engine) =>
        analyzeTargets(patterns, { ...engine, maxFileBytes: config.limits.maxFileBytes }, config.ignore, opts.quiet),
      );
      const { planFix, applyEdits, unifiedDiff } = await import("./report/rewrite.ts");
      const selection = { ignore: config.ignore, tests: opts.tests };
      let fixed = 0;
      for (const part of parts) {
        const paths = await part.snapshot.paths();
        const byFile = new Map<string, { text: string; edits: import("./report/rewrite.ts").StructEdit[] }>();
        const packageTexts = new Map<string, string[]>();
        const textOf = async (file: string) => part.snapshot.read(file).catch(() => undefined);
        for (const s of part.analysis.structs) {
          const l = s.layouts[arch];
          if (!selects(part.targets, s.dir) || !l || l.optimalSize >= l.size) continue;
          const text = await textOf(s.file);
          if (text === undefined || !isReviewedFile(s.file, selection, text)) continue;
          let pkg = packageTexts.get(s.dir);
          if (!pkg) {
            // Test files of the package too: an unkeyed literal there breaks `go test`.
            const files = paths.filter((p) => p.endsWith(".go") && dirOf(p) === s.dir);
            pkg = (await Promise.all(files.map(textOf))).filter((t): t is string => t !== undefined);
            packageTexts.set(s.dir, pkg);
          }
          const shown = displayPath(path.join(part.root, s.file));
          const plan = planFix(s, { arch, guardArchs: guards, fileText: text, packageTexts: pkg });
          if (!plan.ok) {
            if (opts.verbose) process.stderr.write(`${shown}:${s.line}: ${s.name}: left alone: ${plan.reason}\n`);
            continue;
          }
          const entry = byFile.get(s.file) ?? { text, edits: [] };
          entry.edits.push(plan.edit);
          byFile.set(s.file, entry);
          if (!opts.quiet) {
            const e = plan.edit;
            process.stderr.write(`${shown}:${s.line}: ${s.name}: ${e.before} → ${e.after} bytes on ${arch}\n`);
          }
          fixed++;
        }
        for (const [file, { text, edits }] of byFile) {
          const next = applyEdits(text, edits);
          const abs = path.join(part.root, file);
          if (opts.dryRun) print(unifiedDiff(displayPath(abs), text, next));
          else await writeFile(abs, next);
        }
      }
      if (!opts.quiet) process.stderr.write(`${fixed} struct${fixed === 1 ? "" : "s"} ${opts.dryRun ? "would be " : ""}reordered\n`);
    });
  return program;
}

function parsePolicy(v: string): FailPolicy {
  if (!(FAIL_POLICIES as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${FAIL_POLICIES.join(", ")}`);
  return v as FailPolicy;
}

/** stdout closed under us (`memcheck layout | head -1`): stop printing, keep the exit code. */
function onStdoutError(e: NodeJS.ErrnoException): void {
  stdoutClosed = true;
  if (e.code !== "EPIPE") process.stderr.write(`memcheck: cannot write to stdout: ${e.message}\n`);
}

export async function main(argv: string[]): Promise<number> {
  if (!process.stdout.listeners("error").includes(onStdoutError)) process.stdout.on("error", onStdoutError);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message: string };
    if (e.code === "commander.helpDisplayed" || e.code === "commander.version" || e.code === "commander.help") return 0;
    if (e.code?.startsWith("commander.")) return 2;
    if (err instanceof UsageError || err instanceof GitError) {
      process.stderr.write(`memcheck: ${e.message}\n`);
      return 2;
    }
    if ((err as NodeJS.ErrnoException).code === "EPIPE") return typeof process.exitCode === "number" ? process.exitCode : 0;
    process.stderr.write(`memcheck: internal error: ${e.message}\n`);
    return 3;
  }
}
