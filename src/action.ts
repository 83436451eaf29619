// The GitHub Action (action.yml at the repository root runs this from the action's own checkout):
// `memcheck diff` between the PR's base and the checked-out tree, reported where a workflow can:
// - workflow commands (`::error file=…`): annotations on the PR's files;
// - the check run's markdown in $GITHUB_STEP_SUMMARY;
// - a SARIF file for code scanning, uploaded by the next step only when the token can (never on a
//   fork PR, whose GITHUB_TOKEN is read-only);
// - optionally (`comment: true`), the same check run and review comments the GitHub App posts,
//   with the workflow's GITHUB_TOKEN through @octokit/rest, for teams that cannot install the App.
// Everything a review decides comes from the review core through the CLI's reviewRepo(); this file
// only adapts input (the Actions environment) and output.
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Octokit } from "@octokit/rest";
import type { Diff } from "./analysis/model.ts";
import { UsageError, parseArchs, repoPathOf, reviewRepo, sarifOptions, type RepoReview } from "./cli.ts";
import { GitError } from "./snapshot/git.ts";
import { batch, checkAnnotations, checkSummary, checkTitle, reviewComments, toSarif, withoutPosted } from "./report/index.ts";
import { githubDiffCommands } from "./report/findings.ts";
import { FAIL_ON, conclusion, isFailing, type FailOn } from "./review/conclusion.ts";
import { withoutSuggestions } from "./github/default-pipeline.ts";

export interface ActionIO {
  /** The job log (workflow commands go here). */
  stdout(line: string): void;
  /** An Octokit for `comment: true` (tests pass one; default: GITHUB_TOKEN against GITHUB_API_URL). */
  octokit?: Octokit;
}

export interface ActionResult {
  exitCode: number;
  outputs: Record<string, string>;
}

interface PullRequestEvent {
  pull_request?: {
    number: number;
    base: { sha: string };
    head: { sha: string; repo: { full_name: string } | null };
  };
  before?: string;
}

function input(env: NodeJS.ProcessEnv, name: string): string {
  return (env[`INPUT_${name.toUpperCase().replace(/[ -]/g, "_")}`] ?? "").trim();
}

/** `key=value` lines for $GITHUB_OUTPUT (values here are single-line). */
function writeOutputs(file: string | undefined, outputs: Record<string, string>): void {
  if (!file) return;
  appendFileSync(
    file,
    Object.entries(outputs)
      .map(([k, v]) => `${k}=${v.replace(/\r?\n/g, " ")}\n`)
      .join(""),
  );
}

function readEvent(env: NodeJS.ProcessEnv): PullRequestEvent {
  if (!env.GITHUB_EVENT_PATH) return {};
  try {
    return JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, "utf8")) as PullRequestEvent;
  } catch {
    return {};
  }
}

/** Head file texts for the review comments' suggestions (they need the text synchronously). */
async function headTexts(r: RepoReview): Promise<Map<string, string>> {
  const files = new Set([...r.diff.structs.map((s) => s.file), ...r.diff.findings.map((f) => f.file)]);
  const out = new Map<string, string>();
  for (const f of files) {
    const t = await r.head.read(f).catch(() => undefined);
    if (t !== undefined) out.set(f, t);
  }
  return out;
}

/** The check run and the review, as the App posts them (minus its idempotency journal: markers dedupe). */
async function publish(
  octokit: Octokit,
  target: { owner: string; repo: string; pull: number; headSha: string },
  r: RepoReview,
  failOn: FailOn,
  log: (line: string) => void,
): Promise<void> {
  const { owner, repo } = target;
  const diff: Diff = r.diff;
  const title = checkTitle(diff);
  const summary = checkSummary(diff);
  const [first = [], ...more] = batch(checkAnnotations(diff), 50);
  const run = await octokit.rest.checks.create({
    owner,
    repo,
    name: "memcheck",
    head_sha: target.headSha,
    status: "completed",
    conclusion: conclusion(diff, failOn),
    output: { title, summary, annotations: first },
  });
  for (const annotations of more) {
    await octokit.rest.checks.update({ owner, repo, check_run_id: run.data.id, output: { title, summary, annotations } });
  }
  if (!r.config.comment) return;
  const texts = await headTexts(r);
  let comments = reviewComments(diff, r.changed, { maxComments: r.config.limits.maxComments, fileText: (p) => texts.get(p) });
  if (!r.config.suggest) comments = comments.map((c) => ({ ...c, body: withoutSuggestions(c.body) }));
  const existing = await octokit.paginate(octokit.rest.pulls.listReviewComments, { owner, repo, pull_number: target.pull, per_page: 100 });
  const fresh = withoutPosted(
    comments,
    existing.map((c) => c.body),
  );
  if (fresh.length === 0) return;
  await octokit.rest.pulls.createReview({
    owner,
    repo,
    pull_number: target.pull,
    commit_id: target.headSha,
    event: "COMMENT",
    comments: fresh,
  });
  log(`memcheck: posted ${fresh.length} review comment${fresh.length === 1 ? "" : "s"}`);
}

