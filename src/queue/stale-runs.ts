// The safety net for check runs: every memcheck run a job opens is recorded in a Redis sorted set
// (score: when it was opened); completing it removes it. A sweep closes, as "could not finish",
// any run recorded longer ago than the job budget whose job is no longer waiting or running (a
// worker that died past its retries, a job removed with Redis, a bug). Runs are known from the
// recorded state alone: the sweep never lists GitHub.
import { keepJobScheduler } from "./scheduler.ts";
import { Queue, Worker, type ConnectionOptions } from "bullmq";
import type { Redis } from "ioredis";
import { queueSettingsFromEnv, type QueueSettings } from "./index.ts";

export interface OpenRun {
  installationId: number;
  owner: string;
  repo: string;
  checkRunId: number;
  /** The review job working on it (its state tells whether the run is still being worked on). */
  jobId?: string;
}

export interface OpenRunTracker {
  opened(run: OpenRun): Promise<void>;
  closed(run: Pick<OpenRun, "installationId" | "owner" | "repo" | "checkRunId">): Promise<void>;
}

export function openRunsKey(s: Pick<QueueSettings, "prefix" | "name">): string {
  return `${s.prefix}:${s.name}:memcheck-open-runs`;
}

const member = (r: Pick<OpenRun, "installationId" | "owner" | "repo" | "checkRunId">) =>
  `${r.installationId}/${r.owner}/${r.repo}/${r.checkRunId}`;
const jobField = (m: string) => `job:${m}`;

/** The tracker over Redis. Failures are swallowed: the set is a safety net, not the job's truth. */
export function redisOpenRuns(redis: Redis, s: Pick<QueueSettings, "prefix" | "name">, now: () => number = Date.now): OpenRunTracker {
  const key = openRunsKey(s);
  const jobs = `${key}:jobs`;
  return {
    async opened(run) {
      const m = member(run);
      const multi = redis.multi().zadd(key, now(), m);
      if (run.jobId) multi.hset(jobs, jobField(m), run.jobId);
      await multi.exec().catch(() => {});
    },
    async closed(run) {
      const m = member(run);
      await redis
        .multi()
        .zrem(key, m)
        .hdel(jobs, jobField(m))
        .exec()
        .catch(() => {});
    },
  };
}

/** The GitHub calls the sweep makes, for an installation. */
export interface SweepClient {
  rest: {
    checks: {
      get(p: { owner: string; repo: string; check_run_id: number }): Promise<{ data: { status: string | null } }>;
      update(p: {
        owner: string;
        repo: string;
        check_run_id: number;
        status: "completed";
        conclusion: "neutral";
        output: { title: string; summary: string };
      }): Promise<unknown>;
    };
  };
}

export interface StaleRunSweepResult {
  examined: number;
  closed: number;
  alreadyDone: number;
  stillWorking: number;
  errors: number;
}

export const STALE_RUN_TITLE = "memcheck could not finish";

/**
 * Close runs recorded more than `olderThanMs` ago whose job is not waiting, delayed or active.
 * A run whose job still lives is refreshed (re-scored) and left alone.
 */
