// runReview: the worker's job. Fetch the touched packages at base and head, analyse, diff, and post
// the check run (first: it gates the merge), then one review with inline comments.
import { UnrecoverableError, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { Arch, Diff, StructReport } from "../analysis/model.ts";
import { loadConfig, type MemcheckConfig } from "../config.ts";
import { jobIdFor, latestKey, type QueueSettings, type ReviewJobData } from "../queue/index.ts";
import { CHECK_NAME } from "../app.ts";
import { changedLinesOf, isGenerated, listPrFiles, touchedPackages, type ChangedLines } from "./files.ts";
import type { CheckAnnotation, Pipeline, ReviewCommentDraft } from "./pipeline.ts";
import { batch } from "../report/annotations.ts";
import { truncateBytes as truncateUtf8 } from "../report/format.ts";
import { STICKY_MARKER } from "../report/markdown.ts";
import { GitHubTreeSnapshot, type BlobCache } from "./snapshot.ts";
import type { ReviewObservation } from "../ops/metrics.ts";
import { isReviewLimitError } from "../review/limits.ts";

export const MAX_OUTPUT_BYTES = 65535;
export const ANNOTATIONS_PER_CALL = 50;

export interface ReviewDeps {
  /** An installation-authenticated Octokit (from probot.auth(installationId)). */
  auth(installationId: number): Promise<any>;
  /** The app's bot login, e.g. "memcheck[bot]": our comments are the ones it wrote. */
  botLogin(): Promise<string>;
  pipeline: Pipeline;
  cache: BlobCache;
  /** Redis with the latest-head keys, and the queue (to see whether a newer job exists). */
  redis?: Redis;
  queue?: { getJob(id: string): Promise<unknown> };
  settings?: Pick<QueueSettings, "prefix" | "name">;
  log?: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void };
  now?: () => number;
  /** Prometheus metrics (src/ops/metrics.ts): fed the numbers of the "review done" log line. */
  metrics?: { observeReview(o: ReviewObservation): void };
}

export interface ReviewResult {
  status: "done" | "superseded" | "no-go-changes" | "bad-config" | "no-pr";
  headSha?: string;
  conclusion?: string;
  stages?: Record<string, number>;
  comments?: { created: number; deleted: number; kept: number; fallback: boolean };
}

function truncateBytes(s: string, max = MAX_OUTPUT_BYTES): string {
  return truncateUtf8(s, max);
}

function isPermanent(e: any): boolean {
  return e?.status === 404 || e?.status === 410 || e?.status === 401;
}

