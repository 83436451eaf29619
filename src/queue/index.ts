// The review queue: one BullMQ queue, small typed job data, dedup ids and job options.
// The webhook handlers only call enqueueReview(); workers consume with createReviewWorker().
import { Queue, Worker, type ConnectionOptions, type JobsOptions, type Processor, type WorkerOptions } from "bullmq";
import { Redis, type RedisOptions } from "ioredis";
import type { Arch } from "../analysis/model.ts";

export const JOB_NAME = "review";

export type Trigger = "pull_request" | "rerequested" | "command";

/** What a job carries. Keep it small: everything else is fetched by the worker. */
export interface ReviewJobData {
  v: 1;
  installationId: number;
  owner: string;
  repo: string;
  /** The PR number; null when a rerequest came for a fork PR and the worker must find it by head SHA. */
  pull: number | null;
  /** Empty for `/memcheck` commands: the worker uses the PR's current head. */
  baseSha: string;
  headSha: string;
  trigger: Trigger;
  deliveryId: string;
  /** The queued check run created by the webhook handler, when there is one. */
  checkRunId?: number;
  /** Epoch ms of the webhook; the newest registration for a PR wins. */
  at: number;
  /** What this job has written to GitHub so far (recorded before the next write). */
  publish?: PublishState;
  /** The PR was a draft when the webhook came (the intake checks the config's `drafts`). */
  draft?: boolean;
  options?: {
    archs?: Arch[];
    /** `/memcheck explain TypeName`. */
    explain?: string;
    /** The comment that asked (for `/memcheck`). */
    commentId?: number;
    sender?: string;
  };
}

/**
 * What a webhook handler hands over: the payload fields the intake step needs, nothing fetched.
 * The intake job (worker side, src/github/publish-intake.ts) does every GitHub call: the queued
 * check run, the config check for drafts, the `/memcheck` permission check, reaction and replies.
 */
export type IntakeEvent =
  | (IntakeCommon & {
      trigger: "pull_request";
      action: string;
      pull: number;
      baseSha: string;
      headSha: string;
      draft: boolean;
    })
  | (IntakeCommon & {
      trigger: "rerequested";
      /** null for a fork PR: the review job finds the PR by head SHA. */
      pull: number | null;
      baseSha: string;
      headSha: string;
    })
  | (IntakeCommon & {
      trigger: "command";
      pull: number;
      commentId: number;
      sender: string;
      /** The first `/memcheck` line of the comment (bounded by findCommandLine). */
      line: string;
    });

interface IntakeCommon {
  v: 1;
  installationId: number;
  owner: string;
  repo: string;
  deliveryId: string;
  /** Identity of the payload's content: the same content under a new delivery id is a replay. */
  replayKey: string;
  at: number;
  /** Set by the intake step itself (job.updateData) so a retried intake continues, never repeats. */
  progress?: {
    checkRunId?: number;
    replied?: boolean;
    enqueued?: boolean;
    /** The queued run of the push this one replaced, being closed as superseded. */
    closing?: { runId: number; runSha: string };
  };
}

/** What the webhook server needs from the queue: one Redis write per accepted delivery. */
export interface QueueLike {
  submit(event: IntakeEvent): Promise<{ id: string; duplicate: boolean }>;
}

/** What a job has written to GitHub so far. Lives in the job's data (`publish`). */
export interface PublishState {
  checkRunId?: number;
  /** The run shows in_progress (written once, only when the analysis is slow). */
  inProgress?: boolean;
  /** The conclusion is on the run: nothing may change it any more. */
  resultPosted?: boolean;
  /** Annotations confirmed on the run (GitHub appends them, so never send one twice). */
  annotationsPosted?: number;
  /** A write sent whose answer was not seen: verify before sending anything else. */
  pending?: { kind: "result" } | { kind: "annotations"; expectAfter: number };
  /** The review with inline comments is done (posted, or nothing to post). */
  reviewDone?: boolean;
  stickyId?: number;
}

export interface QueueSettings {
  /** Queue name (MEMCHECK_QUEUE, default "memcheck"). */
  name: string;
  /** BullMQ key prefix (MEMCHECK_QUEUE_PREFIX, default "bull"). Use "{memcheck}" on Redis Cluster. */
  prefix: string;
  /** Debounce window for a burst of pushes to one PR (MEMCHECK_DEBOUNCE_MS, default 3000). */
  debounceMs: number;
  attempts: number;
  backoffMs: number;
  /** Worker lock duration (MEMCHECK_LOCK_MS, default 30000). */
  lockDuration: number;
  /** Stalled-job check interval (MEMCHECK_STALLED_MS, default 30000). */
  stalledInterval: number;
  concurrency: number;
  /** Intake jobs run on their own worker so a busy review worker never delays the queued check run. */
  intakeConcurrency: number;
  /** The same payload (installation, repo, PR, head, action) again within this window is a replay. */
  replayWindowMs: number;
}

