// Redis goes away under load and comes back EMPTY (killed, data directory wiped: a restart without
// persistence, a flush, a failover to an empty replica), with the server (`npm start`) and a worker
// (`npm run worker`) running as child processes on a private redis-server, and a fake GitHub that
// also keeps the app's webhook delivery log and redelivers on request, as GitHub does.
//
// Invariants, with no process restarted:
// - while Redis is down: webhooks are answered 503 (nothing acknowledged that cannot be enqueued),
//   /readyz answers 503;
// - the log says so once per state change per process (no stack trace per retry);
// - once Redis is back, the sweeper (whose schedule the empty Redis lost) is running again and asks
//   GitHub to redeliver every failed delivery, once;
// - all 50 PRs are reviewed exactly once; every check run ends completed, one per head;
// - SIGTERM: both processes exit within MEMCHECK_DRAIN_SECONDS.
// Before: Probot's Redis throttle failed with ERR SETTINGS_KEY_NOT_FOUND and handlers hung, the
// sweeper's schedule was never recreated (1 of 50 PRs reviewed), ~5,000 stack traces per 10 min
// of outage, and SIGTERM never exited.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { FakeGitHub } from "./support/fake-github.ts";
import { httpStatus, startAppProcesses } from "./support/app-processes.ts";
import { RedisServer, until } from "./support/processes.ts";
import { loadFixturePull, prPayload } from "./support/pr-fixture.ts";

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

const PULLS = 50;
const headOf = (pull: number) => pull.toString(16).padStart(40, "a");
const DRAIN_SECONDS = 5;
/** How long Redis stays down (the scenario: a minute under load). */
const OUTAGE_MS = 60_000;

