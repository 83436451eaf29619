// The worker's job (runReview) against a nock'd GitHub, with a stand-in pipeline so these tests pin
// the GitHub I/O: superseded jobs, bad config, retries, batching, comment dedup, 422 fallback.
import { test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import nock from "nock";
import { Redis } from "ioredis";
import { QueueEvents } from "bullmq";
import type { Analysis, Diff, Snapshot } from "../src/analysis/model.ts";
import { runReview, type ReviewDeps } from "../src/github/review-job.ts";
import type { Pipeline } from "../src/github/pipeline.ts";
import { MemoryBlobCache } from "../src/github/snapshot.ts";
import { findingMarker, parseMarker } from "../src/report/review.ts";
import { createReviewQueue, createReviewWorker, type ReviewJobData } from "../src/queue/index.ts";
import { ReviewLimitError } from "../src/review/limits.ts";
import { makeProbot, mockRepo, deletePrefix, REDIS_URL, HEAD, HEAD2, API, reviewJob } from "./app-support.ts";

function analysis(): Analysis {
  return {
    schema: "memcheck.layout/v1",
    goos: "linux",
    archs: ["amd64"],
    structs: [],
    diagnostics: [],
    findings: [],
    stats: { files: 0, bytes: 0, parseMs: 0, layoutMs: 0 },
  };
}
const EMPTY_DIFF: Diff = { archs: ["amd64"], structs: [], regressions: [], unresolved: [], diagnostics: [], findings: [] };

function fakePipeline(over: Partial<Pipeline> = {}, seen: { base?: string[]; head?: string[] } = {}): Pipeline {
  return {
    async review(b: Snapshot, h: Snapshot) {
      seen.base = await b.paths();
      seen.head = await h.paths();
      return { base: analysis(), head: analysis(), diff: EMPTY_DIFF };
    },
    title: () => "No memory regressions",
    summary: (_d, o) => `summary; skipped ${o.skipped.length}`,
    conclusion: () => "success",
    annotations: () => [],
    reviewComments: () => [],
    parseMarker,
    diagram: () => "diagram",
    ...over,
  };
}

const job = (data: Partial<ReviewJobData> = {}) => reviewJob(data);

let deps: ReviewDeps;
beforeEach(() => {
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
  const probot = makeProbot();
  deps = { auth: (id) => probot.auth(id), botLogin: async () => "memcheck[bot]", pipeline: fakePipeline(), cache: new MemoryBlobCache() };
});
afterEach(() => nock.cleanAll());

test("a job whose head is no longer the PR head is skipped as superseded", async () => {
  const cap = mockRepo({ prHead: HEAD2 });
  const r = await runReview(job(), deps);
  assert.equal(r.status, "superseded");
  assert.equal(cap.checkUpdates.length, 1);
  assert.equal(cap.checkUpdates[0].conclusion, "skipped");
  assert.equal(cap.checkUpdates[0].output.title, "Superseded");
  assert.equal(cap.blobFetches.length, 0);
});

test("fetches touched packages plus same-module imports at base and head; tests are never fetched", async () => {
  const seen: { base?: string[]; head?: string[] } = {};
  deps.pipeline = fakePipeline({}, seen);
  const cap = mockRepo();
  const r = await runReview(job(), deps);
  assert.equal(r.status, "done");
  assert.deepEqual(seen.head, ["go.mod", "money/money.go", "order/coupon.go", "order/load.go", "order/order.go"]);
  assert.deepEqual(seen.base, ["go.mod", "money/money.go", "order/load.go", "order/order.go"]);
  // money.go, load.go and go.mod are identical at base and head: one fetch each thanks to the blob cache.
  assert.equal(cap.blobFetches.length, 6);
  assert.equal(new Set(cap.blobFetches).size, 6);
  // A fast review writes its result only: no in_progress right before completed.
  assert.deepEqual(
    cap.checkUpdates.map((u) => u.status),
    ["completed"],
  );
  assert.equal(cap.checkUpdates[0].conclusion, "success");
  assert.equal(cap.checkUpdates[0].output.summary, "summary; skipped 0");
  assert.equal(cap.reviews.length, 0);
});

test("a bad .github/memcheck.yml concludes the check run with an error naming the keys", async () => {
  const cap = mockRepo({ config: "archs: [amd64, sparc]\nthreshold:\n  paddingGrowth: 4\n" });
  const r = await runReview(job(), deps);
  assert.equal(r.status, "bad-config");
  const last = cap.checkUpdates.at(-1);
  assert.equal(last.conclusion, "failure");
  assert.equal(last.output.title, "Invalid .github/memcheck.yml");
  assert.match(last.output.summary, /`archs\.1`/);
  assert.match(last.output.summary, /unknown key `threshold`/);
  assert.equal(cap.blobFetches.length, 0);
});

test("a YAML syntax error is a clear check run too, not a crash", async () => {
  const cap = mockRepo({ config: "archs: [amd64\n  bad: : :\n" });
  const r = await runReview(job(), deps);
  assert.equal(r.status, "bad-config");
  assert.match(cap.checkUpdates.at(-1).output.summary, /memcheck\.yml/);
});

test("more than 50 annotations go out in batches of 50, the first with the conclusion", async () => {
  const anns = Array.from({ length: 120 }, (_, i) => ({
    path: "order/order.go",
    start_line: 10,
    end_line: 10,
    annotation_level: "warning" as const,
    message: `n${i}`,
  }));
  deps.pipeline = fakePipeline({ annotations: () => anns, conclusion: () => "failure" });
  const cap = mockRepo();
  await runReview(job(), deps);
  const outs = cap.checkUpdates;
  assert.deepEqual(
    outs.map((u) => u.output.annotations.length),
    [50, 50, 20],
  );
  assert.equal(outs[0].conclusion, "failure");
  assert.equal(outs[0].status, "completed");
  assert.deepEqual(
    outs.flatMap((u) => u.output.annotations.map((a: any) => a.message)),
    anns.map((a) => a.message),
  );
});

test("a synchronize run posts only new comments, deletes ours whose finding is gone, never touches others'", async () => {
  const mk = (id: string, line: number) => ({
    path: "order/order.go",
    line,
    side: "RIGHT" as const,
    body: `${findingMarker(id)}\n**memcheck:** ${id}`,
  });
  deps.pipeline = fakePipeline({ reviewComments: () => [mk("layout:a.Order", 10), mk("layout:a.Coupon", 4)] });
  const cap = mockRepo({
    reviewComments: [
      { id: 11, user: { login: "memcheck[bot]", type: "Bot" }, body: `${findingMarker("layout:a.Order")}\nold` },
      { id: 12, user: { login: "memcheck[bot]", type: "Bot" }, body: `${findingMarker("layout:a.Gone")}\nold` },
      { id: 13, user: { login: "alice", type: "User" }, body: `${findingMarker("layout:a.Gone")}\nquoted by a human` },
    ],
  });
  const r = await runReview(job(), deps);
  assert.equal(cap.reviews.length, 1);
  assert.deepEqual(
    cap.reviews[0].comments.map((c: any) => parseMarker(c.body)),
    ["layout:a.Coupon"],
  );
  assert.equal(cap.reviews[0].commit_id, HEAD);
  assert.equal(cap.reviews[0].event, "COMMENT");
  assert.deepEqual(cap.deletedComments, [12]);
  assert.deepEqual(r.comments, { created: 1, deleted: 1, kept: 1, fallback: false });
});

test("a 422 on the review falls back to annotations and the job still succeeds", async () => {
  deps.pipeline = fakePipeline({
    reviewComments: () => [{ path: "order/order.go", line: 99, side: "RIGHT", body: `${findingMarker("x")}\n**memcheck:** bad line` }],
  });
  const cap = mockRepo({ reviewStatus: 422 });
  const r = await runReview(job(), deps);
  assert.equal(r.status, "done");
  assert.equal(r.comments?.fallback, true);
  const fb = cap.checkUpdates.at(-1);
  assert.deepEqual(fb.output.annotations, [
    { path: "order/order.go", start_line: 99, end_line: 99, annotation_level: "warning", message: "**memcheck:** bad line" },
  ]);
});

test("/memcheck creates the sticky summary comment once and edits it afterwards", async () => {
  let cap = mockRepo();
  await runReview(
    job({ trigger: "command", headSha: "", baseSha: "", checkRunId: undefined, options: { commentId: 3001, sender: "alice" } }),
    deps,
  );
  assert.equal(cap.checkCreates.length, 1);
  assert.equal(cap.checkCreates[0].head_sha, HEAD);
  assert.equal(cap.issueComments.length, 1);
  assert.match(cap.issueComments[0].body, /^<!-- memcheck:sticky -->/);
  const body = cap.issueComments[0].body;
  nock.cleanAll();
  cap = mockRepo({ issueComments: [{ id: 700, user: { login: "memcheck[bot]", type: "Bot" }, body }] });
  await runReview(job({ trigger: "command", headSha: "", baseSha: "", checkRunId: undefined, options: { explain: "Order" } }), deps);
  assert.equal(cap.issueComments.length, 0);
  assert.equal(cap.issueCommentUpdates.length, 1);
  assert.match(cap.issueCommentUpdates[0].body, /memcheck explain `Order`/);
});

test("a rerequest for a fork PR (no PR number) finds the PR by head SHA", async () => {
  nock(API)
    .get("/repos/acme/shop/pulls")
    .query(true)
    .reply(200, [
      { number: 3, head: { sha: HEAD2 } },
      { number: 7, head: { sha: HEAD } },
    ]);
  const cap = mockRepo({ prHead: HEAD2 });
  const r = await runReview(job({ pull: null, trigger: "rerequested" }), deps);
  // PR 7 was found; its head moved on, so this job is superseded (and says so on its check run).
  assert.equal(r.status, "superseded");
  assert.equal(cap.checkUpdates[0].output.title, "Superseded");
});

test("a closed PR is a permanent failure (no retry)", async () => {
  mockRepo({ prState: "closed" });
  await assert.rejects(runReview(job(), deps), (e: any) => e.name === "UnrecoverableError");
});

// Real Redis + a real BullMQ worker.
const PREFIX = `mctest-app-worker-${process.pid}`;
let redis: Redis;
before(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
});
after(async () => {
  await deletePrefix(redis, PREFIX);
  redis.disconnect();
});

