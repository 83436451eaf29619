// The stale-run safety net (src/queue/stale-runs.ts): runs recorded open whose job is gone are
// closed as "could not finish" after the budget; runs whose job still waits or runs are left alone.
// Real Redis, real BullMQ, the fake GitHub over HTTP.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Probot } from "probot";
import { createReviewQueue, type ReviewJobData } from "../src/queue/index.ts";
import { openRunsKey, redisOpenRuns, sweepStaleRuns, STALE_RUN_TITLE } from "../src/queue/stale-runs.ts";
import { FakeGitHub } from "./support/fake-github.ts";
import { APP_ID, PRIVATE_KEY, SECRET, BASE, HEAD, HEAD2, INSTALLATION } from "./support/pr-fixture.ts";
import { REDIS_URL, deletePrefix } from "./support/redis.ts";

const PREFIX = `mctest-stale-runs-${process.pid}`;
const settings = { name: "stale", prefix: PREFIX, debounceMs: 60_000 };
const q = createReviewQueue({ redisUrl: REDIS_URL, settings });
after(async () => {
  await q.queue.obliterate({ force: true }).catch(() => {});
  await deletePrefix(q.redis, PREFIX);
  await q.close();
});

test("a run left open past the budget with no live job is closed once; one whose job waits is kept", async () => {
  const gh = await new FakeGitHub().start();
  try {
    const probot = new Probot({ appId: APP_ID, privateKey: PRIVATE_KEY, secret: SECRET, baseUrl: gh.baseUrl, logLevel: "fatal" });
    let t = 1_000_000;
    const runs = redisOpenRuns(q.redis, settings, () => t);
    const orphan = gh.createCheckRun("acme", "shop", HEAD, "in_progress");
    const waiting = gh.createCheckRun("acme", "shop", HEAD2, "queued");
    const done = gh.createCheckRun("acme", "shop", HEAD2, "queued");
    gh.checkRuns.get(done)!.status = "completed";
    const data: ReviewJobData = {
      v: 1,
      installationId: INSTALLATION,
      owner: "acme",
      repo: "shop",
      pull: 7,
      baseSha: BASE,
      headSha: HEAD2,
      trigger: "pull_request",
      deliveryId: "stale-wait",
      checkRunId: waiting,
      at: t,
    };
    const { id } = await q.enqueue(data); // delayed by the debounce: alive
    await runs.opened({ installationId: INSTALLATION, owner: "acme", repo: "shop", checkRunId: orphan, jobId: "gh-gone" });
    await runs.opened({ installationId: INSTALLATION, owner: "acme", repo: "shop", checkRunId: waiting, jobId: id });
    await runs.opened({ installationId: INSTALLATION, owner: "acme", repo: "shop", checkRunId: done });
    const sweep = (now: number) =>
      sweepStaleRuns({
        redis: q.redis,
        settings,
        queue: q.queue,
        auth: async (i) => (await probot.auth(i)) as never,
        olderThanMs: 30 * 60_000,
        now: () => now,
      });

    // Within the budget: nothing is touched.
    let r = await sweep(t + 60_000);
    assert.equal(r.examined, 0);
    assert.equal(gh.checkRuns.get(orphan)!.status, "in_progress");

    r = await sweep(t + 31 * 60_000);
    assert.deepEqual(
      { closed: r.closed, alreadyDone: r.alreadyDone, stillWorking: r.stillWorking },
      { closed: 1, alreadyDone: 1, stillWorking: 1 },
    );
    const closed = gh.checkRuns.get(orphan)!;
    assert.equal(closed.status, "completed");
    assert.equal(closed.conclusion, "neutral");
    assert.equal(closed.output.title, STALE_RUN_TITLE);
    assert.equal(gh.checkRuns.get(waiting)!.status, "queued");
    // Only the live one stays recorded; a second sweep writes nothing.
    assert.deepEqual(await q.redis.zrange(openRunsKey(settings), "0", "-1"), [`${INSTALLATION}/acme/shop/${waiting}`]);
    const writes = gh.calls.filter((c) => c.method === "PATCH").length;
    await sweep(t + 62 * 60_000);
    assert.equal(gh.calls.filter((c) => c.method === "PATCH").length, writes);
  } finally {
    await gh.close();
  }
});