export async function runReview(job: Pick<Job<ReviewJobData>, "data" | "attemptsMade" | "opts" | "id">, deps: ReviewDeps): Promise<ReviewResult> {
  const now = deps.now ?? Date.now;
  const t0 = now();
  const stages: Record<string, number> = {};
  let data = { ...job.data };
  const { owner, repo } = data;
  const octokit = await deps.auth(data.installationId);
  let checkRunId = data.checkRunId;
  let resultPosted = false; // once the result is on the check run, a later failure must not replace it

  const finishCheck = async (conclusion: string, title: string, summary: string, sha: string) => {
    const output = { title: title.slice(0, 255), summary: truncateBytes(summary) };
    if (checkRunId) {
      await octokit.rest.checks.update({ owner, repo, check_run_id: checkRunId, status: "completed", conclusion, completed_at: new Date(now()).toISOString(), output });
    } else if (sha) {
      await octokit.rest.checks.create({ owner, repo, name: CHECK_NAME, head_sha: sha, status: "completed", conclusion, output });
    }
  };

  try {
    // 1. Which PR, and is this job still about its head?
    let pull = data.pull;
    if (pull == null) {
      pull = await findPullByHead(octokit, owner, repo, data.headSha);
      if (pull == null) {
        await finishCheck("neutral", "No open pull request for this commit", "memcheck reviews pull requests; this commit is not the head of an open one.", data.headSha);
        return { status: "no-pr" };
      }
    }
    const { data: pr } = await octokit.rest.pulls.get({ owner, repo, pull_number: pull });
    if (pr.state !== "open") {
      await finishCheck("skipped" as any, "Pull request is closed", "The pull request was closed before the review ran.", data.headSha);
      throw new UnrecoverableError(`${owner}/${repo}#${pull} is closed`);
    }
    const wanted = data.headSha || pr.head.sha;
    if (pr.head.sha !== wanted) {
      const adopted = await adoptLatest(deps, data, pr.head.sha);
      if (!adopted && !(await isNewestRegistration(deps, data))) {
        await finishCheck("skipped" as any, "Superseded", `A newer commit (${pr.head.sha.slice(0, 7)}) is reviewed instead.`, data.headSha);
        deps.log?.info({ repo: `${owner}/${repo}`, pr: pull, sha: data.headSha, head: pr.head.sha }, "memcheck: superseded, skipped");
        return { status: "superseded", headSha: data.headSha };
      }
      await finishCheck("skipped" as any, "Superseded", `A newer commit (${pr.head.sha.slice(0, 7)}) is reviewed instead.`, data.headSha);
      if (adopted) {
        data = { ...adopted, pull };
        checkRunId = adopted.checkRunId;
      } else {
        // This job is the newest registration for the PR, yet the PR has moved on: the webhook of
        // its head came first (webhooks out of order, and this stale one replaced its job) or has
        // not arrived. Nobody else would review the head, so this job does, on a new check run.
        data = { ...data, pull, headSha: pr.head.sha, baseSha: pr.base.sha, checkRunId: undefined };
        checkRunId = undefined;
      }
    }
    const headSha = pr.head.sha;
    data.headSha = headSha;

    // 2. Config from the default branch. A broken config is reported on the check run, not thrown.
    const cfgResult = await loadConfig(octokit, owner, repo);
    if (!checkRunId) {
      const { data: cr } = await octokit.rest.checks.create({ owner, repo, name: CHECK_NAME, head_sha: headSha, status: "in_progress", started_at: new Date(now()).toISOString() });
      checkRunId = cr.id;
    } else {
      await octokit.rest.checks.update({ owner, repo, check_run_id: checkRunId, status: "in_progress", started_at: new Date(now()).toISOString() });
    }
    if (!cfgResult.ok) {
      await finishCheck("failure", "Invalid .github/memcheck.yml", `${cfgResult.error}\n\nFix the file on the default branch, then re-run this check.`, headSha);
      return { status: "bad-config", headSha };
    }
    const config = cfgResult.config;
    const archs: Arch[] = data.options?.archs ?? config.archs;

    // 3. Files and touched packages.
    let t = now();
    const files = await listPrFiles(octokit, owner, repo, pull);
    const touched = touchedPackages(files, config.ignore);
    if (touched.dirs.length === 0) {
      await finishCheck("success", "No Go packages changed", "This pull request changes no Go source files that memcheck reviews.", headSha);
      return { status: "no-go-changes", headSha, conclusion: "success" };
    }
    let baseSha = data.baseSha || pr.base.sha;
    try {
      const { data: cmp } = await octokit.rest.repos.compareCommitsWithBasehead({ owner, repo, basehead: `${baseSha}...${headSha}`, per_page: 1 });
      if (cmp?.merge_base_commit?.sha) baseSha = cmp.merge_base_commit.sha;
    } catch (e: any) {
      if (e?.status >= 500) throw e;
    }

    // 4. Snapshots at base and head.
    const limits = config.limits;
    const inflight = new Map<string, Promise<string>>();
    const open = (sha: string) => GitHubTreeSnapshot.open(octokit, { owner, repo, sha, cache: deps.cache, limits, ignore: config.ignore, inflight });
    const [baseSnap, headSnap] = await Promise.all([open(baseSha), open(headSha)]);
    await Promise.all([baseSnap.include(touched.dirs, { followImports: true }), headSnap.include(touched.dirs, { followImports: true })]);
    stages.fetch = now() - t;

    // Changed lines in reviewed, non-generated files only.
    const changed: ChangedLines = new Map();
    const all = changedLinesOf(files);
    for (const f of touched.files) {
      const lines = all.get(f);
      if (!lines || !headSnap.has(f)) continue;
      if (isGenerated(await headSnap.read(f))) continue;
      changed.set(f, lines);
    }

    // 5. Analyse, diff, rules (src/pipeline.ts).
    t = now();
    const { base: baseA, head: headA, diff } = await deps.pipeline.review(baseSnap, headSnap, {
      archs,
      thresholds: config.thresholds,
      ruleThresholds: config.ruleThresholds,
      rules: config.rules,
      changedLines: changed,
      maxFileBytes: limits.maxFileBytes,
    });
    stages.analyze = now() - t;

    // 6. Post: the check run first (it gates the merge), then the review.
    t = now();
    const skipped = [...headSnap.skipped, ...baseSnap.skipped.filter((s) => !headSnap.skipped.some((h) => h.path === s.path))];
    const conclusion = deps.pipeline.conclusion(diff);
    const title = deps.pipeline.title(diff);
    const summary = truncateBytes(deps.pipeline.summary(diff, { skipped: skipped.map((s) => `${s.path}: ${s.reason}`) }));
    const annotations = deps.pipeline.annotations(diff);
    await postCheck(octokit, owner, repo, checkRunId!, conclusion, title, summary, annotations, now);
    resultPosted = true;
    const fileText = (p: string) => (headSnap.has(p) ? headSnap.textOf(p) : undefined);

    let comments: ReviewResult["comments"];
    if (config.comment) {
      // A run limited to some archs must not delete the comments of the full run.
      const mayDelete = !data.options?.archs && !data.options?.explain;
      comments = await postReview(octokit, deps, { owner, repo, pull, headSha }, deps.pipeline.reviewComments(diff, changed, { maxComments: limits.maxComments, suggest: config.suggest, fileText }), mayDelete, async (extra) => {
        await postAnnotations(octokit, owner, repo, checkRunId!, title, summary, extra);
      });
    }
    if (data.trigger === "command") {
      const explain = data.options?.explain ? explainBody(deps, headA.structs, baseA.structs, data.options.explain, archs) + "\n\n" : "";
      await upsertSticky(octokit, deps, owner, repo, pull, `${explain}### memcheck: ${title}\n\n${summary}`);
    }
    stages.post = now() - t;
    stages.total = now() - t0;

    deps.log?.info(
      {
        repo: `${owner}/${repo}`,
        pr: pull,
        sha: headSha,
        filesFetched: baseSnap.stats.filesFetched + headSnap.stats.filesFetched,
        cacheHits: baseSnap.stats.cacheHits + headSnap.stats.cacheHits,
        structs: headA.structs.length + baseA.structs.length,
        parseMs: headA.stats.parseMs + baseA.stats.parseMs,
        skipped: skipped.length,
        conclusion,
        ms: stages,
      },
      "memcheck: review done",
    );
    deps.metrics?.observeReview({
      stages,
      parseMs: headA.stats.parseMs + baseA.stats.parseMs,
      layoutMs: headA.stats.layoutMs + baseA.stats.layoutMs,
      cacheHits: baseSnap.stats.cacheHits + headSnap.stats.cacheHits,
      filesFetched: baseSnap.stats.filesFetched + headSnap.stats.filesFetched,
      findings: diff.findings,
    });
    return { status: "done", headSha, conclusion, stages, comments };
  } catch (e: any) {
    // A review stopped by a limit (too large, too slow, too much memory) says so on the check run
    // and is not retried: the same input would hit the same limit again.
    if (isReviewLimitError(e)) {
      if (!resultPosted) await finishCheck("neutral", e.title, e.summary, data.headSha);
      throw new UnrecoverableError(e.message);
    }
    const permanent = e instanceof UnrecoverableError || isPermanent(e);
    const last = permanent || job.attemptsMade + 1 >= (job.opts?.attempts ?? 1);
    if (last && checkRunId && !resultPosted && !(e instanceof UnrecoverableError)) {
      try {
        await finishCheck("neutral", "memcheck could not finish", `The review failed: ${String(e?.message ?? e).split("\n")[0].slice(0, 500)}`, data.headSha);
      } catch {
        /* the original error matters more */
      }
    }
    if (permanent && !(e instanceof UnrecoverableError)) throw new UnrecoverableError(String(e?.message ?? e));
    throw e;
  }
}