export async function sweepStaleRuns(o: {
  redis: Redis;
  settings: Pick<QueueSettings, "prefix" | "name">;
  /** The review queue: the state of a run's job. */
  queue: Pick<Queue, "getJobState">;
  auth(installationId: number): Promise<SweepClient>;
  olderThanMs: number;
  now?: () => number;
  max?: number;
  log?: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void };
}): Promise<StaleRunSweepResult> {
  const now = (o.now ?? Date.now)();
  const key = openRunsKey(o.settings);
  const jobs = `${key}:jobs`;
  const out: StaleRunSweepResult = { examined: 0, closed: 0, alreadyDone: 0, stillWorking: 0, errors: 0 };
  const stale = await o.redis.zrangebyscore(key, "-inf", now - o.olderThanMs, "LIMIT", 0, o.max ?? 200);
  for (const m of stale) {
    out.examined++;
    const parts = /^(\d+)\/([^/]+)\/([^/]+)\/(\d+)$/.exec(m);
    if (!parts) {
      await o.redis.zrem(key, m);
      continue;
    }
    const [, inst, owner, repo, id] = parts as unknown as [string, string, string, string, string];
    const jobId = await o.redis.hget(jobs, jobField(m));
    if (jobId) {
      const state = await o.queue.getJobState(jobId);
      if (state === "waiting" || state === "delayed" || state === "active" || state === "prioritized" || state === "waiting-children") {
        out.stillWorking++;
        await o.redis.zadd(key, now, m);
        continue;
      }
    }
    try {
      const gh = await o.auth(Number(inst));
      const where = { owner, repo, check_run_id: Number(id) };
      const { data } = await gh.rest.checks.get(where);
      if (data.status !== "completed") {
        await gh.rest.checks.update({
          ...where,
          status: "completed",
          conclusion: "neutral",
          output: {
            title: STALE_RUN_TITLE,
            summary:
              "The review stopped without a result (its worker stopped and it was not retried). Push a commit or re-run this check to review again.",
          },
        });
        out.closed++;
        o.log?.info({ repo: `${owner}/${repo}`, checkRun: Number(id) }, "memcheck: closed a check run left open");
      } else {
        out.alreadyDone++;
      }
      await o.redis.multi().zrem(key, m).hdel(jobs, jobField(m)).exec();
    } catch (e) {
      out.errors++;
      const status = (e as { status?: number }).status;
      // A run that is gone (repo deleted, app uninstalled) is dropped; anything else waits for the next sweep.
      if (status === 404 || status === 410 || status === 401) await o.redis.multi().zrem(key, m).hdel(jobs, jobField(m)).exec();
      o.log?.warn(
        { repo: `${owner}/${repo}`, checkRun: Number(id), status, err: String((e as Error)?.message ?? e).slice(0, 200) },
        "memcheck: could not close a check run left open",
      );
    }
  }
  return out;
}

export interface StaleRunSweeperSettings {
  enabled: boolean;
  intervalMs: number;
  /** A run open this long, with no live job, is closed (MEMCHECK_STALE_RUN_MINUTES, default 30). */
  olderThanMs: number;
}

export function staleRunSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): StaleRunSweeperSettings {
  const minutes = (k: string, d: number) => {
    const n = Number(env[k] || d);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${k} must be a positive number, got ${JSON.stringify(env[k])}`);
    return n * 60_000;
  };
  return {
    enabled: env.MEMCHECK_STALE_RUN_SWEEP !== "false",
    intervalMs: minutes("MEMCHECK_STALE_RUN_SWEEP_MINUTES", 5),
    olderThanMs: minutes("MEMCHECK_STALE_RUN_MINUTES", 30),
  };
}

export const STALE_RUN_SCHEDULER_ID = "memcheck-stale-runs";

/**
 * Run sweepStaleRuns every intervalMs as a BullMQ job scheduler on `<name>-stale-runs` (one sweep
 * per interval across processes), in the style of src/ops/sweeper.ts.
 */
export async function startStaleRunSweeper(o: {
  connection: Redis;
  settings?: Partial<QueueSettings>;
  sweep?: Partial<StaleRunSweeperSettings>;
  auth(installationId: number): Promise<SweepClient>;
  log?: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void; error(o: object, msg?: string): void };
  /** Where BullMQ's "error" events go (the worker's Redis state: one line per outage, not one per retry). */
  onError?: (e: Error, what: string) => void;
}): Promise<{ close(): Promise<void> }> {
  const qs = { ...queueSettingsFromEnv(), ...o.settings };
  const s = { ...staleRunSettingsFromEnv(), ...o.sweep };
  if (!s.enabled) return { close: async () => {} };
  const name = `${qs.name}-stale-runs`;
  const queue = new Queue(name, { connection: o.connection as ConnectionOptions, prefix: qs.prefix });
  const onError = (what: string) => (e: Error) =>
    o.onError ? o.onError(e, what) : o.log?.error({ err: e?.message }, `memcheck: ${what} error`);
  queue.on("error", onError("stale-run queue"));
  const reviews = new Queue(qs.name, { connection: o.connection as ConnectionOptions, prefix: qs.prefix });
  reviews.on("error", () => {});
  const kept = await keepJobScheduler({
    queue,
    connection: o.connection,
    id: STALE_RUN_SCHEDULER_ID,
    everyMs: s.intervalMs,
    jobName: "sweep",
    log: o.log,
  });
  const worker = new Worker(
    name,
    async () => sweepStaleRuns({ redis: o.connection, settings: qs, queue: reviews, auth: o.auth, olderThanMs: s.olderThanMs, log: o.log }),
    { connection: o.connection as ConnectionOptions, prefix: qs.prefix, concurrency: 1 },
  );
  worker.on("error", onError("stale-run sweeper"));
  return {
    async close() {
      kept.stop();
      await worker.close();
      await queue.close();
      await reviews.close();
    },
  };
}
