// A job can always finish: PRs within the configured limits that used to block the worker's event
// loop for minutes (a 20,000-type pointer chain, a 5 MB file under a large maxFileBytes) end with a
// result or a ReviewLimitError within the job's budgets, the event loop stays free meanwhile, and
// through the real worker such a PR ends with a completed check run that says what stopped it.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { Probot } from "probot";
import { AnalysisThreads } from "../src/analysis-thread.ts";
import { isReviewLimitError, ReviewLimitError } from "../src/review/limits.ts";
import type { Snapshot } from "../src/analysis/model.ts";
import type { Review } from "../src/pipeline.ts";
import { createReviewQueue, type ReviewJobData } from "../src/queue/index.ts";
import { defaultPipeline } from "../src/github/default-pipeline.ts";
import { createWorkerRuntime } from "../worker/runtime.ts";
import { FakeGitHub } from "./support/fake-github.ts";
import { CHAIN_MODULE, loadAddedFilesPull, pointerChain } from "./support/pathological.ts";
import { waitForJob } from "./support/processes.ts";
import { APP_ID, PRIVATE_KEY, SECRET, BASE, HEAD, INSTALLATION } from "./support/pr-fixture.ts";
import { REDIS_URL, deletePrefix } from "./support/redis.ts";

const MODULE = CHAIN_MODULE;

function memorySnapshot(label: string, files: Map<string, string>): Snapshot {
  return { label, paths: async () => [...files.keys()].sort(), read: async (p) => files.get(p)! };
}

const EMPTY_BASE = memorySnapshot("base", new Map([["go.mod", MODULE]]));

async function settle(p: Promise<Review>): Promise<Review | ReviewLimitError> {
  try {
    return await p;
  } catch (err) {
    if (isReviewLimitError(err)) return err;
    throw err;
  }
}

test("a 20,000-type pointer chain (778 KB, five files) ends within its budget, chains kept short", { timeout: 200_000 }, async () => {
  const threads = new AnalysisThreads({ budget: { seconds: 150, memoryMb: 1024 }, parseThreads: 2, parseTimeoutMs: 120_000 });
  try {
    const r = await settle(
      threads.review(EMPTY_BASE, memorySnapshot("head", pointerChain(20_000)), { archs: ["amd64", "arm64"], rules: true }),
    );
    if (r instanceof ReviewLimitError) {
      assert.match(r.summary, /too large to analyse within the limits/);
      return;
    }
    assert.equal(r.head.structs.length, 20_000);
    const t0 = r.head.structs.find((s) => s.name === "T0")!.layouts.amd64!;
    // T19999 holds no pointers: the GC marks it and stops, so the last hop the collector follows
    // is T19997 -> *T19998.
    assert.equal(t0.pointerDepth, 19_998, "the depth is exact: every hop the GC follows is counted");
    assert.ok(t0.pointerChain.length <= 34, `a reported chain is elided in the middle (${t0.pointerChain.length} labels)`);
    assert.equal(t0.pointerChain[0], "T0");
    assert.equal(t0.pointerChain.at(-1), "*T19998");
    assert.ok(t0.pointerChain.some((l) => /more hops/.test(l)));
  } finally {
    await threads.close();
  }
});

test("a 5 MB file under a large limits.maxFileBytes ends with a result or a ReviewLimitError", { timeout: 200_000 }, async () => {
  const threads = new AnalysisThreads({ budget: { seconds: 60, memoryMb: 1024 }, parseThreads: 2, parseTimeoutMs: 120_000 });
  try {
    const chain = pointerChain(130_000, 1);
    const text = chain.get("chain/f0.go")!;
    assert.ok(text.length > 5_000_000, `${text.length} bytes`);
    const r = await settle(
      threads.review(EMPTY_BASE, memorySnapshot("head", chain), { archs: ["amd64"], rules: true, maxFileBytes: 16 * 1024 * 1024 }),
    );
    if (r instanceof ReviewLimitError)
      assert.match(
        r.summary,
        /within the limits: (the analysis (needed more than|did not finish within)|the worker process reached its memory cap)/,
      );
    else assert.equal(r.head.structs.length, 130_000);
  } finally {
    await threads.close();
  }
});

