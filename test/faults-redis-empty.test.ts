// Redis comes back EMPTY while acknowledged webhooks are still in flight: 50 deliveries answered
// 200 (so GitHub will never resend them on its own), their intake and review jobs queued or
// running, then Redis is killed with its data wiped and started again, empty. The server (`npm
// start`) and a worker (`npm run worker`) run as child processes and are never restarted; GitHub is
// a fake that keeps the app's delivery log and redelivers on request, as GitHub does.
//
// Invariants: every PR ends reviewed exactly once (one completed run per head, none left open, at
// most one review). Then Redis is flushed in place (no disconnect) with everything reviewed: the
// periodic check notices, recovery redelivers the window again, and nothing is doubled.
// Before: acknowledged-but-unfinished deliveries were lost with the data (their queued runs stayed
// open, their PRs unreviewed) and only a manual redelivery from the app's settings recovered them.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { Redis } from "ioredis";
import { FakeGitHub } from "./support/fake-github.ts";
import { startAppProcesses } from "./support/app-processes.ts";
import { RedisServer, until } from "./support/processes.ts";
import { loadFixturePull, prPayload } from "./support/pr-fixture.ts";

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const PULLS = 50;
const headOf = (pull: number) => pull.toString(16).padStart(40, "b");

test("Redis back empty with 50 acknowledged webhooks in flight: 50 of 50 PRs reviewed exactly once, no restart", async () => {
  const redis = await RedisServer.start();
  cleanups.push(() => redis.destroy());
  const gh = await new FakeGitHub().start();
  cleanups.push(() => gh.close());
  for (let p = 1; p <= PULLS; p++) loadFixturePull(gh, { pull: p, head: headOf(p) });
  const { server, worker, hooks, kill } = await startAppProcesses(gh, {
    redisUrl: redis.url,
    queue: "empty",
    prefix: "mcempty",
    extra: { MEMCHECK_CONCURRENCY: "4" },
  });
  cleanups.push(kill);

  const send = (pull: number) =>
    hooks.send("pull_request", prPayload({ action: "opened", pull, head: headOf(pull), installation: 2000 + pull }), `empty-${pull}`);
  const runsOf = (pull: number) => gh.checkRunsFor(headOf(pull));
  const reviewed = (pull: number) => runsOf(pull).filter((c) => c.status === "completed").length;

  // 1. Reviews are held at their first blob read: jobs pile up queued and running behind the acks.
  const held = gh.hold((r) => r.method === "GET" && r.path.includes("/git/blobs/"));
  const answers = await Promise.all([...Array(PULLS).keys()].map((i) => send(i + 1)));
  assert.deepEqual([...new Set(answers)], [200], "every delivery acknowledged");
  await until("some queued runs to exist", () => gh.checkRuns.size >= 10, 60_000, 100);
  const before = { runs: gh.checkRuns.size, reviewedBefore: [...Array(PULLS).keys()].filter((i) => reviewed(i + 1) > 0).length };

  // 2. Redis dies with its data and comes back empty; the processes stay up.
  await redis.crashAndWipe();
  await redis.start();
  held.release();
  console.log(`# at the loss: ${before.runs} queued runs created, ${before.reviewedBefore} PRs reviewed, ${PULLS} acknowledged`);

  // 3. The server notices the loss and has GitHub redeliver the window: every PR reviewed, once.
  const missing = () =>
    [...Array(PULLS).keys()].map((i) => i + 1).filter((p) => reviewed(p) < 1 || runsOf(p).some((c) => c.status !== "completed"));
  await until(
    "all PRs to be reviewed",
    async () => {
      await hooks.settle();
      return missing().length === 0;
    },
    300_000,
    500,
  ).catch((e) =>
    assert.fail(
      `${e.message}; not done: ${missing()}; redelivery requests: ${hooks.redeliveryRequests.length}\nserver:\n${server.output().slice(-3000)}\nworker:\n${worker.output().slice(-3000)}`,
    ),
  );
  await new Promise((r) => setTimeout(r, 3000)); // anything doubled would show by now
  const check = (phase: string) => {
    for (let p = 1; p <= PULLS; p++) {
      const runs = runsOf(p);
      assert.deepEqual(
        runs.map((c) => c.status),
        ["completed"],
        `${phase}, PR ${p}: runs ${JSON.stringify(runs.map((c) => [c.id, c.status, c.conclusion]))}`,
      );
      assert.ok(gh.reviews.filter((r) => r.pull === p).length <= 1, `${phase}, PR ${p}: more than one review`);
      const completions = runs[0]!.history.filter((b: { conclusion?: string }) => b?.conclusion).length;
      assert.equal(completions, 1, `${phase}, PR ${p}: the run was completed ${completions} times`);
    }
  };
  check("after the restart");
  assert.equal(new Set(hooks.redeliveryRequests).size, hooks.redeliveryRequests.length, "each delivery redelivered once");
  assert.match(server.output(), /Redis lost its data: redelivering/);
  console.log(`# recovery: ${hooks.redeliveryRequests.length} redeliveries, ${gh.checkRuns.size} check runs for ${PULLS} PRs`);

  // 4. A flush in place (no disconnect): noticed by the periodic check; everything is already reviewed.
  const redeliveredBefore = hooks.redeliveryRequests.length;
  const c = new Redis(redis.url);
  await c.flushall();
  c.disconnect();
  await until(
    "the flush to be noticed and the window redelivered",
    () => hooks.redeliveryRequests.length >= redeliveredBefore + PULLS,
    60_000,
    250,
  );
  await hooks.settle();
  await new Promise((r) => setTimeout(r, 5000));
  check("after the flush");
});