test("a 500 from GitHub is retried by the queue with backoff, then the job completes", async () => {
  const settings = { name: "retry", prefix: PREFIX, attempts: 3, backoffMs: 10, debounceMs: 0 };
  const q = createReviewQueue({ redisUrl: REDIS_URL, settings });
  const conns = [new Redis(REDIS_URL, { maxRetriesPerRequest: null }), new Redis(REDIS_URL, { maxRetriesPerRequest: null })];
  const events = new QueueEvents("retry", { connection: conns[0]!, prefix: PREFIX });
  await events.waitUntilReady();
  let calls = 0;
  nock(API)
    .get("/repos/acme/shop/pulls/7")
    .reply(() => (calls++, [500, { message: "Server Error" }]));
  mockRepo({ prHead: HEAD2 }); // after the 500: the PR moved on, so the job ends quickly as superseded
  const worker = createReviewWorker((j) => runReview(j, deps), { connection: conns[1]!, settings });
  try {
    const { id } = await q.enqueue({ ...job().data, deliveryId: "retry-1" });
    const jobObj = await q.queue.getJob(id);
    const result = await jobObj!.waitUntilFinished(events, 20000);
    assert.equal(result.status, "superseded");
    assert.equal(calls, 1);
    const done = await q.queue.getJob(id);
    assert.equal(done!.attemptsMade, 2);
  } finally {
    await worker.close();
    await events.close();
    await q.queue.obliterate({ force: true });
    await q.close();
    for (const c of conns) c.disconnect();
  }
});

