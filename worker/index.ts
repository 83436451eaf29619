// `npm run worker`: review workers only (scale these separately from the webhook server).
import { pathToFileURL } from "node:url";
import { createProbot, type Probot } from "probot";
import { Redis } from "ioredis";
import { defaultPipeline } from "../src/github/default-pipeline.ts";
import { createWorkerRuntime, type WorkerRuntime } from "./runtime.ts";
import { createOps, exitOnSignals, probotEnv, RedisHealth, startOpsServer } from "../src/ops/index.ts";
import { createReviewQueue, DEFAULT_REDIS_URL } from "../src/queue/index.ts";

/**
 * Start a worker that authenticates through `probot` (so GHE_HOST / GHE_PROTOCOL apply). With
 * `health`, the worker's Redis connection errors move that state (one log line per outage) instead
 * of logging one line per retry.
 */
export async function startWorker(probot: Probot, health?: RedisHealth): Promise<WorkerRuntime> {
  await probot.ready(); // initialises probot.log (null until then)
  const pipeline = defaultPipeline();
  const rt = createWorkerRuntime({ probot, pipeline, noteError: health && ((e, what) => health.noteError(e, what)) });
  // The first review should not pay for booting an analysis thread and its parser.
  void pipeline.warm?.();
  probot.log.info(`memcheck: worker on queue ${rt.worker.name}`);
  return rt;
}

/** What the worker cannot start without: one clear line, not a stack trace from deep in Probot. */
export function missingCredentials(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const missing: string[] = [];
  if (!env.APP_ID) missing.push("APP_ID");
  if (!env.PRIVATE_KEY && !env.PRIVATE_KEY_PATH) missing.push("PRIVATE_KEY (or PRIVATE_KEY_PATH)");
  if (!missing.length) return undefined;
  return `memcheck worker: ${missing.join(" and ")} not set. The worker needs the GitHub App's credentials: set them in the environment or .env (see docs/github-app.md), or run \`npm start\` once for the setup flow.`;
}

async function main() {
  const missing = missingCredentials();
  if (missing) {
    process.stderr.write(missing + "\n");
    process.exit(2);
  }
  const ops = createOps();
  // probotEnv: no REDIS_URL for Probot (its Redis throttle breaks on an empty Redis, see src/ops).
  const probot = createProbot({ env: probotEnv(), overrides: { Octokit: ops.Octokit } });
  await probot.ready();
  // A small client that follows Redis for the log (one line per state change) and /readyz.
  const probe = new Redis(process.env.REDIS_URL || DEFAULT_REDIS_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false });
  const health = new RedisHealth({ log: probot.log, role: "worker" }).watch(probe);
  const rt = await startWorker(probot, health);
  // OPS_PORT: /metrics, /healthz, /readyz for this worker (the backlog does not make a worker unready).
  const opsQueue = process.env.OPS_PORT ? createReviewQueue() : undefined;
  opsQueue?.queue.on("error", () => {});
  opsQueue?.redis.on("error", () => {});
  const opsServer = opsQueue
    ? await startOpsServer({
        port: Number(process.env.OPS_PORT),
        routes: ops.routes({ queue: opsQueue, dashboard: false, readyMaxBacklog: Infinity }),
        log: probot.log,
      })
    : undefined;
  exitOnSignals({
    log: probot.log,
    role: "worker",
    stop: async () => {
      opsServer?.close();
      await rt.close(); // waits for the running jobs (bounded by MEMCHECK_DRAIN_SECONDS)
      health.close();
      probe.disconnect();
      await opsQueue?.close();
      await ops.close();
    },
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    process.stderr.write(`memcheck worker: could not start: ${(e as Error)?.message ?? e}\n`);
    process.exit(1);
  });
}
