// Build the BullMQ workers of a worker process, with Probot-authenticated clients: the intake
// worker (fast GitHub steps of each webhook: the queued check run, `/memcheck` permission and
// replies) and the review worker (runReview). Plus the stale-run sweep (src/queue/stale-runs.ts).
import type { Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Probot } from "probot";
import {
  claimReplay,
  createIntakeWorker,
  createReviewQueue,
  createReviewWorker,
  queueSettingsFromEnv,
  redisConnection,
  type IntakeEvent,
  type QueueSettings,
  type ReviewJobData,
} from "../src/queue/index.ts";
import { isRecovering } from "../src/queue/recovery.ts";
import { redisOpenRuns, startStaleRunSweeper, type StaleRunSweeperSettings } from "../src/queue/stale-runs.ts";
import { runReview, type ReviewDeps } from "../src/github/review-job.ts";
import { AppModules } from "../src/modules/app.ts";
import { runIntake } from "../src/github/publish-intake.ts";
import type { GitHubClient } from "../src/github/publish.ts";
import { RedisBlobCache, type BlobCache } from "../src/github/snapshot.ts";
import type { Pipeline } from "../src/github/pipeline.ts";
import { processMetrics, waitForWriteSlots } from "../src/ops/index.ts";

export interface WorkerRuntime {
  worker: Worker<ReviewJobData>;
  intakeWorker: Worker<IntakeEvent>;
  /** Drain: wait for running jobs, then disconnect. */
  close(): Promise<void>;
}

/** The bot login of the app ("<slug>[bot]"), fetched once with the app JWT. */
export function botLoginOf(probot: Probot, override = process.env.MEMCHECK_BOT_LOGIN): () => Promise<string> {
  let p: Promise<string> | undefined;
  return () => {
    if (override) return Promise.resolve(override);
    p ??= (async () => {
      const app = await probot.auth();
      const { data } = await app.rest.apps.getAuthenticated();
      return `${data?.slug}[bot]`;
    })().catch((e) => {
      p = undefined;
      throw e;
    });
    return p;
  };
}

export function createWorkerRuntime(o: {
  probot: Probot;
  pipeline: Pipeline;
  settings?: Partial<QueueSettings>;
  redisUrl?: string;
  cache?: BlobCache;
  autorun?: boolean;
  /** The stale-run sweep (default: on unless MEMCHECK_STALE_RUN_SWEEP=false). */
  staleRuns?: Partial<StaleRunSweeperSettings>;
  detailsUrl?: string;
  /** BullMQ "error" events (mostly failed reconnects): e.g. RedisHealth.noteError. Default: log each. */
  noteError?: (e: Error, what: string) => void;
}): WorkerRuntime {
  const settings = { ...queueSettingsFromEnv(), ...o.settings };
  const connection: Redis = redisConnection(o.redisUrl, true);
  const cache =
    o.cache ??
    new RedisBlobCache(connection, {
      prefix: `${settings.prefix}:${settings.name}`,
      maxEntryBytes: Number(process.env.MEMCHECK_BLOB_CACHE_MAX_BYTES) || 256 * 1024,
    });
  // The review queue as the intake step adds to it (same connection: no extra socket).
  const reviews = createReviewQueue({ connection, settings });
  const log = o.probot.log.child({ name: "memcheck-worker" });
  // The worker's content-creating calls wait for their per-installation write slot (src/ops).
  const auth = async (id: number) => waitForWriteSlots(await o.probot.auth(id)) as unknown as GitHubClient;
  const openRuns = redisOpenRuns(connection, settings);
  const detailsUrl = o.detailsUrl ?? process.env.MEMCHECK_DETAILS_URL;
  const deps: ReviewDeps = {
    auth,
    botLogin: botLoginOf(o.probot),
    pipeline: o.pipeline,
    cache,
    redis: connection,
    queue: reviews.queue,
    settings,
    log,
    metrics: processMetrics(),
    openRuns,
    detailsUrl,
    // Other modules' packages through MEMCHECK_GOPROXY (docs/modules.md); MEMCHECK_MODULES=off turns it off.
    ...(process.env.MEMCHECK_MODULES === "off" ? {} : { modules: new AppModules({ redis: connection, prefix: settings.prefix }) }),
  };
  const worker = createReviewWorker((job) => runReview(job, deps), { connection, settings, autorun: o.autorun });
  worker.on("failed", (job, err) => log.warn({ job: job?.id, attempts: job?.attemptsMade, err: err?.message }, "memcheck: job failed"));
  // BullMQ emits "error" for every failed reconnect of every client: with noteError those move the
  // process's Redis state (one log line per outage) instead of one line each.
  const onError = (what: string) => (e: Error) =>
    o.noteError ? o.noteError(e, what) : log.error({ err: e?.message }, `memcheck: ${what} error`);
  worker.on("error", onError("worker"));
  const intakeWorker = createIntakeWorker(
    (job) =>
      runIntake(job, {
        auth,
        enqueueReview: (data) => reviews.enqueue(data),
        claimReplay: (key, delivery) => claimReplay(connection, settings, key, delivery),
        recovering: () => isRecovering(connection, settings),
        openRuns,
        detailsUrl,
        log,
      }),
    { connection, settings, autorun: o.autorun },
  );
  intakeWorker.on("failed", (job, err) =>
    log.warn({ job: job?.id, attempts: job?.attemptsMade, err: err?.message }, "memcheck: intake failed"),
  );
  intakeWorker.on("error", onError("intake worker"));
  const sweeper = startStaleRunSweeper({
    connection,
    settings,
    sweep: o.staleRuns,
    auth: async (id) => auth(id),
    log,
    onError: (e, what) => onError(what)(e),
  }).catch((e) => {
    log.error({ err: (e as Error)?.message }, "memcheck: stale-run sweeper did not start");
    return undefined;
  });
  return {
    worker,
    intakeWorker,
    async close() {
      await Promise.all([worker.close(), intakeWorker.close()]);
      await (await sweeper)?.close();
      await reviews.close();
      connection.disconnect();
    },
  };
}
