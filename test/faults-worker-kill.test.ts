// Fault: a review worker killed with SIGKILL in the middle of a job. Real Redis, real worker
// processes (`node --import tsx worker/index.ts`), the real engine; GitHub is a local fake reached
// through GHE_HOST / GHE_PROTOCOL=http. A second worker must finish the job within seconds (short
// MEMCHECK_LOCK_MS / MEMCHECK_STALLED_MS), and the PR must end with one concluded check run and
// one review without duplicate comments.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { createReviewQueue, jobIdFor, type ReviewJobData } from "../src/queue/index.ts";
import { parseMarker } from "../src/report/review.ts";
import { FakeGitHub } from "./support/fake-github.ts";
import { spawnWorker, waitForJob, type Child } from "./support/processes.ts";
import { loadFixturePull, workerEnv, EXPECTED_REVIEW, BASE, HEAD, INSTALLATION } from "./support/pr-fixture.ts";
import { REDIS_URL, deletePrefix } from "./support/redis.ts";

const PREFIX = `mctest-faults-kill-${process.pid}`;
let redis: Redis;
const children: Child[] = [];

before(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
});
after(async () => {
  for (const c of children) await c.kill("SIGKILL");
  await deletePrefix(redis, PREFIX);
  redis.disconnect();
});

function jobData(gh: FakeGitHub, delivery: string): ReviewJobData {
  return {
    v: 1,
    installationId: INSTALLATION,
    owner: "acme",
    repo: "shop",
    pull: 7,
    baseSha: BASE,
    headSha: HEAD,
    trigger: "pull_request",
    deliveryId: delivery,
    checkRunId: gh.createCheckRun("acme", "shop", HEAD),
    at: Date.now(),
  };
}

function assertOneReviewNoDuplicates(gh: FakeGitHub) {
  // One concluded check run on the head, with a single conclusion ever written.
  const runs = gh.checkRunsFor(HEAD);
  assert.equal(runs.length, 1, `check runs on head: ${JSON.stringify(runs.map((r) => r.history))}`);
  assert.equal(runs[0]!.status, "completed");
  assert.equal(runs[0]!.conclusion, "failure");
  assert.deepEqual([...new Set(runs[0]!.history.map((h) => h?.conclusion).filter(Boolean))], ["failure"]);
  // One review, and each finding commented once.
  assert.equal(gh.reviews.length, 1, `reviews: ${gh.reviews.length}`);
  const comments = gh.reviewCommentsOf("acme", "shop", 7);
  const markers = comments.map((c) => parseMarker(c.body));
  assert.equal(new Set(markers).size, markers.length, `duplicate comments: ${markers}`);
  assert.deepEqual(comments.map((c) => [c.path, c.line]), EXPECTED_REVIEW.comments.map((c: any) => [c.path, c.line]));
}

async function scenario(name: string, holdWhat: (gh: FakeGitHub) => ReturnType<FakeGitHub["hold"]>) {
  const gh = await new FakeGitHub().start();
  loadFixturePull(gh);
  const settings = { name, prefix: PREFIX, debounceMs: 0, attempts: 3 };
  const q = createReviewQueue({ redisUrl: REDIS_URL, settings });
  const env = workerEnv(gh, { redisUrl: REDIS_URL, queue: name, prefix: PREFIX, extra: { MEMCHECK_BOT_LOGIN: "memcheck[bot]" } });
  try {
    const held = holdWhat(gh);
    const first = spawnWorker(env);
    children.push(first);
    const { id } = await q.enqueue(jobData(gh, `${name}-1`));
    assert.equal(id, jobIdFor(`${name}-1`));
    // The job is provably mid-flight: the worker's request is being held by GitHub.
    await Promise.race([held.arrived, first.exited.then(() => assert.fail(`worker exited early:\n${first.output()}`))]);
    assert.equal(await q.queue.getJobState(id), "active");
    assert.equal(await first.kill("SIGKILL"), null);
    held.release();

    const second = spawnWorker(env);
    children.push(second);
    const state = await waitForJob(q.queue, id, 45_000).catch((e) => assert.fail(`${e.message}\nsecond worker:\n${second.output()}`));
    const job = await q.queue.getJob(id);
    assert.equal(state, "completed", `failed: ${job?.failedReason}\n${second.output()}`);
    assert.equal(job!.returnvalue.status, "done");
    assert.equal(job!.returnvalue.conclusion, "failure");
    await second.kill("SIGTERM");
    return gh;
  } finally {
    await q.queue.obliterate({ force: true }).catch(() => {});
    await q.close();
    await gh.close();
  }
}

test("SIGKILL while fetching blobs: a second worker finishes the job; one conclusion, one review", async () => {
  const gh = await scenario("kill-blob", (gh) => gh.hold((r) => r.method === "GET" && r.path.includes("/git/blobs/")));
  assertOneReviewNoDuplicates(gh);
});

test("SIGKILL after GitHub stored the review but before the worker saw the answer: no second review", async () => {
  const gh = await scenario("kill-review", (gh) => gh.hold((r) => r.method === "POST" && /\/pulls\/7\/reviews$/.test(r.path), { commit: true }));
  assertOneReviewNoDuplicates(gh);
});
