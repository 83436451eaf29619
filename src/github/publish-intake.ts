// The intake step: what a webhook handler used to do with GitHub, run by a worker right after the
// webhook was acknowledged (its own queue and worker, so it never waits behind a review). For a
// push: drop a replay or a stale head, check the config for drafts, create the queued check run,
// enqueue the (debounced) review and close the run of the push it replaced. For `/memcheck`: the
// permission check, the 👀 reaction, the help or refusal reply, then the review job. Each step is
// recorded in the job's data (progress) so a retried intake continues and never repeats a write.
import { loadConfig } from "./config.ts";
import type { IntakeEvent, ReviewJobData } from "../queue/index.ts";
import { jobIdFor } from "../queue/index.ts";
import type { OpenRunTracker } from "../queue/stale-runs.ts";
import { HELP_TEXT, parseCommand } from "./commands.ts";
import { CHECK_NAME, NO_RETRY, isBotSender, supersededOutput, type GitHubClient } from "./publish.ts";

/** Roles allowed to run `/memcheck`. */
export const ALLOWED_ROLES = new Set(["admin", "maintain", "write", "triage"]);

export function refusedMarker(login: string): string {
  return `<!-- memcheck:refused:${login.toLowerCase().replace(/[^a-z0-9\-[\]]/g, "")} -->`;
}

export interface IntakeDeps {
  auth(installationId: number): Promise<GitHubClient>;
  /** Add the review job (src/queue: debounce, dedup per PR, the latest-head record). */
  enqueueReview(data: ReviewJobData): Promise<{ id: string; duplicate: boolean; replaced?: ReviewJobData }>;
  /** False when the same content came under another delivery id within the window (a replay). */
  claimReplay?(key: string, deliveryId: string): Promise<boolean>;
  openRuns?: OpenRunTracker;
  /** Redis lost its data recently (src/queue/recovery.ts): runs may already be on the head. */
  recovering?(): Promise<boolean>;
  detailsUrl?: string;
  log?: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void };
}

export interface IntakeJob {
  data: IntakeEvent;
  attemptsMade: number;
  stalledCounter?: number;
  updateData?(data: IntakeEvent): Promise<void>;
}

export interface IntakeResult {
  status: "enqueued" | "replay" | "stale" | "closed" | "draft" | "refused" | "help" | "reviewed";
  job?: string;
  checkRunId?: number;
}

type Progress = NonNullable<IntakeEvent["progress"]>;

function statusOf(e: unknown): number | undefined {
  return (e as { status?: number } | undefined)?.status;
}

