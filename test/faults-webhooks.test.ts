// Fault: duplicate and reordered webhooks, end to end. Signed deliveries over real HTTP to the
// server of src/main.ts, real Redis and BullMQ, an in-process worker with the real engine; GitHub is
// a local fake on 127.0.0.1 (Probot's baseUrl). Invariants: one job per delivery, every check run
// the app created ends completed, and a PR's review runs once, on its newest head.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import type http from "node:http";
import { Redis } from "ioredis";
import { Probot, createProbot } from "probot";
import { createServer } from "../src/main.ts";
import { createReviewQueue, jobIdFor, type QueueSettings } from "../src/queue/index.ts";
import { defaultPipeline } from "../src/github/default-pipeline.ts";
import { createWorkerRuntime, type WorkerRuntime } from "../worker/runtime.ts";
import { parseMarker } from "../src/report/review.ts";
import { FakeGitHub } from "./support/fake-github.ts";
import { until } from "./support/processes.ts";
import {
  loadFixturePull,
  postWebhook,
  prPayload,
  readTree,
  APP_ID,
  PRIVATE_KEY,
  SECRET,
  HEAD,
  HEAD2,
  PR_MODULE,
} from "./support/pr-fixture.ts";
import { jobIdFor as jobId } from "../src/queue/index.ts";
import { REDIS_URL, deletePrefix } from "./support/redis.ts";

const PREFIX = `mctest-faults-wh-${process.pid}`;
let redis: Redis;

before(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  process.env.MEMCHECK_BOT_LOGIN = "memcheck[bot]";
});
after(async () => {
  await deletePrefix(redis, PREFIX);
  redis.disconnect();
});

async function harness(name: string, settings: Partial<QueueSettings>) {
  const gh = await new FakeGitHub().start();
  const s = { name, prefix: PREFIX, debounceMs: 0, attempts: 3, backoffMs: 100, concurrency: 1, ...settings };
  const q = createReviewQueue({ redisUrl: REDIS_URL, settings: s });
  const probot = new Probot({ appId: APP_ID, privateKey: PRIVATE_KEY, secret: SECRET, baseUrl: gh.baseUrl, logLevel: "fatal" });
  const server: http.Server = await createServer({ probot, queue: q });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let rt: WorkerRuntime | undefined;
  return {
    gh,
    q,
    url,
    startWorker() {
      rt = createWorkerRuntime({ probot, pipeline: defaultPipeline({ threads: 1 }), settings: s, redisUrl: REDIS_URL });
    },
    /** Wait until nothing is waiting, delayed or running. */
    async drained(timeoutMs = 40_000) {
      const busy = async () =>
        (await q.intake.getJobCountByTypes("wait", "delayed", "active", "prioritized")) +
        (await q.queue.getJobCountByTypes("wait", "delayed", "active", "prioritized", "waiting-children"));
      await until("the queues to drain", async () => (await busy()) === 0, timeoutMs, 200);
    },
    async close() {
      await rt?.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await q.queue.obliterate({ force: true }).catch(() => {});
      await q.intake.obliterate({ force: true }).catch(() => {});
      await q.close();
      await gh.close();
    },
  };
}

