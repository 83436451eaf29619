// The Probot app: verify, filter, dedupe, enqueue. A handler makes no GitHub call: Probot answers
// only after the handlers finish, and GitHub's per-installation write spacing (about 1 s a write)
// turned three calls per webhook into 9 s answers (202) under a burst. Everything that talks to
// GitHub (the queued check run, closing a superseded run, `/memcheck` permission, reaction and
// replies, the draft config check) runs in the intake job (src/github/publish-intake.ts).
import type { Probot } from "probot";
import { findCommandLine } from "./github/commands.ts";
import { CHECK_NAME, isBotSender } from "./github/publish.ts";
import { createReviewQueue, type IntakeEvent, type QueueLike, type ReviewQueue } from "./queue/index.ts";

export { ALLOWED_ROLES, refusedMarker } from "./github/publish-intake.ts";
export { isBotSender };

export interface AppDeps {
  queue: QueueLike;
  /** Shown as the check run's details link, if set (e.g. the app's homepage). Used by the intake job. */
  detailsUrl?: string;
}

const SHA = /^[0-9a-f]{40}$/;

interface Log {
  info(o: object, msg?: string): void;
}

export function createApp(deps: AppDeps) {
  return (app: Probot) => {
    const submit = async (log: Log, event: IntakeEvent) => {
      // Any failure here (Redis down) propagates: Probot answers 500 and GitHub marks the delivery failed.
      const { id, duplicate } = await deps.queue.submit(event);
      log.info(
        { repo: `${event.owner}/${event.repo}`, pr: event.pull, delivery: event.deliveryId, job: id, duplicate, trigger: event.trigger },
        "memcheck: accepted",
      );
    };

    app.on(
      ["pull_request.opened", "pull_request.synchronize", "pull_request.reopened", "pull_request.ready_for_review"],
      async (context) => {
        const { pull_request: pr, repository, installation, action } = context.payload;
        if (!installation || pr.state !== "open") return;
        const owner = repository.owner.login;
        const repo = repository.name;
        await submit(context.log, {
          v: 1,
          trigger: "pull_request",
          action,
          installationId: installation.id,
          owner,
          repo,
          pull: pr.number,
          baseSha: pr.base.sha,
          headSha: pr.head.sha,
          draft: pr.draft === true,
          deliveryId: context.id,
          replayKey: `pr/${installation.id}/${owner}/${repo}#${pr.number}@${pr.head.sha}/${action}`,
          at: Date.now(),
        });
      },
    );

    app.on(["check_run.rerequested", "check_suite.rerequested"], async (context) => {
      const { repository, installation } = context.payload;
      if (!installation) return;
      let headSha: string;
      let prs: { number?: number; base?: { sha?: string; repo?: { id?: number } } }[];
      let replay: string;
      if (context.name === "check_run") {
        const run = (context.payload as { check_run: { id: number; name: string; head_sha: string; pull_requests?: typeof prs } })
          .check_run;
        if (run?.name !== CHECK_NAME) return;
        headSha = run.head_sha;
        prs = run.pull_requests ?? [];
        replay = `run/${run.id}`;
      } else {
        const suite = (
          context.payload as { check_suite: { id: number; head_sha: string; updated_at?: string; pull_requests?: typeof prs } }
        ).check_suite;
        headSha = suite.head_sha;
        prs = suite.pull_requests ?? [];
        replay = `suite/${suite.id}@${suite.updated_at ?? ""}`;
      }
      if (typeof headSha !== "string" || !SHA.test(headSha)) return;
      const owner = repository.owner.login;
      const repo = repository.name;
      // For fork PRs pull_requests is empty: the worker finds the PR by head SHA.
      const pr = prs.find((x) => x?.base?.repo?.id === undefined || x.base.repo.id === repository.id);
      await submit(context.log, {
        v: 1,
        trigger: "rerequested",
        installationId: installation.id,
        owner,
        repo,
        pull: typeof pr?.number === "number" ? pr.number : null,
        baseSha: typeof pr?.base?.sha === "string" ? pr.base.sha : "",
        headSha,
        deliveryId: context.id,
        replayKey: `${replay}/${installation.id}/${owner}/${repo}@${headSha}`,
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
      await submit(context.log, {
        v: 1,
        trigger: "command",
        installationId: installation.id,
        owner,
        repo,
        pull: issue.number,
        commentId: comment.id,
        sender: sender.login,
        line,
        deliveryId: context.id,
        replayKey: `comment/${installation.id}/${owner}/${repo}/${comment.id}`,
        at: Date.now(),
      });
    });
  };
}

let defaultQueue: ReviewQueue | undefined;

/** For `probot run src/app.ts`: uses a queue from REDIS_URL / MEMCHECK_QUEUE. */
export default (app: Probot) => {
  defaultQueue ??= createReviewQueue();
  return createApp({ queue: defaultQueue })(app);
};