function intEnv(env: NodeJS.ProcessEnv, key: string, dflt: number, min = 0): number {
  const raw = env[key];
  if (raw === undefined || raw === "") return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${key} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

export function queueSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): QueueSettings {
  return {
    name: env.MEMCHECK_QUEUE || "memcheck",
    prefix: env.MEMCHECK_QUEUE_PREFIX || "bull",
    debounceMs: intEnv(env, "MEMCHECK_DEBOUNCE_MS", 3000),
    attempts: intEnv(env, "MEMCHECK_ATTEMPTS", 5, 1),
    backoffMs: intEnv(env, "MEMCHECK_BACKOFF_MS", 5000),
    lockDuration: intEnv(env, "MEMCHECK_LOCK_MS", 30000, 1000),
    stalledInterval: intEnv(env, "MEMCHECK_STALLED_MS", 30000, 500),
    concurrency: intEnv(env, "MEMCHECK_CONCURRENCY", 2, 1),
    intakeConcurrency: intEnv(env, "MEMCHECK_INTAKE_CONCURRENCY", 8, 1),
    replayWindowMs: intEnv(env, "MEMCHECK_REPLAY_WINDOW_MS", 15 * 60_000),
  };
}

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";

/** A connection for queues (fail fast) or workers (maxRetriesPerRequest: null, as BullMQ requires). */
export function redisConnection(url = process.env.REDIS_URL || DEFAULT_REDIS_URL, forWorker = false): Redis {
  const opts: RedisOptions = forWorker ? { maxRetriesPerRequest: null } : { maxRetriesPerRequest: 1, enableOfflineQueue: false };
  return new Redis(url, opts);
}

