// GitHub write spacing: the per-installation WriteLimiter (real Redis, fake clock) and the Octokit
// plugin that consults it before content-creating calls and records GitHub's rate-limit answers.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import nock from "nock";
import { Redis } from "ioredis";
import { Probot, ProbotOctokit } from "probot";
import { WriteLimiter, writeWindowsFromEnv } from "../src/ops/write-limiter.ts";
import { opsOctokitPlugin, waitForWriteSlots, isContentCreating } from "../src/ops/github.ts";
import { createMetrics } from "../src/ops/metrics.ts";
import { deletePrefix, REDIS_URL, API, APP_ID, PRIVATE_KEY, SECRET } from "./app-support.ts";

const PREFIX = `mctest-ops-rl-${process.pid}`;
let redis: Redis;
const T0 = 1_800_000_000_000;

before(() => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
});
afterEach(() => nock.cleanAll());
after(async () => {
  await deletePrefix(redis, PREFIX);
  redis.disconnect();
});

function fakeClock(start = T0) {
  const c = { t: start, slept: [] as number[] };
  return {
    c,
    now: () => c.t,
    // A fake sleep: record the wait and move the clock, no real waiting.
    sleep: async (ms: number) => {
      c.slept.push(ms);
      c.t += ms;
    },
  };
}

test("80 content-creating calls in a minute pass at once; the 81st waits for the first one's minute to end", async () => {
  const clk = fakeClock();
  const lim = new WriteLimiter({ redis, prefix: `${PREFIX}:a`, windows: [{ max: 80, windowMs: 60_000 }], now: clk.now, sleep: clk.sleep });
  for (let i = 0; i < 80; i++) {
    assert.equal((await lim.acquire(42)).waitMs, 0, `call ${i + 1}`);
    clk.c.t += 100; // 80 calls over 8 s
  }
  assert.deepEqual(clk.c.slept, []);
  const before81 = clk.c.t;
  const r = await lim.acquire(42);
  assert.equal(r.waitMs, T0 + 60_000 - before81, "the 81st runs 60 s after the 1st");
  assert.deepEqual(clk.c.slept, [T0 + 60_000 - before81]);
  // The 82nd waits for the 2nd call's minute (and stays in order after the 81st).
  assert.equal((await lim.acquire(42)).waitMs, 100);
  // Another installation has its own budget.
  assert.equal((await lim.acquire(43)).waitMs, 0);
});

test("defaults: 80 a minute, 500 an hour, and at most 5 in any 5 s (GitHub asks for spacing when there are many)", async () => {
  const windows = writeWindowsFromEnv({});
  assert.deepEqual(windows, [
    { max: 80, windowMs: 60_000 },
    { max: 5, windowMs: 5_000 },
    { max: 500, windowMs: 3_600_000 },
  ]);
  assert.deepEqual(writeWindowsFromEnv({ GITHUB_WRITES_PER_MINUTE: "0", GITHUB_WRITES_PER_HOUR: "0" }), []);
  const clk = fakeClock();
  const lim = new WriteLimiter({ redis, prefix: `${PREFIX}:burst`, windows, now: clk.now, sleep: clk.sleep });
  // A review's writes (run, result, annotations, review, sticky): none waits.
  for (let i = 0; i < 5; i++) assert.equal((await lim.acquire(42)).waitMs, 0, `write ${i + 1}`);
  // A stream: the 6th to 10th wait for the next 5 s window (one a second on average).
  const waits: number[] = [];
  for (let i = 0; i < 5; i++) waits.push((await lim.acquire(42)).waitMs);
  assert.deepEqual(waits, [5_000, 0, 0, 0, 0]);
  assert.equal(clk.c.t - T0, 5_000);
});

test("the hourly budget applies too (500 per hour by default)", async () => {
  const clk = fakeClock();
  const lim = new WriteLimiter({
    redis,
    prefix: `${PREFIX}:h`,
    windows: [
      { max: 80, windowMs: 60_000 },
      { max: 500, windowMs: 3_600_000 },
    ],
    now: clk.now,
    sleep: clk.sleep,
  });
  let waited = 0;
  for (let i = 0; i < 500; i++) waited += (await lim.acquire(7)).waitMs;
  // 500 calls at 80 per minute: 6 full minutes of waiting (80 at 0, 160 at 60 s, ... 480 at 360 s, 500 at 420 s).
  assert.equal(clk.c.t - T0, 6 * 60_000);
  assert.ok(waited > 0);
  const before501 = clk.c.t;
  const r = await lim.acquire(7);
  assert.equal(r.waitMs, T0 + 3_600_000 - before501, "the 501st waits for the hour");
});

