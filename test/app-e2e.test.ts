// End to end: a signed pull_request.opened webhook over real HTTP -> Probot's node middleware ->
// the BullMQ queue in real Redis -> a real BullMQ worker running the real engine and reporters ->
// the check run and the review, asserted exactly (nock stands in for api.github.com only).
import { test } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { readFileSync, writeFileSync } from "node:fs";
import nock from "nock";
import { Redis } from "ioredis";
import { QueueEvents } from "bullmq";
import { createServer } from "../src/main.ts";
import { createReviewQueue, jobIdFor } from "../src/queue/index.ts";
import { defaultPipeline } from "../src/github/default-pipeline.ts";
import { createWorkerRuntime } from "../worker/runtime.ts";
import { until } from "./support/processes.ts";
import { makeProbot, mockRepo, sendWebhook, fixture, redisForFile, REDIS_URL, API, HEAD, HEAD2, type TestServer } from "./app-support.ts";

// Golden payloads; regenerate with MEMCHECK_UPDATE_GOLDEN=1 after a deliberate report change.
const GOLDEN_CHECK = new URL("./fixtures/pr-module/expected-check-run.json", import.meta.url);
const GOLDEN_REVIEW = new URL("./fixtures/pr-module/expected-review.json", import.meta.url);
const PREFIX = `mctest-app-e2e-${process.pid}`;
const settings = { name: "e2e", prefix: PREFIX, debounceMs: 0, attempts: 1, concurrency: 1 };
redisForFile(PREFIX, { nock: true });

/** The whole app as `npm start` runs it: HTTP server, real queue, in-process worker, queue events. */
async function startStack() {
  const probot = makeProbot();
  const queue = createReviewQueue({ redisUrl: REDIS_URL, settings });
  const http = await createServer({ probot, queue });
  await new Promise<void>((r) => http.listen(0, "127.0.0.1", r));
  const server: TestServer = { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, close: async () => void http.close() };
  const rt = createWorkerRuntime({ probot, pipeline: defaultPipeline({ threads: 1 }), settings, redisUrl: REDIS_URL });
  const eventsConn = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const events = new QueueEvents("e2e", { connection: eventsConn, prefix: PREFIX });
  await events.waitUntilReady();
  nock(API).get("/app").reply(200, { id: 123, slug: "memcheck", name: "memcheck" });
  const stop = async () => {
    await rt.close();
    await events.close();
    eventsConn.disconnect();
    await server.close();
    await queue.queue.obliterate({ force: true });
    await queue.close();
  };
  return { server, events, queue, stop };
}

test("pull_request.opened -> queue -> worker -> check run and review with a suggestion", async () => {
  const { server, events, queue, stop } = await startStack();
  const cap = mockRepo();
  try {
    const delivery = "0b9e1c70-ac3f-11ef-9a1e-5d6c2a1b0001";
    const r = await sendWebhook(server, "pull_request", fixture("pull_request.opened"), delivery);
    assert.equal(r.status, 200);
    // The intake job (queued check run) adds the review job under the same id.
    const job = await until("the review job", () => queue.queue.getJob(jobIdFor(delivery)));
    const result = await job.waitUntilFinished(events, 60000);
    assert.equal(result.status, "done");

    // The intake created the check run, queued, at once.
    assert.deepEqual(cap.checkCreates, [{ name: "memcheck", head_sha: HEAD, status: "queued", external_id: delivery }]);
    // Then the result (before the review); in_progress only if the review took long (a cold engine may).
    assert.ok(cap.checkUpdates.filter((u) => u.status === "in_progress").length <= 1);
    const done = cap.checkUpdates.find((u) => u.status === "completed");
    const { completed_at, ...rest } = done;
    assert.match(completed_at, /^\d{4}-\d\d-\d\dT/);
    if (process.env.MEMCHECK_UPDATE_GOLDEN) {
      writeFileSync(GOLDEN_CHECK, JSON.stringify(rest, null, 2) + "\n");
      writeFileSync(GOLDEN_REVIEW, JSON.stringify(cap.reviews[0], null, 2) + "\n");
    }
    assert.deepEqual(rest, JSON.parse(readFileSync(GOLDEN_CHECK, "utf8")));
    assert.equal(cap.checkUpdates.filter((u) => u.status !== "in_progress").length, 1);
    assert.deepEqual(cap.reviews, [JSON.parse(readFileSync(GOLDEN_REVIEW, "utf8"))]);
    // The parts that matter, spelled out: a failing conclusion, the regression on the changed
    // line of Order, and the suggestion block covering Coupon's body.
    assert.equal(rest.conclusion, "failure");
    assert.equal(rest.output.title, "1 struct grew: Order +16 B (size class 48 → 64)");
    const [orderC, couponC] = cap.reviews[0].comments;
    assert.deepEqual([orderC.path, orderC.line, orderC.side], ["order/order.go", 10, "RIGHT"]);
    assert.deepEqual([couponC.path, couponC.start_line, couponC.line], ["order/coupon.go", 5, 7]);
    assert.ok(couponC.body.includes("```suggestion\n\tValue  int64\n\tActive bool\n\tUsed   bool\n```"));
    assert.match(cap.reviews[0].comments.map((c: any) => c.body).join("\n"), /```suggestion\n/);
  } finally {
    await stop();
  }
});

test("a synchronize webhook on the same PR posts no duplicate comments", async () => {
  nock.cleanAll();
  const { server, events, queue, stop } = await startStack();
  // The first run's comments are on the PR, written by our bot.
  const posted = JSON.parse(readFileSync(GOLDEN_REVIEW, "utf8")).comments.map((c: any, i: number) => ({
    id: 100 + i,
    user: { login: "memcheck[bot]", type: "Bot" },
    path: c.path,
    line: c.line,
    body: c.body,
  }));
  const cap = mockRepo({ headSha: HEAD2, reviewComments: posted });
  try {
    const delivery = "0b9e1c70-ac3f-11ef-9a1e-5d6c2a1b0002";
    const r = await sendWebhook(server, "pull_request", fixture("pull_request.synchronize"), delivery);
    assert.equal(r.status, 200);
    const job = await until("the review job", () => queue.queue.getJob(jobIdFor(delivery)));
    const result = await job.waitUntilFinished(events, 60000);
    assert.equal(result.status, "done");
    assert.deepEqual(result.comments, { created: 0, deleted: 0, kept: 2, fallback: false });
    assert.equal(cap.reviews.length, 0);
    assert.equal(cap.deletedComments.length, 0);
    assert.equal(cap.checkUpdates.at(-1).conclusion, "failure");
  } finally {
    await stop();
  }
});