test("the same delivery twice (in sequence and at the same moment) makes one job and no orphan check run", async () => {
  const h = await harness("wh-dup", { debounceMs: 500 });
  try {
    loadFixturePull(h.gh);
    const opened = prPayload({ action: "opened", pull: 7, head: HEAD });
    const a = await postWebhook(h.url, "pull_request", opened, "dup-seq");
    const b = await postWebhook(h.url, "pull_request", opened, "dup-seq");
    assert.deepEqual([a.status, b.status], [200, 200]);
    // A redelivery racing the original (GitHub retries when the first answer was slow).
    loadFixturePull(h.gh, { pull: 9 });
    const opened9 = prPayload({ action: "opened", pull: 9, head: HEAD });
    const both = await Promise.all([
      postWebhook(h.url, "pull_request", opened9, "dup-par"),
      postWebhook(h.url, "pull_request", opened9, "dup-par"),
    ]);
    assert.deepEqual(
      both.map((r) => r.status),
      [200, 200],
    );
    const jobs = await h.q.intake.getJobs(["wait", "delayed", "active", "completed", "failed"]);
    assert.deepEqual(jobs.map((j) => j.id).sort(), [jobIdFor("dup-par"), jobIdFor("dup-seq")]);
    assert.equal(h.gh.calls.length, 0, "the server made no GitHub call");

    h.startWorker();
    await h.drained();
    for (const id of [jobIdFor("dup-seq"), jobIdFor("dup-par")]) {
      const j = (await h.q.queue.getJob(id))!;
      assert.equal(await j.getState(), "completed", j.failedReason);
    }
    // Every check run the app created is completed: none is left "queued" forever (which would
    // block a branch protection rule that requires memcheck).
    const runs = [...h.gh.checkRuns.values()];
    assert.deepEqual(
      runs.filter((r) => r.status !== "completed").map((r) => [r.id, r.external_id, r.status]),
      [],
    );
    // One review per PR.
    assert.deepEqual(h.gh.reviews.map((r) => r.pull).sort(), [7, 9]);
    for (const pull of [7, 9]) {
      const markers = h.gh.reviewCommentsOf("acme", "shop", pull).map((c) => parseMarker(c.body));
      assert.equal(new Set(markers).size, markers.length);
    }
  } finally {
    await h.close();
  }
});

test("synchronize webhooks out of order (newer head first): one run, on the newest head", async () => {
  const h = await harness("wh-order", { debounceMs: 1500 });
  try {
    // The PR was pushed twice: HEAD, then HEAD2 (its head now). Both trees exist.
    loadFixturePull(h.gh, { head: HEAD2 });
    h.gh.addTree("acme", "shop", HEAD, readTree(`${PR_MODULE}/after`));
    const newer = prPayload({ action: "synchronize", pull: 7, head: HEAD2, before: HEAD, updatedAt: "2026-11-26T10:00:05Z" });
    const older = prPayload({ action: "synchronize", pull: 7, head: HEAD, updatedAt: "2026-11-26T10:00:01Z" });
    assert.equal((await postWebhook(h.url, "pull_request", newer, "order-new")).status, 200);
    assert.equal((await postWebhook(h.url, "pull_request", older, "order-old")).status, 200);
    h.startWorker();
    await h.drained();

    // One review, on HEAD2.
    assert.deepEqual(
      h.gh.reviews.map((r) => r.body.commit_id),
      [HEAD2],
    );
    // HEAD2's result is on a completed check run with the real conclusion; no check run is left open.
    const runs = [...h.gh.checkRuns.values()];
    assert.deepEqual(
      runs.filter((r) => r.status !== "completed").map((r) => r.id),
      [],
    );
    const onNewest = h.gh.checkRunsFor(HEAD2).filter((r) => r.conclusion !== "skipped");
    assert.equal(onNewest.length, 1, JSON.stringify(h.gh.checkRunsFor(HEAD2).map((r) => r.history)));
    assert.equal(onNewest[0]!.conclusion, "failure");
    // The older head's check run, if any, is closed as superseded, not reviewed.
    for (const r of h.gh.checkRunsFor(HEAD)) assert.equal(r.conclusion, "skipped");
    // No analysis ran on the older head: every blob fetched for the run came from BASE or HEAD2
    // (they are the same files here), and exactly one review-posting run happened.
    const done = (await h.q.queue.getJobs(["completed"])).map((j) => j.returnvalue);
    assert.equal(done.filter((r) => r?.status === "done").length, 1, JSON.stringify(done));
    assert.equal(done.find((r) => r?.status === "done").headSha, HEAD2);
  } finally {
    await h.close();
  }
});

