// Missed deliveries: a webhook we answered 5xx (Redis down, a crash, a deploy) is marked failed by
// GitHub and never retried on its own. The sweeper lists the app's recent deliveries and asks GitHub
// to redeliver each failed one, once: attempted delivery GUIDs are remembered in Redis with a TTL.
// It runs as a BullMQ job scheduler (repeatable job) on the same Redis, so with several servers
// only one sweep runs per interval.
import { Queue, Worker, type ConnectionOptions } from "bullmq";
import type { Redis } from "ioredis";
import type { Metrics } from "./metrics.ts";
import type { RedisHealth } from "./redis-state.ts";
import { keepJobScheduler } from "../queue/scheduler.ts";
import { isRecoverable, markRecovery, type RecoveryWindow } from "../queue/recovery.ts";

export interface Delivery {
  id: number;
  guid: string;
  delivered_at: string;
  redelivery?: boolean;
  status?: string;
  status_code?: number;
  event?: string;
  action?: string | null;
}

export interface SweepOptions {
  /** An app-JWT-authenticated Octokit: `await probot.auth()` (no installation id). */
  octokit: any;
  redis: Redis;
  /** Key prefix for the attempted-GUID keys, e.g. "bull:memcheck". */
  prefix: string;
  /** Look at deliveries newer than this (SWEEP_LOOKBACK_MINUTES, default 60). */
  lookbackMinutes?: number;
  /** Remember an attempted GUID this long (default: max(24 h, 2 × lookback)). */
  attemptTtlSeconds?: number;
  /** Stop after this many pages of 100 (default 20). */
  maxPages?: number;
  now?: () => number;
  /**
   * Redis lost its data: also redeliver, once, the deliveries acknowledged in this window whose
   * event can start a review (their jobs may have been lost with the data).
   */
  recover?: RecoveryWindow;
  metrics?: Pick<Metrics, "sweeper">;
  log?: { info(o: object, msg?: string): void; warn(o: object, msg?: string): void };
}

export interface SweepResult {
  scanned: number;
  failed: number;
  redelivered: string[];
  /** Acknowledged deliveries redelivered because Redis lost its data. */
  recovered: string[];
  skipped: string[];
  errors: string[];
  pages: number;
}

export function isFailed(d: Pick<Delivery, "status_code" | "status">): boolean {
  const code = Number(d.status_code ?? 0);
  return !(code >= 200 && code < 300);
}

export function attemptedKey(prefix: string, guid: string, kind: "attempted" | "recovered" = "attempted"): string {
  return `${prefix}:sweeper:${kind}:${guid.replace(/[^A-Za-z0-9-]/g, "_").slice(0, 100)}`;
}

export async function sweepDeliveries(o: SweepOptions): Promise<SweepResult> {
  const now = (o.now ?? Date.now)();
  const lookbackMinutes = o.lookbackMinutes ?? 60;
  const cutoff = Math.min(now - lookbackMinutes * 60_000, o.recover?.since ?? Number.POSITIVE_INFINITY);
  const ttl = o.attemptTtlSeconds ?? Math.max(24 * 3600, 2 * lookbackMinutes * 60);
  const maxPages = o.maxPages ?? 20;
  const out: SweepResult = { scanned: 0, failed: 0, redelivered: [], recovered: [], skipped: [], errors: [], pages: 0 };

  // Newest first. One GUID may have several attempts (redeliveries share the GUID): a GUID is done
  // when any attempt succeeded; otherwise its newest failed attempt is the one to redeliver.
  const byGuid = new Map<string, { ok: boolean; newestFailed?: Delivery; lostOk?: Delivery }>();
  const mayBeLost = (d: Delivery, at: number) =>
    o.recover !== undefined && at >= o.recover.since && at <= o.recover.until && isRecoverable(d.event, d.action);
  let pastCutoff = false;
  for await (const page of o.octokit.paginate.iterator(o.octokit.rest.apps.listWebhookDeliveries, { per_page: 100 })) {
    out.pages++;
    for (const d of page.data as Delivery[]) {
      const at = Date.parse(d.delivered_at);
      if (!Number.isFinite(at) || at < cutoff) {
        pastCutoff = true;
        continue;
      }
      out.scanned++;
      const g = byGuid.get(d.guid) ?? { ok: false };
      if (!isFailed(d)) {
        g.ok = true;
        if (!g.lostOk && mayBeLost(d, at)) g.lostOk = d;
      } else if (!g.newestFailed) g.newestFailed = d;
      byGuid.set(d.guid, g);
    }
    if (pastCutoff || out.pages >= maxPages) break;
  }

  for (const [guid, g] of byGuid) {
    // A failed delivery, or (Redis lost its data) an acknowledged one whose job may be gone.
    const lost = g.ok ? g.lostOk : undefined;
    const attempt = lost ?? (g.ok ? undefined : g.newestFailed);
    if (!attempt) continue;
    if (!lost) out.failed++;
    // Claim the GUID first: across processes and sweeps, a delivery is redelivered at most once.
    const claimed = await o.redis.set(attemptedKey(o.prefix, guid, lost ? "recovered" : "attempted"), String(now), "EX", ttl, "NX");
    if (claimed !== "OK") {
      out.skipped.push(guid);
      o.metrics?.sweeper.inc({ result: "skipped" });
      continue;
    }
    try {
      await o.octokit.rest.apps.redeliverWebhookDelivery({ delivery_id: attempt.id });
      (lost ? out.recovered : out.redelivered).push(guid);
      o.metrics?.sweeper.inc({ result: lost ? "recovered" : "redelivered" });
      o.log?.info(
        { delivery: guid, deliveryAttempt: attempt.id, event: attempt.event, status: attempt.status_code },
        lost
          ? "memcheck: asked GitHub to redeliver a webhook whose job Redis may have lost"
          : "memcheck: asked GitHub to redeliver a failed webhook",
      );
    } catch (e: any) {
      out.errors.push(guid);
      o.metrics?.sweeper.inc({ result: "error" });
      o.log?.warn({ delivery: guid, status: e?.status, err: String(e?.message ?? e).slice(0, 300) }, "memcheck: redelivery request failed");
    }
  }
  return out;
}

