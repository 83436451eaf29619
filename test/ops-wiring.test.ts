// The ops wiring in the entry points: `npm start` (src/main.ts) and `npm run worker` (worker/index.ts)
// started as real child processes against real Redis (no GitHub calls are made), then the worker
// runtime's metrics and write-slot waiting over a full nock'd review.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import nock from "nock";
import { Redis } from "ioredis";
import { QueueEvents } from "bullmq";
import { Probot, ProbotOctokit } from "probot";
import { createReviewQueue, jobIdFor } from "../src/queue/index.ts";
import { defaultPipeline } from "../src/github/default-pipeline.ts";
import { createWorkerRuntime } from "../worker/runtime.ts";
import { createOps, processMetrics } from "../src/ops/index.ts";
import { createServer } from "../src/main.ts";
import { PRIVATE_KEY, APP_ID, SECRET, REDIS_URL, API, mockRepo, sendWebhook, fixture, type TestServer } from "./app-support.ts";
import { redisForFile } from "./app-support.ts";
import { entryArgs } from "./support/processes.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PREFIX = `mctest-ops-wiring-${process.pid}`;
const files = redisForFile(PREFIX, { nock: true });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on("error", reject);
  });
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path, headers }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

async function waitFor(port: number, path: string, child: ChildProcess, out: () => string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    // a loaded machine starts tsx slowly
    if (child.exitCode !== null) throw new Error(`process exited ${child.exitCode}: ${out()}`);
    try {
      if ((await get(port, path)).status === 200) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no answer on ${path}: ${out()}`);
}

function start(script: string, env: Record<string, string>): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  let buf = "";
  const child = spawn(process.execPath, entryArgs(script), {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (c) => (buf += c));
  child.stderr!.on("data", (c) => (buf += c));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, out: () => buf.slice(-3000), exited };
}

const BASE_ENV = () => ({
  APP_ID: String(APP_ID),
  PRIVATE_KEY,
  WEBHOOK_SECRET: SECRET,
  REDIS_URL,
  MEMCHECK_QUEUE: "wiring",
  MEMCHECK_QUEUE_PREFIX: PREFIX,
  LOG_LEVEL: "warn",
  LOG_FORMAT: "json",
  SWEEP_ENABLED: "false",
});

test("npm start: /healthz, /readyz, /metrics (bearer), /admin/queues (basic auth) on the server's port; SIGTERM exits 0", async () => {
  const port = await freePort();
  const p = start("src/main.ts", {
    ...BASE_ENV(),
    PORT: String(port),
    HOST: "127.0.0.1",
    MEMCHECK_INPROCESS_WORKER: "false",
    METRICS_TOKEN: "mt-1",
    ADMIN_USER: "admin",
    ADMIN_PASSWORD: "pw",
  });
  try {
    await waitFor(port, "/healthz", p.child, p.out);
    assert.equal((await get(port, "/readyz")).status, 200);
    assert.equal((await get(port, "/metrics")).status, 401);
    const m = await get(port, "/metrics", { authorization: "Bearer mt-1" });
    assert.equal(m.status, 200);
    assert.match(m.body, /^memcheck_queue_jobs\{queue="wiring",state="waiting"\} 0$/m);
    assert.equal((await get(port, "/admin/queues")).status, 401);
    assert.equal((await get(port, "/admin/queues", { authorization: "Basic " + Buffer.from("admin:pw").toString("base64") })).status, 200);
    assert.equal((await get(port, "/nope")).status, 404);
  } finally {
    p.child.kill("SIGTERM");
  }
  assert.equal(await p.exited, 0, p.out());
});

test("npm run worker with OPS_PORT: /metrics and /healthz; no dashboard; SIGTERM exits 0", async () => {
  const port = await freePort();
  const p = start("worker/index.ts", { ...BASE_ENV(), OPS_PORT: String(port), ADMIN_USER: "admin", ADMIN_PASSWORD: "pw" });
  try {
    await waitFor(port, "/healthz", p.child, p.out);
    assert.equal((await get(port, "/readyz")).status, 200);
    const m = await get(port, "/metrics");
    assert.equal(m.status, 200);
    assert.match(m.body, /memcheck_job_stage_seconds/);
    assert.equal((await get(port, "/admin/queues", { authorization: "Basic " + Buffer.from("admin:pw").toString("base64") })).status, 404);
  } finally {
    p.child.kill("SIGTERM");
  }
  assert.equal(await p.exited, 0, p.out());
});

test("worker runtime: a review records stage times, cache and findings; the worker's writes wait for slots, the webhook's do not", async () => {
  const ops = createOps({
    env: { MEMCHECK_QUEUE_PREFIX: PREFIX, MEMCHECK_QUEUE: "wiring-rt", GITHUB_WRITES_PER_MINUTE: "80", GITHUB_WRITES_PER_HOUR: "500" },
    redisUrl: REDIS_URL,
  });
  const probot = new Probot({
    appId: APP_ID,
    privateKey: PRIVATE_KEY,
    secret: SECRET,
    logLevel: "fatal",
    Octokit: ops.Octokit.defaults((o: any) => ({
      ...o,
      retry: { enabled: false },
      throttle: { ...o?.throttle, enabled: false },
    })) as typeof ProbotOctokit,
  });
  const settings = { name: "wiring-rt", prefix: PREFIX, debounceMs: 0, attempts: 1, concurrency: 1 };
  const queue = createReviewQueue({ redisUrl: REDIS_URL, settings });
  const server = await createServer({ probot, queue, extraRoutes: ops.routes({ queue }) });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const srv: TestServer = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: async () => void server.close() };
  const rt = createWorkerRuntime({ probot, pipeline: defaultPipeline({ threads: 1 }), settings, redisUrl: REDIS_URL });
  const eventsConn = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const events = new QueueEvents("wiring-rt", { connection: eventsConn, prefix: PREFIX });
  await events.waitUntilReady();
  nock(API).get("/app").reply(200, { id: APP_ID, slug: "memcheck" });
  const cap = mockRepo();
  const before = await processMetrics().registry.getSingleMetricAsString("memcheck_github_write_wait_seconds");
  try {
    const delivery = "0b9e1c70-ac3f-11ef-9a1e-5d6c2a1b0c0c";
    assert.equal((await sendWebhook(srv, "pull_request", fixture("pull_request.opened"), delivery)).status, 200);
    // The intake job (in the worker) adds the review job under the same id.
    let job = await queue.queue.getJob(jobIdFor(delivery));
    for (let i = 0; !job && i < 200; i++) job = (await new Promise((r) => setTimeout(r, 50)), await queue.queue.getJob(jobIdFor(delivery)));
    assert.equal((await job!.waitUntilFinished(events, 60000)).status, "done");
  } finally {
    await rt.close();
    await events.close();
    eventsConn.disconnect();
    await srv.close();
    await queue.queue.obliterate({ force: true });
    await queue.close();
    await ops.close();
  }
  const text = await processMetrics().registry.metrics();
  for (const stage of ["fetch", "parse", "layout", "diff", "post", "total"])
    assert.match(text, new RegExp(`^memcheck_job_stage_seconds_count\\{stage="${stage}"\\} [1-9]`, "m"), stage);
  assert.match(text, /^memcheck_blob_cache_total\{result="miss"\} [1-9]/m);
  assert.match(text, /^memcheck_findings_total\{rule="MC151",severity="[a-z]+"\} [1-9]/m);
  assert.match(text, /^memcheck_webhooks_total\{event="pull_request",outcome="ok"\} 1$/m);
  // Every write is a worker's now (the webhook handler makes none): the intake's queued check run,
  // the result and the review each waited for a slot (0 s each).
  const waits =
    Number(/^memcheck_github_write_wait_seconds_count (\d+)$/m.exec(text)?.[1] ?? "0") -
    Number(/^memcheck_github_write_wait_seconds_count (\d+)$/m.exec(before)?.[1] ?? "0");
  const writes = cap.checkCreates.length + cap.checkUpdates.length + cap.reviews.length;
  assert.equal(waits, writes, `${waits} waits for ${writes} writes`);
  assert.equal(await files.redis.zcard(`${PREFIX}:wiring-rt:writes:42`), writes);
});
