// The `memcheck` command: the same engine as the GitHub App, on a local checkout.
import { Command, InvalidArgumentError } from "commander";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { ALL_ARCHS, type Analysis, type Arch, type Snapshot, type StructReport } from "./analysis/model.ts";
import { analyzeSnapshot, type EngineOptions } from "./engine.ts";
import { ParsePool, defaultThreads } from "./parse-pool.ts";
import { LocalDirSnapshot, findEnclosingGoMod } from "./snapshot/local.ts";
import { localModules } from "./modules/local.ts";
import { GitError, GitRevSnapshot, changedLines, repoRoot, resolveRef } from "./snapshot/git.ts";
import { layoutTable } from "./report/layout-table.ts";
import { layoutDiagram } from "./report/diagram.ts";
import { checkSummary } from "./report/markdown.ts";
import { FAIL_POLICIES, isFailing, type FailPolicy } from "./review/conclusion.ts";
import { textReport } from "./report/text.ts";
import { toSarif } from "./report/sarif.ts";
import { CONFIG_PATH, DEFAULT_ARCHS, parseConfig, parseConfigText, type MemcheckConfig } from "./review/config.ts";
import { isReviewedFile, reviewedChangedLines, withoutIgnored } from "./review/files.ts";

/** An error the user can fix: printed as one line, exit code 2. */
export class UsageError extends Error {}

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

function progress(): EngineOptions["onProgress"] {
  if (!process.stderr.isTTY) return undefined;
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

/**
 * A snapshot for a PATH argument. Inside a module but below its root, the whole module is read (so
 * imports between its packages resolve) and the listing is narrowed to PATH afterwards.
 */
async function snapshotFor(target: string, ignore: readonly string[] = []): Promise<{ snapshot: Snapshot; only?: string; root: string }> {
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(target);
  } catch {
    throw new UsageError(`${target}: no such file or directory`);
  }
  if (!info.isDirectory()) {
    if (!target.endsWith(".go")) throw new UsageError(`${target}: not a directory or a Go file`);
    return snapshotFor(path.dirname(target), ignore);
  }
  const abs = path.resolve(target);
  const mod = await findEnclosingGoMod(abs);
  if (mod && mod.dir !== abs) {
    const rel = path.relative(mod.dir, abs).split(path.sep).join("/");
    return { snapshot: withoutIgnored(new LocalDirSnapshot(mod.dir), ignore), only: rel, root: mod.dir };
  }
  return { snapshot: withoutIgnored(new LocalDirSnapshot(abs), ignore), root: abs };
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

async function layoutOf(targets: string[], options: EngineOptions, ignore: readonly string[] = []): Promise<Analysis> {
  const results: Analysis[] = [];
  for (const t of targets.length ? targets : ["."]) {
    const { snapshot, only, root } = await snapshotFor(t, ignore);
    const modules = options.modules === undefined && process.env.MEMCHECK_MODULES !== "off" ? localModules(root) : options.modules;
    const a = await analyzeSnapshot(snapshot, { ...options, modules, onProgress: progress() });
    if (only) a.structs = a.structs.filter((s) => s.dir === only || s.dir.startsWith(only + "/"));
    if (a.stats.files === 0) throw new UsageError(`${t}: no Go files found`);
    results.push(a);
  }
  const [first, ...rest] = results;
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

function print(text: string): void {
  process.stdout.write(text.endsWith("\n") ? text : text + "\n");
}

export function buildProgram(): Command {
  const program = new Command();
  // Set before the subcommands exist, so they inherit it: usage errors must exit 2, not 1.
  program.exitOverride();
  program
    .name("memcheck")
    .description("Exact Go struct layouts, GC pointer bytes, pointer chains and memory hazards, from source.")
    .showHelpAfterError()
    .addHelpText(
      "after",
      `
Examples:
  memcheck layout ./...                      every struct under the current directory (amd64)
  memcheck layout ./pkg --arch amd64,386     two archs
  memcheck layout . --json > layout.json     the memcheck.layout/v1 JSON schema
  memcheck explain Order                     byte-by-byte diagram of one struct
  memcheck diff --base origin/main           what this branch changes; exit 1 on a regression
  memcheck diff --base main --markdown       the report the GitHub check run shows
  memcheck check . --sarif > memcheck.sarif  every hazard finding in the tree`,
    );

  const common = (cmd: Command) =>
    cmd
      .option("--arch <list>", `comma-separated GOARCH list (default: the config's archs, else ${DEFAULT_ARCHS.join(",")})`, parseArchs)
      .addHelpText("after", "")
      .option("--goos <os>", "GOOS", "linux")
      .option("--tests", "include _test.go files", false)
      .option("--threads <n>", "parse threads (default: cores)", positiveInt)
      .option("--parse-timeout <seconds>", "time budget per file; a file over it is skipped with a note", positiveInt, 10)
      .option("--go <release>", "Go release whose standard library layouts assume, e.g. 1.22 (default: the config's go, else from go.mod)");

  common(program.command("layout").argument("[paths...]", "directories (default .)"))
    .description("list every struct's layout")
    .option("--json", "print memcheck.layout/v1 JSON")
    .action(async (paths: string[], opts) => {
      const a = await withPool(opts, (engine) => layoutOf(paths.map(stripDots), engine));
      if (opts.json) {
        const { schema, go, goos, archs, structs } = a;
        print(JSON.stringify({ schema, go, goos, archs, structs: structs.map(({ source: _s, ...rest }) => rest) }, null, 2));
      } else {
        print(layoutTable(a));
      }
    });

  common(program.command("explain").argument("<type>", "struct name, or pkg.Name").argument("[path]", "directory", "."))
    .description("byte-by-byte layout diagram of one struct, with its suggested order")
    .action(async (type: string, dir: string, opts) => {
      const a = await withPool(opts, (engine) => layoutOf([stripDots(dir)], engine));
      const found = findStruct(a, type);
      if (found.length === 0) throw new UsageError(`no struct named ${type} under ${dir}`);
      for (const s of found) {
        print(`${s.package}.${s.name}  ${s.file}:${s.line}`);
        for (const arch of (opts.arch as Arch[] | undefined) ?? DEFAULT_ARCHS) print(layoutDiagram(s, arch));
      }
    });

  common(program.command("diff"))
    .description("compare two git revisions; exit 1 when a regression passes the thresholds")
    .requiredOption("--base <ref>", "base revision")
    .option("--head <ref>", "head revision (default: the working tree)")
    .option("--repo <dir>", "repository", ".")
    .option("--json", "print the diff as JSON")
    .option("--markdown", "print the check run's markdown report")
    .option("--sarif", "print SARIF 2.1.0")
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
      const { diff } = await withPool({ ...opts, arch: opts.arch ?? config.archs, go: opts.go ?? config.go }, (engine) =>
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
        }),
      );
      if (opts.json) print(JSON.stringify(diff, (k, v) => (k === "source" || k === "base" || k === "head" ? undefined : v), 2));
      else if (opts.markdown) print(checkSummary(diff));
      else if (opts.sarif) print(JSON.stringify(toSarif(diff), null, 2));
      else print(textReport(diff));
      process.exitCode = isFailing(diff) ? 1 : 0;
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
      const archs = opts.arch.length === 1 && opts.arch[0] === "amd64" && !process.argv.includes("--arch") ? undefined : opts.arch;
      const { rows, summary } = await withPool(opts, (engine) =>
        replayHistory({
          repo: root,
          count: opts.count,
          since: opts.since,
          engine: { ...engine, archs },
          onRow: opts.json ? undefined : (row) => print(historyRowText(row)),
        }),
      );
      if (opts.json) print(JSON.stringify({ rows, summary }, null, 2));
      else print(historySummaryText(summary));
    });

  common(program.command("check").argument("[paths...]", "directories (default .)"))
    .description("every hazard finding (MC1xx) in a tree")
    .option("--json", "print findings as JSON")
    .option("--sarif", "print SARIF 2.1.0")
    .option("--config <file>", `review config (default: the repository's ${CONFIG_PATH})`)
    .option("--no-config", "ignore any config file: the defaults")
    .action(async (paths: string[], opts) => {
      const targets = paths.map(stripDots);
      const config = await cliConfig(targets[0] ?? ".", opts.config);
      const a = await withPool({ ...opts, arch: opts.arch ?? config.archs, go: opts.go ?? config.go }, (engine) =>
        layoutOf(targets, { ...engine, rules: true, maxFileBytes: config.limits.maxFileBytes }, config.ignore),
      );
      const { treeFindings } = await import("./pipeline.ts");
      const findings = await reviewedFindings(treeFindings(a, config.rules, config.ruleThresholds), targets, {
        ignore: config.ignore,
        tests: opts.tests,
      });
      if (opts.json) print(JSON.stringify(findings, null, 2));
      else if (opts.sarif) print(JSON.stringify(toSarif(findings), null, 2));
      else {
        for (const f of findings) print(`${f.file}:${f.line}: ${f.rule} ${f.severity}: ${f.message}`);
        print(`${findings.length} finding${findings.length === 1 ? "" : "s"}`);
      }
      process.exitCode = findings.some((f) => f.severity === "error") ? 1 : 0;
    });
  return program;
}

