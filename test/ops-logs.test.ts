// Logs never carry a secret: a full webhook -> queue -> worker run (the e2e setup) with a
// recognisable installation token and private key, every log line captured at level trace (Probot's
// pino, our own destination stream), then searched for the token, the key, the JWT and the secret.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { generateKeyPairSync } from "node:crypto";
import type { AddressInfo } from "node:net";
import nock from "nock";
import { Redis } from "ioredis";
import { QueueEvents } from "bullmq";
import { Probot, ProbotOctokit } from "probot";
import { createServer } from "../src/main.ts";
import { createReviewQueue, jobIdFor } from "../src/queue/index.ts";
import { defaultPipeline } from "../src/github/default-pipeline.ts";
import { createWorkerRuntime } from "../worker/runtime.ts";
import { createMetrics } from "../src/ops/metrics.ts";
import { WriteLimiter } from "../src/ops/write-limiter.ts";
import { opsOctokitPlugin } from "../src/ops/github.ts";
import { instrumentQueue, webhookObserver } from "../src/ops/instrument.ts";
import { REDACT_PATHS } from "../src/ops/logging.ts";
import { mockRepo, sendWebhook, fixture, REDIS_URL, API, APP_ID, type TestServer } from "./app-support.ts";
import { redisForFile } from "./app-support.ts";

// pino is Probot's dependency (not ours): load the copy Probot uses.
const pino = createRequire(import.meta.resolve("probot"))("pino");

const PREFIX = `mctest-ops-logs-${process.pid}`;
const TOKEN = "ghs_LOGSCANtoken0123456789abcdefSECRET";
const WEBHOOK_SECRET = "whsec-LOGSCAN-8c1f9d";
const { privateKey: KEY } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});
const files = redisForFile(PREFIX, { nock: true });

test("a full webhook -> worker run logs no installation token, private key, JWT or webhook secret", async () => {
  const lines: string[] = [];
  const sink = { write: (s: string) => void lines.push(s) };
  // No redact paths here: Probot builds its own pino without them, so the run itself must be clean.
  const log = pino({ level: "trace" }, sink);
  const settings = { name: "logscan", prefix: PREFIX, debounceMs: 0, attempts: 1, concurrency: 1 };
  const metrics = createMetrics({ defaultMetrics: false });
  const limiter = new WriteLimiter({ redis: files.redis, prefix: PREFIX, windows: [{ max: 80, windowMs: 60_000 }] });
  const probot = new Probot({
    appId: APP_ID,
    privateKey: KEY,
    secret: WEBHOOK_SECRET,
    log,
    Octokit: ProbotOctokit.plugin(opsOctokitPlugin({ metrics, limiter })).defaults((o: any) => ({
      ...o,
      retry: { enabled: false },
      throttle: { ...o?.throttle, enabled: false },
    })) as typeof ProbotOctokit,
  });
  const queue = instrumentQueue(createReviewQueue({ redisUrl: REDIS_URL, settings }), metrics);
  const server = await createServer({ probot, queue, extraRoutes: [webhookObserver(metrics)] });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const srv: TestServer = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: async () => void server.close() };
  const rt = createWorkerRuntime({ probot, pipeline: defaultPipeline({ threads: 1 }), settings, redisUrl: REDIS_URL });
  const eventsConn = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const events = new QueueEvents("logscan", { connection: eventsConn, prefix: PREFIX });
  await events.waitUntilReady();
  let tokenCalls = 0;
  nock(API)
    .post("/app/installations/42/access_tokens")
    .times(3)
    .reply(() => (tokenCalls++, [201, { token: TOKEN, expires_at: "2099-01-01T00:00:00Z", permissions: { checks: "write" } }]))
    .get("/app")
    .reply(200, { id: APP_ID, slug: "memcheck", name: "memcheck" });
  const cap = mockRepo();
  try {
    const delivery = "0b9e1c70-ac3f-11ef-9a1e-5d6c2a1b0a0a";
    const r = await sendWebhook(srv, "pull_request", fixture("pull_request.opened"), delivery, { secret: WEBHOOK_SECRET });
    assert.equal(r.status, 200);
    // The intake job adds the review job under the same id.
    let job = await queue.queue.getJob(jobIdFor(delivery));
    for (let i = 0; !job && i < 200; i++) job = (await new Promise((r) => setTimeout(r, 50)), await queue.queue.getJob(jobIdFor(delivery)));
    const result = await job!.waitUntilFinished(events, 60000);
    assert.equal(result.status, "done");
    assert.ok(tokenCalls >= 1, "the installation token was minted (and used)");
    assert.equal(cap.reviews.length, 1, "the run reached the review");
  } finally {
    await rt.close();
    await events.close();
    eventsConn.disconnect();
    await srv.close();
    await queue.queue.obliterate({ force: true });
    await queue.close();
  }
  const all = lines.join("");
  // The run was logged (so the scan means something): the per-job line and the request logs.
  assert.ok(lines.length > 20, `captured ${lines.length} lines`);
  assert.match(all, /memcheck: enqueued/);
  assert.match(all, /memcheck: review done/);
  assert.match(all, /GitHub request: POST https:\/\/api.github.com\/repos\/acme\/shop\/check-runs - 201/);
  assert.match(all, /GitHub request: POST https:\/\/api.github.com\/app\/installations\/42\/access_tokens - 201/);
  // And nothing secret.
  assert.ok(!all.includes(TOKEN), "installation token");
  assert.ok(!all.includes(TOKEN.slice(4, 24)), "part of the installation token");
  assert.ok(!all.includes(WEBHOOK_SECRET), "webhook secret");
  assert.ok(!/PRIVATE KEY/.test(all), "PEM header");
  const keyBody = KEY.split("\n").filter((l) => l && !l.startsWith("-----"));
  for (const l of keyBody) assert.ok(!all.includes(l.slice(0, 32)), "a line of the private key");
  assert.ok(!all.includes(KEY.replace(/\n/g, "\\n").slice(40, 120)), "the key as an escaped JSON string");
  assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\.eyJ/.test(all), "an app JWT");
  assert.ok(!/"authorization":\s*"(?!\[Redacted\])/i.test(all), "an authorization header value");
});

test("redact paths hide tokens and keys that a careless log call would include", () => {
  const lines: string[] = [];
  const log = pino({ level: "info", redact: REDACT_PATHS }, { write: (s: string) => void lines.push(s) });
  log.info(
    {
      headers: { authorization: `token ${TOKEN}` },
      request: { headers: { authorization: "bearer eyJabc.eyJdef.sig" } },
      token: TOKEN,
      privateKey: KEY,
      err: { response: { headers: { authorization: "x" } }, request: { headers: { authorization: "y" } } },
    },
    "careless",
  );
  const all = lines.join("");
  assert.match(all, /careless/);
  assert.ok(!all.includes(TOKEN));
  assert.ok(!all.includes("eyJabc"));
  assert.ok(!/PRIVATE KEY/.test(all));
  assert.match(all, /\[Redacted\]/);
});
