// Build a BullMQ worker that runs runReview with Probot-authenticated clients.
import type { Worker } from "bullmq";
import type { Redis } from "ioredis";
import type { Probot } from "probot";
import { createReviewWorker, queueSettingsFromEnv, redisConnection, type QueueSettings, type ReviewJobData } from "../src/queue/index.ts";
import { runReview, type ReviewDeps } from "../src/github/review-job.ts";
import { RedisBlobCache, type BlobCache } from "../src/github/snapshot.ts";
import type { Pipeline } from "../src/github/pipeline.ts";
import { Queue } from "bullmq";
import { processMetrics, waitForWriteSlots } from "../src/ops/index.ts";

export interface WorkerRuntime {
  worker: Worker<ReviewJobData>;
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
}): WorkerRuntime {
  const settings = { ...queueSettingsFromEnv(), ...o.settings };
  const connection: Redis = redisConnection(o.redisUrl, true);
  const cache = o.cache ?? new RedisBlobCache(connection, { prefix: `${settings.prefix}:${settings.name}`, maxEntryBytes: Number(process.env.MEMCHECK_BLOB_CACHE_MAX_BYTES) || 256 * 1024 });
  const queue = new Queue(settings.name, { connection, prefix: settings.prefix });
  // Without a listener BullMQ prints every failed reconnect's stack trace; the worker's own "error"
  // event reports connection state (src/ops/redis-state.ts), and a failed call fails its job.
  queue.on("error", () => {});
  const log = o.probot.log.child({ name: "memcheck-worker" });
  const deps: ReviewDeps = {
    // The worker's content-creating calls wait for their per-installation write slot (src/ops).
    auth: async (id) => waitForWriteSlots(await o.probot.auth(id)),
    botLogin: botLoginOf(o.probot),
    pipeline: o.pipeline,
    cache,
    redis: connection,
    queue,
    settings,
    log,
    metrics: processMetrics(),
  };
  const worker = createReviewWorker((job) => runReview(job, deps), { connection, settings, autorun: o.autorun });
  worker.on("failed", (job, err) => log.warn({ job: job?.id, attempts: job?.attemptsMade, err: err?.message }, "memcheck: job failed"));
  worker.on("error", (err) => log.error({ err: err?.message }, "memcheck: worker error"));
  return {
    worker,
    async close() {
      await worker.close();
      await queue.close();
      connection.disconnect();
    },
  };
}