test("record-only calls (webhook handlers) count against the budget but never wait", async () => {
  const clk = fakeClock();
  const lim = new WriteLimiter({ redis, prefix: `${PREFIX}:r`, windows: [{ max: 3, windowMs: 60_000 }], now: clk.now, sleep: clk.sleep });
  for (let i = 0; i < 5; i++) assert.equal((await lim.acquire(1, { wait: false })).waitMs, 0);
  assert.deepEqual(clk.c.slept, []);
  // A worker call after them waits for the window to clear.
  assert.equal((await lim.acquire(1)).waitMs, 60_000);
});

test("content-creating: POST/PATCH/PUT/DELETE, not GET, token creation or GraphQL queries", () => {
  assert.equal(isContentCreating({ method: "POST", url: "/repos/{owner}/{repo}/check-runs" }), true);
  assert.equal(isContentCreating({ method: "PATCH", url: "/repos/{owner}/{repo}/check-runs/{check_run_id}" }), true);
  assert.equal(isContentCreating({ method: "DELETE", url: "/repos/{owner}/{repo}/pulls/comments/{comment_id}" }), true);
  assert.equal(isContentCreating({ method: "GET", url: "/repos/{owner}/{repo}/pulls/{pull_number}" }), false);
  assert.equal(isContentCreating({ method: "POST", url: "/app/installations/{installation_id}/access_tokens" }), false);
  assert.equal(isContentCreating({ method: "POST", url: "/graphql", query: "query { viewer { login } }" }), false);
  assert.equal(
    isContentCreating({ method: "POST", url: "/graphql", query: "mutation { resolveReviewThread(input: {}) { clientMutationId } }" }),
    true,
  );
});

function probotWith(plugin: ReturnType<typeof opsOctokitPlugin>): Probot {
  return new Probot({
    appId: APP_ID,
    privateKey: PRIVATE_KEY,
    secret: SECRET,
    logLevel: "fatal",
    Octokit: ProbotOctokit.plugin(plugin).defaults((o: any) => ({
      ...o,
      retry: { enabled: false },
      throttle: { ...o?.throttle, enabled: false },
    })) as typeof ProbotOctokit,
  });
}

