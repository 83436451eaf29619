// Recovery after Redis lost its data. Webhooks are acknowledged once their intake job is in Redis;
// when Redis comes back empty (restarted without persistence, flushed, failed over to an empty
// replica), every acknowledged delivery whose review had not finished is gone, and GitHub will not
// send it again on its own (it saw a 2xx). The server's delivery sweeper notices the loss (its own
// schedule vanished), marks a recovery window here, and asks GitHub to redeliver the review-relevant
// deliveries of the lookback window. While the window is marked, the intake and the review job check
// GitHub for a memcheck run already on the head: a completed one means "already reviewed" (the
// redelivery is dropped), an open one is adopted, so every head still ends with exactly one run.
import type { Redis } from "ioredis";
import type { QueueSettings } from "./index.ts";

export interface RecoveryWindow {
  /** Deliveries acknowledged at or after this time (epoch ms) may have been lost. */
  since: number;
  /** When the loss was noticed: later deliveries went into the new Redis. */
  until: number;
}

/** Events and actions whose redelivery can start a review (the others need no recovery). */
export const RECOVERABLE: Readonly<Record<string, ReadonlySet<string | null>>> = {
  pull_request: new Set(["opened", "synchronize", "reopened", "ready_for_review"]),
  issue_comment: new Set(["created"]),
  check_run: new Set(["rerequested"]),
  check_suite: new Set(["rerequested"]),
};

export function isRecoverable(event: string | undefined, action: string | null | undefined): boolean {
  const actions = event ? RECOVERABLE[event] : undefined;
  return actions !== undefined && actions.has(action ?? null);
}

export function recoveryKey(s: Pick<QueueSettings, "prefix" | "name">): string {
  return `${s.prefix}:${s.name}:recovering`;
}

/** Mark a recovery window (kept for `ttlSeconds`: long enough for redeliveries to arrive and run). */
export async function markRecovery(
  redis: Redis,
  s: Pick<QueueSettings, "prefix" | "name">,
  w: RecoveryWindow,
  ttlSeconds: number,
): Promise<void> {
  await redis.set(recoveryKey(s), JSON.stringify(w), "EX", Math.max(1, Math.round(ttlSeconds)));
}

/** True while a recovery window is marked: runs already on a head must be looked for, not assumed absent. */
export async function isRecovering(redis: Redis, s: Pick<QueueSettings, "prefix" | "name">): Promise<boolean> {
  return (await redis.exists(recoveryKey(s))) === 1;
}