/**
 * Findings in reviewed files only (a generated file's findings are dropped, as the app drops its
 * changed lines). Finding paths are relative to the snapshot root of one of `targets`.
 */
async function reviewedFindings<F extends { file: string }>(
  findings: F[],
  targets: string[],
  selection: { ignore: readonly string[]; tests?: boolean },
): Promise<F[]> {
  const roots: string[] = [];
  for (const t of targets.length ? targets : ["."]) {
    const mod = await findEnclosingGoMod(path.resolve(t)).catch(() => undefined);
    roots.push(mod?.dir ?? path.resolve(t));
  }
  const verdict = new Map<string, boolean>();
  const out: F[] = [];
  for (const f of findings) {
    let ok = verdict.get(f.file);
    if (ok === undefined) {
      ok = isReviewedFile(f.file, selection);
      if (ok) {
        let text: string | undefined;
        for (const r of roots) {
          text = await readFile(path.join(r, f.file), "utf8").catch(() => undefined);
          if (text !== undefined) break;
        }
        ok = text === undefined || isReviewedFile(f.file, selection, text);
      }
      verdict.set(f.file, ok);
    }
    if (ok) out.push(f);
  }
  return out;
}

function parsePolicy(v: string): FailPolicy {
  if (!(FAIL_POLICIES as readonly string[]).includes(v)) throw new InvalidArgumentError(`expected one of ${FAIL_POLICIES.join(", ")}`);
  return v as FailPolicy;
}

/** `./...` means "this directory and below", which is what every command does anyway. */
function stripDots(p: string): string {
  return p.endsWith("/...") ? p.slice(0, -4) || "." : p === "..." ? "." : p;
}

export async function main(argv: string[]): Promise<number> {
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
    process.stderr.write(`memcheck: internal error: ${e.message}\n`);
    return 3;
  }
}