test("a memory budget too small for the PR ends with a ReviewLimitError, not a crash", { timeout: 120_000 }, async () => {
  const threads = new AnalysisThreads({ budget: { seconds: 110, memoryMb: 24 }, parseThreads: 1 });
  try {
    const err = await threads.review(EMPTY_BASE, memorySnapshot("head", pointerChain(20_000)), { archs: ["amd64"] }).then(
      () => assert.fail("a 24 MB heap cannot hold this review"),
      (e: unknown) => e,
    );
    assert.ok(isReviewLimitError(err), String(err));
    assert.match(err.title, /could not finish/);
    assert.match(err.summary, /memory budget of 24 MB/);
    assert.match(err.summary, /MEMCHECK_JOB_MEMORY_MB/);
    // The threads recover: a small review right after succeeds on a fresh thread.
  } finally {
    await threads.close();
  }
  const fresh = new AnalysisThreads({ budget: { seconds: 110, memoryMb: 512 }, parseThreads: 1 });
  try {
    const ok = await fresh.review(EMPTY_BASE, memorySnapshot("head", pointerChain(10)), { archs: ["amd64"] });
    assert.equal(ok.head.structs.length, 10);
  } finally {
    await fresh.close();
  }
});

test("above the worker's RSS cap the newest review stops with a ReviewLimitError; the threads recover", { timeout: 120_000 }, async () => {
  // This process already holds more than 64 MB: any review that runs long enough to be checked stops.
  const capped = new AnalysisThreads({
    budget: { seconds: 110, memoryMb: 1024, workerMemoryMb: 64 },
    parseThreads: 1,
    growthToBlameMb: 16,
  });
  try {
    const err = await capped.review(EMPTY_BASE, memorySnapshot("head", pointerChain(20_000)), { archs: ["amd64"] }).then(
      () => assert.fail("the review ran above the process's memory cap"),
      (e: unknown) => e,
    );
    assert.ok(isReviewLimitError(err), String(err));
    assert.match(err.summary, /memory cap of 64 MB \(MEMCHECK_WORKER_MEMORY_MB\)/);
  } finally {
    await capped.close();
  }
  // A small review in a process already above the cap (memory it did not allocate) is not blamed.
  const above = new AnalysisThreads({ budget: { seconds: 110, memoryMb: 512, workerMemoryMb: 64 }, parseThreads: 1 });
  try {
    const small = await above.review(EMPTY_BASE, memorySnapshot("head", pointerChain(10)), { archs: ["amd64"] });
    assert.equal(small.head.structs.length, 10);
  } finally {
    await above.close();
  }
  const uncapped = new AnalysisThreads({ budget: { seconds: 110, memoryMb: 512, workerMemoryMb: 0 }, parseThreads: 1 });
  try {
    const ok = await uncapped.review(EMPTY_BASE, memorySnapshot("head", pointerChain(10)), { archs: ["amd64"] });
    assert.equal(ok.head.structs.length, 10);
  } finally {
    await uncapped.close();
  }
});

test("warm(): one analysis thread is booted and reviews before the first job, then serves it", { timeout: 60_000 }, async () => {
  const threads = new AnalysisThreads({ budget: { seconds: 50, memoryMb: 256 }, parseThreads: 1 });
  try {
    assert.equal(threads.idleThreads, 0);
    await threads.warm();
    assert.equal(threads.idleThreads, 1, "the warmed thread waits for the first review");
    const r = await threads.review(EMPTY_BASE, memorySnapshot("head", pointerChain(3)), { archs: ["amd64"] });
    assert.equal(r.head.structs.length, 3);
    assert.equal(threads.idleThreads, 1, "the first review ran on the warmed thread");
  } finally {
    await threads.close();
  }
});