export interface SweeperSettings {
  enabled: boolean;
  intervalMs: number;
  lookbackMinutes: number;
  /** After a data loss, how long the intake looks for runs already on a head (MEMCHECK_RECOVERY_MINUTES, default 15). */
  recoveryMinutes: number;
}

export function sweeperSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): SweeperSettings {
  const num = (k: string, d: number) => {
    const n = Number(env[k] || d);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${k} must be a positive number, got ${JSON.stringify(env[k])}`);
    return n;
  };
  return {
    enabled: env.SWEEP_ENABLED !== "false",
    intervalMs: num("SWEEP_INTERVAL_MINUTES", 5) * 60_000,
    lookbackMinutes: num("SWEEP_LOOKBACK_MINUTES", 60),
    recoveryMinutes: num("MEMCHECK_RECOVERY_MINUTES", 15),
  };
}

export interface Sweeper {
  queue: Queue;
  worker: Worker;
  close(): Promise<void>;
}

export const SWEEP_SCHEDULER_ID = "memcheck-sweep";

/**
 * Schedule the sweep every intervalMs on `<queueName>-sweeper` (same prefix as the review queue, so
 * a Redis Cluster hash tag applies) and process it here. `appOctokit` gives an app-JWT client.
 */
export async function startSweeper(o: {
  appOctokit: () => Promise<any>;
  connection: Redis;
  prefix: string;
  queueName: string;
  settings?: Partial<SweeperSettings>;
  metrics?: Pick<Metrics, "sweeper">;
  log?: SweepOptions["log"] & { error(o: object, msg?: string): void };
  /** Connection errors go here (one log line per outage) instead of one line each. */
  health?: RedisHealth;
  /** Check that the schedule still exists this often (default SCHEDULE_CHECK_MS, at most the interval). */
  checkEveryMs?: number;
}): Promise<Sweeper> {
  const s = { ...sweeperSettingsFromEnv(), ...o.settings };
  const name = `${o.queueName}-sweeper`;
  const queue = new Queue(name, { connection: o.connection as ConnectionOptions, prefix: o.prefix });
  const onError = (what: string) => (e: Error) =>
    o.health ? o.health.noteError(e, what) : o.log?.error({ err: e?.message }, `memcheck: ${what} error`);
  queue.on("error", onError("sweeper queue"));
  // Failed deliveries must be redelivered even after Redis came back empty; after a reconnect also
  // sweep at once, for the deliveries answered 503 while Redis was away.
  const kept = await keepJobScheduler({
    queue,
    connection: o.connection,
    id: SWEEP_SCHEDULER_ID,
    everyMs: s.intervalMs,
    jobName: "sweep",
    checkEveryMs: o.checkEveryMs,
    log: o.log,
    // Redis lost its data: mark the recovery window first (the intake then looks for runs already
    // on a head), then redeliver what the lost jobs came from. One recovery per 30 s window.
    onLost: async (reason) => {
      const now = Date.now();
      const window = { since: now - s.lookbackMinutes * 60_000, until: now };
      await markRecovery(o.connection, { prefix: o.prefix, name: o.queueName }, window, s.recoveryMinutes * 60);
      await queue.add("recover", window, {
        jobId: `recover-${Math.floor(now / 30_000)}`,
        removeOnComplete: 20,
        removeOnFail: 50,
        attempts: 3,
        backoff: { type: "fixed", delay: 5000 },
      });
      o.log?.warn(
        { reason, lookbackMinutes: s.lookbackMinutes },
        reason === "start"
          ? "memcheck: no sweeper state in Redis (first start, or Redis lost its data): redelivering recent review webhooks"
          : "memcheck: Redis lost its data: redelivering recent review webhooks whose jobs may be gone",
      );
    },
    // One immediate sweep per 30 s window, however many servers see the reconnect.
    onReconnect: () =>
      queue.add(
        "sweep",
        {},
        { jobId: `sweep-after-reconnect-${Math.floor(Date.now() / 30_000)}`, removeOnComplete: 20, removeOnFail: 50, attempts: 1 },
      ),
  });
  const worker = new Worker(
    name,
    async (job) => {
      const r = await sweepDeliveries({
        octokit: await o.appOctokit(),
        redis: o.connection,
        prefix: `${o.prefix}:${o.queueName}`,
        lookbackMinutes: s.lookbackMinutes,
        recover: job.name === "recover" ? (job.data as RecoveryWindow) : undefined,
        metrics: o.metrics,
        log: o.log,
      });
      return {
        scanned: r.scanned,
        failed: r.failed,
        redelivered: r.redelivered.length,
        recovered: r.recovered.length,
        skipped: r.skipped.length,
        errors: r.errors.length,
      };
    },
    { connection: o.connection as ConnectionOptions, prefix: o.prefix, concurrency: 1 },
  );
  worker.on("error", onError("sweeper worker"));
  worker.on("failed", (_j, e) => o.log?.warn({ err: e?.message }, "memcheck: sweep failed"));
  return {
    queue,
    worker,
    async close() {
      kept.stop();
      await worker.close();
      await queue.close();
    },
  };
}
