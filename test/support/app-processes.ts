// The app as it is deployed, for tests against running processes: the webhook server (`npm start`,
// no in-process worker) and one review worker (`npm run worker`) as child processes on a given
// Redis, talking to a FakeGitHub that also keeps the app's webhook delivery log.
import assert from "node:assert/strict";
import http from "node:http";
import type { FakeGitHub } from "./fake-github.ts";
import { freePort, spawnServer, spawnWorker, until, type Child } from "./processes.ts";
import { workerEnv } from "./pr-fixture.ts";
import { WebhookLog } from "./webhook-log.ts";

export interface AppProcesses {
  server: Child;
  worker: Child;
  port: number;
  hooks: WebhookLog;
  /** Kill both (SIGKILL). */
  kill(): Promise<void>;
}

/** GET a path of the server; 0 when it does not answer. */
export function httpStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve) =>
    http
      .get({ host: "127.0.0.1", port, path, timeout: 5000 }, (res) => (res.resume(), resolve(res.statusCode ?? 0)))
      .on("error", () => resolve(0)),
  );
}

/** Start server and worker (sweeping every 3 s) and wait until /readyz answers 200. */
export async function startAppProcesses(
  gh: FakeGitHub,
  o: { redisUrl: string; queue: string; prefix: string; extra?: Record<string, string> },
): Promise<AppProcesses> {
  const port = await freePort();
  const hooks = new WebhookLog(() => `http://127.0.0.1:${port}`, gh);
  const env = workerEnv(gh, {
    redisUrl: o.redisUrl,
    queue: o.queue,
    prefix: o.prefix,
    extra: { LOG_LEVEL: "info", MEMCHECK_BOT_LOGIN: "memcheck[bot]", MEMCHECK_ATTEMPTS: "5", MEMCHECK_BACKOFF_MS: "300", ...o.extra },
  });
  const server = spawnServer({
    ...env,
    PORT: String(port),
    HOST: "127.0.0.1",
    MEMCHECK_INPROCESS_WORKER: "false",
    // Every 3 s: also how often the server checks that Redis still holds its state.
    SWEEP_INTERVAL_MINUTES: "0.05",
  });
  const worker = spawnWorker(env);
  const kill = async () => {
    await server.kill("SIGKILL");
    await worker.kill("SIGKILL");
  };
  await until(
    "the server to be ready",
    async () => {
      if (server.proc.exitCode !== null) assert.fail(`server exited:\n${server.output()}`);
      return (await httpStatus(port, "/readyz")) === 200;
    },
    90_000,
    250,
  ).catch(async (e) => {
    await kill();
    throw e;
  });
  return { server, worker, port, hooks, kill };
}
