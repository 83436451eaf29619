// A BullMQ job scheduler that survives an empty Redis. Redis can come back empty (restarted
// without persistence, flushed, failed over to an empty replica); a repeatable schedule is then
// gone and nothing would run it again until a restart. keepJobScheduler recreates it when it is
// missing, checked on every reconnect and periodically.
import type { Queue } from "bullmq";
import type { Redis } from "ioredis";

/** How often a schedule is checked for having vanished. */
export const SCHEDULE_CHECK_MS = 60_000;

export interface KeptScheduler {
  stop(): void;
}

/**
 * Create the scheduler `id` on `queue` (run every `everyMs`), then keep it: on each reconnect of
 * `connection` and every `checkEveryMs` (at most everyMs), recreate it if Redis lost it.
 * `onReconnect` runs after a reconnect (e.g. one immediate run for what was missed meanwhile);
 * `onLost` when the schedule had vanished (Redis lost its data).
 * Rejects only when the first creation fails.
 */
export async function keepJobScheduler(o: {
  queue: Queue;
  connection: Redis;
  id: string;
  everyMs: number;
  jobName: string;
  checkEveryMs?: number;
  onReconnect?: () => Promise<unknown>;
  /**
   * Redis lost its data: the schedule was missing, found on a check, a reconnect, or at start (a
   * first start looks the same as a restart on an empty Redis; recovering then costs little).
   */
  onLost?: (reason: "start" | "reconnect" | "check") => Promise<unknown>;
  log?: { warn(o: object, msg?: string): void };
}): Promise<KeptScheduler> {
  const schedule = () =>
    o.queue.upsertJobScheduler(
      o.id,
      { every: o.everyMs },
      { name: o.jobName, opts: { removeOnComplete: 20, removeOnFail: 50, attempts: 1 } },
    );
  const existed = Boolean(await o.queue.getJobScheduler(o.id));
  await schedule();
  if (!existed) await o.onLost?.("start").catch(() => {});
  let stopped = false;
  const heal = async (reason: "reconnect" | "check") => {
    if (stopped) return;
    try {
      if (!(await o.queue.getJobScheduler(o.id))) {
        await schedule();
        o.log?.warn({ reason, scheduler: o.id }, "memcheck: schedule was missing (Redis lost its data); recreated");
        await o.onLost?.(reason);
      }
      if (reason === "reconnect") await o.onReconnect?.();
    } catch {
      /* Redis went away again: the next reconnect or check retries */
    }
  };
  // The first "ready" is the initial connection (the schedule was just created).
  let connected = o.connection.status === "ready";
  const onReady = () => (connected ? void heal("reconnect") : (connected = true));
  o.connection.on("ready", onReady);
  const check = setInterval(() => void heal("check"), Math.min(o.checkEveryMs ?? SCHEDULE_CHECK_MS, o.everyMs));
  check.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(check);
      o.connection.off("ready", onReady);
    },
  };
}
