// Child processes for the fault tests and benchmarks: webhook servers (src/main.ts), review workers
// (worker/index.ts), from the sources through tsx or, with MEMCHECK_TEST_COMPILED=1, from dist/; and
// private redis-server instances. Every child is tracked and killed by pid.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Queue } from "bullmq";
import { Redis } from "ioredis";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** Everything the child wrote (stdout + stderr), for failure messages. */
  output(): string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Follow a spawned child: its combined output, its exit, and a kill that waits for the exit. */
export function track(proc: ChildProcess): Child {
  let out = "";
  proc.stdout?.on("data", (c) => (out += c));
  proc.stderr?.on("data", (c) => (out += c));
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  return {
    proc,
    pid: proc.pid!,
    output: () => out,
    exited,
    async kill(signal = "SIGKILL") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/**
 * MEMCHECK_TEST_COMPILED=1 runs the spawned processes from dist/ (`npm run build`), as `npm start`
 * and `npm run worker` do; otherwise the TypeScript sources through tsx.
 */
export const COMPILED = process.env.MEMCHECK_TEST_COMPILED === "1";

/** The node arguments that run one of memcheck's entry points ("src/main.ts", "worker/index.ts"). */
export function entryArgs(entry: string): string[] {
  if (!COMPILED) return ["--import", "tsx", entry];
  const js = join(ROOT, "dist", entry.replace(/\.ts$/, ".js"));
  if (!existsSync(js)) throw new Error(`MEMCHECK_TEST_COMPILED=1 but ${js} is missing: run npm run build`);
  return [js];
}

function spawnEntry(entry: string, env: Record<string, string>): Child {
  const base: Record<string, string> = {};
  for (const k of ["PATH", "HOME", "TMPDIR", "LANG"]) if (process.env[k]) base[k] = process.env[k]!;
  const proc = spawn(process.execPath, entryArgs(entry), {
    cwd: ROOT,
    env: { ...base, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return track(proc);
}

/** Start a review worker (`npm run worker`) with the given environment (added to a clean base). */
export function spawnWorker(env: Record<string, string>): Child {
  return spawnEntry("worker/index.ts", env);
}

/** Start the webhook server (`npm start`: src/main.ts) with the given environment; set PORT. */
export function spawnServer(env: Record<string, string>): Child {
  return spawnEntry("src/main.ts", env);
}

/** Current RSS (VmRSS, bytes) of a live process, from /proc. */
export function currentRss(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Peak RSS (VmHWM, bytes) of a live process, from /proc. */
export function peakRss(pid: number): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Wait until a job reaches completed or failed; returns the state. */
export async function waitForJob(queue: Queue, id: string, timeoutMs = 30_000): Promise<"completed" | "failed"> {
  return until(
    `job ${id} to finish`,
    async () => {
      const s = await queue.getJobState(id);
      return s === "completed" || s === "failed" ? s : undefined;
    },
    timeoutMs,
  );
}

/** A private redis-server (AOF on, no RDB) in a temp dir, restartable on the same port and dir. */
export class RedisServer {
  child?: Child;
  readonly dir = mkdtempSync(join(os.tmpdir(), "mc-redis-"));
  constructor(readonly port: number) {}
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  static async start(): Promise<RedisServer> {
    const r = new RedisServer(await freePort());
    await r.start();
    return r;
  }
  async start(): Promise<void> {
    const proc = spawn(
      "redis-server",
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
        this.dir,
        "--maxmemory-policy",
        "noeviction",
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.child = track(proc);
    await until(
      "redis-server to accept connections",
      async () => {
        const c = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
        c.on("error", () => {});
        try {
          await c.connect();
          return (await c.ping()) === "PONG";
        } finally {
          c.disconnect();
        }
      },
      10_000,
      50,
    );
  }
  /** SHUTDOWN (the AOF is flushed), then wait for the process to exit. */
  async stop(): Promise<void> {
    if (!this.child) return;
    const c = new Redis(this.url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on("error", () => {});
    await c.shutdown().catch(() => {});
    c.disconnect();
    const code = await Promise.race([this.child.exited, new Promise((r) => setTimeout(() => r("timeout"), 5000))]);
    if (code === "timeout") await this.child.kill("SIGKILL");
    this.child = undefined;
  }
  /** SIGKILL (nothing flushed), wipe the data directory: the next start() is an empty Redis. */
  async crashAndWipe(): Promise<void> {
    if (this.child) await this.child.kill("SIGKILL");
    this.child = undefined;
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
  }
  async destroy(): Promise<void> {
    if (this.child) await this.child.kill("SIGKILL");
    this.child = undefined;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
