// Fault: Redis restarted in the middle of a run. A private redis-server (AOF on, as production
// should run it) on a free port; the webhook server of src/main.ts in this process and a review
// worker as a child process (`node --import tsx worker/index.ts`), both on that Redis; GitHub is a
// local fake (baseUrl in-process, GHE_HOST for the child). Redis is shut down while a job is
// provably mid-flight, a webhook arrives while it is down, then Redis starts again on the same
// port and directory. Invariants: a webhook answered 2xx has its job persisted; one answered 5xx
// is redelivered (as GitHub's "Redeliver" does) and then enqueued; producer and worker reconnect by
// themselves; every job completes, and each PR gets exactly one review.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import type http from "node:http";
import { Probot } from "probot";
import { createServer } from "../src/main.ts";
import { createReviewQueue, jobIdFor } from "../src/queue/index.ts";
import { parseMarker } from "../src/report/review.ts";
import { FakeGitHub } from "./support/fake-github.ts";
import { RedisServer, spawnWorker, until, type Child } from "./support/processes.ts";
import { loadFixturePull, postWebhook, prPayload, workerEnv, APP_ID, PRIVATE_KEY, SECRET, HEAD } from "./support/pr-fixture.ts";

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

test("Redis restarted mid-run: producer and worker reconnect, no job is lost, one review per PR", async () => {
  const redisServer = await RedisServer.start();
  cleanups.push(() => redisServer.destroy());
  const gh = await new FakeGitHub().start();
  cleanups.push(() => gh.close());
  for (const pull of [1, 2, 3, 4]) loadFixturePull(gh, { pull });

  const name = "restart";
  const prefix = "mcrestart";
  const q = createReviewQueue({ redisUrl: redisServer.url, settings: { name, prefix, debounceMs: 0, attempts: 5, backoffMs: 500 } });
  q.redis.on("error", () => {});
  cleanups.push(() => q.close());
  const probot = new Probot({ appId: APP_ID, privateKey: PRIVATE_KEY, secret: SECRET, baseUrl: gh.baseUrl, logLevel: "fatal" });
  const server: http.Server = await createServer({ probot, queue: q });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const send = (pull: number, delivery: string) =>
    postWebhook(url, "pull_request", prPayload({ action: "opened", pull, head: HEAD }), delivery);

  // PR 1's blob fetches are held: its job is mid-flight when Redis goes down.
  const held = gh.hold((r) => r.method === "GET" && r.path.includes("/git/blobs/"));
  const worker: Child = spawnWorker(
    workerEnv(gh, {
      redisUrl: redisServer.url,
      queue: name,
      prefix,
      extra: { MEMCHECK_BOT_LOGIN: "memcheck[bot]", MEMCHECK_ATTEMPTS: "5", MEMCHECK_BACKOFF_MS: "500" },
    }),
  );
  cleanups.push(() => worker.kill("SIGKILL"));

  assert.equal((await send(1, "rr-1")).status, 200);
  assert.equal((await send(2, "rr-2")).status, 200);
  await Promise.race([held.arrived, worker.exited.then(() => assert.fail(`worker exited:\n${worker.output()}`))]);
  assert.equal(await q.queue.getJobState(jobIdFor("rr-1")), "active");

  // Redis goes away (SHUTDOWN flushes the AOF) ...
  await redisServer.stop();
  // ... a webhook arriving now must not be acknowledged: 5xx, so GitHub marks the delivery failed.
  const during = await send(3, "rr-3");
  assert.ok(during.status >= 500, `webhook answered ${during.status} while Redis was down`);
  held.release(); // the worker's job goes on with GitHub while its Redis is away
  await new Promise((r) => setTimeout(r, 500));
  // ... and comes back on the same port and directory.
  await redisServer.start();

  // The producer reconnects by itself: the failed delivery is redelivered, and a new one arrives.
  const redelivered = await until(
    "the producer to accept webhooks again",
    async () => {
      const r = await send(3, "rr-3");
      return r.status === 200 ? r : undefined;
    },
    15_000,
    250,
  );
  assert.equal(redelivered.status, 200);
  assert.equal((await send(4, "rr-4")).status, 200);

  // The jobs enqueued before the restart survived it (AOF), and the worker reconnected to run them.
  const ids = ["rr-1", "rr-2", "rr-3", "rr-4"].map(jobIdFor);
  await until(
    "every job to complete",
    async () => {
      const states = await Promise.all(ids.map((id) => q.queue.getJobState(id)));
      if (states.includes("failed")) {
        const f = await q.queue.getJob(ids[states.indexOf("failed")]!);
        assert.fail(`job failed: ${f?.failedReason}\n${worker.output()}`);
      }
      return states.every((s) => s === "completed");
    },
    50_000,
    250,
  ).catch((e) => assert.fail(`${e.message}\nworker:\n${worker.output().slice(-4000)}`));
  assert.equal(worker.proc.exitCode, null, "the worker survived the restart");

  for (const pull of [1, 2, 3, 4]) {
    const reviews = gh.reviews.filter((r) => r.pull === pull);
    assert.equal(reviews.length, 1, `PR ${pull}: ${reviews.length} reviews`);
    const markers = gh.reviewCommentsOf("acme", "shop", pull).map((c) => parseMarker(c.body));
    assert.equal(new Set(markers).size, markers.length, `PR ${pull}: duplicate comments`);
  }
  // Every check run the app created ended completed (a failed delivery may have created one
  // before Redis refused the job: it must not stay queued).
  const open = [...gh.checkRuns.values()].filter((c) => c.status !== "completed");
  assert.deepEqual(
    open.map((c) => [c.id, c.external_id, c.status]),
    [],
  );
});