test("a burst across installations is accepted without any GitHub call: 200s, every delivery in Redis", async () => {
  // Probot as `npm start` builds it (throttling on). The handler's only write is to Redis: before,
  // each made a GitHub write (the queued check run) that Octokit spaced about 1 s apart per
  // installation, and bursts were answered 202 after 9 s with the work still running.
  const gh = await new FakeGitHub({ latencyMs: 50 }).start();
  const name = "wh-inst";
  const q = createReviewQueue({ redisUrl: REDIS_URL, settings: { name, prefix: PREFIX, debounceMs: 600_000 } });
  const probot = createProbot({ env: { APP_ID: String(APP_ID), PRIVATE_KEY, WEBHOOK_SECRET: SECRET, ...gh.env(), LOG_LEVEL: "fatal" } });
  const server: http.Server = await createServer({ probot, queue: q });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const n = 40;
    const answers = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        postWebhook(
          url,
          "pull_request",
          prPayload({
            action: i % 2 ? "synchronize" : "opened",
            pull: 100 + (i % 20),
            head: i % 2 ? HEAD2 : HEAD,
            installation: i < 20 ? 42 : 3000 + i,
          }),
          `inst-${i}`,
        ),
      ),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      Array(n).fill(200),
    );
    // Answered 200 means accepted: every delivery is a job in Redis, and GitHub was not called.
    for (let i = 0; i < n; i++) assert.ok(await q.intake.getJob(jobId(`inst-${i}`)), `job inst-${i}`);
    assert.deepEqual(gh.calls, []);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await q.intake.obliterate({ force: true }).catch(() => {});
    await q.queue.obliterate({ force: true }).catch(() => {});
    await q.close();
    await gh.close();
  }
});

test("a stale synchronize after the newest head was reviewed: no re-review, no new run, newest run untouched", async () => {
  const h = await harness("wh-late", { debounceMs: 0 });
  try {
    loadFixturePull(h.gh, { head: HEAD2 });
    h.gh.addTree("acme", "shop", HEAD, readTree(`${PR_MODULE}/after`));
    h.startWorker();
    assert.equal(
      (await postWebhook(h.url, "pull_request", prPayload({ action: "synchronize", pull: 7, head: HEAD2, before: HEAD }), "late-new"))
        .status,
      200,
    );
    await h.drained();
    assert.equal(h.gh.reviews.length, 1);
    const newest = h.gh.checkRunsFor(HEAD2);
    assert.equal(newest.length, 1);
    const historyBefore = newest[0]!.history.length;
    assert.equal(
      (await postWebhook(h.url, "pull_request", prPayload({ action: "synchronize", pull: 7, head: HEAD }), "late-old")).status,
      200,
    );
    await h.drained();
    assert.equal(h.gh.reviews.length, 1, "no second review");
    assert.equal(h.gh.checkRunsFor(HEAD).length, 0, "no run for the stale head");
    assert.equal(h.gh.checkRunsFor(HEAD2).length, 1);
    assert.equal(h.gh.checkRunsFor(HEAD2)[0]!.history.length, historyBefore, "the newest run was not touched");
    assert.equal(h.gh.checkRunsFor(HEAD2)[0]!.conclusion, "failure");
  } finally {
    await h.close();
  }
});

test("a replayed payload (same body, new delivery id): one run, one review", async () => {
  const h = await harness("wh-replay", { debounceMs: 0 });
  try {
    loadFixturePull(h.gh);
    h.startWorker();
    const body = prPayload({ action: "opened", pull: 7, head: HEAD });
    assert.equal((await postWebhook(h.url, "pull_request", body, "replay-1")).status, 200);
    await h.drained();
    assert.equal((await postWebhook(h.url, "pull_request", body, "replay-2")).status, 200);
    await h.drained();
    assert.equal(h.gh.checkRunsFor(HEAD).length, 1);
    assert.equal(h.gh.reviews.length, 1);
    assert.equal((await h.q.intake.getJob(jobId("replay-2")))!.returnvalue.status, "replay");
  } finally {
    await h.close();
  }
});
