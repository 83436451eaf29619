// runReview: the worker's job. It only orchestrates: which head (src/queue/latest.ts), config,
// fetch (snapshots), review (the pipeline), publish (src/github/publish.ts: the check result
// first, since it gates the merge, then the review, then the sticky comment). Every GitHub write is
// recorded in the job's data before the next one, so a retry continues and never repeats.
import { UnrecoverableError, type Job } from "bullmq";
import type { Redis } from "ioredis";
import type { Analysis, Arch, Diff } from "../analysis/model.ts";
import { layoutChanged, layoutMoved } from "../analysis/ripple.ts";
import { loadConfig } from "./config.ts";
import type { QueueSettings, ReviewJobData } from "../queue/index.ts";
import { decideHead } from "../queue/latest.ts";
import type { OpenRunTracker } from "../queue/stale-runs.ts";
import { isReviewLimitError } from "../review/limits.ts";
import { changedLinesOf, dirOf, isGenerated, listPrFiles, touchedPackages, type ChangedLines } from "./files.ts";
import type { CheckAnnotation, Pipeline } from "./pipeline.ts";
import type { MemcheckConfig } from "../review/config.ts";
import { GitHubTreeSnapshot, type BlobCache } from "./snapshot.ts";
import {
  CheckRunPublisher,
  explainBody,
  publishReview,
  supersededOutput,
  upsertSticky,
  type GitHubClient,
  type PublishState,
  type ReviewOutcome,
} from "./publish.ts";
import type { ReviewObservation } from "../ops/metrics.ts";
import { isRecovering } from "../queue/recovery.ts";

export { CHECK_NAME, MAX_OUTPUT_BYTES, ANNOTATIONS_PER_CALL } from "./publish.ts";
import type { AppModules } from "../modules/app.ts";

export interface ReviewDeps {
  /** An installation-authenticated Octokit (from probot.auth(installationId)). */
  auth(installationId: number): Promise<GitHubClient>;
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
  /** Records open check runs for the stale-run sweep (src/queue/stale-runs.ts). */
  openRuns?: OpenRunTracker;
  /** Mark the run in_progress only when the review takes longer than this (default 2000 ms). */
  inProgressAfterMs?: number;
  detailsUrl?: string;
  /** Resolve other modules' packages (src/modules/app.ts); absent: structs that need them stay unresolved. */
  modules?: AppModules;
}

export interface ReviewResult {
  status: "done" | "superseded" | "no-go-changes" | "bad-config" | "no-pr" | "limit" | "reviewed";
  headSha?: string;
  conclusion?: string;
  stages?: Record<string, number>;
  comments?: ReviewOutcome;
}

/** The job as runReview sees it; updateData (BullMQ) persists the publish state between attempts. */
export type ReviewJob = Pick<Job<ReviewJobData>, "data" | "attemptsMade" | "opts" | "id"> & {
  updateData?(data: ReviewJobData): Promise<void>;
  stalledCounter?: number;
};

function statusOf(e: unknown): number | undefined {
  return (e as { status?: number } | undefined)?.status;
}

function isPermanent(e: unknown): boolean {
  const s = statusOf(e);
  return s === 404 || s === 410 || s === 401;
}

