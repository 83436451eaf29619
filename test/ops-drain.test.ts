// SIGTERM in every state, against running processes: the server (with its in-process worker) and a
// worker each exit within MEMCHECK_DRAIN_SECONDS, whether idle, with Redis unreachable, or with a
// job stuck mid-flight on GitHub. Before: both said "draining" and never exited (SIGKILL needed).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Redis } from "ioredis";
import { FakeGitHub } from "./support/fake-github.ts";
import { freePort, spawnServer, spawnWorker, until, type Child } from "./support/processes.ts";
import { HEAD, loadFixturePull, postWebhook, prPayload, workerEnv } from "./support/pr-fixture.ts";

const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const DRAIN = 3;
const children: Child[] = [];
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of children) await c.kill("SIGKILL");
  for (const c of cleanups) await c().catch(() => {});
  // Only this file's keys (its own prefix) on the shared Redis.
  const r = new Redis(REDIS_URL);
  for (const key of await r.keys(`mcdrain${process.pid}:*`)) await r.del(key);
  r.disconnect();
});

function status(port: number, path: string): Promise<number> {
  return new Promise((resolve) =>
    http
      .get({ host: "127.0.0.1", port, path, timeout: 3000 }, (res) => (res.resume(), resolve(res.statusCode ?? 0)))
      .on("error", () => resolve(0)),
  );
}

/** SIGTERM, then the exit code, or "hung" when the process outlives the drain limit by 10 s. */
async function terminate(c: Child): Promise<number | null | "hung"> {
  c.proc.kill("SIGTERM");
  return Promise.race([c.exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), (DRAIN + 10) * 1000))]);
}

test("SIGTERM with Redis unreachable: server and worker exit within the drain limit", async () => {
  const dead = `redis://127.0.0.1:${await freePort()}`;
  const port = await freePort();
  const gh = await new FakeGitHub().start();
  cleanups.push(() => gh.close());
  const env = workerEnv(gh, {
    redisUrl: dead,
    queue: "drain-dead",
    prefix: `mcdrain${process.pid}`,
    extra: { MEMCHECK_DRAIN_SECONDS: String(DRAIN), LOG_LEVEL: "info" },
  });
  const server = spawnServer({ ...env, PORT: String(port), HOST: "127.0.0.1" });
  const worker = spawnWorker(env);
  children.push(server, worker);
  await until("the server to listen", async () => (await status(port, "/healthz")) === 200, 90_000, 250);
  assert.equal(await status(port, "/readyz"), 503);
  await until("the worker to report Redis down", () => /Redis unreachable/.test(worker.output()), 90_000, 250);
  const [s, w] = await Promise.all([terminate(server), terminate(worker)]);
  assert.notEqual(s, "hung", `server:\n${server.output().slice(-2000)}`);
  assert.notEqual(w, "hung", `worker:\n${worker.output().slice(-2000)}`);
  assert.doesNotMatch(worker.output() + server.output(), /\n\s+at .+:\d+:\d+\)?\n/, "no stack trace");
});

test("SIGTERM with a job stuck on GitHub: the server's in-process worker gives up after the drain limit", async () => {
  const gh = await new FakeGitHub().start();
  cleanups.push(() => gh.close());
  loadFixturePull(gh, { pull: 1 });
  const held = gh.hold((r) => r.method === "GET" && r.path.includes("/git/blobs/"));
  cleanups.push(async () => held.release());
  const port = await freePort();
  const env = workerEnv(gh, {
    redisUrl: REDIS_URL,
    queue: "drain-busy",
    prefix: `mcdrain${process.pid}`,
    extra: { MEMCHECK_DRAIN_SECONDS: String(DRAIN), MEMCHECK_BOT_LOGIN: "memcheck[bot]", SWEEP_ENABLED: "false", LOG_LEVEL: "info" },
  });
  const server = spawnServer({ ...env, PORT: String(port), HOST: "127.0.0.1" });
  children.push(server);
  await until("the server to be ready", async () => (await status(port, "/readyz")) === 200, 90_000, 250);
  assert.equal(
    (
      await postWebhook(
        `http://127.0.0.1:${port}`,
        "pull_request",
        prPayload({ action: "opened", pull: 1, head: HEAD }),
        `drain-${process.pid}`,
      )
    ).status,
    200,
  );
  await held.arrived; // the job is mid-flight and will not finish by itself
  const code = await terminate(server);
  assert.equal(code, 1, `exit code ${code} (1 = the drain limit cut a job short)\n${server.output().slice(-2000)}`);
  assert.match(server.output(), /drain limit reached/);
});

test("SIGTERM on an idle worker with Redis up: exits 0 at once", async () => {
  const gh = await new FakeGitHub().start();
  cleanups.push(() => gh.close());
  const env = workerEnv(gh, {
    redisUrl: REDIS_URL,
    queue: "drain-idle",
    prefix: `mcdrain${process.pid}`,
    extra: { MEMCHECK_DRAIN_SECONDS: String(DRAIN), LOG_LEVEL: "info" },
  });
  const worker = spawnWorker(env);
  children.push(worker);
  await until("the worker to start", () => /worker on queue/.test(worker.output()), 90_000, 250);
  assert.equal(await terminate(worker), 0, worker.output());
  assert.match(worker.output(), /drained, exiting/);
});
