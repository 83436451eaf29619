// Operating memcheck: one place that builds the metrics, the GitHub write limiter, the instrumented
// Octokit class, the ops routes (/metrics, /healthz, /readyz, /admin/queues) and the sweeper, from
// the environment. src/main.ts and worker/index.ts call this; see docs/operate.md.
import { ProbotOctokit, type Probot } from "probot";
import type { Queue } from "bullmq";
import { Redis } from "ioredis";
import type { Route } from "./server.ts";
import { DEFAULT_REDIS_URL, queueSettingsFromEnv, redisConnection, type ReviewQueue } from "../queue/index.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import { WriteLimiter, writeWindowsFromEnv } from "./write-limiter.ts";
import { opsOctokitPlugin } from "./github.ts";
import { healthRoutes, queueReadiness, readyMaxBacklogFromEnv } from "./health.ts";
import { metricsRoute } from "./metrics-route.ts";
import { dashboardOptionsFromEnv, dashboardRoute } from "./dashboard.ts";
import { webhookObserver } from "./instrument.ts";
import { startSweeper, sweeperSettingsFromEnv, type Sweeper } from "./sweeper.ts";
import type { RedisHealth } from "./redis-state.ts";

export { instrumentQueue } from "./instrument.ts";
export { RedisHealth, isConnectionError } from "./redis-state.ts";
export { exitOnSignals, drainSecondsFromEnv } from "./drain.ts";
export { webhookIntake, MAX_WEBHOOK_BYTES } from "./intake.ts";

/**
 * The environment for createProbot: LOG_LEVEL defaults to info (createProbot's "warn" hides the
 * per-job line), and no REDIS_URL. With REDIS_URL, Probot shares Octokit's request throttle through
 * Redis (Bottleneck), whose settings keys do not survive a Redis that comes back empty: every call
 * then fails with ERR SETTINGS_KEY_NOT_FOUND and webhook handlers hang. Writes are spaced by our own
 * WriteLimiter (./write-limiter.ts), which keeps nothing in Redis it cannot lose.
 */
export function probotEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { REDIS_URL: _redisUrl, ...rest } = env;
  return { ...rest, LOG_LEVEL: env.LOG_LEVEL || "info" };
}
export { waitForWriteSlots } from "./github.ts";
export { startOpsServer } from "./server.ts";
export type { Metrics, ReviewObservation } from "./metrics.ts";

let shared: Metrics | undefined;
/** The process's metrics (one registry per process). */
export function processMetrics(): Metrics {
  return (shared ??= createMetrics());
}

export interface Ops {
  metrics: Metrics;
  limiter?: WriteLimiter;
  /** ProbotOctokit plus the ops plugin: `createProbot({ overrides: { Octokit: ops.Octokit } })`. */
  Octokit: typeof ProbotOctokit;
  /** The routes for createServer's extraRoutes (the webhook observer first). */
  routes(o: { queue: ReviewQueue; extraQueues?: Queue[]; webhooksPath?: string; dashboard?: boolean; readyMaxBacklog?: number }): Route[];
  /** Start the missed-delivery sweeper (when SWEEP_ENABLED is not "false"). */
  startSweeper(probot: Probot, queue: ReviewQueue, health?: RedisHealth): Promise<Sweeper | undefined>;
  close(): Promise<void>;
}

/** A stand-in for the throttling plugin's "write" group: schedules at once. */
const UNSPACED = { key: () => ({ schedule: (_o: unknown, fn: (...a: unknown[]) => unknown, ...args: unknown[]) => fn(...args) }) };

/**
 * With memcheck's write limiter on (shared through Redis by every process: per-minute, per-hour and
 * burst windows), Octokit's throttling plugin need not space writes 1 s apart per process as well;
 * its other groups (concurrency, notifications, search) and its rate-limit handling stay.
 */
function withoutWriteSpacing(Octokit: typeof ProbotOctokit, limited: boolean): typeof ProbotOctokit {
  if (!limited) return Octokit;
  return Octokit.defaults((o: Record<string, any>) => ({ ...o, throttle: { ...o?.throttle, write: UNSPACED } })) as typeof ProbotOctokit;
}

export function createOps(o: { env?: NodeJS.ProcessEnv; metrics?: Metrics; redisUrl?: string } = {}): Ops {
  const env = o.env ?? process.env;
  const metrics = o.metrics ?? processMetrics();
  const settings = queueSettingsFromEnv(env);
  const url = o.redisUrl ?? env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const windows = writeWindowsFromEnv(env);
  let redis: Redis | undefined;
  let limiter: WriteLimiter | undefined;
  if (windows.length) {
    // Offline queue on, one retry: a limiter call made while Redis is briefly away waits for it.
    redis = new Redis(url, { maxRetriesPerRequest: 1 });
    redis.on("error", () => {});
    limiter = new WriteLimiter({ redis, prefix: `${settings.prefix}:${settings.name}`, windows });
  }
  const Octokit = withoutWriteSpacing(ProbotOctokit.plugin(opsOctokitPlugin({ metrics, limiter })) as typeof ProbotOctokit, !!limiter);
  const closers: (() => Promise<void>)[] = [];
  return {
    metrics,
    limiter,
    Octokit,
    routes({
      queue,
      extraQueues = [],
      webhooksPath = env.WEBHOOK_PATH || "/api/github/webhooks",
      dashboard = true,
      readyMaxBacklog = readyMaxBacklogFromEnv(env),
    }) {
      metrics.watchQueues(queue.queue, ...extraQueues);
      const routes: Route[] = [
        webhookObserver(metrics, webhooksPath),
        ...healthRoutes({ source: queueReadiness(queue), maxBacklog: readyMaxBacklog }),
        metricsRoute(metrics, { token: env.METRICS_TOKEN || undefined }),
      ];
      const dash = dashboard ? dashboardRoute(dashboardOptionsFromEnv([queue.queue, ...extraQueues], env)) : undefined;
      if (dash) routes.push(dash);
      return routes;
    },
    async startSweeper(probot, queue, health) {
      const s = sweeperSettingsFromEnv(env);
      if (!s.enabled) return undefined;
      await probot.ready();
      const connection = redisConnection(url, true);
      const sweeper = await startSweeper({
        appOctokit: () => probot.auth(),
        connection,
        prefix: queue.settings.prefix,
        queueName: queue.settings.name,
        settings: s,
        metrics,
        log: probot.log.child({ name: "memcheck-sweeper" }),
        health,
      });
      closers.push(async () => {
        await sweeper.close();
        connection.disconnect();
      });
      return sweeper;
    },
    async close() {
      for (const c of closers.splice(0)) await c().catch(() => {});
      redis?.disconnect();
    },
  };
}