async function findPullByHead(octokit: any, owner: string, repo: string, sha: string): Promise<number | null> {
  let pages = 0;
  for await (const page of octokit.paginate.iterator(octokit.rest.pulls.list, { owner, repo, state: "open", sort: "updated", direction: "desc", per_page: 100 })) {
    const hit = (page.data as any[]).find((p) => p.head?.sha === sha);
    if (hit) return hit.number;
    if (++pages >= 10) break;
  }
  return null;
}

/**
 * The PR moved on. If the newest registration for this PR is its current head and no job exists for
 * it (BullMQ dropped it as a duplicate while this one waited), this job runs it instead.
 */
async function adoptLatest(deps: ReviewDeps, data: ReviewJobData, prHead: string): Promise<ReviewJobData | undefined> {
  if (!deps.redis || !deps.settings || !deps.queue) return undefined;
  const raw = await deps.redis.get(latestKey(deps.settings, data));
  if (!raw) return undefined;
  let latest: ReviewJobData;
  try {
    latest = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (latest.headSha !== prHead || latest.deliveryId === data.deliveryId) return undefined;
  if (await deps.queue.getJob(jobIdFor(latest.deliveryId))) return undefined;
  return latest;
}

/** True when the newest-head record for this PR is this very job (see latestKey). */
async function isNewestRegistration(deps: ReviewDeps, data: ReviewJobData): Promise<boolean> {
  if (!deps.redis || !deps.settings || data.trigger === "command") return false;
  const raw = await deps.redis.get(latestKey(deps.settings, data));
  if (!raw) return false;
  try {
    return (JSON.parse(raw) as ReviewJobData).deliveryId === data.deliveryId;
  } catch {
    return false;
  }
}

async function postCheck(octokit: any, owner: string, repo: string, id: number, conclusion: string, title: string, summary: string, annotations: CheckAnnotation[], now: () => number) {
  const batches = batch(annotations, ANNOTATIONS_PER_CALL);
  await octokit.rest.checks.update({
    owner,
    repo,
    check_run_id: id,
    status: "completed",
    conclusion,
    completed_at: new Date(now()).toISOString(),
    output: { title, summary, ...(batches[0] ? { annotations: batches[0] } : {}) },
  });
  for (const b of batches.slice(1)) {
    await octokit.rest.checks.update({ owner, repo, check_run_id: id, output: { title, summary, annotations: b } });
  }
}

async function postAnnotations(octokit: any, owner: string, repo: string, id: number, title: string, summary: string, annotations: CheckAnnotation[]) {
  for (const b of batch(annotations, ANNOTATIONS_PER_CALL)) {
    await octokit.rest.checks.update({ owner, repo, check_run_id: id, output: { title, summary, annotations: b } });
  }
}

async function listOurs(octokit: any, route: any, params: object, bot: string, maxPages = 30): Promise<any[]> {
  const out: any[] = [];
  let pages = 0;
  for await (const page of octokit.paginate.iterator(route, { ...params, per_page: 100 })) {
    for (const c of page.data as any[]) if (c.user?.login === bot) out.push(c);
    if (++pages >= maxPages) break;
  }
  return out;
}

async function postReview(
  octokit: any,
  deps: ReviewDeps,
  pr: { owner: string; repo: string; pull: number; headSha: string },
  drafts: ReviewCommentDraft[],
  mayDelete: boolean,
  fallback: (a: CheckAnnotation[]) => Promise<void>,
): Promise<NonNullable<ReviewResult["comments"]>> {
  const { owner, repo, pull } = pr;
  const bot = await deps.botLogin();
  const existing = await listOurs(octokit, octokit.rest.pulls.listReviewComments, { owner, repo, pull_number: pull }, bot);
  const have = new Map<string, any[]>();
  for (const c of existing) {
    const k = deps.pipeline.parseMarker(c.body ?? "");
    if (k) have.set(k, [...(have.get(k) ?? []), c]);
  }
  const wantKeys = new Set<string>();
  const fresh: ReviewCommentDraft[] = [];
  for (const d of drafts) {
    const k = deps.pipeline.parseMarker(d.body);
    if (k) wantKeys.add(k);
    if (k && have.has(k)) continue;
    fresh.push(d);
  }
  let deleted = 0;
  if (mayDelete) {
    for (const [k, cs] of have) {
      if (wantKeys.has(k)) continue;
      for (const c of cs) {
        try {
          await octokit.rest.pulls.deleteReviewComment({ owner, repo, comment_id: c.id });
          deleted++;
        } catch (e: any) {
          if (e?.status !== 404) throw e;
        }
      }
    }
  }
  let fallbackUsed = false;
  if (fresh.length) {
    try {
      await octokit.rest.pulls.createReview({
        owner,
        repo,
        pull_number: pull,
        commit_id: pr.headSha,
        event: "COMMENT",
        // GitHub documents `body` as required for COMMENT reviews.
        body: `**memcheck**: ${fresh.length === 1 ? "1 comment" : `${fresh.length} comments`} on changed lines. The \`memcheck\` check has the full report.`,
        comments: fresh.map((d) => ({ path: d.path, line: d.line, side: "RIGHT" as const, ...(d.start_line && d.start_line < d.line ? { start_line: d.start_line, start_side: "RIGHT" as const } : {}), body: d.body })),
        // Not idempotent: a 5xx may come after GitHub stored the review, and Octokit's retry would
        // post it twice. The job's retry re-lists our comments first, so it posts only what is missing.
        request: { retries: 0 },
      });
    } catch (e: any) {
      if (e?.status !== 422) throw e;
      // GitHub rejects the whole review for one bad line and does not say which: annotate instead.
      fallbackUsed = true;
      deps.log?.warn({ repo: `${owner}/${repo}`, pr: pull, err: String(e?.message ?? e).slice(0, 300) }, "memcheck: review rejected (422), falling back to annotations");
      await fallback(
        fresh.map((d) => ({
          path: d.path,
          start_line: d.start_line && d.start_line < d.line ? d.start_line : d.line,
          end_line: d.line,
          annotation_level: "warning" as const,
          message: stripMarkers(d.body).slice(0, 60000),
        })),
      );
    }
  }
  return { created: fallbackUsed ? 0 : fresh.length, deleted, kept: drafts.length - fresh.length, fallback: fallbackUsed };
}

function stripMarkers(body: string): string {
  return body.replace(/<!--[\s\S]*?-->/g, "").trim();
}

async function upsertSticky(octokit: any, deps: ReviewDeps, owner: string, repo: string, issue_number: number, text: string) {
  const body = truncateBytes(`${STICKY_MARKER}\n${text}`, 65000);
  const bot = await deps.botLogin();
  const mine = (await listOurs(octokit, octokit.rest.issues.listComments, { owner, repo, issue_number }, bot, 10)).find((c) => (c.body ?? "").includes(STICKY_MARKER));
  if (mine) await octokit.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body });
  else await octokit.rest.issues.createComment({ owner, repo, issue_number, body });
}

function explainBody(deps: ReviewDeps, head: StructReport[], base: StructReport[], name: string, archs: Arch[]): string {
  const match = (s: StructReport) => s.name === name || `${s.package.split("/").pop()}.${s.name}` === name;
  const h = head.filter(match);
  const b = base.filter(match);
  if (h.length === 0 && b.length === 0) {
    return `### memcheck explain \`${name}\`\n\nNo struct named \`${name}\` in the packages this pull request touches.`;
  }
  const parts = [`### memcheck explain \`${name}\``];
  for (const arch of archs) {
    for (const [label, list] of [["before", b], ["after", h]] as const) {
      for (const s of list.slice(0, 2)) {
        if (!s.layouts[arch]) continue;
        parts.push(`**${label}** (${arch}) \`${s.package}.${s.name}\` at \`${s.file}:${s.line}\`\n\n\`\`\`text\n${deps.pipeline.diagram(s, arch).trimEnd()}\n\`\`\``);
      }
    }
  }
  return parts.join("\n\n");
}