test("Redis down for 60 s under load, back empty: 503 meanwhile, bounded logs, failed deliveries redelivered, 50 PRs reviewed once", async () => {
  const redis = await RedisServer.start();
  cleanups.push(() => redis.destroy());
  const gh = await new FakeGitHub().start();
  cleanups.push(() => gh.close());
  for (let p = 1; p <= PULLS; p++) loadFixturePull(gh, { pull: p, head: headOf(p) });
  const { server, worker, port, hooks, kill } = await startAppProcesses(gh, {
    redisUrl: redis.url,
    queue: "outage",
    prefix: "mcoutage",
    extra: { MEMCHECK_DRAIN_SECONDS: String(DRAIN_SECONDS), MEMCHECK_CONCURRENCY: "4" },
  });
  cleanups.push(kill);

  // One installation per PR: the per-installation write spacing does not serialise the run.
  const send = (pull: number) =>
    hooks.send("pull_request", prPayload({ action: "opened", pull, head: headOf(pull), installation: 1000 + pull }), `out-${pull}`);
  // Reviewed = its head's check run completed (the fixture at these heads may need no review comments).
  const reviewed = (pull: number) => gh.checkRunsFor(headOf(pull)).filter((c) => c.status === "completed").length;
  const reviewsOf = (pull: number) => gh.reviews.filter((r) => r.pull === pull).length;

  // 1. Load: PRs 1-20, answered 200 and reviewed.
  for (let p = 1; p <= 20; p++) assert.equal(await send(p), 200, `PR ${p}`);
  await until("PRs 1-20 to be reviewed", () => [...Array(20).keys()].every((i) => reviewed(i + 1) >= 1), 300_000, 250).catch((e) =>
    assert.fail(`${e.message}\nworker:\n${worker.output().slice(-3000)}`),
  );
  const logAt = { server: server.output().length, worker: worker.output().length };

  // 2. Redis dies and loses everything, for a minute; webhooks keep coming meanwhile.
  await redis.crashAndWipe();
  const downSince = Date.now();
  const during: number[] = [];
  for (let p = 21; p <= 35; p++) {
    during.push(await send(p));
    await new Promise((r) => setTimeout(r, (OUTAGE_MS - 2000) / 15));
  }
  assert.deepEqual([...new Set(during)], [503], `answers while Redis was down: ${during}`);
  assert.equal(await httpStatus(port, "/readyz"), 503);
  await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - downSince))));
  console.log(`# Redis down for ${Date.now() - downSince} ms`);

  // 3. Redis is back, empty; more webhooks (some may still meet the reconnect and fail: redelivered).
  await redis.start();
  for (let p = 36; p <= PULLS; p++) {
    await send(p);
    await new Promise((r) => setTimeout(r, 100));
  }

  // 4. Every PR ends reviewed exactly once: the failed deliveries come back through the sweeper.
  await until(
    "all PRs to be reviewed",
    async () => {
      await hooks.settle();
      for (let p = 1; p <= PULLS; p++) if (reviewed(p) < 1) return false;
      return true;
    },
    300_000,
    500,
  ).catch((e) => {
    const missing = [...Array(PULLS).keys()].map((i) => i + 1).filter((p) => reviewed(p) < 1);
    assert.fail(
      `${e.message}; not reviewed: ${missing}; failed deliveries: ${hooks.failedGuids()}; redelivery requests: ${hooks.redeliveryRequests}\nserver:\n${server.output().slice(-3000)}\nworker:\n${worker.output().slice(-3000)}`,
    );
  });
  await new Promise((r) => setTimeout(r, 2000)); // anything doubled would show by now
  for (let p = 1; p <= PULLS; p++) {
    assert.ok(reviewsOf(p) <= 1, `PR ${p}: ${reviewsOf(p)} reviews`);
    const runs = gh.checkRunsFor(headOf(p));
    assert.equal(
      runs.filter((c) => c.status === "completed").length,
      1,
      `PR ${p}: check runs ${JSON.stringify(runs.map((c) => [c.id, c.status]))}`,
    );
    assert.deepEqual(
      runs.filter((c) => c.status !== "completed").map((c) => c.id),
      [],
      `PR ${p}: a run left open`,
    );
  }
  assert.deepEqual(hooks.failedGuids(), [], "every failed delivery was redelivered successfully");
  assert.equal(new Set(hooks.redeliveryRequests).size, hooks.redeliveryRequests.length, "each delivery redelivered once");
  assert.ok(hooks.redeliveryRequests.length >= 15, `redelivered: ${hooks.redeliveryRequests.length}`);

  // 5. The outage in the logs: a few lines per process, no stack traces.
  const outageLog = { server: server.output().slice(logAt.server), worker: worker.output().slice(logAt.worker) };
  for (const [role, text] of Object.entries(outageLog)) {
    const stateLines = text.split("\n").filter((l) => /Redis (down|back|still|unreachable)/.test(l));
    const refused = (text.match(/ECONNREFUSED/g) ?? []).length;
    console.log(
      `# ${role}: ${stateLines.length} Redis state lines, ${refused} ECONNREFUSED mentions, ${text.length} B of log during the outage`,
    );
    assert.ok(stateLines.length >= 2 && stateLines.length <= 4, `${role}: ${stateLines.length} state lines:\n${text.slice(0, 3000)}`);
    assert.ok(refused <= 3, `${role}: ${refused} ECONNREFUSED mentions`);
    assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+\)?\n/, `${role}: a stack trace`);
  }

  // 6. SIGTERM: both exit within the drain limit.
  const t0 = Date.now();
  server.proc.kill("SIGTERM");
  worker.proc.kill("SIGTERM");
  const limit = (DRAIN_SECONDS + 10) * 1000;
  const exits = await Promise.race([Promise.all([server.exited, worker.exited]), new Promise((r) => setTimeout(() => r("hung"), limit))]);
  assert.notEqual(exits, "hung", `did not exit within ${limit} ms of SIGTERM`);
  console.log(`# SIGTERM to exit: ${Date.now() - t0} ms, codes ${JSON.stringify(exits)}`);
});
