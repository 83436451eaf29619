// The Probot app: validate, acknowledge, enqueue. Nothing heavy runs in a webhook handler:
// GitHub wants an answer within 10 s and Probot answers only after the handlers finish.
import type { Context, Probot } from "probot";
import { loadConfig } from "./github/config.ts";
import { findCommandLine, parseCommand, HELP_TEXT } from "./github/commands.ts";
import { createReviewQueue, type ReviewJobData, type ReviewQueue } from "./queue/index.ts";

export const CHECK_NAME = "memcheck";
/** Roles allowed to run `/memcheck`. */
export const ALLOWED_ROLES = new Set(["admin", "maintain", "write", "triage"]);

export type QueueLike = Pick<ReviewQueue, "enqueue" | "hasDelivery">;

export interface AppDeps {
  queue: QueueLike;
  /** Shown as the check run's details link, if set (e.g. the app's homepage). */
  detailsUrl?: string;
}

export function refusedMarker(login: string): string {
  return `<!-- memcheck:refused:${login.toLowerCase().replace(/[^a-z0-9\-\[\]]/g, "")} -->`;
}

export function isBotSender(user: { type?: string | null; login?: string | null } | null | undefined): boolean {
  if (!user) return true;
  return user.type === "Bot" || (user.login ?? "").toLowerCase().endsWith("[bot]");
}

type Octo = Context["octokit"];

async function hasAllowedRole(octokit: Octo, owner: string, repo: string, username: string): Promise<boolean> {
  try {
    const { data } = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username });
    const role = (data as { role_name?: string }).role_name;
    return (role != null && ALLOWED_ROLES.has(role)) || data.permission === "admin" || data.permission === "write";
  } catch (e: any) {
    if (e?.status === 404 || e?.status === 403) return false; // not a collaborator
    throw e;
  }
}

/** Post the refusal once per user and PR: look for our marker in (at most 10 pages of) comments first. */
async function refuseOnce(octokit: Octo, owner: string, repo: string, issue_number: number, login: string): Promise<boolean> {
  const marker = refusedMarker(login);
  let pages = 0;
  for await (const page of octokit.paginate.iterator(octokit.rest.issues.listComments, { owner, repo, issue_number, per_page: 100 })) {
    if (page.data.some((c) => isBotSender(c.user) && (c.body ?? "").includes(marker))) return false;
    if (++pages >= 10) break;
  }
  await octokit.rest.issues.createComment({
    owner,
    repo,
    issue_number,
    body: `${marker}\n@${login} thanks! \`/memcheck\` commands can be run by people with triage access or more to this repository. The memory review still runs on every push.`,
  });
  return true;
}

/**
 * The installation client for a handler's GitHub calls. Not `context.octokit`: Probot 14 builds that
 * one without the installation as its throttle id, so Octokit spaced the writes of every
 * installation together (about 1 per second for the whole app), and a burst of webhooks across
 * installations outlived Probot's 9 s answer timeout (202, handlers left running in the background).
 * `app.auth(id)` throttles per installation, as the workers' clients do.
 */
async function installationOctokit(app: Probot, installationId: number): Promise<Octo> {
  return (await app.auth(installationId)) as unknown as Octo;
}

