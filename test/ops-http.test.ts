// Ops endpoints over real HTTP on 127.0.0.1 (createServer from src/main.ts with the ops routes):
// the bull-board dashboard behind basic auth, /metrics, /healthz, /readyz, and webhook outcomes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import nock from "nock";
import { Redis } from "ioredis";
import { createServer, type Route } from "../src/main.ts";
import { createReviewQueue, type ReviewQueue } from "../src/queue/index.ts";
import { createMetrics } from "../src/ops/metrics.ts";
import { createOps } from "../src/ops/index.ts";
import { dashboardRoute, checkBasicAuth } from "../src/ops/dashboard.ts";
import { healthRoutes, queueReadiness } from "../src/ops/health.ts";
import { metricsRoute } from "../src/ops/metrics-route.ts";
import { instrumentQueue, webhookObserver } from "../src/ops/instrument.ts";
import { makeProbot, fixture, sendWebhook, deletePrefix, REDIS_URL } from "./app-support.ts";

const PREFIX = `mctest-ops-http-${process.pid}`;
let redis: Redis;
let queue: ReviewQueue;

before(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  queue = createReviewQueue({ redisUrl: REDIS_URL, settings: { name: "opshttp", prefix: PREFIX, debounceMs: 60_000 } });
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
});
after(async () => {
  nock.cleanAll();
  await queue.queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  await deletePrefix(redis, PREFIX);
  redis.disconnect();
});

interface Srv {
  port: number;
  url: string;
  close(): Promise<void>;
}