export async function runIntake(job: IntakeJob, deps: IntakeDeps): Promise<IntakeResult> {
  let ev: IntakeEvent = job.data;
  const progress: Progress = { ...ev.progress };
  const record = async () => {
    ev = { ...ev, progress: { ...progress } };
    await job.updateData?.(ev);
  };
  const where = { owner: ev.owner, repo: ev.repo };
  const log = { repo: `${ev.owner}/${ev.repo}`, pr: ev.pull, delivery: ev.deliveryId };
  if (deps.claimReplay && !(await deps.claimReplay(ev.replayKey, ev.deliveryId))) {
    deps.log?.info(log, "memcheck: replayed payload (same content, new delivery id), ignored");
    return { status: "replay" };
  }
  const gh = await deps.auth(ev.installationId);

  if (ev.trigger === "command") {
    if (!(await hasAllowedRole(gh, ev.owner, ev.repo, ev.sender))) {
      await refuseOnce(gh, ev.owner, ev.repo, ev.pull, ev.sender);
      return { status: "refused" };
    }
    const cmd = parseCommand(ev.line);
    // GitHub keeps one reaction per user and content: a retry does not add a second.
    await gh.rest.reactions.createForIssueComment({ ...where, comment_id: ev.commentId, content: "eyes" });
    if (cmd.kind === "help") {
      if (!progress.replied) {
        const lead = cmd.error ? `Sorry, I did not understand that: ${cmd.error}.\n\n` : "";
        await gh.rest.issues.createComment({ ...where, issue_number: ev.pull, body: lead + HELP_TEXT });
        progress.replied = true;
        await record();
      }
      return { status: "help" };
    }
    const options: ReviewJobData["options"] = { commentId: ev.commentId, sender: ev.sender };
    if (cmd.archs) options.archs = cmd.archs;
    if (cmd.kind === "explain") options.explain = cmd.type;
    // The command's run is created by the review job, on the PR's head when it runs.
    const { id } = await deps.enqueueReview({
      v: 1,
      installationId: ev.installationId,
      ...where,
      pull: ev.pull,
      baseSha: "",
      headSha: "",
      trigger: "command",
      deliveryId: ev.deliveryId,
      at: ev.at,
      options,
    });
    return { status: "enqueued", job: id };
  }

  if (!progress.checkRunId) {
    if (ev.trigger === "pull_request") {
      // Checked here, not trusted from the payload: webhooks arrive out of order, and a stale one
      // must neither supersede the newest head's run nor start a review.
      const { data: pr } = await gh.rest.pulls.get({ ...where, pull_number: ev.pull });
      if (pr.state !== "open") return { status: "closed" };
      if (pr.head.sha !== ev.headSha) {
        deps.log?.info({ ...log, sha: ev.headSha, head: pr.head.sha }, "memcheck: webhook for an older head, ignored");
        return { status: "stale" };
      }
      if (pr.draft) {
        // Drafts are reviewed only if the repo opts in. A broken config is reported by the review later.
        const cfg = await loadConfig(gh, ev.owner, ev.repo);
        if (!cfg.ok || !cfg.config.drafts) return { status: "draft" };
      }
    }
    let id: number | undefined;
    const retry = job.attemptsMade > 0 || (job.stalledCounter ?? 0) > 0;
    const recovering = (await deps.recovering?.()) ?? false;
    if (retry || recovering) {
      const { data } = await gh.rest.checks.listForRef({ ...where, ref: ev.headSha, check_name: CHECK_NAME, filter: "all", per_page: 100 });
      const ours = data.check_runs.find((r) => r.external_id === ev.deliveryId);
      // After a data loss, this head's run may come from a delivery whose job is gone: a finished
      // review stands; an open run is adopted (the review job completes it), never doubled.
      if (!recovering) id = ours?.id;
      else {
        const onHead = ours ?? data.check_runs.find((r) => !isClosedUnreviewed(r));
        if (onHead?.status === "completed" && !isClosedUnreviewed(onHead)) {
          deps.log?.info(
            { ...log, sha: ev.headSha, checkRun: onHead.id },
            "memcheck: head already reviewed (recovery redelivery), ignored",
          );
          return { status: "reviewed", checkRunId: onHead.id };
        }
        if (onHead?.status !== "completed") id = onHead?.id;
      }
    }
    if (!id) {
      const { data } = await gh.rest.checks.create({
        ...where,
        name: CHECK_NAME,
        head_sha: ev.headSha,
        status: "queued",
        external_id: ev.deliveryId,
        ...(deps.detailsUrl ? { details_url: deps.detailsUrl } : {}),
        request: NO_RETRY,
      });
      id = data.id;
    }
    progress.checkRunId = id;
    await record();
    await deps.openRuns?.opened({ installationId: ev.installationId, ...where, checkRunId: id, jobId: jobIdFor(ev.deliveryId) });
  }
  const checkRunId = progress.checkRunId;
  let jobId = jobIdFor(ev.deliveryId);
  if (!progress.enqueued) {
    const r = await deps.enqueueReview({
      v: 1,
      installationId: ev.installationId,
      ...where,
      pull: ev.pull,
      baseSha: ev.baseSha,
      headSha: ev.headSha,
      trigger: ev.trigger,
      deliveryId: ev.deliveryId,
      checkRunId,
      at: ev.at,
    });
    jobId = r.id;
    progress.enqueued = true;
    const replaced = r.replaced;
    // (After a data loss two deliveries may share one adopted run: never close the run this job uses.)
    if (replaced?.checkRunId && replaced.checkRunId !== checkRunId && replaced.owner === ev.owner && replaced.repo === ev.repo)
      progress.closing = { runId: replaced.checkRunId, runSha: replaced.headSha };
    await record();
  }
  if (progress.closing) {
    // A burst of pushes: the older job was dropped before it ran; close its queued run.
    const { runId, runSha } = progress.closing;
    try {
      await gh.rest.checks.update({
        ...where,
        check_run_id: runId,
        status: "completed",
        conclusion: "skipped",
        output: supersededOutput(runSha, ev.headSha),
      });
      await deps.openRuns?.closed({ installationId: ev.installationId, ...where, checkRunId: runId });
    } catch (e) {
      if (statusOf(e) !== 404) throw e;
    }
    progress.closing = undefined;
    await record();
  }
  deps.log?.info({ ...log, sha: ev.headSha, job: jobId, checkRun: checkRunId, trigger: ev.trigger }, "memcheck: enqueued");
  return { status: "enqueued", job: jobId, checkRunId };
}

/** A run closed without a review (superseded, cancelled): it does not count as this head's review. */
function isClosedUnreviewed(r: { status: string; conclusion?: string | null }): boolean {
  return r.status === "completed" && (r.conclusion === "skipped" || r.conclusion === "cancelled" || r.conclusion === "stale");
}

async function hasAllowedRole(gh: GitHubClient, owner: string, repo: string, username: string): Promise<boolean> {
  try {
    const { data } = await gh.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username });
    const role = (data as { role_name?: string }).role_name;
    return (role != null && ALLOWED_ROLES.has(role)) || data.permission === "admin" || data.permission === "write";
  } catch (e) {
    if (statusOf(e) === 404 || statusOf(e) === 403) return false; // not a collaborator
    throw e;
  }
}

/** Post the refusal once per user and PR: look for our marker in (at most 10 pages of) comments first. */
async function refuseOnce(gh: GitHubClient, owner: string, repo: string, issue_number: number, login: string): Promise<boolean> {
  const marker = refusedMarker(login);
  let pages = 0;
  for await (const page of gh.paginate.iterator(gh.rest.issues.listComments, { owner, repo, issue_number, per_page: 100 })) {
    if (page.data.some((c) => isBotSender(c.user) && (c.body ?? "").includes(marker))) return false;
    if (++pages >= 10) break;
  }
  await gh.rest.issues.createComment({
    owner,
    repo,
    issue_number,
    body: `${marker}\n@${login} thanks! \`/memcheck\` commands can be run by people with triage access or more to this repository. The memory review still runs on every push.`,
  });
  return true;
}