test("the event loop keeps running while a heavy review runs, and the time budget stops it", { timeout: 120_000 }, async () => {
  const threads = new AnalysisThreads({ budget: { seconds: 3, memoryMb: 1024 }, parseThreads: 1, parseTimeoutMs: 120_000 });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 50);
  try {
    const err = await threads
      .review(EMPTY_BASE, memorySnapshot("head", pointerChain(130_000, 5)), { archs: ["amd64", "arm64", "386"], rules: true })
      .then(
        () => assert.fail("130,000 types in 3 s"),
        (e: unknown) => e,
      );
    assert.ok(isReviewLimitError(err), String(err));
    assert.match(err.summary, /did not finish within its time budget of 3 s/);
    // In-process, the layout of 130,000 types is one synchronous stretch: no tick could fire.
    assert.ok(ticks >= 20, `the timer fired ${ticks} times during a 3 s review`);
  } finally {
    clearInterval(timer);
    await threads.close();
  }
});

// ---- through the real worker: real Redis, real BullMQ, the fake GitHub over HTTP ----

const PREFIX = `mctest-budget-${process.pid}`;
let redis: Redis;
before(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  process.env.MEMCHECK_BOT_LOGIN = "memcheck[bot]";
});
after(async () => {
  await deletePrefix(redis, PREFIX);
  redis.disconnect();
});

test("through the worker, a pathological PR ends with a completed neutral check run that says what stopped it", {
  timeout: 120_000,
}, async () => {
  const gh = await new FakeGitHub().start();
  const s = { name: "budget-e2e", prefix: PREFIX, debounceMs: 0, attempts: 3, backoffMs: 100, concurrency: 1 };
  const q = createReviewQueue({ redisUrl: REDIS_URL, settings: s });
  const probot = new Probot({ appId: APP_ID, privateKey: PRIVATE_KEY, secret: SECRET, baseUrl: gh.baseUrl, logLevel: "fatal" });
  await probot.ready();
  const rt = createWorkerRuntime({
    probot,
    pipeline: defaultPipeline({ threads: 1, budget: { seconds: 1 } }),
    settings: s,
    redisUrl: REDIS_URL,
  });
  try {
    loadAddedFilesPull(gh, { owner: "acme", repo: "shop", number: 7, baseSha: BASE, headSha: HEAD, head: pointerChain(20_000) });
    const data: ReviewJobData = {
      v: 1,
      installationId: INSTALLATION,
      owner: "acme",
      repo: "shop",
      pull: 7,
      baseSha: BASE,
      headSha: HEAD,
      trigger: "pull_request",
      deliveryId: "budget-1",
      checkRunId: gh.createCheckRun("acme", "shop", HEAD),
      at: Date.now(),
    };
    const { id } = await q.enqueue(data);
    // A limit is final: the job ends (completed, with status "limit") after one attempt.
    assert.equal(await waitForJob(q.queue, id, 100_000), "completed");
    const job = await q.queue.getJob(id);
    assert.equal(job!.returnvalue?.status, "limit");
    assert.equal(job!.attemptsMade, 1, "one attempt only");
    const runs = gh.checkRunsFor(HEAD);
    assert.equal(runs.length, 1);
    assert.equal(runs[0]!.status, "completed");
    assert.equal(runs[0]!.conclusion, "neutral");
    assert.match(runs[0]!.output.title, /too large to analyse/);
    assert.match(
      runs[0]!.output.summary,
      /this PR's Go code is too large to analyse within the limits: the analysis did not finish within its time budget of 1 s/i,
    );
    assert.equal(gh.reviews.length, 0);
  } finally {
    await rt.close();
    await q.queue.obliterate({ force: true }).catch(() => {});
    await q.close();
    await gh.close();
  }
});
