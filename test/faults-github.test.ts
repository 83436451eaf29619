// Fault: GitHub failing under a real worker (real Redis, real BullMQ, the real engine), with the
// Octokit that production uses (Probot's defaults: request retries and throttling on). GitHub is a
// local fake on 127.0.0.1 reached through Probot's baseUrl. Already covered elsewhere and not
// repeated here: a 500 retried by the queue, a 422 review falling back to annotations
// (test/app-worker.test.ts).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { Probot } from "probot";
import { createReviewQueue, type QueueSettings, type ReviewJobData } from "../src/queue/index.ts";
import { defaultPipeline } from "../src/github/default-pipeline.ts";
import { createWorkerRuntime } from "../worker/runtime.ts";
import { parseMarker } from "../src/report/review.ts";
import { FakeGitHub } from "./support/fake-github.ts";
import { until, waitForJob } from "./support/processes.ts";
import { loadFixturePull, APP_ID, PRIVATE_KEY, SECRET, BASE, HEAD, INSTALLATION, EXPECTED_REVIEW } from "./support/pr-fixture.ts";
import { REDIS_URL, deletePrefix } from "./support/redis.ts";

const PREFIX = `mctest-faults-gh-${process.pid}`;
let redis: Redis;

before(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  process.env.MEMCHECK_BOT_LOGIN = "memcheck[bot]";
});
after(async () => {
  await deletePrefix(redis, PREFIX);
  redis.disconnect();
});

/** A queue, an in-process worker with a production-configured Probot, and the fake GitHub. */
async function harness(name: string, settings: Partial<QueueSettings> = {}) {
  const gh = await new FakeGitHub().start();
  const s = { name, prefix: PREFIX, debounceMs: 0, attempts: 3, backoffMs: 100, concurrency: 1, ...settings };
  const q = createReviewQueue({ redisUrl: REDIS_URL, settings: s });
  const probot = new Probot({ appId: APP_ID, privateKey: PRIVATE_KEY, secret: SECRET, baseUrl: gh.baseUrl, logLevel: "fatal" });
  await probot.ready(); // probot.log is null until then
  const rt = createWorkerRuntime({ probot, pipeline: defaultPipeline({ threads: 1 }), settings: s, redisUrl: REDIS_URL });
  const data = (delivery: string, o: Partial<ReviewJobData> = {}): ReviewJobData => ({
    v: 1, installationId: INSTALLATION, owner: "acme", repo: "shop", pull: 7, baseSha: BASE, headSha: HEAD,
    trigger: "pull_request", deliveryId: delivery, checkRunId: gh.createCheckRun("acme", "shop", o.headSha ?? HEAD), at: Date.now(), ...o,
  });
  return {
    gh, q, rt, data,
    async close() {
      await rt.close();
      await q.queue.obliterate({ force: true }).catch(() => {});
      await q.close();
      await gh.close();
    },
  };
}

test("502s are retried: a blob GET, and a review POST that GitHub stored before answering 502 (no second review)", async () => {
  const h = await harness("gh-502");
  try {
    loadFixturePull(h.gh);
    h.gh.fail((r) => r.method === "GET" && r.path.includes("/git/blobs/"), { status: 502, times: 1 });
    // A gateway error after the write: the review exists, the client only saw the 502.
    h.gh.fail((r) => r.method === "POST" && r.path.endsWith("/pulls/7/reviews"), { status: 502, times: 1, commit: true });
    const { id } = await h.q.enqueue(h.data("gh-502-1"));
    const state = await waitForJob(h.q.queue, id, 50_000);
    const job = await h.q.queue.getJob(id);
    assert.equal(state, "completed", job?.failedReason);
    assert.equal(job!.returnvalue.conclusion, "failure");
    assert.ok(h.gh.calls.some((c) => c.path.includes("/git/blobs/") && c.status === 502), "the blob 502 happened");
    assert.equal(h.gh.reviews.length, 1, `reviews posted: ${h.gh.reviews.length}`);
    const markers = h.gh.reviewCommentsOf("acme", "shop", 7).map((c) => parseMarker(c.body));
    assert.equal(markers.length, EXPECTED_REVIEW.comments.length);
    assert.equal(new Set(markers).size, markers.length);
    const run = h.gh.checkRunsFor(HEAD);
    assert.equal(run.length, 1);
    assert.equal(run[0]!.conclusion, "failure");
  } finally {
    await h.close();
  }
});

test("a 403 secondary rate limit: the queue waits at least retry-after before the next attempt", async () => {
  const h = await harness("gh-403");
  try {
    loadFixturePull(h.gh);
    h.gh.fail((r) => r.method === "GET" && r.path === "/repos/acme/shop/pulls/7", {
      status: 403,
      times: 1,
      headers: { "retry-after": "7" },
      body: { message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits" },
    });
    const { id } = await h.q.enqueue(h.data("gh-403-1"));
    // The first attempt fails and the job is parked in `delayed` with the delay the queue chose.
    const job = await until("the retry to be scheduled", async () => {
      const j = await h.q.queue.getJob(id);
      return j && j.attemptsMade === 1 && (await j.getState()) === "delayed" ? j : undefined;
    });
    assert.ok(job.delay >= 7000, `delay ${job.delay} ms < retry-after 7 s`);
    assert.ok(job.delay <= 15 * 60_000);
    assert.match(job.failedReason, /secondary rate limit/);
    // Don't wait the 7 s out: promote it, and the retry completes.
    await job.promote();
    assert.equal(await waitForJob(h.q.queue, id, 40_000), "completed");
    assert.equal((await h.q.queue.getJob(id))!.attemptsMade, 2);
    assert.equal(h.gh.reviews.length, 1);
  } finally {
    await h.close();
  }
});

test("404 (deleted branch) and a closed PR end the job at once: no retries, the check run says why", async () => {
  const h = await harness("gh-404", { attempts: 5 });
  try {
    // PR 7: its head commit is gone (branch deleted and force-pushed away): the tree is a 404.
    loadFixturePull(h.gh);
    h.gh.fail((r) => r.method === "GET" && r.path === `/repos/acme/shop/git/trees/${HEAD}`, { status: 404, times: 100, body: { message: "Not Found" } });
    // PR 8: closed before the review ran.
    loadFixturePull(h.gh, { pull: 8, state: "closed" });
    const gone = await h.q.enqueue(h.data("gh-404-1"));
    const closedCheck = h.gh.createCheckRun("acme", "shop", HEAD);
    const closed = await h.q.enqueue(h.data("gh-404-2", { pull: 8, checkRunId: closedCheck }));
    for (const { id } of [gone, closed]) {
      assert.equal(await waitForJob(h.q.queue, id, 40_000), "failed");
      const j = (await h.q.queue.getJob(id))!;
      assert.equal(j.attemptsMade, 1, `${id} was retried`);
    }
    const goneRun = h.gh.checkRuns.get((await h.q.queue.getJob(gone.id))!.data.checkRunId!)!;
    assert.equal(goneRun.status, "completed");
    assert.equal(goneRun.conclusion, "neutral");
    assert.equal(goneRun.output.title, "memcheck could not finish");
    assert.match(goneRun.output.summary, /Not Found/);
    const closedRun = h.gh.checkRuns.get(closedCheck)!;
    assert.equal(closedRun.conclusion, "skipped");
    assert.equal(closedRun.output.title, "Pull request is closed");
    assert.equal(h.gh.reviews.length, 0);
    // Exactly one GET of the missing tree: no retry at any layer.
    assert.equal(h.gh.callsTo(new RegExp(`/git/trees/${HEAD}$`)).length, 1);
  } finally {
    await h.close();
  }
});
