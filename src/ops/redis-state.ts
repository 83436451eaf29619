// Redis outages in the log: one line per state change (down and retrying with backoff, still down
// every few minutes, back), never a stack trace per retry. ioredis retries every connection by itself
// (50 ms, 100 ms, ... up to 2 s apart); BullMQ emits an "error" for every failed attempt of every
// client it holds, so those events are sorted here: connection errors only move the state, anything
// else is logged as one line without a stack.
import type { Redis } from "ioredis";

export interface StateLog {
  info(o: object, msg: string): void;
  warn(o: object, msg: string): void;
  error(o: object, msg: string): void;
}

const CONNECTION_ERROR =
  /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EPIPE|EAI_AGAIN|Connection is closed|connection closed|Stream isn't writeable|enableOfflineQueue|Socket closed|max retries per request|MaxRetriesPerRequest|LOADING|UNKNOWN_CLIENT|getaddrinfo|Connection timeout/i;

export function isConnectionError(e: unknown): boolean {
  const err = e as { code?: string; message?: string } | undefined;
  return CONNECTION_ERROR.test(`${err?.code ?? ""} ${err?.message ?? String(e)}`);
}

export type RedisState = "starting" | "up" | "down";

export class RedisHealth {
  state: RedisState = "starting";
  private downSince = 0;
  private lastError = "";
  private reminder?: NodeJS.Timeout;
  private readonly backListeners: (() => void)[] = [];
  private readonly clients: Redis[] = [];
  private closing = false;

  constructor(
    private readonly o: {
      log: StateLog;
      role: string;
      remindEveryMs?: number;
      now?: () => number /** What an outage means here, appended to the "down" line. */;
      meanwhile?: string;
    },
  ) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Follow this client's connection: its "ready" means Redis is back. Also keeps ioredis from printing unhandled errors. */
  watch(client: Redis): this {
    this.clients.push(client);
    client.on("error", (e) => this.noteError(e));
    client.on("close", () => this.noteError(new Error("connection closed")));
    client.on("ready", () => this.noteReady());
    if (client.status === "ready") this.noteReady();
    return this;
  }

  get up(): boolean {
    return this.state === "up";
  }

  /** Run fn each time Redis comes back after being down (not on the first connection). */
  onBack(fn: () => void): void {
    this.backListeners.push(fn);
  }

  /**
   * An error from a BullMQ Queue/Worker or a client: a connection error marks Redis down (logged
   * once per outage); anything else is one ERROR line, message only. Returns true if handled.
   */
  noteError(e: unknown, what = "redis"): void {
    if (!isConnectionError(e)) {
      this.o.log.error(
        { err: String((e as Error)?.message ?? e).slice(0, 300), role: this.o.role, source: what },
        "memcheck: Redis client error",
      );
      return;
    }
    this.lastError = String((e as Error)?.message ?? e).slice(0, 200);
    if (this.state === "down" || this.closing) return;
    // A watched client still ready means this was one connection dropping, not Redis going away.
    if (this.clients.some((c) => c.status === "ready")) return;
    const wasUp = this.state === "up";
    this.state = "down";
    this.downSince = this.now();
    this.o.log.warn(
      { role: this.o.role, err: this.lastError },
      `memcheck: Redis ${wasUp ? "down" : "unreachable at start"}; retrying with backoff (every ≤ 2 s)${this.o.meanwhile ? `; ${this.o.meanwhile}` : ""}`,
    );
    const every = this.o.remindEveryMs ?? 5 * 60_000;
    this.reminder = setInterval(() => {
      this.o.log.warn(
        { role: this.o.role, downSeconds: Math.round((this.now() - this.downSince) / 1000), err: this.lastError },
        "memcheck: Redis still down; retrying",
      );
    }, every);
    this.reminder.unref();
  }

  private noteReady(): void {
    if (this.state === "up") return;
    const wasDown = this.state === "down";
    this.state = "up";
    if (this.reminder) clearInterval(this.reminder);
    this.reminder = undefined;
    if (!wasDown) return;
    this.o.log.info({ role: this.o.role, downSeconds: Math.round((this.now() - this.downSince) / 1000) }, "memcheck: Redis back");
    for (const fn of this.backListeners) {
      try {
        fn();
      } catch {
        /* a listener's failure is its own business */
      }
    }
  }

  /** Shutting down: the connections we close ourselves are not an outage. */
  close(): void {
    this.closing = true;
    if (this.reminder) clearInterval(this.reminder);
  }
}

/** An "error" listener for BullMQ emitters that routes into `health`. */
export function quietErrors(health: RedisHealth, what: string): (e: unknown) => void {
  return (e) => health.noteError(e, what);
}
