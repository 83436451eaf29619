// The missed-delivery sweeper against a nock'd GitHub (app-JWT calls) and real Redis: exactly the
// failed, recent deliveries are redelivered, once; paging stops at the lookback cutoff.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import nock from "nock";
import { Redis } from "ioredis";
import { sweepDeliveries, startSweeper, attemptedKey, SWEEP_SCHEDULER_ID } from "../src/ops/sweeper.ts";
import { createMetrics } from "../src/ops/metrics.ts";
import { recoveryKey } from "../src/queue/recovery.ts";
import { makeProbot, deletePrefix, REDIS_URL, API } from "./app-support.ts";

const PREFIX = `mctest-ops-sweeper-${process.pid}`;
const NOW = Date.parse("2026-11-27T12:00:00Z");
const ago = (min: number) => new Date(NOW - min * 60_000).toISOString().replace(".000Z", "Z");
let redis: Redis;

before(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
});
afterEach(() => nock.cleanAll());
after(async () => {
  await deletePrefix(redis, PREFIX);
  redis.disconnect();
});

const d = (id: number, guid: string, min: number, status_code: number, redelivery = false) => ({
  id,
  guid,
  delivered_at: ago(min),
  redelivery,
  duration: 0.1,
  status: status_code === 200 ? "OK" : status_code === 0 ? "timed out" : `Invalid HTTP Response: ${status_code}`,
  status_code,
  event: "pull_request",
  action: "opened",
  installation_id: 42,
  repository_id: 5001,
});

const PAGE1 = [
  d(11, "g-ok", 5, 200),
  d(12, "g-fail1", 10, 503),
  d(13, "g-fail2", 20, 0),
  d(14, "g-redone", 25, 200, true), // a later redelivery succeeded: nothing to do
  d(15, "g-redone", 30, 502),
  d(19, "g-twice", 33, 500, true), // failed twice: redeliver the newest attempt (19), once
  d(20, "g-twice", 34, 500),
];
const PAGE2 = [d(16, "g-fail3", 50, 500), d(17, "g-old", 90, 500), d(18, "g-older", 120, 500)];

function mockDeliveries(auth: { jwt?: string }) {
  nock(API)
    .get("/app/hook/deliveries")
    .query({ per_page: "100" })
    .matchHeader("authorization", (v) => ((auth.jwt = v), /^bearer ey/i.test(v)))
    .reply(200, PAGE1, { link: `<${API}/app/hook/deliveries?per_page=100&cursor=v1_20>; rel="next"` })
    .get("/app/hook/deliveries")
    .query({ per_page: "100", cursor: "v1_20" })
    .reply(200, PAGE2, { link: `<${API}/app/hook/deliveries?per_page=100&cursor=v1_18>; rel="next"` });
  // No third page: past the cutoff the sweeper stops paging (nock would refuse the request).
}

test("redelivers exactly the failed deliveries within the lookback, once; a second sweep redelivers none", async () => {
  const probot = makeProbot();
  const octokit = await probot.auth();
  const metrics = createMetrics({ defaultMetrics: false });
  const auth: { jwt?: string } = {};
  mockDeliveries(auth);
  const redelivered: number[] = [];
  nock(API)
    .post(/^\/app\/hook\/deliveries\/\d+\/attempts$/)
    .times(10)
    .reply((req: any) => (redelivered.push(Number(new URL(req.url).pathname.split("/")[4])), [202, {}]));

  const r1 = await sweepDeliveries({ octokit, redis, prefix: PREFIX, lookbackMinutes: 60, now: () => NOW, metrics });
  assert.deepEqual(r1.errors, []);
  assert.deepEqual(
    redelivered.sort((a, b) => a - b),
    [12, 13, 16, 19],
  );
  assert.deepEqual(r1.redelivered.sort(), ["g-fail1", "g-fail2", "g-fail3", "g-twice"]);
  assert.equal(r1.pages, 2);
  assert.equal(r1.scanned, 8);
  assert.match(auth.jwt!, /^bearer ey/i, "app-JWT authentication");
  assert.deepEqual(
    nock.pendingMocks().filter((m) => m.includes("deliveries?") || m.includes("deliveries ")),
    [],
  );
  assert.ok((await redis.ttl(attemptedKey(PREFIX, "g-fail1"))) > 3600, "attempted ids are remembered with a TTL");

  // Second sweep: the same failures are listed again, and none is redelivered.
  nock.cleanAll();
  mockDeliveries(auth);
  const r2 = await sweepDeliveries({ octokit, redis, prefix: PREFIX, lookbackMinutes: 60, now: () => NOW + 60_000, metrics });
  assert.deepEqual(r2.redelivered, []);
  assert.deepEqual(r2.skipped.sort(), ["g-fail1", "g-fail2", "g-fail3", "g-twice"]);
  assert.deepEqual(nock.pendingMocks(), []);
  assert.deepEqual(redelivered.length, 4);
  const text = await metrics.registry.metrics();
  assert.match(text, /^memcheck_sweeper_deliveries_total\{result="redelivered"\} 4$/m);
  assert.match(text, /^memcheck_sweeper_deliveries_total\{result="skipped"\} 4$/m);
});