export async function runReview(job: ReviewJob, deps: ReviewDeps): Promise<ReviewResult> {
  const now = deps.now ?? Date.now;
  const t0 = now();
  const stages: Record<string, number> = {};
  let data: ReviewJobData = { ...job.data };
  const { owner, repo } = data;
  const gh = await deps.auth(data.installationId);
  const state: PublishState = { ...data.publish, checkRunId: data.publish?.checkRunId ?? data.checkRunId };
  const publisher = new CheckRunPublisher(gh, { owner, repo }, state, {
    installationId: data.installationId,
    now,
    openRuns: deps.openRuns,
    jobId: job.id,
    detailsUrl: deps.detailsUrl,
    persist: async (s) => {
      data = { ...data, checkRunId: s.checkRunId, publish: { ...s } };
      await job.updateData?.(data);
    },
  });
  // A retry, or a job taken over from a dead worker: a run this job created may not be recorded.
  const mayHaveRun = job.attemptsMade > 0 || (job.stalledCounter ?? 0) > 0;
  let slow: NodeJS.Timeout | undefined;
  let marking: Promise<void> | undefined;
  const stopMarking = async () => {
    clearTimeout(slow);
    await marking;
  };

  try {
    // 1. Which PR, and is this job still about its head?
    const target = await resolveTarget(gh, deps, publisher, data);
    if ("done" in target) return target.done;
    const { pull, pr } = target;
    if (target.next) {
      data = { ...target.next, publish: undefined };
      await publisher.useRun(target.next.checkRunId);
    }
    const headSha = pr.head.sha;
    data.headSha = headSha;

    // 2. Config from the default branch. A broken config is reported on the check run, not thrown.
    const cfgResult = await loadConfig(gh, owner, repo);
    // The first write the user waits for: a run (commands have none yet). Recorded at once.
    // After Redis lost its data, the run (adopted by the intake, or a redelivered `/memcheck`'s) may
    // have been finished meanwhile by another job: a finished run is never written again.
    const recovering = deps.redis && deps.settings ? await isRecovering(deps.redis, deps.settings) : false;
    const run = await publisher.ensureRun(headSha, data.deliveryId, { status: "in_progress", lookup: mayHaveRun || recovering });
    if (run.completedBefore || (recovering && (await publisher.runCompleted()))) return { status: "reviewed", headSha };
    if (!cfgResult.ok) {
      await publisher.finish(
        "failure",
        "Invalid .github/memcheck.yml",
        `${cfgResult.error}\n\nFix the file on the default branch, then re-run this check.`,
        headSha,
      );
      return { status: "bad-config", headSha };
    }
    const config = cfgResult.config;
    const archs: Arch[] = data.options?.archs ?? config.archs;
    // in_progress carries information only when the review is slow: written after a delay, never
    // right before the result.
    slow = setTimeout(() => {
      marking = publisher
        .inProgress()
        .catch((e) =>
          deps.log?.warn({ err: String((e as Error)?.message ?? e).slice(0, 200) }, "memcheck: could not mark the run in progress"),
        );
    }, deps.inProgressAfterMs ?? 2000);
    slow.unref?.();

    // 3. Fetch: the changed files, the touched packages at base and head, the changed lines.
    let t = now();
    const change = await fetchChange(
      gh,
      deps,
      { owner, repo, pull, headSha, baseSha: data.baseSha || pr.base.sha, changedFiles: pr.changed_files },
      config,
    );
    if (!change) {
      await stopMarking();
      await publisher.finish(
        "success",
        "No Go packages changed",
        "This pull request changes no Go source files that memcheck reviews.",
        headSha,
      );
      return { status: "no-go-changes", headSha, conclusion: "success" };
    }
    const { baseSnap, headSnap, changed } = change;
    const limits = config.limits;
    const modules = deps.modules ? jobModules(deps.modules, gh, data.installationId) : undefined;
    if (modules) await Promise.all([baseSnap.includeModuleFiles(), headSnap.includeModuleFiles()]);
    stages.fetch = now() - t;

    // 5. Review (src/pipeline.ts).
    t = now();
    const input = {
      archs,
      thresholds: config.thresholds,
      ruleThresholds: config.ruleThresholds,
      rules: config.rules,
      hot: config.hot,
      changedLines: changed,
      maxFileBytes: limits.maxFileBytes,
      ...(config.go ? { go: config.go } : {}),
      ...(modules ? { modules } : {}),
    };
    let reviewed = await deps.pipeline.review(baseSnap, headSnap, input);
    stages.analyze = now() - t;
    // 5b. Ripple: a PR that changes a struct's size, alignment or pointer bytes may grow structs in
    // any package that hold it by value. Fetch the rest of the tree at both sides (within the
    // limits) and review again; the parse cache keeps the first pass's files.
    const ripple = await rippleReview(deps, reviewed.diff, baseSnap, headSnap, input, now);
    if (ripple) stages.ripple = ripple.ms;
    if (ripple?.reviewed) reviewed = ripple.reviewed;
    const { base: baseA, head: headA, diff } = reviewed;

    // 6. Publish: the check result first (it gates the merge), then the review, then the sticky.
    t = now();
    await stopMarking();
    const skipped = [
      ...headSnap.skipped,
      ...baseSnap.skipped.filter((s) => !headSnap.skipped.some((h) => h.path === s.path)),
      ...(ripple?.note ? [{ path: "ripple", reason: ripple.note }] : []),
    ];
    const conclusion = deps.pipeline.conclusion(diff, config.failOn);
    const title = deps.pipeline.title(diff);
    const summary = deps.pipeline.summary(diff, { skipped: skipped.map((s) => `${s.path}: ${s.reason}`) });
    const annotations = deps.pipeline.annotations(diff);
    await publisher.complete(conclusion, title, summary, annotations);

    const comments = await publishComments(gh, deps, publisher, state, {
      data,
      target: { owner, repo, pull, headSha },
      config,
      archs,
      review: { base: baseA, head: headA, diff },
      headSnap,
      changed,
      check: { title, summary, annotations },
      // The sticky comment renders Mermaid (pointer maps as diagrams); the check summary does not.
      stickySummary: () => deps.pipeline.summary(diff, { skipped: skipped.map((s) => `${s.path}: ${s.reason}`), mermaid: true }),
    });
    stages.post = now() - t;
    stages.total = now() - t0;

    observeDone(
      deps,
      { repo: `${owner}/${repo}`, pr: pull, sha: headSha, conclusion, stages, skipped: skipped.length },
      [baseA, headA],
      [baseSnap, headSnap],
      diff,
    );
    return { status: "done", headSha, conclusion, stages, comments };
  } catch (e) {
    await stopMarking();
    return endFailed(e, job, state, publisher, data.headSha);
  }
}