test("real Redis: a push dropped by dedup while the older job waited is adopted by that job", async () => {
  const settings = { name: "adopt", prefix: PREFIX, debounceMs: 0 };
  const q = createReviewQueue({ redisUrl: REDIS_URL, settings });
  try {
    // No delay: A is already waiting, so BullMQ drops B (same PR) and returns A's id.
    const a = await q.enqueue({ ...job().data, deliveryId: "adopt-a", headSha: HEAD, checkRunId: 555, trigger: "rerequested" });
    const b = await q.enqueue({ ...job().data, deliveryId: "adopt-b", headSha: HEAD2, checkRunId: 556, trigger: "rerequested" });
    assert.equal(b.id, a.id);
    assert.equal(b.duplicate, true);
    const cap = mockRepo({ prHead: HEAD2, headSha: HEAD2 });
    const r = await runReview(
      { ...job(), id: a.id, data: (await q.queue.getJob(a.id))!.data },
      { ...deps, redis: q.redis, queue: q.queue, settings: { ...q.settings } },
    );
    assert.equal(r.status, "done");
    assert.equal(r.headSha, HEAD2);
    // A's check run is closed as superseded; B's check run carries the result.
    assert.equal(cap.checkUpdates[0].conclusion, "skipped");
    assert.equal(cap.checkUpdates.at(-1).conclusion, "success");
  } finally {
    await q.queue.obliterate({ force: true });
    await q.close();
  }
});

