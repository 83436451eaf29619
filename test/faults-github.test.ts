// Fault: GitHub failing under a real worker (real Redis, real BullMQ, the real engine), with the
// Octokit that production uses (Probot's defaults: request retries and throttling on). GitHub is a
// local fake on 127.0.0.1 reached through Probot's baseUrl. Already covered elsewhere and not
// repeated here: a 500 retried by the queue, a 422 review falling back to annotations
// (test/app-worker.test.ts).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { Probot } from "probot";
import { createReviewQueue, jobIdFor, type IntakeEvent, type QueueSettings, type ReviewJobData } from "../src/queue/index.ts";
import type { Pipeline } from "../src/github/pipeline.ts";
import { STICKY_MARKER } from "../src/report/markdown.ts";
import { defaultPipeline } from "../src/github/default-pipeline.ts";
import { createWorkerRuntime } from "../worker/runtime.ts";
import { parseMarker } from "../src/report/review.ts";
import { FakeGitHub, type Matcher, type ReqInfo } from "./support/fake-github.ts";
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
async function harness(name: string, settings: Partial<QueueSettings> = {}, pipeline: Pipeline = defaultPipeline({ threads: 1 })) {
  const gh = await new FakeGitHub().start();
  const s = { name, prefix: PREFIX, debounceMs: 0, attempts: 3, backoffMs: 100, concurrency: 1, ...settings };
  const q = createReviewQueue({ redisUrl: REDIS_URL, settings: s });
  const probot = new Probot({ appId: APP_ID, privateKey: PRIVATE_KEY, secret: SECRET, baseUrl: gh.baseUrl, logLevel: "fatal" });
  await probot.ready(); // probot.log is null until then
  const rt = createWorkerRuntime({ probot, pipeline, settings: s, redisUrl: REDIS_URL });
  const data = (delivery: string, o: Partial<ReviewJobData> = {}): ReviewJobData => ({
    v: 1,
    installationId: INSTALLATION,
    owner: "acme",
    repo: "shop",
    pull: 7,
    baseSha: BASE,
    headSha: HEAD,
    trigger: "pull_request",
    deliveryId: delivery,
    checkRunId: gh.createCheckRun("acme", "shop", o.headSha ?? HEAD),
    at: Date.now(),
    ...o,
  });
  return {
    gh,
    q,
    rt,
    data,
    async close() {
      await rt.close();
      await q.queue.obliterate({ force: true }).catch(() => {});
      await q.intake.obliterate({ force: true }).catch(() => {});
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
    assert.ok(
      h.gh.calls.some((c) => c.path.includes("/git/blobs/") && c.status === 502),
      "the blob 502 happened",
    );
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
      body: {
        message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        documentation_url: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
      },
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
    h.gh.fail((r) => r.method === "GET" && r.path === `/repos/acme/shop/git/trees/${HEAD}`, {
      status: 404,
      times: 100,
      body: { message: "Not Found" },
    });
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

// ---- One forced failure at each write of a job: GitHub stores the write, the answer is a 502 ----

const SYNTHETIC = 110; // + the fixture's own annotations: three batches of at most 50

/** The real pipeline, with extra annotations so the result needs several update calls. */
function manyAnnotations(seen: { expected?: unknown[] }) {
  const base = defaultPipeline({ threads: 1 });
  return {
    ...base,
    annotations(d: Parameters<typeof base.annotations>[0]) {
      const extra = Array.from({ length: SYNTHETIC }, (_, i) => ({
        path: "order/order.go",
        start_line: 10,
        end_line: 10,
        annotation_level: "notice" as const,
        message: `synthetic ${i}`,
      }));
      seen.expected = [...base.annotations(d), ...extra];
      return seen.expected as ReturnType<typeof base.annotations>;
    },
  };
}

function isAnnotationBatch(r: ReqInfo): boolean {
  return r.method === "PATCH" && /\/check-runs\/\d+$/.test(r.path) && !r.body?.conclusion && Array.isArray(r.body?.output?.annotations);
}

function nthBatch(k: number): Matcher {
  let seen = 0;
  return (r) => isAnnotationBatch(r) && ++seen === k;
}

const WRITES: { name: string; command?: boolean; match: () => Matcher }[] = [
  { name: "queued check run create (intake)", match: () => (r) => r.method === "POST" && r.path === "/repos/acme/shop/check-runs" },
  {
    name: "check run complete",
    match: () => (r) => r.method === "PATCH" && /\/check-runs\/\d+$/.test(r.path) && r.body?.conclusion === "failure",
  },
  { name: "annotation batch 2", match: () => nthBatch(1) },
  { name: "annotation batch 3", match: () => nthBatch(2) },
  { name: "review", match: () => (r) => r.method === "POST" && r.path.endsWith("/pulls/7/reviews") },
  { name: "command check run create", command: true, match: () => (r) => r.method === "POST" && r.path === "/repos/acme/shop/check-runs" },
  { name: "sticky comment", command: true, match: () => (r) => r.method === "POST" && r.path === "/repos/acme/shop/issues/7/comments" },
];

function intakeEvent(delivery: string, command: boolean): IntakeEvent {
  const common = {
    v: 1 as const,
    installationId: INSTALLATION,
    owner: "acme",
    repo: "shop",
    deliveryId: delivery,
    replayKey: `k-${delivery}`,
    at: Date.now(),
  };
  return command
    ? { ...common, trigger: "command", pull: 7, commentId: 3001, sender: "alice", line: "/memcheck" }
    : { ...common, trigger: "pull_request", action: "opened", pull: 7, baseSha: BASE, headSha: HEAD, draft: false };
}

for (const w of WRITES) {
  test(`a 502 after GitHub stored the ${w.name}: one completed run, one review, annotations once, nothing left open`, async () => {
    const seen: { expected?: unknown[] } = {};
    const h = await harness(`gh-w-${w.name.replace(/\W+/g, "-")}`, {}, manyAnnotations(seen));
    try {
      loadFixturePull(h.gh);
      h.gh.permissions.set("alice", "write");
      h.gh.fail(w.match(), { status: 502, times: 1, commit: true });
      const delivery = `w-${w.name.replace(/\W+/g, "-")}`;
      await h.q.submit(intakeEvent(delivery, !!w.command));
      await until("the review job", () => h.q.queue.getJob(jobIdFor(delivery)), 30_000);
      const state = await waitForJob(h.q.queue, jobIdFor(delivery), 60_000);
      const job = await h.q.queue.getJob(jobIdFor(delivery));
      assert.equal(state, "completed", job?.failedReason);
      assert.ok(
        h.gh.calls.some((c) => c.status === 502),
        "the fault happened",
      );
      const runs = h.gh.checkRunsFor(HEAD);
      assert.equal(runs.length, 1, `runs: ${JSON.stringify(runs.map((r) => [r.status, r.conclusion]))}`);
      assert.equal(runs[0]!.status, "completed");
      assert.equal(runs[0]!.conclusion, "failure");
      // Completed once and never re-opened.
      const statuses = runs[0]!.history.map((b) => b?.status).filter(Boolean);
      assert.ok(
        statuses.indexOf("completed") === statuses.length - 1 ||
          statuses.slice(statuses.indexOf("completed")).every((s) => s === "completed"),
        `statuses: ${statuses}`,
      );
      assert.equal(h.gh.reviews.length, 1);
      const posted = h.gh
        .annotationsOf(runs[0]!.id)
        .map((a) => JSON.stringify(a))
        .sort();
      assert.deepEqual(posted, seen.expected!.map((a) => JSON.stringify(a)).sort(), "every annotation exactly once");
      if (w.command) {
        const sticky = h.gh.issueCommentsOf("acme", "shop", 7).filter((c) => String(c.body).includes(STICKY_MARKER));
        assert.equal(sticky.length, 1);
      }
    } finally {
      await h.close();
    }
  });
}