/**
 * When the first review found a struct whose size, alignment or pointer bytes changed: fetch every
 * Go package at base and head (bounded by the limits) and review the whole tree, so structs that
 * hold the changed one by value, in packages the PR does not touch, are laid out and reported with
 * their chain. Undefined when no layout changed (nothing can ripple).
 */
async function rippleReview(
  deps: Pick<ReviewDeps, "pipeline" | "log">,
  diff: Diff,
  baseSnap: GitHubTreeSnapshot,
  headSnap: GitHubTreeSnapshot,
  input: Parameters<Pipeline["review"]>[2],
  now: () => number,
): Promise<{ reviewed?: Awaited<ReturnType<Pipeline["review"]>>; ms: number; note?: string } | undefined> {
  if (layoutChanged(diff).length === 0) return undefined;
  const t = now();
  const keep = { base: baseSnap.packages(), head: headSnap.packages() };
  const before = keep.base.length + keep.head.length;
  const [b, h] = await Promise.all([baseSnap.includeAll(), headSnap.includeAll()]);
  const note = h.note ?? b.note;
  // Only packages that import a changed struct's package (directly or through others) can hold it
  // by value: the others are not parsed.
  const sources = [...new Set(diff.structs.filter(layoutMoved).map((s) => dirOf(s.file)))];
  const [bDropped, hDropped] = await Promise.all([
    baseSnap.retainImportersOf(sources, keep.base),
    headSnap.retainImportersOf(sources, keep.head),
  ]);
  deps.log?.info(
    { searched: h.searched, total: h.total, baseSearched: b.searched, notImporting: Math.max(bDropped, hDropped), ms: now() - t },
    "memcheck: ripple fetched the tree",
  );
  // Nothing more was read: the first review already saw every package it could.
  if (baseSnap.packages().length + headSnap.packages().length === before) return { ms: now() - t, ...(note ? { note } : {}) };
  try {
    const reviewed = await deps.pipeline.review(baseSnap, headSnap, input);
    return { reviewed, ms: now() - t, ...(note ? { note } : {}) };
  } catch (e) {
    // The whole tree went over the job's memory or time budget: keep the first review (the
    // touched packages), and say that ripple was not searched.
    if (!isReviewLimitError(e)) throw e;
    deps.log?.warn({ err: e.message.slice(0, 200) }, "memcheck: ripple review over budget, keeping the touched packages' review");
    return {
      ms: now() - t,
      note: "ripple was not searched: reviewing the whole tree went over the job's memory or time budget (MEMCHECK_JOB_MEMORY_MB, MEMCHECK_JOB_SECONDS); only the packages this pull request touches and their imports were reviewed",
    };
  }
}

type Config = Extract<Awaited<ReturnType<typeof loadConfig>>, { ok: true }>["config"];

/** The PR's change: snapshots at the merge base and the head (touched packages plus imports), and
 * the changed lines of reviewed, non-generated files. Undefined when no reviewed Go file changed. */