test("Octokit plugin: a worker client's 81st check-run write within a minute waits; GitHub calls are counted by status", async () => {
  const clk = fakeClock();
  const metrics = createMetrics({ defaultMetrics: false });
  const limiter = new WriteLimiter({
    redis,
    prefix: `${PREFIX}:p`,
    windows: [{ max: 80, windowMs: 60_000 }],
    now: clk.now,
    sleep: clk.sleep,
  });
  const probot = probotWith(opsOctokitPlugin({ metrics, limiter, now: clk.now }));
  nock(API)
    .post("/app/installations/42/access_tokens")
    .reply(200, { token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" })
    .post("/repos/acme/shop/check-runs")
    .times(81)
    .reply(201, { id: 1 }, { "x-ratelimit-remaining": "4919", "x-ratelimit-resource": "core" })
    .get("/repos/acme/shop/pulls/7")
    .reply(200, { number: 7 }, { "x-ratelimit-remaining": "4918", "x-ratelimit-resource": "core" });
  const octokit = waitForWriteSlots(await probot.auth(42));
  for (let i = 0; i < 80; i++)
    await octokit.rest.checks.create({ owner: "acme", repo: "shop", name: "memcheck", head_sha: "a".repeat(40) });
  assert.deepEqual(clk.c.slept, [], "80 writes pass at once");
  await octokit.rest.checks.create({ owner: "acme", repo: "shop", name: "memcheck", head_sha: "b".repeat(40) });
  assert.deepEqual(clk.c.slept, [60_000], "the 81st waits a minute");
  await octokit.rest.pulls.get({ owner: "acme", repo: "shop", pull_number: 7 });
  assert.deepEqual(clk.c.slept, [60_000], "reads never wait");
  assert.deepEqual(nock.pendingMocks(), []);
  const text = await metrics.registry.metrics();
  assert.match(text, /^memcheck_github_requests_total\{method="POST",status="201"\} 81$/m);
  assert.match(text, /^memcheck_github_requests_total\{method="GET",status="200"\} 1$/m);
  assert.match(text, /^memcheck_github_rate_limit_remaining\{installation="42",resource="core"\} 4918$/m);
  assert.match(text, /^memcheck_github_write_wait_seconds_sum 60$/m);
});

test("Octokit plugin: an unmarked client (webhook handler) is counted but does not wait", async () => {
  const clk = fakeClock();
  const limiter = new WriteLimiter({
    redis,
    prefix: `${PREFIX}:u`,
    windows: [{ max: 2, windowMs: 60_000 }],
    now: clk.now,
    sleep: clk.sleep,
  });
  const probot = probotWith(opsOctokitPlugin({ limiter, now: clk.now }));
  nock(API)
    .post("/app/installations/42/access_tokens")
    .reply(200, { token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" })
    .post("/repos/acme/shop/check-runs")
    .times(3)
    .reply(201, { id: 1 });
  const octokit = await probot.auth(42);
  for (let i = 0; i < 3; i++) await octokit.rest.checks.create({ owner: "acme", repo: "shop", name: "memcheck", head_sha: "a".repeat(40) });
  assert.deepEqual(clk.c.slept, []);
  assert.equal(await redis.zcard(limiter.slotsKey(42)), 3);
});

test("Octokit plugin: a secondary-limit 403 with retry-after is counted and holds back every later write of that installation", async () => {
  const clk = fakeClock();
  const metrics = createMetrics({ defaultMetrics: false });
  const limiter = new WriteLimiter({
    redis,
    prefix: `${PREFIX}:s`,
    windows: [{ max: 80, windowMs: 60_000 }],
    now: clk.now,
    sleep: clk.sleep,
  });
  const probot = probotWith(opsOctokitPlugin({ metrics, limiter, now: clk.now }));
  nock(API)
    .post("/app/installations/42/access_tokens")
    .reply(200, { token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" })
    .post("/repos/acme/shop/pulls/7/reviews")
    .reply(
      403,
      { message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." },
      { "retry-after": "30" },
    )
    .post("/repos/acme/shop/issues/7/comments")
    .reply(201, { id: 5 });
  const octokit = waitForWriteSlots(await probot.auth(42));
  await assert.rejects(
    octokit.rest.pulls.createReview({ owner: "acme", repo: "shop", pull_number: 7, event: "COMMENT" }),
    (e: any) => e.status === 403,
  );
  // Another job's write for the same installation waits out retry-after (+1 s margin, as src/queue's backoff).
  await octokit.rest.issues.createComment({ owner: "acme", repo: "shop", issue_number: 7, body: "x" });
  assert.deepEqual(clk.c.slept, [31_000]);
  assert.deepEqual(nock.pendingMocks(), []);
  const text = await metrics.registry.metrics();
  assert.match(text, /^memcheck_github_secondary_limit_hits_total\{installation="42"\} 1$/m);
  assert.match(text, /^memcheck_github_requests_total\{method="POST",status="403"\} 1$/m);
  // Another installation is not held back.
  assert.equal((await limiter.acquire(43)).waitMs, 0);
});

test("Octokit plugin: the limiter fails open when its Redis is unreachable", async () => {
  const down = new Redis("redis://127.0.0.1:1", { maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
  down.on("error", () => {});
  const warned: string[] = [];
  const limiter = new WriteLimiter({ redis: down, prefix: `${PREFIX}:down`, windows: [{ max: 1, windowMs: 60_000 }] });
  const probot = probotWith(opsOctokitPlugin({ limiter, log: { warn: (_o, m) => void warned.push(String(m)) } }));
  nock(API)
    .post("/app/installations/42/access_tokens")
    .reply(200, { token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" })
    .post("/repos/acme/shop/check-runs")
    .reply(201, { id: 1 });
  try {
    const octokit = waitForWriteSlots(await probot.auth(42));
    const r = await octokit.rest.checks.create({ owner: "acme", repo: "shop", name: "memcheck", head_sha: "a".repeat(40) });
    assert.equal(r.status, 201);
    assert.deepEqual(warned, ["memcheck: write limiter unavailable, not spacing this call"]);
  } finally {
    down.disconnect();
  }
});

test("the limiter keeps nothing it cannot lose: with its keys gone (an empty Redis) it starts over", async () => {
  const clk = fakeClock();
  const lim = new WriteLimiter({
    redis,
    prefix: `${PREFIX}:empty`,
    windows: [{ max: 2, windowMs: 60_000 }],
    now: clk.now,
    sleep: clk.sleep,
  });
  await lim.acquire(7);
  await lim.acquire(7);
  await lim.block(7, T0 + 30_000);
  // Redis comes back empty: no settings or schedule to recreate; the next call simply has a fresh budget.
  await redis.del(lim.slotsKey(7), lim.blockedKey(7));
  assert.equal((await lim.acquire(7)).waitMs, 0);
  assert.equal((await lim.acquire(7)).waitMs, 0);
  assert.ok((await lim.acquire(7)).waitMs > 0, "and spends it as before");
});
