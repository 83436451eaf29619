import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import nock from "nock";
import { Redis } from "ioredis";
import { createApp, refusedMarker } from "../src/app.ts";
import { claimReplay, createReviewQueue, jobIdFor, type IntakeEvent, type ReviewJobData, type ReviewQueue } from "../src/queue/index.ts";
import { runIntake } from "../src/github/publish-intake.ts";
import { supersededOutput } from "../src/github/publish.ts";
import {
  makeProbot,
  startServer,
  sendWebhook,
  fixture,
  deletePrefix,
  REDIS_URL,
  API,
  HEAD,
  HEAD2,
  BASE,
  FakeQueue,
  eventAppPerTest,
} from "./app-support.ts";

const app = eventAppPerTest();

function token() {
  return nock(API).post("/app/installations/42/access_tokens").reply(200, { token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" });
}

/** Run the intake step of the first submitted event against nock, capturing the review jobs. */
async function intake(event?: IntakeEvent, o: { replaced?: ReviewJobData; recovering?: boolean } = {}) {
  const probot = makeProbot();
  const reviews: ReviewJobData[] = [];
  const ev = event ?? app.queue.events[0]!;
  const result = await runIntake(
    { data: ev, attemptsMade: 0 },
    {
      auth: async (id) => (await probot.auth(id)) as never,
      enqueueReview: async (d) => (
        reviews.push(d), { id: jobIdFor(d.deliveryId), duplicate: false, ...(o.replaced ? { replaced: o.replaced } : {}) }
      ),
      recovering: async () => o.recovering ?? false,
    },
  );
  return { result, reviews };
}

function openPr(o: { head?: string; draft?: boolean; state?: string } = {}) {
  return nock(API)
    .get("/repos/acme/shop/pulls/7")
    .reply(200, {
      number: 7,
      state: o.state ?? "open",
      draft: o.draft ?? false,
      head: { sha: o.head ?? HEAD, ref: "coupon", repo: { id: 5001 } },
      base: { sha: BASE, ref: "main", repo: { id: 5001 } },
    });
}

test("pull_request.opened: the handler makes no GitHub call and submits one intake event", async () => {
  // nock has no route at all: any GitHub call from the handler would fail the request (500).
  const r = await sendWebhook(app.server, "pull_request", fixture("pull_request.opened"), "d-open-1");
  assert.equal(r.status, 200);
  assert.equal(app.queue.events.length, 1);
  assert.deepEqual(
    { ...app.queue.events[0]!, at: 0 },
    {
      v: 1,
      trigger: "pull_request",
      action: "opened",
      installationId: 42,
      owner: "acme",
      repo: "shop",
      pull: 7,
      baseSha: BASE,
      headSha: HEAD,
      draft: false,
      deliveryId: "d-open-1",
      replayKey: `pr/42/acme/shop#7@${HEAD}/opened`,
      at: 0,
    },
  );
});

test("intake of a push: a queued check run, then the review job with its id", async () => {
  await sendWebhook(app.server, "pull_request", fixture("pull_request.opened"), "d-open-2");
  token();
  openPr();
  let checkBody: any;
  nock(API)
    .post("/repos/acme/shop/check-runs", (b) => ((checkBody = b), true))
    .reply(201, { id: 555 });
  const { result, reviews } = await intake();
  assert.equal(result.status, "enqueued");
  assert.deepEqual(checkBody, { name: "memcheck", head_sha: HEAD, status: "queued", external_id: "d-open-2" });
  assert.deepEqual(
    { ...reviews[0]!, at: 0 },
    {
      v: 1,
      installationId: 42,
      owner: "acme",
      repo: "shop",
      pull: 7,
      baseSha: BASE,
      headSha: HEAD,
      trigger: "pull_request",
      deliveryId: "d-open-2",
      checkRunId: 555,
      at: 0,
    },
  );
  assert.deepEqual(nock.pendingMocks(), []);
});

test("intake of a stale push (its head is no longer the PR's): no run, no review, nothing superseded", async () => {
  await sendWebhook(app.server, "pull_request", fixture("pull_request.opened"), "d-stale-1");
  token();
  openPr({ head: HEAD2 });
  const { result, reviews } = await intake();
  assert.equal(result.status, "stale");
  assert.equal(reviews.length, 0);
  assert.deepEqual(nock.pendingMocks(), []);
});

function runsOnHead(runs: { id: number; status: string; conclusion?: string | null; external_id?: string }[]) {
  return nock(API)
    .get(`/repos/acme/shop/commits/${HEAD}/check-runs`)
    .query(true)
    .reply(200, { total_count: runs.length, check_runs: runs.map((r) => ({ conclusion: null, ...r })) });
}

test("recovery after a data loss: a head already reviewed is not reviewed again", async () => {
  await sendWebhook(app.server, "pull_request", fixture("pull_request.opened"), "d-rec-1");
  token();
  openPr();
  runsOnHead([
    { id: 700, status: "completed", conclusion: "skipped", external_id: "older" }, // superseded: not a review
    { id: 701, status: "completed", conclusion: "failure", external_id: "d-rec-1" },
  ]);
  const { result, reviews } = await intake(undefined, { recovering: true });
  assert.deepEqual(result, { status: "reviewed", checkRunId: 701 });
  assert.equal(reviews.length, 0);
  assert.deepEqual(nock.pendingMocks(), []);
});

test("recovery after a data loss: an open run on the head (its job lost) is adopted, not doubled", async () => {
  await sendWebhook(app.server, "pull_request", fixture("pull_request.opened"), "d-rec-2");
  token();
  openPr();
  // Another delivery's queued run for this head: its job went with the data.
  runsOnHead([{ id: 702, status: "queued", external_id: "lost-delivery" }]);
  const { result, reviews } = await intake(undefined, { recovering: true, replaced: { ...data("lost-delivery", HEAD), checkRunId: 702 } });
  assert.equal(result.status, "enqueued");
  assert.equal(result.checkRunId, 702);
  assert.equal(reviews[0]?.checkRunId, 702);
  // No POST /check-runs (nock would refuse it) and the adopted run is not closed as superseded.
  assert.deepEqual(nock.pendingMocks(), []);
});

test("without a recovery window the intake makes no lookup: one POST for the queued run", async () => {
  await sendWebhook(app.server, "pull_request", fixture("pull_request.opened"), "d-rec-3");
  token();
  openPr();
  const lookup = runsOnHead([{ id: 703, status: "completed", conclusion: "success", external_id: "x" }]);
  nock(API).post("/repos/acme/shop/check-runs").reply(201, { id: 704 });
  const { result } = await intake(undefined, { recovering: false });
  assert.equal(result.checkRunId, 704);
  assert.equal(lookup.isDone(), false, "no check-runs lookup outside recovery");
  nock.cleanAll();
});

test("a bad signature is rejected and nothing is enqueued", async () => {
  const r = await sendWebhook(app.server, "pull_request", fixture("pull_request.opened"), "d-bad", { secret: "wrong" });
  assert.equal(r.status, 400);
  assert.equal(app.queue.events.length, 0);
});

test("a draft PR is skipped by the intake unless the config says drafts: true", async () => {
  assert.equal((await sendWebhook(app.server, "pull_request", fixture("pull_request.opened.draft"), "d-draft-1")).status, 200);
  assert.equal(app.queue.events[0]!.trigger === "pull_request" && app.queue.events[0]!.draft, true);
  token();
  openPr({ draft: true });
  nock(API)
    .get(/\/repos\/acme\/shop\/contents\/.*memcheck\.yml/)
    .reply(404, { message: "Not Found" })
    .get(/\/repos\/acme\/\.github\/contents\/.*memcheck\.yml/)
    .reply(404, { message: "Not Found" });
  let out = await intake();
  assert.equal(out.result.status, "draft");
  assert.equal(out.reviews.length, 0);
  assert.deepEqual(nock.pendingMocks(), []);

  token();
  openPr({ draft: true });
  nock(API)
    .get(/\/repos\/acme\/shop\/contents\/.*memcheck\.yml/)
    .reply(200, "drafts: true\n", { "content-type": "application/vnd.github.raw; charset=utf-8" })
    .post("/repos/acme/shop/check-runs")
    .reply(201, { id: 556 });
  out = await intake();
  assert.equal(out.reviews.length, 1);
  assert.deepEqual(nock.pendingMocks(), []);
});

test("a redelivered webhook (same X-GitHub-Delivery) submits once", async () => {
  assert.equal((await sendWebhook(app.server, "pull_request", fixture("pull_request.opened"), "d-same")).status, 200);
  assert.equal((await sendWebhook(app.server, "pull_request", fixture("pull_request.opened"), "d-same")).status, 200);
  assert.equal(app.queue.events.length, 1);
});

test("when enqueueing fails (Redis down) the webhook answers 5xx", async () => {
  app.queue.fail = true;
  const r = await sendWebhook(app.server, "pull_request", fixture("pull_request.opened"), "d-down");
  assert.ok(r.status >= 500, `status ${r.status}`);
});

test("/memcheck from a collaborator: no call in the handler; the intake reacts 👀, then a job with the parsed archs", async () => {
  const r = await sendWebhook(app.server, "issue_comment", fixture("issue_comment.created"), "d-cmd-1");
  assert.equal(r.status, 200);
  assert.equal(app.queue.events[0]!.trigger, "command");
  token();
  let reaction: any;
  nock(API)
    .get("/repos/acme/shop/collaborators/alice/permission")
    .reply(200, { permission: "write", role_name: "triage", user: { login: "alice" } })
    .post("/repos/acme/shop/issues/comments/3001/reactions", (b) => ((reaction = b), true))
    .reply(201, { id: 1, content: "eyes" });
  const { reviews } = await intake();
  assert.deepEqual(reaction, { content: "eyes" });
  assert.equal(reviews.length, 1);
  const j = reviews[0]!;
  assert.equal(j.trigger, "command");
  assert.equal(j.pull, 7);
  assert.equal(j.headSha, "");
  assert.deepEqual(j.options, { commentId: 3001, sender: "alice", archs: ["386", "arm64"] });
  assert.deepEqual(nock.pendingMocks(), []);
});

test("/memcheck from a stranger gets one polite reply and nothing else", async () => {
  const r = await sendWebhook(app.server, "issue_comment", fixture("issue_comment.created.stranger"), "d-str-1");
  assert.equal(r.status, 200);
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
  let out = await intake();
  assert.equal(out.result.status, "refused");
  assert.ok(reply.body.startsWith(refusedMarker("mallory")));
  assert.match(reply.body, /@mallory .*triage access/);
  assert.equal(out.reviews.length, 0);
  assert.deepEqual(nock.pendingMocks(), []);

  // Second time: our marker is already on the PR, so no second reply.
  await sendWebhook(app.server, "issue_comment", fixture("issue_comment.created.stranger"), "d-str-2");
  token();
  nock(API)
    .get("/repos/acme/shop/collaborators/mallory/permission")
    .reply(404, { message: "Not Found" })
    .get("/repos/acme/shop/issues/7/comments")
    .query(true)
    .reply(200, [{ id: 9, user: { login: "memcheck[bot]", type: "Bot" }, body: reply.body }]);
  out = await intake(app.queue.events[1]!);
  assert.equal(out.result.status, "refused");
  assert.equal(out.reviews.length, 0);
  assert.deepEqual(nock.pendingMocks(), []);
});

test("a bot's /memcheck comment is ignored without any API call or Redis write", async () => {
  const r = await sendWebhook(app.server, "issue_comment", fixture("issue_comment.created.bot"), "d-bot-1");
  assert.equal(r.status, 200);
  assert.equal(app.queue.events.length, 0);
});

test("/memcheck with an unknown argument replies with help and enqueues nothing", async () => {
  const p = fixture("issue_comment.created");
  p.comment.body = "/memcheck arch=sparc64 `rm -rf /`";
  await sendWebhook(app.server, "issue_comment", p, "d-help-1");
  token();
  let reply: any;
  nock(API)
    .get("/repos/acme/shop/collaborators/alice/permission")
    .reply(200, { permission: "admin", role_name: "admin" })
    .post("/repos/acme/shop/issues/comments/3001/reactions")
    .reply(201, {})
    .post("/repos/acme/shop/issues/7/comments", (b) => ((reply = b), true))
    .reply(201, { id: 10 });
  const { result, reviews } = await intake();
  assert.equal(result.status, "help");
  assert.match(reply.body, /unknown arch `sparc64`/);
  assert.match(reply.body, /memcheck commands/);
  assert.equal(reviews.length, 0);
});

test("check_suite.rerequested for a fork PR (no pull_requests) enqueues by head SHA", async () => {
  const r = await sendWebhook(app.server, "check_suite", fixture("check_suite.rerequested.fork"), "d-suite-1");
  assert.equal(r.status, 200);
  token();
  nock(API)
    .post("/repos/acme/shop/check-runs", (b) => b.head_sha === HEAD && b.status === "queued")
    .reply(201, { id: 77 });
  const { reviews } = await intake();
  assert.equal(reviews.length, 1);
  assert.equal(reviews[0]!.pull, null);
  assert.equal(reviews[0]!.headSha, HEAD);
  assert.equal(reviews[0]!.checkRunId, 77);
  assert.equal(reviews[0]!.trigger, "rerequested");
});

test("check_run.rerequested re-enqueues with the PR from the payload", async () => {
  await sendWebhook(app.server, "check_run", fixture("check_run.rerequested"), "d-run-1");
  token();
  nock(API).post("/repos/acme/shop/check-runs").reply(201, { id: 78 });
  const { reviews } = await intake();
  assert.equal(reviews[0]!.pull, 7);
  assert.equal(reviews[0]!.baseSha, BASE);
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
  return {
    v: 1,
    installationId: 42,
    owner: "acme",
    repo: "shop",
    pull: 7,
    baseSha: BASE,
    headSha: head,
    trigger: "pull_request",
    deliveryId: delivery,
    checkRunId: 1,
    at: Date.now(),
  };
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
  assert.deepEqual(
    jobs.map((j) => j.data.headSha),
    [HEAD2],
  );
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

test("real Redis: a burst of pushes closes the replaced job's queued check run, naming both commits", async () => {
  const q2 = createReviewQueue({ redisUrl: REDIS_URL, settings: { name: "burst", prefix: PREFIX, debounceMs: 60000 } });
  const probot = makeProbot();
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
  const deps = { auth: async (id: number) => (await probot.auth(id)) as never, enqueueReview: (d: ReviewJobData) => q2.enqueue(d) };
  const ev = (delivery: string, head: string, action: string): IntakeEvent => ({
    v: 1,
    trigger: "pull_request",
    action,
    installationId: 42,
    owner: "acme",
    repo: "shop",
    pull: 7,
    baseSha: BASE,
    headSha: head,
    draft: false,
    deliveryId: delivery,
    replayKey: `k-${delivery}`,
    at: Date.now(),
  });
  try {
    openPr({ head: HEAD });
    assert.equal((await runIntake({ data: ev("burst-1", HEAD, "opened"), attemptsMade: 0 }, deps)).status, "enqueued");
    openPr({ head: HEAD2 });
    assert.equal((await runIntake({ data: ev("burst-2", HEAD2, "synchronize"), attemptsMade: 0 }, deps)).status, "enqueued");
    assert.deepEqual(closed, { status: "completed", conclusion: "skipped", output: supersededOutput(HEAD, HEAD2) });
    assert.match(closed.output.summary, /for commit 2222222\. The pull request's head is now 3333333/);
    const jobs = await q2.queue.getJobs(["delayed", "waiting", "active"]);
    assert.deepEqual(
      jobs.map((j) => [j.data.headSha, j.data.checkRunId]),
      [[HEAD2, 602]],
    );
    assert.deepEqual(nock.pendingMocks(), []);
  } finally {
    await q2.queue.obliterate({ force: true });
    await q2.close();
  }
});

test("real Redis: a replayed payload (same content, new delivery id) is a duplicate; the original's retry is not", async () => {
  const s = { prefix: PREFIX, name: "replay", replayWindowMs: 60_000 };
  assert.equal(await claimReplay(redis, s, "pr/42/acme/shop#7@x/opened", "r-1"), true);
  assert.equal(await claimReplay(redis, s, "pr/42/acme/shop#7@x/opened", "r-1"), true, "a retry of the same delivery");
  assert.equal(await claimReplay(redis, s, "pr/42/acme/shop#7@x/opened", "r-2"), false, "the replay");
  assert.equal(await claimReplay(redis, s, "pr/42/acme/shop#7@x/synchronize", "r-3"), true, "another action");
});

test("the same signed body under a new delivery id: submitted twice, but the intake drops the replay", async () => {
  const body = fixture("pull_request.opened");
  await sendWebhook(app.server, "pull_request", body, "d-replay-1");
  await sendWebhook(app.server, "pull_request", body, "d-replay-2");
  assert.equal(app.queue.events.length, 2);
  assert.equal(app.queue.events[0]!.replayKey, app.queue.events[1]!.replayKey);
  const s = { prefix: PREFIX, name: "replay2", replayWindowMs: 60_000 };
  const probot = makeProbot();
  const claim = (k: string, d: string) => claimReplay(redis, s, k, d);
  token();
  openPr();
  nock(API).post("/repos/acme/shop/check-runs").reply(201, { id: 1 });
  const reviews: ReviewJobData[] = [];
  const deps = {
    auth: async (id: number) => (await probot.auth(id)) as never,
    claimReplay: claim,
    enqueueReview: async (d: ReviewJobData) => (reviews.push(d), { id: "x", duplicate: false }),
  };
  assert.equal((await runIntake({ data: app.queue.events[0]!, attemptsMade: 0 }, deps)).status, "enqueued");
  assert.equal((await runIntake({ data: app.queue.events[1]!, attemptsMade: 0 }, deps)).status, "replay");
  assert.equal(reviews.length, 1);
  assert.deepEqual(nock.pendingMocks(), []);
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