async function fetchChange(
  gh: GitHubClient,
  deps: Pick<ReviewDeps, "cache">,
  pr: { owner: string; repo: string; pull: number; headSha: string; baseSha: string; changedFiles?: number },
  config: Config,
) {
  const { owner, repo, headSha } = pr;
  // Both are needed for any Go change; asked together they cost one round trip.
  const merge = mergeBase(gh, owner, repo, pr.baseSha, headSha);
  merge.catch(() => {}); // awaited below unless no Go file changed
  const files = await listPrFiles(gh, owner, repo, pr.pull, pr.changedFiles);
  const touched = touchedPackages(files, config.ignore);
  if (touched.dirs.length === 0) return undefined;
  const baseSha = await merge;
  const inflight = new Map<string, Promise<string>>();
  const open = (sha: string) =>
    GitHubTreeSnapshot.open(gh, { owner, repo, sha, cache: deps.cache, limits: config.limits, ignore: config.ignore, inflight });
  const [baseSnap, headSnap] = await Promise.all([open(baseSha), open(headSha)]);
  await Promise.all([baseSnap.include(touched.dirs, { followImports: true }), headSnap.include(touched.dirs, { followImports: true })]);
  const changed: ChangedLines = new Map();
  const all = changedLinesOf(files);
  for (const f of touched.files) {
    const lines = all.get(f);
    if (!lines || !headSnap.has(f)) continue;
    if (isGenerated(await headSnap.read(f))) continue;
    changed.set(f, lines);
  }
  return { baseSnap, headSnap, changed };
}

/** The job's module source: private modules on this GitHub host come through the installation token. */
function jobModules(app: AppModules, gh: GitHubClient, installationId: number) {
  const host = process.env.GHE_HOST || "github.com";
  const source = app.forJob({
    installationId,
    host,
    zipball: async (owner, repo, ref) => {
      const { data } = await gh.rest.repos.downloadZipballArchive({ owner, repo, ref });
      return Buffer.from(data as ArrayBuffer);
    },
  });
  return Object.assign(source, { modFlag: app.settings.modFlag });
}

async function mergeBase(gh: GitHubClient, owner: string, repo: string, baseSha: string, headSha: string): Promise<string> {
  try {
    const { data: cmp } = await gh.rest.repos.compareCommitsWithBasehead({ owner, repo, basehead: `${baseSha}...${headSha}`, per_page: 1 });
    return cmp?.merge_base_commit?.sha || baseSha;
  } catch (e) {
    if ((statusOf(e) ?? 0) >= 500) throw e;
    return baseSha;
  }
}

async function findPullByHead(gh: GitHubClient, owner: string, repo: string, sha: string): Promise<number | null> {
  let pages = 0;
  for await (const page of gh.paginate.iterator(gh.rest.pulls.list, {
    owner,
    repo,
    state: "open",
    sort: "updated",
    direction: "desc",
    per_page: 100,
  })) {
    const hit = page.data.find((p) => p.head?.sha === sha);
    if (hit) return hit.number;
    if (++pages >= 10) break;
  }
  return null;
}

type PullInfo = Awaited<ReturnType<GitHubClient["rest"]["pulls"]["get"]>>["data"];

/**
 * The job's PR and whether its head is still the PR's: `done` ends the job (no PR, superseded);
 * `next` is the job data to continue with when the PR moved on and this job takes the newest head.
 */
async function resolveTarget(
  gh: GitHubClient,
  deps: ReviewDeps,
  publisher: CheckRunPublisher,
  data: ReviewJobData,
): Promise<{ done: ReviewResult } | { pull: number; pr: PullInfo; next?: ReviewJobData }> {
  const { owner, repo } = data;
  const pull = data.pull ?? (await findPullByHead(gh, owner, repo, data.headSha));
  if (pull == null) {
    await publisher.finish(
      "neutral",
      "No open pull request for this commit",
      "memcheck reviews pull requests; this commit is not the head of an open one.",
      data.headSha,
    );
    return { done: { status: "no-pr" } };
  }
  const { data: pr } = await gh.rest.pulls.get({ owner, repo, pull_number: pull });
  if (pr.state !== "open") {
    await publisher.finish("skipped", "Pull request is closed", "The pull request was closed before the review ran.", data.headSha);
    throw new UnrecoverableError(`${owner}/${repo}#${pull} is closed`);
  }
  const decision = await decideHead(deps, data, pr.head.sha);
  if (decision.kind === "current") return { pull, pr };
  const s = supersededOutput(data.headSha, pr.head.sha);
  await publisher.finish("skipped", s.title, s.summary);
  if (decision.kind === "superseded") {
    deps.log?.info({ repo: `${owner}/${repo}`, pr: pull, sha: data.headSha, head: pr.head.sha }, "memcheck: superseded, skipped");
    return { done: { status: "superseded", headSha: data.headSha } };
  }
  // Adopt the newest registration's queued run, or (nobody else knows this head) open a new one.
  const next: ReviewJobData =
    decision.kind === "adopt"
      ? { ...decision.latest, pull }
      : { ...data, pull, headSha: pr.head.sha, baseSha: pr.base.sha, checkRunId: undefined };
  return { pull, pr, next };
}

/**
 * A job that threw: a limit completes the run with its explanation (no retry); on the last attempt
 * (or a permanent error) an open run is completed as "could not finish", never left in_progress.
 */