export async function runAction(
  env: NodeJS.ProcessEnv = process.env,
  io: ActionIO = { stdout: (l) => process.stdout.write(`${l}\n`) },
): Promise<ActionResult> {
  const log = io.stdout;
  const outputs: Record<string, string> = {};
  const finish = (exitCode: number): ActionResult => {
    outputs["exit-code"] = String(exitCode);
    writeOutputs(env.GITHUB_OUTPUT, outputs);
    return { exitCode, outputs };
  };
  const event = readEvent(env);
  const pr = event.pull_request;
  const base = input(env, "base") || pr?.base.sha || (event.before && !/^0+$/.test(event.before) ? event.before : "");
  if (!base) {
    log("::error::memcheck: no base revision: run on pull_request events, or set the `base` input");
    return finish(2);
  }
  const isFork = !!pr && pr.head.repo?.full_name !== env.GITHUB_REPOSITORY;
  const failOnInput = input(env, "fail-on");
  if (failOnInput && !(FAIL_ON as readonly string[]).includes(failOnInput)) {
    log(`::error::memcheck: fail-on must be one of ${FAIL_ON.join(", ")}, not "${failOnInput}"`);
    return finish(2);
  }
  const workspace = env.GITHUB_WORKSPACE || process.cwd();
  const repoDir = path.resolve(workspace, input(env, "working-directory") || ".");

  let r: RepoReview;
  try {
    const archs = input(env, "archs");
    r = await reviewRepo({
      repo: repoDir,
      base,
      arch: archs ? parseArchs(archs) : undefined,
      config: input(env, "config") ? path.resolve(workspace, input(env, "config")) : undefined,
      quiet: true,
    });
  } catch (e) {
    const usage = e instanceof UsageError || e instanceof GitError || (e as { code?: string }).code === "commander.invalidArgument";
    log(`::error::memcheck: ${usage ? "" : "internal error: "}${(e as Error).message}`);
    return finish(usage ? 2 : 3);
  }
  const failOn: FailOn = (failOnInput as FailOn) || r.config.failOn;
  const diff = r.diff;

  // 1. Annotations: workflow commands, paths from the workspace (the repository root).
  const placed = await r.place(diff.findings, (abs) => repoPathOf(workspace, abs));
  for (const line of githubDiffCommands(diff, placed, (f) => repoPathOf(workspace, path.join(r.root, f)))) log(line);

  // 2. The job summary: the check run's markdown.
  if (env.GITHUB_STEP_SUMMARY) appendFileSync(env.GITHUB_STEP_SUMMARY, `${checkSummary(diff)}\n`);

  // 3. SARIF, paths from the repository root; uploaded by action.yml's next step when allowed.
  const sarifFile = path.join(env.RUNNER_TEMP || workspace, "memcheck.sarif");
  const sarif = toSarif(diff, sarifOptions());
  writeFileSync(sarifFile, JSON.stringify(sarif));
  const wantSarif = input(env, "sarif") !== "false";
  outputs["sarif-file"] = sarifFile;
  outputs["sarif-upload"] = String(wantSarif && !isFork);
  if (wantSarif && isFork) {
    log(
      "::notice::memcheck: a fork's pull request gets a read-only token, so the SARIF upload is skipped; the annotations and the job summary show the same findings",
    );
  }

  // 4. The check run and review comments with the workflow's token, when asked and allowed.
  if (input(env, "comment") === "true") {
    const [owner, repo] = (env.GITHUB_REPOSITORY ?? "").split("/");
    const token = input(env, "token") || env.GITHUB_TOKEN;
    if (!pr) log("::notice::memcheck: comments are posted on pull_request events only");
    else if (isFork) log("::notice::memcheck: a fork's pull request gets a read-only token, so no check run or review comments are posted");
    else if (!owner || !repo || !token) log("::warning::memcheck: comment: true needs GITHUB_REPOSITORY and a token");
    else {
      const octokit =
        io.octokit ?? new Octokit({ auth: token, baseUrl: env.GITHUB_API_URL || "https://api.github.com", userAgent: "memcheck-action" });
      try {
        await publish(octokit, { owner, repo, pull: pr.number, headSha: pr.head.sha }, r, failOn, log);
      } catch (e) {
        const status = (e as { status?: number }).status;
        log(
          `::warning::memcheck: could not post the check run or review (${status ?? "error"}: ${String((e as Error).message).slice(0, 200)}); the workflow needs permissions checks: write and pull-requests: write`,
        );
      }
    }
  }

  outputs.regressions = String(diff.regressions.length);
  outputs.findings = String(diff.findings.length);
  outputs.conclusion = conclusion(diff, failOn);
  const failing = isFailing(diff, failOn);
  if (failing) log(`::error::memcheck: ${checkTitle(diff)}`);
  return finish(failing ? 1 : 0);
}

export async function main(): Promise<number> {
  return (await runAction()).exitCode;
}