export function createApp(deps: AppDeps) {
  return (app: Probot) => {
    app.on(
      ["pull_request.opened", "pull_request.synchronize", "pull_request.reopened", "pull_request.ready_for_review"],
      async (context) => {
        const { pull_request: pr, repository, installation } = context.payload;
        if (!installation || pr.state !== "open") return;
        const owner = repository.owner.login;
        const repo = repository.name;
        if (await deps.queue.hasDelivery(context.id)) {
          context.log.info({ delivery: context.id }, "memcheck: redelivered webhook, job exists");
          return;
        }
        const octokit = await installationOctokit(app, installation.id);
        if (pr.draft) {
          // Drafts are skipped unless the repo opts in. A broken config is reported by the worker later.
          const cfg = await loadConfig(octokit as any, owner, repo);
          if (!cfg.ok || !cfg.config.drafts) return;
        }
        const check = await octokit.rest.checks.create({
          owner,
          repo,
          name: CHECK_NAME,
          head_sha: pr.head.sha,
          status: "queued",
          external_id: context.id,
          ...(deps.detailsUrl ? { details_url: deps.detailsUrl } : {}),
        });
        await enqueue(context, octokit, {
          v: 1,
          installationId: installation.id,
          owner,
          repo,
          pull: pr.number,
          baseSha: pr.base.sha,
          headSha: pr.head.sha,
          trigger: "pull_request",
          deliveryId: context.id,
          checkRunId: check.data.id,
          at: Date.now(),
        });
      },
    );

    app.on(["check_run.rerequested", "check_suite.rerequested"], async (context) => {
      const p = context.payload as any;
      const { repository, installation } = p;
      if (!installation) return;
      let headSha: string;
      let prs: any[];
      if (context.name === "check_run") {
        if (p.check_run?.name !== CHECK_NAME) return;
        headSha = p.check_run.head_sha;
        prs = p.check_run.pull_requests ?? [];
      } else {
        headSha = p.check_suite.head_sha;
        prs = p.check_suite.pull_requests ?? [];
      }
      if (typeof headSha !== "string" || !/^[0-9a-f]{40}$/.test(headSha)) return;
      if (await deps.queue.hasDelivery(context.id)) return;
      const owner = repository.owner.login;
      const repo = repository.name;
      // For fork PRs pull_requests is empty: the worker finds the PR by head SHA.
      const pr = prs.find((x) => x?.base?.repo?.id === undefined || x.base.repo.id === repository.id);
      const octokit = await installationOctokit(app, installation.id);
      const check = await octokit.rest.checks.create({
        owner,
        repo,
        name: CHECK_NAME,
        head_sha: headSha,
        status: "queued",
        external_id: context.id,
      });
      await enqueue(context, octokit, {
        v: 1,
        installationId: installation.id,
        owner,
        repo,
        pull: typeof pr?.number === "number" ? pr.number : null,
        baseSha: typeof pr?.base?.sha === "string" ? pr.base.sha : "",
        headSha,
        trigger: "rerequested",
        deliveryId: context.id,
        checkRunId: check.data.id,
        at: Date.now(),
      });
    });

    app.on("issue_comment.created", async (context) => {
      const { comment, issue, repository, installation, sender } = context.payload;
      if (!installation || !issue.pull_request) return;
      const line = findCommandLine(comment.body);
      if (!line) return;
      if (isBotSender(sender) || isBotSender(comment.user)) return;
      if (issue.state !== "open") return;
      const owner = repository.owner.login;
      const repo = repository.name;
      const login = sender.login;
      if (await deps.queue.hasDelivery(context.id)) return;
      const octokit = await installationOctokit(app, installation.id);
      if (!(await hasAllowedRole(octokit, owner, repo, login))) {
        await refuseOnce(octokit, owner, repo, issue.number, login);
        return;
      }
      const cmd = parseCommand(line);
      await octokit.rest.reactions.createForIssueComment({ owner, repo, comment_id: comment.id, content: "eyes" });
      if (cmd.kind === "help") {
        const lead = cmd.error ? `Sorry, I did not understand that: ${cmd.error}.\n\n` : "";
        await octokit.rest.issues.createComment({ owner, repo, issue_number: issue.number, body: lead + HELP_TEXT });
        return;
      }
      const options: ReviewJobData["options"] = { commentId: comment.id, sender: login };
      if (cmd.archs) options.archs = cmd.archs;
      if (cmd.kind === "explain") options.explain = cmd.type;
      await enqueue(context, octokit, {
        v: 1,
        installationId: installation.id,
        owner,
        repo,
        pull: issue.number,
        baseSha: "",
        headSha: "",
        trigger: "command",
        deliveryId: context.id,
        at: Date.now(),
        options,
      });
    });
  };

  async function enqueue(context: Context, octokit: Octo, data: ReviewJobData): Promise<void> {
    // Any failure here (Redis down) propagates: Probot answers 500 and GitHub marks the delivery failed.
    const { id, duplicate, replaced } = await deps.queue.enqueue(data);
    if (replaced?.checkRunId && replaced.owner === data.owner && replaced.repo === data.repo) {
      // A burst of pushes: the older job was dropped before it ran; close its queued check run.
      try {
        await octokit.rest.checks.update({
          owner: data.owner,
          repo: data.repo,
          check_run_id: replaced.checkRunId,
          status: "completed",
          conclusion: "skipped",
          output: { title: "Superseded", summary: `A newer commit (${data.headSha.slice(0, 7)}) is reviewed instead.` },
        });
      } catch (e) {
        context.log.warn({ err: (e as Error)?.message }, "memcheck: could not close a superseded check run");
      }
    }
    context.log.info(
      { repo: `${data.owner}/${data.repo}`, pr: data.pull, sha: data.headSha, job: id, duplicate, trigger: data.trigger },
      "memcheck: enqueued",
    );
  }
}

let defaultQueue: ReviewQueue | undefined;

/** For `probot run src/app.ts`: uses a queue from REDIS_URL / MEMCHECK_QUEUE. */
export default (app: Probot) => {
  defaultQueue ??= createReviewQueue();
  return createApp({ queue: defaultQueue })(app);
};