async function endFailed(
  e: unknown,
  job: ReviewJob,
  state: PublishState,
  publisher: CheckRunPublisher,
  headSha: string,
): Promise<ReviewResult> {
  if (isReviewLimitError(e)) {
    // Stopped by a limit: the same input would stop again, so say why and do not retry.
    await publisher.finish("neutral", e.title, e.summary, headSha);
    return { status: "limit", headSha, conclusion: "neutral" };
  }
  const permanent = e instanceof UnrecoverableError || isPermanent(e);
  const last = permanent || job.attemptsMade + 1 >= (job.opts?.attempts ?? 1);
  if (last && state.checkRunId && !state.resultPosted && !(e instanceof UnrecoverableError)) {
    try {
      await publisher.finish(
        "neutral",
        "memcheck could not finish",
        `The review failed: ${String((e as Error)?.message ?? e)
          .split("\n")[0]!
          .slice(0, 500)}`,
      );
    } catch {
      /* the original error matters more */
    }
  }
  if (permanent && !(e instanceof UnrecoverableError)) throw new UnrecoverableError(String((e as Error)?.message ?? e));
  throw e;
}

/** After the check result: the review with suggestions (once), and for `/memcheck` the sticky comment. */
async function publishComments(
  gh: GitHubClient,
  deps: ReviewDeps,
  publisher: CheckRunPublisher,
  state: PublishState,
  o: {
    data: ReviewJobData;
    target: { owner: string; repo: string; pull: number; headSha: string };
    config: MemcheckConfig;
    archs: Arch[];
    review: { base: Analysis; head: Analysis; diff: Diff };
    headSnap: GitHubTreeSnapshot;
    changed: ChangedLines;
    check: { title: string; summary: string; annotations: CheckAnnotation[] };
    stickySummary?: () => string;
  },
): Promise<ReviewOutcome | undefined> {
  const { data, target, config, review, check } = o;
  let comments: ReviewOutcome | undefined;
  if (config.comment && !state.reviewDone) {
    const fileText = (p: string) => (o.headSnap.has(p) ? o.headSnap.textOf(p) : undefined);
    comments = await publishReview(gh, {
      target,
      bot: await deps.botLogin(),
      drafts: deps.pipeline.reviewComments(review.diff, o.changed, {
        maxComments: config.limits.maxComments,
        suggest: config.suggest,
        fileText,
      }),
      parseMarker: (b) => deps.pipeline.parseMarker(b),
      // A run limited to some archs must not delete the comments of the full run.
      mayDelete: !data.options?.archs && !data.options?.explain,
      fallback: (extra) => publisher.annotate(check.title, check.summary, extra, check.annotations.length),
      warn: (w, msg) => deps.log?.warn(w, msg),
    });
    state.reviewDone = true;
    await publisher.persist();
  }
  if (data.trigger === "command") {
    const explain = data.options?.explain
      ? explainBody((s, a) => deps.pipeline.diagram(s, a), review.head.structs, review.base.structs, data.options.explain, o.archs) + "\n\n"
      : "";
    state.stickyId = await upsertSticky(gh, {
      where: { owner: target.owner, repo: target.repo },
      pull: target.pull,
      bot: await deps.botLogin(),
      text: `${explain}### memcheck: ${check.title}\n\n${o.stickySummary?.() ?? check.summary}`,
      knownId: state.stickyId,
    });
    await publisher.persist();
  }
  return comments;
}

/** The "review done" log line and the review metrics, from the job's own figures. */
function observeDone(
  deps: Pick<ReviewDeps, "log" | "metrics">,
  job: { repo: string; pr: number; sha: string; conclusion: string; stages: Record<string, number>; skipped: number },
  analyses: Analysis[],
  snapshots: GitHubTreeSnapshot[],
  diff: Diff,
): void {
  const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((n, x) => n + f(x), 0);
  const filesFetched = sum(snapshots, (s) => s.stats.filesFetched);
  const cacheHits = sum(snapshots, (s) => s.stats.cacheHits);
  const parseMs = sum(analyses, (a) => a.stats.parseMs);
  const { stages, ...fields } = job;
  deps.log?.info(
    { ...fields, filesFetched, cacheHits, structs: sum(analyses, (a) => a.structs.length), parseMs, ms: stages },
    "memcheck: review done",
  );
  deps.metrics?.observeReview({
    stages,
    parseMs,
    layoutMs: sum(analyses, (a) => a.stats.layoutMs),
    cacheHits,
    filesFetched,
    findings: diff.findings,
  });
}