/** BullMQ job ids may not contain ":" nor be integers. */
export function safeId(s: string): string {
  const cleaned = s.replace(/[^A-Za-z0-9._\-#/@]/g, "_").slice(0, 200);
  return /^\d+$/.test(cleaned) ? `n${cleaned}` : cleaned;
}

/** One job per webhook delivery: a redelivery (same X-GitHub-Delivery) is a no-op. */
export function jobIdFor(deliveryId: string): string {
  return `gh-${safeId(deliveryId)}`;
}

/** Jobs of one PR share this id; a burst collapses to the newest head. */
export function dedupIdFor(d: Pick<ReviewJobData, "owner" | "repo" | "pull" | "headSha"> & { trigger?: Trigger }): string {
  const base = d.pull != null ? `${d.owner}/${d.repo}#${d.pull}` : `${d.owner}/${d.repo}@${d.headSha}`;
  // `/memcheck` commands (maybe for a subset of archs) never replace a push's full review.
  return safeId(d.trigger === "command" ? `${base}-cmd` : base);
}

export function jobOptions(s: QueueSettings, data: ReviewJobData): JobsOptions {
  return {
    jobId: jobIdFor(data.deliveryId),
    // Debounce: while the job waits out `delay`, a newer push replaces it; while it runs, the newest
    // push is kept and runs after it (at most one active plus one waiting per PR).
    delay: data.trigger === "pull_request" ? s.debounceMs : 0,
    deduplication: { id: dedupIdFor(data), replace: true, keepLastIfActive: true },
    attempts: s.attempts,
    // "memcheck": exponential, but a GitHub rate-limit error waits as long as GitHub asks.
    backoff: { type: "memcheck", delay: s.backoffMs },
    removeOnComplete: { age: 24 * 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
  };
}

/** Key of the newest registration for one PR. The worker reads it to run the newest head only. */
export function latestKey(
  s: Pick<QueueSettings, "prefix" | "name">,
  d: Pick<ReviewJobData, "owner" | "repo" | "pull" | "headSha">,
): string {
  return `${s.prefix}:${s.name}:memcheck-latest:${dedupIdFor({ owner: d.owner, repo: d.repo, pull: d.pull, headSha: d.headSha })}`;
}

/** The intake queue beside the review queue `name` (same prefix, so a Cluster hash tag applies). */
export function intakeQueueName(name: string): string {
  return `${name}-intake`;
}

export const INTAKE_JOB_NAME = "intake";

export function intakeJobOptions(s: QueueSettings, e: IntakeEvent): JobsOptions {
  return {
    // A redelivery (same X-GitHub-Delivery) is a no-op while the job is kept.
    jobId: jobIdFor(e.deliveryId),
    attempts: s.attempts,
    backoff: { type: "memcheck", delay: Math.min(s.backoffMs, 2000) },
    removeOnComplete: { age: 24 * 3600, count: 20_000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
  };
}

/** Key that remembers a payload's content (IntakeEvent.replayKey) for the replay window. */
export function replayKey(s: Pick<QueueSettings, "prefix" | "name">, key: string): string {
  return `${s.prefix}:${s.name}:memcheck-replay:${safeId(key)}`;
}

/**
 * Claim a payload's content for this delivery. False when another delivery carried the same
 * content within the window (a replay); true for the first one and for its own retries.
 */
export async function claimReplay(
  redis: Redis,
  s: Pick<QueueSettings, "prefix" | "name" | "replayWindowMs">,
  key: string,
  deliveryId: string,
): Promise<boolean> {
  if (s.replayWindowMs <= 0) return true;
  const k = replayKey(s, key);
  const set = await redis.set(k, deliveryId, "PX", s.replayWindowMs, "NX");
  if (set === "OK") return true;
  return (await redis.get(k)) === deliveryId;
}

/** How long a webhook delivery stays claimed by the handler that saw it first (hasDelivery). */
export const DELIVERY_CLAIM_MS = 30_000;

export interface ReviewQueue extends QueueLike {
  settings: QueueSettings;
  queue: Queue<ReviewJobData>;
  /** Where webhook handlers submit (see IntakeEvent). */
  intake: Queue<IntakeEvent>;
  /** The queue's Redis client (for the latest-head keys). */
  redis: Redis;
  /**
   * Enqueue a review; returns the job id that will run (possibly an existing one). Throws when Redis
   * is down. `replaced` is the older registration for the same PR whose job this add replaced (its
   * queued check run should be closed as superseded).
   */
  enqueue(data: ReviewJobData): Promise<{ id: string; duplicate: boolean; replaced?: ReviewJobData }>;
  /**
   * True if this delivery was seen already: its job exists, or another handler claimed it less than
   * DELIVERY_CLAIM_MS ago (a concurrent redelivery). Otherwise claims it and returns false.
   */
  hasDelivery(deliveryId: string): Promise<boolean>;
  close(): Promise<void>;
}

export function createReviewQueue(opts: { connection?: Redis; settings?: Partial<QueueSettings>; redisUrl?: string } = {}): ReviewQueue {
  const settings = { ...queueSettingsFromEnv(), ...opts.settings };
  const ownConnection = !opts.connection;
  const redis = opts.connection ?? redisConnection(opts.redisUrl);
  const queue = new Queue<ReviewJobData>(settings.name, { connection: redis as ConnectionOptions, prefix: settings.prefix });
  // Surface connection errors through the add() rejection rather than as unhandled events.
  queue.on("error", () => {});
  const intake = new Queue<IntakeEvent>(intakeQueueName(settings.name), {
    connection: redis as ConnectionOptions,
    prefix: settings.prefix,
  });
  intake.on("error", () => {});
  return {
    settings,
    queue,
    intake,
    redis,
    async submit(event) {
      // The webhook's only write. Any failure (Redis down) propagates: the answer is a 5xx and
      // GitHub marks the delivery failed (the redelivery sweeper picks it up).
      await ready(redis);
      const o = intakeJobOptions(settings, event);
      const job = await intake.add(INTAKE_JOB_NAME as never, event as never, o);
      return { id: job.id ?? "", duplicate: job.id !== o.jobId };
    },
    async enqueue(data) {
      await ready(redis);
      const o = jobOptions(settings, data);
      // Record the newest head for this PR first (7 days TTL); the worker reads it. Commands carry
      // no head SHA (the worker uses the PR's head), so they do not register one.
      const prevRaw =
        data.headSha && data.trigger !== "command"
          ? await redis.set(latestKey(settings, data), JSON.stringify(data), "EX", 7 * 24 * 3600, "GET")
          : null;
      const job = await queue.add(JOB_NAME as never, data as never, o);
      const out: { id: string; duplicate: boolean; replaced?: ReviewJobData } = { id: job.id ?? "", duplicate: job.id !== o.jobId };
      if (prevRaw) {
        try {
          const prev = JSON.parse(prevRaw) as ReviewJobData;
          if (
            prev.deliveryId !== data.deliveryId &&
            prev.headSha !== data.headSha &&
            prev.checkRunId &&
            !(await queue.getJob(jobIdFor(prev.deliveryId)))
          ) {
            out.replaced = prev;
          }
        } catch {
          /* an unreadable record is simply overwritten */
        }
      }
      return out;
    },
    async hasDelivery(deliveryId) {
      await ready(redis);
      if ((await queue.getJob(jobIdFor(deliveryId))) != null) return true;
      // Claim the delivery atomically: a redelivery racing the original (both before the job
      // exists) would otherwise create a second check run that no job ever completes.
      const claimed = await redis.set(
        `${settings.prefix}:${settings.name}:memcheck-delivery:${safeId(deliveryId)}`,
        "1",
        "PX",
        DELIVERY_CLAIM_MS,
        "NX",
      );
      return claimed === null;
    },
    async close() {
      await queue.close();
      await intake.close();
      if (ownConnection) redis.disconnect();
    },
  };
}

/** Wait (briefly) for the connection: with the offline queue off, commands fail before "ready". */
export async function ready(redis: Redis, timeoutMs = 3000): Promise<void> {
  if (redis.status === "ready") return;
  if (redis.status === "wait") redis.connect().catch(() => {});
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => done(new Error(`Redis not ready after ${timeoutMs} ms (status ${redis.status})`)), timeoutMs);
    const onReady = () => done();
    const onEnd = () => done(new Error("Redis connection closed"));
    const done = (e?: Error) => {
      clearTimeout(t);
      redis.off("ready", onReady);
      redis.off("end", onEnd);
      e ? reject(e) : resolve();
    };
    redis.on("ready", onReady);
    redis.on("end", onEnd);
  });
}

/** Milliseconds GitHub asks us to wait (secondary rate limit: retry-after; primary: x-ratelimit-reset). */
export function retryAfterMs(err: unknown, now = Date.now()): number | undefined {
  const e = err as { status?: number; response?: { headers?: Record<string, string | number | undefined> } } | undefined;
  if (!e || (e.status !== 403 && e.status !== 429)) return undefined;
  const h = e.response?.headers ?? {};
  const ra = Number(h["retry-after"]);
  if (Number.isFinite(ra) && ra >= 0) return Math.min(ra * 1000 + 1000, 15 * 60_000);
  if (String(h["x-ratelimit-remaining"]) === "0") {
    const reset = Number(h["x-ratelimit-reset"]) * 1000;
    if (Number.isFinite(reset) && reset > now) return Math.min(reset - now + 1000, 65 * 60_000);
  }
  if (e.status === 429) return 60_000;
  return undefined;
}

export function backoffMs(s: Pick<QueueSettings, "backoffMs">, attemptsMade: number, err?: unknown): number {
  return retryAfterMs(err) ?? s.backoffMs * 2 ** Math.max(0, attemptsMade - 1);
}

export function workerOptions(s: QueueSettings, connection: Redis): WorkerOptions {
  return {
    settings: { backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) => backoffMs(s, attemptsMade, err) },
    connection: connection as ConnectionOptions,
    prefix: s.prefix,
    concurrency: s.concurrency,
    lockDuration: s.lockDuration,
    stalledInterval: s.stalledInterval,
    maxStalledCount: 2,
  };
}

export function createIntakeWorker(
  processor: Processor<IntakeEvent>,
  opts: { connection: Redis; settings?: Partial<QueueSettings>; autorun?: boolean },
): Worker<IntakeEvent> {
  const settings = { ...queueSettingsFromEnv(), ...opts.settings };
  return new Worker<IntakeEvent>(intakeQueueName(settings.name), processor, {
    ...workerOptions(settings, opts.connection),
    concurrency: settings.intakeConcurrency,
    autorun: opts.autorun ?? true,
  });
}

export function createReviewWorker(
  processor: Processor<ReviewJobData>,
  opts: { connection?: Redis; settings?: Partial<QueueSettings>; redisUrl?: string; autorun?: boolean } = {},
): Worker<ReviewJobData> {
  const settings = { ...queueSettingsFromEnv(), ...opts.settings };
  const connection = opts.connection ?? redisConnection(opts.redisUrl, true);
  return new Worker<ReviewJobData>(settings.name, processor, { ...workerOptions(settings, connection), autorun: opts.autorun ?? true });
}
