import { test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import nock from "nock";
import { Redis } from "ioredis";
import { createApp, refusedMarker } from "../src/app.ts";
import { createReviewQueue, jobIdFor, type ReviewJobData, type ReviewQueue } from "../src/queue/index.ts";
import { makeProbot, startServer, sendWebhook, fixture, deletePrefix, REDIS_URL, API, HEAD, HEAD2, BASE, type TestServer, FakeQueue, eventAppPerTest } from "./app-support.ts";



const app = eventAppPerTest();

function token() {
  return nock(API).post("/app/installations/42/access_tokens").reply(200, { token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" });
}

test("pull_request.opened creates a queued check run, then enqueues", async () => {
  token();
  let checkBody: any;
  const scope = nock(API)
    .post("/repos/acme/shop/check-runs", (b) => ((checkBody = b), true))
    .reply(201, { id: 555 });
  const r = await sendWebhook(app.server, "pull_request", fixture("pull_request.opened"), "d-open-1");
  assert.equal(r.status, 200);
  assert.deepEqual(checkBody, { name: "memcheck", head_sha: HEAD, status: "queued", external_id: "d-open-1" });
  assert.equal(app.queue.jobs.length, 1);
  const j = app.queue.jobs[0]!;
  assert.deepEqual({ ...j, at: 0 }, {
    v: 1, installationId: 42, owner: "acme", repo: "shop", pull: 7, baseSha: BASE, headSha: HEAD,
    trigger: "pull_request", deliveryId: "d-open-1", checkRunId: 555, at: 0,
  });
  assert.ok(scope.isDone());
});

test("a bad signature is rejected and nothing is enqueued", async () => {
  const r = await sendWebhook(app.server, "pull_request", fixture("pull_request.opened"), "d-bad", { secret: "wrong" });
  assert.equal(r.status, 400);
  assert.equal(app.queue.jobs.length, 0);
});

test("a draft PR is skipped unless the config says drafts: true", async () => {
  token();
  nock(API)
    .get(/\/repos\/acme\/shop\/contents\/.*memcheck\.yml/)
    .reply(404, { message: "Not Found" })
    .get(/\/repos\/acme\/\.github\/contents\/.*memcheck\.yml/)
    .reply(404, { message: "Not Found" });
  let r = await sendWebhook(app.server, "pull_request", fixture("pull_request.opened.draft"), "d-draft-1");
  assert.equal(r.status, 200);
  assert.equal(app.queue.jobs.length, 0);
  assert.deepEqual(nock.pendingMocks(), []);

  nock(API)
    .get(/\/repos\/acme\/shop\/contents\/.*memcheck\.yml/)
    .reply(200, "drafts: true\n", { "content-type": "application/vnd.github.raw; charset=utf-8" })
    .post("/repos/acme/shop/check-runs")
    .reply(201, { id: 556 });
  r = await sendWebhook(app.server, "pull_request", fixture("pull_request.opened.draft"), "d-draft-2");
  assert.equal(r.status, 200);
  assert.equal(app.queue.jobs.length, 1);
  assert.deepEqual(nock.pendingMocks(), []);
});

test("a redelivered webhook (same X-GitHub-Delivery) creates no second check run or job", async () => {
  token();
  nock(API).post("/repos/acme/shop/check-runs").reply(201, { id: 1 });
  assert.equal((await sendWebhook(app.server, "pull_request", fixture("pull_request.opened"), "d-same")).status, 200);
  // No nock for a second check run: a second POST would fail the request with a 500.
  assert.equal((await sendWebhook(app.server, "pull_request", fixture("pull_request.opened"), "d-same")).status, 200);
  assert.equal(app.queue.jobs.length, 1);
});

test("when enqueueing fails (Redis down) the webhook answers 5xx", async () => {
  app.queue.fail = true;
  const r = await sendWebhook(app.server, "pull_request", fixture("pull_request.opened"), "d-down");
  assert.ok(r.status >= 500, `status ${r.status}`);
});

test("/memcheck from a collaborator: 👀 reaction, then a job with the parsed archs", async () => {
  token();
  let reaction: any;
  nock(API)
    .get("/repos/acme/shop/collaborators/alice/permission")
    .reply(200, { permission: "write", role_name: "triage", user: { login: "alice" } })
    .post("/repos/acme/shop/issues/comments/3001/reactions", (b) => ((reaction = b), true))
    .reply(201, { id: 1, content: "eyes" });
  const r = await sendWebhook(app.server, "issue_comment", fixture("issue_comment.created"), "d-cmd-1");
  assert.equal(r.status, 200);
  assert.deepEqual(reaction, { content: "eyes" });
  assert.equal(app.queue.jobs.length, 1);
  const j = app.queue.jobs[0]!;
  assert.equal(j.trigger, "command");
  assert.equal(j.pull, 7);
  assert.equal(j.headSha, "");
  assert.deepEqual(j.options, { commentId: 3001, sender: "alice", archs: ["386", "arm64"] });
  assert.deepEqual(nock.pendingMocks(), []);
});

test("/memcheck from a stranger gets one polite reply and nothing else", async () => {
  token();
  let reply: any;
  nock(API)
    .get("/repos/acme/shop/collaborators/mallory/permission")
    .reply(200, { permission: "read", role_name: "read", user: { login: "mallory" } })
    .get("/repos/acme/shop/issues/7/comments")
    .query(true)
    .reply(200, [{ id: 1, user: { login: "alice", type: "User" }, body: "hi" }])
    .post("/repos/acme/shop/issues/7/comments", (b) => ((reply = b), true))
    .reply(201, { id: 9 });
  const r = await sendWebhook(app.server, "issue_comment", fixture("issue_comment.created.stranger"), "d-str-1");
  assert.equal(r.status, 200);
  assert.ok(reply.body.startsWith(refusedMarker("mallory")));
  assert.match(reply.body, /@mallory .*triage access/);
  assert.equal(app.queue.jobs.length, 0);
  assert.deepEqual(nock.pendingMocks(), []);

  // Second time: our marker is already on the PR, so no second reply.
  nock(API)
    .get("/repos/acme/shop/collaborators/mallory/permission")
    .reply(404, { message: "Not Found" })
    .get("/repos/acme/shop/issues/7/comments")
    .query(true)
    .reply(200, [{ id: 9, user: { login: "memcheck[bot]", type: "Bot" }, body: reply.body }]);
  const r2 = await sendWebhook(app.server, "issue_comment", fixture("issue_comment.created.stranger"), "d-str-2");
  assert.equal(r2.status, 200);
  assert.equal(app.queue.jobs.length, 0);
  assert.deepEqual(nock.pendingMocks(), []);
});

test("a bot's /memcheck comment is ignored without any API call", async () => {
  const r = await sendWebhook(app.server, "issue_comment", fixture("issue_comment.created.bot"), "d-bot-1");
  assert.equal(r.status, 200);
  assert.equal(app.queue.jobs.length, 0);
});

test("/memcheck with an unknown argument replies with help and enqueues nothing", async () => {
  token();
  let reply: any;
  const p = fixture("issue_comment.created");
  p.comment.body = "/memcheck arch=sparc64 `rm -rf /`";
  nock(API)
    .get("/repos/acme/shop/collaborators/alice/permission")
    .reply(200, { permission: "admin", role_name: "admin" })
    .post("/repos/acme/shop/issues/comments/3001/reactions")
    .reply(201, {})
    .post("/repos/acme/shop/issues/7/comments", (b) => ((reply = b), true))
    .reply(201, { id: 10 });
  const r = await sendWebhook(app.server, "issue_comment", p, "d-help-1");
  assert.equal(r.status, 200);
  assert.match(reply.body, /unknown arch `sparc64`/);
  assert.match(reply.body, /memcheck commands/);
  assert.equal(app.queue.jobs.length, 0);
});

test("check_suite.rerequested for a fork PR (no pull_requests) enqueues by head SHA", async () => {
  token();
  nock(API).post("/repos/acme/shop/check-runs", (b) => b.head_sha === HEAD && b.status === "queued").reply(201, { id: 77 });
  const r = await sendWebhook(app.server, "check_suite", fixture("check_suite.rerequested.fork"), "d-suite-1");
  assert.equal(r.status, 200);
  assert.equal(app.queue.jobs.length, 1);
  assert.equal(app.queue.jobs[0]!.pull, null);
  assert.equal(app.queue.jobs[0]!.headSha, HEAD);
  assert.equal(app.queue.jobs[0]!.checkRunId, 77);
  assert.equal(app.queue.jobs[0]!.trigger, "rerequested");
});

test("check_run.rerequested re-enqueues with the PR from the payload", async () => {
  token();
  nock(API).post("/repos/acme/shop/check-runs").reply(201, { id: 78 });
  const r = await sendWebhook(app.server, "check_run", fixture("check_run.rerequested"), "d-run-1");
  assert.equal(r.status, 200);
  assert.equal(app.queue.jobs[0]!.pull, 7);
  assert.equal(app.queue.jobs[0]!.baseSha, BASE);
});

// Real Redis: the queue itself.
let redis: Redis;
let rq: ReviewQueue;
const PREFIX = `mctest-app-events-${process.pid}`;
before(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  rq = createReviewQueue({ redisUrl: REDIS_URL, settings: { name: "events", prefix: PREFIX, debounceMs: 60000 } });
});
after(async () => {
  await rq.close();
  await deletePrefix(redis, PREFIX);
  redis.disconnect();
});

function data(delivery: string, head: string): ReviewJobData {
  return { v: 1, installationId: 42, owner: "acme", repo: "shop", pull: 7, baseSha: BASE, headSha: head, trigger: "pull_request", deliveryId: delivery, checkRunId: 1, at: Date.now() };
}

test("real Redis: a redelivery adds no second job; a burst of pushes keeps only the newest head", async () => {
  const a = await rq.enqueue(data("7f3a2c10-aaaa-11ef-8000-000000000001", HEAD));
  const again = await rq.enqueue(data("7f3a2c10-aaaa-11ef-8000-000000000001", HEAD));
  assert.equal(a.id, "gh-7f3a2c10-aaaa-11ef-8000-000000000001");
  assert.equal(again.id, a.id);
  assert.equal(again.replaced, undefined);
  assert.equal(await rq.queue.getJobCountByTypes("delayed", "waiting", "active"), 1);
  assert.equal(await rq.hasDelivery("7f3a2c10-aaaa-11ef-8000-000000000001"), true);

  // A second push while the first still waits out its debounce delay replaces it.
  const b = await rq.enqueue(data("7f3a2c10-aaaa-11ef-8000-000000000002", HEAD2));
  assert.equal(b.id, "gh-7f3a2c10-aaaa-11ef-8000-000000000002");
  assert.equal(b.replaced?.deliveryId, "7f3a2c10-aaaa-11ef-8000-000000000001");
  const jobs = await rq.queue.getJobs(["delayed", "waiting", "active"]);
  assert.deepEqual(jobs.map((j) => j.data.headSha), [HEAD2]);
  const latest = JSON.parse((await redis.get(`${PREFIX}:events:memcheck-latest:acme/shop#7`))!);
  assert.equal(latest.headSha, HEAD2);
});

test("real queue with Redis unreachable: the webhook answers 5xx (GitHub marks the delivery failed)", async () => {
  const down = createReviewQueue({ redisUrl: "redis://127.0.0.1:1", settings: { name: "down", prefix: PREFIX } });
  down.redis.on("error", () => {});
  const srv = await startServer(createApp({ queue: down }), makeProbot());
  try {
    const r = await sendWebhook(srv, "pull_request", fixture("pull_request.opened"), "d-redis-down");
    assert.ok(r.status >= 500, `status ${r.status}`);
  } finally {
    await srv.close();
    await down.close().catch(() => {});
  }
});

test("real Redis: a burst of pushes closes the replaced job's queued check run as superseded", async () => {
  const q2 = createReviewQueue({ redisUrl: REDIS_URL, settings: { name: "burst", prefix: PREFIX, debounceMs: 60000 } });
  const srv = await startServer(createApp({ queue: q2 }), makeProbot());
  let closed: any;
  nock(API)
    .post("/app/installations/42/access_tokens")
    .reply(200, { token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" })
    .post("/repos/acme/shop/check-runs", (b) => b.head_sha === HEAD)
    .reply(201, { id: 601 })
    .post("/repos/acme/shop/check-runs", (b) => b.head_sha === HEAD2)
    .reply(201, { id: 602 })
    .patch("/repos/acme/shop/check-runs/601", (b) => ((closed = b), true))
    .reply(200, { id: 601 });
  try {
    assert.equal((await sendWebhook(srv, "pull_request", fixture("pull_request.opened"), "burst-1")).status, 200);
    assert.equal((await sendWebhook(srv, "pull_request", fixture("pull_request.synchronize"), "burst-2")).status, 200);
    assert.deepEqual(closed, { status: "completed", conclusion: "skipped", output: { title: "Superseded", summary: "A newer commit (3333333) is reviewed instead." } });
    const jobs = await q2.queue.getJobs(["delayed", "waiting", "active"]);
    assert.deepEqual(jobs.map((j) => [j.data.headSha, j.data.checkRunId]), [[HEAD2, 602]]);
    assert.deepEqual(nock.pendingMocks(), []);
  } finally {
    await srv.close();
    await q2.queue.obliterate({ force: true });
    await q2.close();
  }
});

test("createServer: extra routes (e.g. /healthz) run before the webhook middleware; others get 404", async () => {
  const { createServer } = await import("../src/main.ts");
  const srv = await createServer({
    probot: makeProbot(),
    queue: new FakeQueue() as any,
    extraRoutes: [(req, res) => (req.url === "/healthz" ? (res.writeHead(200).end("ok"), true) : false)],
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as any).port;
  const get = (path: string) =>
    new Promise<number>((resolve, reject) => {
      http.get({ host: "127.0.0.1", port, path }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on("error", reject);
    });
  try {
    assert.equal(await get("/healthz"), 200);
    assert.equal(await get("/nope"), 404);
  } finally {
    await new Promise<void>((r) => srv.close(() => r()));
  }
});