async function serve(routes: Route[], q: any = queue): Promise<Srv> {
  const server = await createServer({ probot: makeProbot(), queue: q, extraRoutes: routes });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return { port, url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function request(
  srv: Srv,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: srv.port,
        method,
        path,
        headers: { ...headers, ...(body !== undefined ? { "content-length": String(Buffer.byteLength(body)) } : {}) },
      },
      (res) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (data += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const basic = (u: string, p: string) => ({ authorization: "Basic " + Buffer.from(`${u}:${p}`).toString("base64") });

test("dashboard: not mounted (404) when ADMIN_USER / ADMIN_PASSWORD are unset, even with ADMIN_WRITE", async () => {
  assert.equal(dashboardRoute({ queues: [queue.queue], user: "admin" }), undefined);
  assert.equal(dashboardRoute({ queues: [queue.queue], password: "pw" }), undefined);
  const ops = createOps({
    env: { ADMIN_WRITE: "true", GITHUB_WRITES_PER_MINUTE: "0", GITHUB_WRITES_PER_HOUR: "0" },
    metrics: createMetrics({ defaultMetrics: false }),
  });
  const srv = await serve(ops.routes({ queue }));
  try {
    assert.equal((await request(srv, "GET", "/admin/queues")).status, 404);
    assert.equal((await request(srv, "GET", "/admin/queues/api/queues", basic("admin", "pw"))).status, 404);
    assert.equal((await request(srv, "PUT", `/admin/queues/api/queues/opshttp/pause`, basic("", ""))).status, 404);
  } finally {
    await srv.close();
    await ops.close();
  }
});

test("dashboard: 401 without or with wrong credentials, 200 with the right ones; read-only by default", async () => {
  const route = dashboardRoute({ queues: [queue.queue], user: "admin", password: "s3cret-pw" })!;
  const srv = await serve([route]);
  try {
    const none = await request(srv, "GET", "/admin/queues");
    assert.equal(none.status, 401);
    assert.match(String(none.headers["www-authenticate"]), /^Basic realm=/);
    assert.equal((await request(srv, "GET", "/admin/queues", basic("admin", "wrong"))).status, 401);
    assert.equal((await request(srv, "GET", "/admin/queues", basic("root", "s3cret-pw"))).status, 401);
    assert.equal((await request(srv, "GET", "/admin/queues", { authorization: "Bearer s3cret-pw" })).status, 401);
    // The write action is refused even with credentials (401 first without them).
    assert.equal((await request(srv, "PUT", "/admin/queues/api/queues/opshttp/pause")).status, 401);

    const page = await request(srv, "GET", "/admin/queues", basic("admin", "s3cret-pw"));
    assert.equal(page.status, 200);
    assert.match(page.headers["content-type"] ?? "", /text\/html/);
    // The UI's own scripts are served under the same path, behind the same auth.
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(page.body)?.[1];
    assert.ok(script, "the page loads bull-board's main script");
    assert.equal((await request(srv, "GET", `/admin/queues/${script}`, basic("admin", "s3cret-pw"))).status, 200);
    assert.equal((await request(srv, "GET", `/admin/queues/${script}`)).status, 401);
    const api = await request(srv, "GET", "/admin/queues/api/queues?activeQueue=opshttp&page=1", basic("admin", "s3cret-pw"));
    assert.equal(api.status, 200);
    const list = JSON.parse(api.body);
    const q = list.queues.find((x: any) => x.name === "opshttp");
    assert.ok(q, "the review queue is listed");
    assert.equal(q.readOnlyMode, true);

    const pause = await request(srv, "PUT", "/admin/queues/api/queues/opshttp/pause", basic("admin", "s3cret-pw"));
    assert.equal(pause.status, 405, pause.body);
    assert.equal(await queue.queue.isPaused(), false);
    // Other paths are not the dashboard's.
    assert.equal((await request(srv, "GET", "/admin/queuesX", basic("admin", "s3cret-pw"))).status, 404);
  } finally {
    await srv.close();
  }
});

test("dashboard: ADMIN_WRITE=true allows actions (pause, then resume)", async () => {
  const ops = createOps({
    env: { ADMIN_USER: "admin", ADMIN_PASSWORD: "pw", ADMIN_WRITE: "true", GITHUB_WRITES_PER_MINUTE: "0", GITHUB_WRITES_PER_HOUR: "0" },
    metrics: createMetrics({ defaultMetrics: false }),
  });
  const srv = await serve(ops.routes({ queue }));
  try {
    const pause = await request(srv, "PUT", "/admin/queues/api/queues/opshttp/pause", basic("admin", "pw"));
    assert.equal(pause.status, 200, pause.body);
    assert.equal(await queue.queue.isPaused(), true);
    const resume = await request(srv, "PUT", "/admin/queues/api/queues/opshttp/resume", basic("admin", "pw"));
    assert.equal(resume.status, 200, resume.body);
    assert.equal(await queue.queue.isPaused(), false);
  } finally {
    await srv.close();
    await ops.close();
  }
});

test("basic auth parsing", () => {
  const h = (s: string) => "Basic " + Buffer.from(s).toString("base64");
  assert.equal(checkBasicAuth(h("a:b"), "a", "b"), true);
  assert.equal(checkBasicAuth(h("a:b:c"), "a", "b:c"), true, "the password may contain a colon");
  assert.equal(checkBasicAuth(h("ab"), "a", "b"), false);
  assert.equal(checkBasicAuth(undefined, "a", "b"), false);
  assert.equal(checkBasicAuth("Basic !!!", "a", "b"), false);
});

test("/metrics: Prometheus text with every memcheck metric; queue depth collected on scrape", async () => {
  const metrics = createMetrics();
  const srv = await serve([metricsRoute(metrics)]);
  metrics.watchQueues(queue.queue);
  await queue.queue.add("review" as any, { v: 1 } as any, { jobId: "ops-metrics-1", delay: 60_000 });
  metrics.observeReview({
    stages: { fetch: 120, analyze: 300, post: 80, total: 520 },
    parseMs: 150,
    layoutMs: 50,
    cacheHits: 3,
    filesFetched: 2,
    findings: [
      { rule: "MC111", severity: "warning" },
      { rule: "MC111", severity: "warning" },
    ],
  });
  try {
    const r = await request(srv, "GET", "/metrics");
    assert.equal(r.status, 200);
    assert.match(r.headers["content-type"] ?? "", /^text\/plain; version=0\.0\.4/);
    for (const name of [
      "memcheck_webhooks_total",
      "memcheck_jobs_enqueued_total",
      "memcheck_queue_jobs",
      "memcheck_job_stage_seconds",
      "memcheck_github_requests_total",
      "memcheck_github_rate_limit_remaining",
      "memcheck_github_secondary_limit_hits_total",
      "memcheck_github_write_wait_seconds",
      "memcheck_blob_cache_total",
      "memcheck_findings_total",
      "memcheck_sweeper_deliveries_total",
      // Node's default metrics under their standard names (stock dashboards match them).
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
    ]) {
      assert.match(r.body, new RegExp(`^# HELP ${name} `, "m"), name);
    }
    assert.doesNotMatch(r.body, /^# HELP memcheck_(process|nodejs)_/m, "default metrics are not renamed");
    assert.match(r.body, /^memcheck_queue_jobs\{queue="opshttp",state="delayed"\} 1$/m);
    assert.match(r.body, /^memcheck_queue_jobs\{queue="opshttp",state="waiting"\} 0$/m);
    assert.match(r.body, /^memcheck_queue_jobs\{queue="opshttp",state="failed"\} 0$/m);
    for (const stage of ["fetch", "parse", "layout", "diff", "post", "total"]) {
      assert.match(r.body, new RegExp(`^memcheck_job_stage_seconds_count\\{stage="${stage}"\\} 1$`, "m"), stage);
    }
    // diff = analyze - parse - layout = 100 ms
    assert.match(r.body, /^memcheck_job_stage_seconds_sum\{stage="diff"\} 0\.1$/m);
    assert.match(r.body, /^memcheck_blob_cache_total\{result="hit"\} 3$/m);
    assert.match(r.body, /^memcheck_blob_cache_total\{result="miss"\} 2$/m);
    assert.match(r.body, /^memcheck_findings_total\{rule="MC111",severity="warning"\} 2$/m);
    assert.equal((await request(srv, "POST", "/metrics", {}, "")).status, 405);
  } finally {
    await srv.close();
    await (await queue.queue.getJob("ops-metrics-1"))?.remove();
  }
});

test("/metrics with METRICS_TOKEN: bearer refused when missing or wrong, accepted when right", async () => {
  const srv = await serve([metricsRoute(createMetrics({ defaultMetrics: false }), { token: "tok-123" })]);
  try {
    assert.equal((await request(srv, "GET", "/metrics")).status, 401);
    assert.equal((await request(srv, "GET", "/metrics", { authorization: "Bearer nope" })).status, 401);
    assert.equal((await request(srv, "GET", "/metrics", { authorization: "Basic dG9rLTEyMw==" })).status, 401);
    const ok = await request(srv, "GET", "/metrics", { authorization: "Bearer tok-123" });
    assert.equal(ok.status, 200);
    assert.match(ok.body, /memcheck_webhooks_total/);
  } finally {
    await srv.close();
  }
});

test("/healthz answers 200; /readyz is ready with Redis up and a small backlog", async () => {
  const srv = await serve(healthRoutes({ source: queueReadiness(queue), maxBacklog: 5 }));
  try {
    const h = await request(srv, "GET", "/healthz");
    assert.equal(h.status, 200);
    assert.deepEqual(JSON.parse(h.body), { status: "ok" });
    const r = await request(srv, "GET", "/readyz");
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { status: "ready", waiting: 0, maxBacklog: 5 });
  } finally {
    await srv.close();
  }
});

test("/readyz: 503 with a reason when the waiting backlog reaches READY_MAX_BACKLOG", async () => {
  const q = createReviewQueue({ redisUrl: REDIS_URL, settings: { name: "opsbacklog", prefix: PREFIX } });
  const ops = createOps({
    env: { READY_MAX_BACKLOG: "3", GITHUB_WRITES_PER_MINUTE: "0", GITHUB_WRITES_PER_HOUR: "0" },
    metrics: createMetrics({ defaultMetrics: false }),
  });
  const srv = await serve(ops.routes({ queue: q }), q);
  try {
    await q.queue.pause(); // keep them waiting
    for (let i = 0; i < 3; i++) await q.queue.add("review" as any, { v: 1 } as any, { jobId: `backlog-${i}` });
    const r = await request(srv, "GET", "/readyz");
    assert.equal(r.status, 503);
    const body = JSON.parse(r.body);
    assert.equal(body.status, "not ready");
    assert.equal(body.reason, "backlog: 3 waiting jobs (limit 3)");
    assert.equal((await request(srv, "GET", "/healthz")).status, 200, "alive even when not ready");
  } finally {
    await srv.close();
    await ops.close();
    await q.queue.obliterate({ force: true });
    await q.close();
  }
});

test("/readyz: 503 with a reason when Redis does not answer (a port nothing listens on)", async () => {
  const down = createReviewQueue({ redisUrl: "redis://127.0.0.1:1", settings: { name: "down", prefix: PREFIX } });
  down.redis.on("error", () => {});
  const srv = await serve(healthRoutes({ source: queueReadiness(down, 500), maxBacklog: 10, timeoutMs: 1000 }), down);
  try {
    const r = await request(srv, "GET", "/readyz");
    assert.equal(r.status, 503);
    const body = JSON.parse(r.body);
    assert.equal(body.status, "not ready");
    assert.match(body.reason, /^redis: /);
    assert.equal((await request(srv, "GET", "/healthz")).status, 200);
  } finally {
    await srv.close();
    await down.close().catch(() => {});
  }
});

test("webhooks: counted by event and outcome; enqueue failure (Redis down) answers 5xx and counts an error", async () => {
  const metrics = createMetrics({ defaultMetrics: false });
  // Up: the job is enqueued, the answer is 2xx.
  const upQ = instrumentQueue(
    createReviewQueue({ redisUrl: REDIS_URL, settings: { name: "opshooks", prefix: PREFIX, debounceMs: 60_000 } }),
    metrics,
  );
  const up = await serve([webhookObserver(metrics)], upQ);
  // The handler makes no GitHub call (the intake job in the worker does): no nock route needed.
  try {
    const r = await sendWebhook({ url: up.url, close: up.close }, "pull_request", fixture("pull_request.opened"), "ops-up-1");
    assert.equal(r.status, 200);
    const bad = await sendWebhook({ url: up.url, close: up.close }, "pull_request", fixture("pull_request.opened"), "ops-up-2", {
      secret: "wrong",
    });
    assert.equal(bad.status, 400);
  } finally {
    await up.close();
    await upQ.queue.obliterate({ force: true });
    await upQ.close();
  }
  assert.deepEqual(nock.pendingMocks(), []);

  // Down: enqueueing throws, Probot answers 5xx, GitHub marks the delivery failed (the sweeper's job).
  const downQ = instrumentQueue(
    createReviewQueue({ redisUrl: "redis://127.0.0.1:1", settings: { name: "down", prefix: PREFIX } }),
    metrics,
  );
  downQ.redis.on("error", () => {});
  const down = await serve([webhookObserver(metrics)], downQ);
  try {
    const r = await sendWebhook({ url: down.url, close: down.close }, "pull_request", fixture("pull_request.opened"), "ops-down-1");
    assert.ok(r.status >= 500, `status ${r.status}`);
  } finally {
    await down.close();
    await downQ.close().catch(() => {});
  }
  const text = await metrics.registry.metrics();
  assert.match(text, /^memcheck_webhooks_total\{event="pull_request",outcome="ok"\} 1$/m);
  assert.match(text, /^memcheck_webhooks_total\{event="pull_request",outcome="rejected"\} 1$/m);
  assert.match(text, /^memcheck_webhooks_total\{event="pull_request",outcome="error"\} 1$/m);
  assert.match(text, /^memcheck_jobs_enqueued_total\{trigger="pull_request",result="new"\} 1$/m);
});

test("standalone ops server (npm run worker with OPS_PORT): /metrics, /healthz, /readyz; 404 otherwise", async () => {
  const { startOpsServer } = await import("../src/ops/server.ts");
  const metrics = createMetrics({ defaultMetrics: false });
  const server = await startOpsServer({
    port: 0,
    host: "127.0.0.1",
    routes: [...healthRoutes({ source: queueReadiness(queue), maxBacklog: 100 }), metricsRoute(metrics)],
  });
  const port = (server.address() as AddressInfo).port;
  const srv: Srv = { port, url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
  try {
    assert.equal((await request(srv, "GET", "/healthz")).status, 200);
    assert.equal((await request(srv, "GET", "/readyz")).status, 200);
    assert.match((await request(srv, "GET", "/metrics")).body, /memcheck_job_stage_seconds/);
    assert.equal((await request(srv, "GET", "/api/github/webhooks")).status, 404);
  } finally {
    await srv.close();
  }
});

test("/metrics still answers when a watched queue's Redis is unreachable (its depth is left out)", async () => {
  const down = createReviewQueue({ redisUrl: "redis://127.0.0.1:1", settings: { name: "downq", prefix: PREFIX } });
  down.redis.on("error", () => {});
  const metrics = createMetrics({ defaultMetrics: false, queueTimeoutMs: 300 });
  metrics.watchQueues(down.queue, queue.queue);
  const srv = await serve([metricsRoute(metrics)]);
  try {
    const r = await request(srv, "GET", "/metrics");
    assert.equal(r.status, 200);
    assert.doesNotMatch(r.body, /queue="downq"/);
    assert.match(r.body, /^memcheck_queue_jobs\{queue="opshttp",state="waiting"\} 0$/m);
  } finally {
    await srv.close();
    await down.close().catch(() => {});
  }
});