test("after a data loss: acknowledged review deliveries of the window are redelivered once, others are not", async () => {
  const probot = makeProbot();
  const octokit = await probot.auth();
  const ev = (id: number, guid: string, min: number, event: string, action: string | null, code = 200) => ({
    ...d(id, guid, min, code),
    event,
    action,
  });
  const list = [
    ev(41, "r-sync", 2, "pull_request", "synchronize"),
    ev(42, "r-cmd", 3, "issue_comment", "created"),
    ev(43, "r-closed", 4, "pull_request", "closed"), // cannot start a review
    ev(44, "r-edited", 5, "issue_comment", "edited"),
    ev(45, "r-failed", 6, "pull_request", "opened", 503), // failed: redelivered as such
    ev(46, "r-before", 40, "pull_request", "opened"), // before the window
  ];
  const asked: number[] = [];
  const mock = () =>
    nock(API)
      .get("/app/hook/deliveries")
      .query({ per_page: "100" })
      .reply(200, list)
      .post(/^\/app\/hook\/deliveries\/\d+\/attempts$/)
      .times(10)
      .reply((req: any) => (asked.push(Number(new URL(req.url).pathname.split("/")[4])), [202, {}]));
  mock();
  const recover = { since: NOW - 30 * 60_000, until: NOW - 60_000 };
  const r = await sweepDeliveries({ octokit, redis, prefix: `${PREFIX}-rec`, lookbackMinutes: 60, now: () => NOW, recover });
  assert.deepEqual(r.recovered.sort(), ["r-cmd", "r-sync"], JSON.stringify(r));
  assert.deepEqual(r.redelivered, ["r-failed"]);
  assert.deepEqual(asked.sort(), [41, 42, 45]);
  // Every server sees the loss: a second recovery sweep redelivers nothing again.
  nock.cleanAll();
  mock();
  const again = await sweepDeliveries({ octokit, redis, prefix: `${PREFIX}-rec`, lookbackMinutes: 60, now: () => NOW, recover });
  assert.deepEqual(again.recovered, []);
  assert.deepEqual(again.redelivered, []);
  assert.equal(asked.length, 3);
  // Without a data loss, acknowledged deliveries are never redelivered.
  nock.cleanAll();
  mock();
  const normal = await sweepDeliveries({ octokit, redis, prefix: `${PREFIX}-rec2`, lookbackMinutes: 60, now: () => NOW });
  assert.deepEqual(normal.recovered, []);
  assert.deepEqual(normal.redelivered, ["r-failed"]);
});

test("a failed redelivery request is counted, not retried within the TTL, and does not stop the sweep", async () => {
  const probot = makeProbot();
  const octokit = await probot.auth();
  nock(API)
    .get("/app/hook/deliveries")
    .query({ per_page: "100" })
    .reply(200, [d(31, "g-e1", 1, 500), d(32, "g-e2", 2, 500), d(33, "g-e3", 300, 500)])
    .post("/app/hook/deliveries/31/attempts")
    .reply(422, { message: "Validation Failed" })
    .post("/app/hook/deliveries/32/attempts")
    .reply(202, {});
  const r = await sweepDeliveries({ octokit, redis, prefix: `${PREFIX}-e`, lookbackMinutes: 60, now: () => NOW });
  assert.deepEqual(r.errors, ["g-e1"]);
  assert.deepEqual(r.redelivered, ["g-e2"]);
  assert.equal(r.pages, 1);
  assert.deepEqual(nock.pendingMocks(), []);
});