test("a failure after the check run is posted does not overwrite its result", async () => {
  deps.pipeline = fakePipeline({
    conclusion: () => "failure",
    reviewComments: () => [{ path: "order/order.go", line: 10, side: "RIGHT", body: `${findingMarker("y")}\nx` }],
  });
  const cap = mockRepo({ reviewStatus: 502 });
  await assert.rejects(runReview({ ...job(), attemptsMade: 2 }, deps), (e: any) => e.status === 502);
  assert.equal(cap.checkUpdates.at(-1).conclusion, "failure");
  assert.equal(cap.checkUpdates.filter((u) => u.conclusion === "neutral").length, 0);
});

test("the last failed attempt before any result closes the check run as neutral with the error", async () => {
  nock(API).get("/repos/acme/shop/pulls/7/files").query(true).reply(500, { message: "boom" });
  const cap = mockRepo();
  await assert.rejects(runReview({ ...job(), attemptsMade: 2 }, deps), (e: any) => e.status === 500);
  const last = cap.checkUpdates.at(-1);
  assert.equal(last.conclusion, "neutral");
  assert.equal(last.output.title, "memcheck could not finish");
});

test("a slow review marks the run in_progress once, before the result", async () => {
  deps.pipeline = fakePipeline({
    review: async () => (await new Promise((r) => setTimeout(r, 150)), { base: analysis(), head: analysis(), diff: EMPTY_DIFF }),
  });
  const cap = mockRepo();
  await runReview(job(), { ...deps, inProgressAfterMs: 20 });
  assert.deepEqual(
    cap.checkUpdates.map((u) => u.status),
    ["in_progress", "completed"],
  );
});

test("ReviewLimitError: the run is completed neutral with its title and summary, and the job does not retry", async () => {
  deps.pipeline = fakePipeline({
    review: async () => {
      throw new ReviewLimitError("memcheck could not finish", "This PR's Go code is too large to analyse within the limits: 5 MB > 1 MB.");
    },
  });
  const cap = mockRepo();
  const r = await runReview(job(), deps);
  assert.equal(r.status, "limit");
  const last = cap.checkUpdates.at(-1);
  assert.equal(last.status, "completed");
  assert.equal(last.conclusion, "neutral");
  assert.equal(last.output.title, "memcheck could not finish");
  assert.match(last.output.summary, /too large to analyse/);
});

test("a /memcheck job records its run id at creation (before any other write)", async () => {
  const cap = mockRepo();
  const saved: ReviewJobData[] = [];
  const j = {
    ...job({ trigger: "command", headSha: "", baseSha: "", checkRunId: undefined, options: { commentId: 1, sender: "alice" } }),
    updateData: async (d: ReviewJobData) => void saved.push(structuredClone(d)),
  };
  await runReview(j, deps);
  assert.equal(cap.checkCreates.length, 1);
  assert.equal(cap.checkCreates[0].status, "in_progress");
  assert.equal(saved[0]!.checkRunId, 556, "the first record is the run id");
  assert.notEqual(saved[0]!.publish?.resultPosted, true);
});

test("a retry after the result was posted never re-opens the run and sends only the annotations not yet posted", async () => {
  const anns = Array.from({ length: 120 }, (_, i) => ({
    path: "order/order.go",
    start_line: 10,
    end_line: 10,
    annotation_level: "warning" as const,
    message: `n${i}`,
  }));
  deps.pipeline = fakePipeline({ annotations: () => anns, conclusion: () => "failure" });
  const cap = mockRepo();
  await runReview({ ...job({ publish: { checkRunId: 555, resultPosted: true, annotationsPosted: 100 } }), attemptsMade: 1 }, deps);
  assert.equal(cap.checkUpdates.length, 1);
  assert.equal(cap.checkUpdates[0].status, undefined);
  assert.equal(cap.checkUpdates[0].conclusion, undefined);
  assert.deepEqual(
    cap.checkUpdates[0].output.annotations.map((a: any) => a.message),
    anns.slice(100).map((a) => a.message),
  );
});
