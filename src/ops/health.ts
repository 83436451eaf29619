// /healthz (the process is up) and /readyz (Redis answers PING and the backlog is under a limit).
import type http from "node:http";
import type { Redis } from "ioredis";
import type { Route } from "./server.ts";
import { ready } from "../queue/index.ts";

export interface ReadinessSource {
  /** PING the queue's Redis. */
  ping(): Promise<unknown>;
  /** Jobs waiting to run. */
  waitingCount(): Promise<number>;
}

export interface HealthOptions {
  source: ReadinessSource;
  /** READY_MAX_BACKLOG, default 1000: more waiting jobs than this makes /readyz answer 503. */
  maxBacklog?: number;
  /** Give up on Redis after this long (default 2000 ms). */
  timeoutMs?: number;
}

function json(res: http.ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body) + "\n");
  return true;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => (t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(t));
}

export function readyMaxBacklogFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.READY_MAX_BACKLOG || 1000);
  return Number.isFinite(n) && n > 0 ? n : 1000;
}

export async function readiness(o: HealthOptions): Promise<{ ready: boolean; reason?: string; waiting?: number; maxBacklog: number }> {
  const maxBacklog = o.maxBacklog ?? readyMaxBacklogFromEnv();
  const timeoutMs = o.timeoutMs ?? 2000;
  try {
    await withTimeout(
      Promise.resolve().then(() => o.source.ping()),
      timeoutMs,
      "Redis PING",
    );
  } catch (e) {
    return { ready: false, reason: `redis: ${(e as Error)?.message ?? e}`, maxBacklog };
  }
  let waiting: number;
  try {
    waiting = await withTimeout(
      Promise.resolve().then(() => o.source.waitingCount()),
      timeoutMs,
      "queue count",
    );
  } catch (e) {
    return { ready: false, reason: `queue: ${(e as Error)?.message ?? e}`, maxBacklog };
  }
  if (waiting >= maxBacklog) return { ready: false, reason: `backlog: ${waiting} waiting jobs (limit ${maxBacklog})`, waiting, maxBacklog };
  return { ready: true, waiting, maxBacklog };
}

export function healthRoutes(o: HealthOptions): Route[] {
  const pathOf = (req: http.IncomingMessage) => (req.url ?? "").split("?")[0];
  return [
    (req, res) => {
      if (pathOf(req) !== "/healthz") return false;
      return json(res, 200, { status: "ok" });
    },
    async (req, res) => {
      if (pathOf(req) !== "/readyz") return false;
      const r = await readiness(o);
      return json(
        res,
        r.ready ? 200 : 503,
        r.ready
          ? { status: "ready", waiting: r.waiting, maxBacklog: r.maxBacklog }
          : { status: "not ready", reason: r.reason, ...(r.waiting !== undefined ? { waiting: r.waiting } : {}), maxBacklog: r.maxBacklog },
      );
    },
  ];
}

/** A ReadinessSource over a BullMQ queue and its Redis client. */
export function queueReadiness(q: { redis: Redis; queue: { getWaitingCount(): Promise<number> } }, timeoutMs = 1500): ReadinessSource {
  return {
    // The queue's connection has no offline queue: wait (briefly) for it to be ready, then PING.
    ping: async () => (await ready(q.redis, timeoutMs), q.redis.ping()),
    waitingCount: () => q.queue.getWaitingCount(),
  };
}