test("startSweeper: one job scheduler on the shared Redis (idempotent across servers) that runs the sweep", async () => {
  const probot = makeProbot();
  const conn1 = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const conn2 = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  let listed = 0;
  nock(API)
    .get("/app/hook/deliveries")
    .query(true)
    .times(5)
    .reply(() => (listed++, [200, []]));
  const s1 = await startSweeper({
    appOctokit: () => probot.auth(),
    connection: conn1,
    prefix: PREFIX,
    queueName: "sweepq",
    settings: { intervalMs: 3_600_000, lookbackMinutes: 60, enabled: true },
  });
  const s2 = await startSweeper({
    appOctokit: () => probot.auth(),
    connection: conn2,
    prefix: PREFIX,
    queueName: "sweepq",
    settings: { intervalMs: 3_600_000, lookbackMinutes: 60, enabled: true },
  });
  try {
    const schedulers = await s1.queue.getJobSchedulers();
    assert.equal(schedulers.length, 1);
    assert.equal(schedulers[0].key, SWEEP_SCHEDULER_ID);
    assert.equal(Number(schedulers[0].every), 3_600_000);
    // The first run happens at once, and (no state in Redis: a first start looks like a data loss)
    // one recovery sweep; each runs on exactly one of the two workers.
    // (Read from the queue, not from events: a fast sweep may complete before a listener exists.)
    const done = new Map<string, unknown>();
    const deadline = Date.now() + 10_000;
    while (done.size < 2 && Date.now() < deadline) {
      for (const j of await s1.queue.getJobs(["completed"])) done.set(j.name, j.returnvalue);
      if (done.size < 2) await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual([...done.keys()].sort(), ["recover", "sweep"]);
    for (const name of ["sweep", "recover"])
      assert.deepEqual(done.get(name), { scanned: 0, failed: 0, redelivered: 0, recovered: 0, skipped: 0, errors: 0 }, name);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(listed, 2);
    assert.equal(await conn1.exists(recoveryKey({ prefix: PREFIX, name: "sweepq" })), 1, "the recovery window is marked");
  } finally {
    await s1.queue.obliterate({ force: true }).catch(() => {});
    await s1.close();
    await s2.close();
    conn1.disconnect();
    conn2.disconnect();
  }
});

test("startSweeper: a schedule lost from Redis (flush, empty failover) is recreated without a restart", async () => {
  const probot = makeProbot();
  const conn = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  nock(API).get("/app/hook/deliveries").query(true).times(10).reply(200, []);
  const warnings: string[] = [];
  const log = { info() {}, warn: (_o: object, msg?: string) => void warnings.push(msg ?? ""), error() {} };
  const s = await startSweeper({
    appOctokit: () => probot.auth(),
    connection: conn,
    prefix: PREFIX,
    queueName: "healq",
    settings: { intervalMs: 3_600_000, lookbackMinutes: 60, enabled: true },
    checkEveryMs: 200,
    log,
  });
  try {
    assert.ok(await s.queue.getJobScheduler(SWEEP_SCHEDULER_ID));
    // What an empty Redis looks like to the sweeper: its schedule is simply gone. Before, it stayed
    // gone until the server restarted, and failed deliveries were never redelivered.
    await s.queue.removeJobScheduler(SWEEP_SCHEDULER_ID);
    assert.equal(await s.queue.getJobScheduler(SWEEP_SCHEDULER_ID), undefined);
    const deadline = Date.now() + 10_000;
    while (!(await s.queue.getJobScheduler(SWEEP_SCHEDULER_ID)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const back = await s.queue.getJobScheduler(SWEEP_SCHEDULER_ID);
    assert.ok(back, "the schedule was recreated");
    assert.equal(Number(back.every), 3_600_000);
    assert.ok(
      warnings.some((w) => /schedule was missing/.test(w)),
      `warnings: ${warnings}`,
    );
    // ... and the loss starts a recovery: the window is marked for the intake.
    assert.ok(
      warnings.some((w) => /Redis lost its data: redelivering/.test(w)),
      `warnings: ${warnings}`,
    );
    assert.equal(await conn.exists(recoveryKey({ prefix: PREFIX, name: "healq" })), 1);
  } finally {
    await s.queue.obliterate({ force: true }).catch(() => {});
    await s.close();
    conn.disconnect();
  }
});
