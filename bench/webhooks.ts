// Webhook burst: 1,000 signed deliveries over real HTTP to the server of src/main.ts (Probot's node
// middleware + src/app.ts), on real Redis (a private queue name and prefix, removed afterwards).
// The one GitHub call a handler makes (creating the queued check run, plus closing the check run of
// a push it replaced) goes to a fake GitHub on 127.0.0.1 answering after BENCH_GH_LATENCY_MS (50).
//
// The burst: 300 PRs spread over 100 installations; each PR gets `opened` and two `synchronize`
// (sent in order per PR, all PRs at once, 50 requests in flight), and 100 of the deliveries are
// redelivered with the same X-GitHub-Delivery (half racing the original, half after it): 1,000.
// Every delivery must be accounted for: its job is in Redis, or it was a redelivery of one, or a
// newer push of the same PR replaced it (its check run closed as superseded); each PR must have
// exactly one pending job, on its newest head. No worker runs (the debounce delay is 10 minutes).
//
// Two Probot set-ups: as `npm start` builds it (createProbot from the environment: Octokit retry
// and throttling on, the throttle shared through Redis; writes are spaced 1 s apart per
// installation), and with throttling off (the cost of the handler, Redis and the fake GitHub only).
//
//   node --import tsx bench/webhooks.ts          (or: npm run bench -- webhooks)
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";
import { Probot, ProbotOctokit, createProbot } from "probot";
import { createServer } from "../src/main.ts";
import { createReviewQueue, jobIdFor } from "../src/queue/index.ts";
import { FakeGitHub } from "../test/support/fake-github.ts";
import { APP_ID, PRIVATE_KEY, SECRET, BASE, postWebhook, prPayload } from "../test/support/pr-fixture.ts";
import { deletePrefix } from "../test/support/redis.ts";

const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const PRS = Number(process.env.BENCH_PRS) || 300;
const INSTALLATIONS = Number(process.env.BENCH_INSTALLATIONS) || 100;
const REDELIVERIES = Number(process.env.BENCH_REDELIVERIES ?? 100);
const THROTTLED_PRS = Number(process.env.BENCH_THROTTLED_PRS) || 30;
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT) || 50;
const LATENCY = Number(process.env.BENCH_GH_LATENCY_MS ?? 50);

const sha = (pr: number, k: number) => `${String(k + 1).repeat(8)}${pr.toString(16).padStart(32, "0")}`.slice(0, 40);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

interface Delivery {
  id: string;
  pr: number;
  k: number; // 0 opened, 1..2 synchronize
  redelivery: boolean;
}

async function burst(label: string, throttled: boolean, PRS: number, REDELIVERIES: number): Promise<Record<string, string | number>> {
  const gh = await new FakeGitHub({ latencyMs: LATENCY }).start();
  const name = `bench-wh-${throttled ? "t" : "n"}`;
  const prefix = `mcbench-wh-${process.pid}`;
  const q = createReviewQueue({ redisUrl: REDIS_URL, settings: { name, prefix, debounceMs: 600_000 } });
  const probot: Probot = throttled
    ? createProbot({
        env: {
          APP_ID: String(APP_ID),
          PRIVATE_KEY,
          WEBHOOK_SECRET: SECRET,
          GHE_HOST: gh.host,
          GHE_PROTOCOL: "http",
          REDIS_URL,
          LOG_LEVEL: (process.env.BENCH_LOG_LEVEL || "fatal") as "fatal",
        },
      })
    : new Probot({
        appId: APP_ID,
        privateKey: PRIVATE_KEY,
        secret: SECRET,
        baseUrl: gh.baseUrl,
        logLevel: "fatal",
        Octokit: ProbotOctokit.defaults((o: any) => ({ ...o, throttle: { ...o?.throttle, enabled: false } })),
      });
  const server = await createServer({ probot, queue: q });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });

  // The schedule: per PR, opened then two synchronize, in order; PRs interleaved.
  const perPr: Delivery[][] = [];
  for (let pr = 1; pr <= PRS; pr++) perPr.push([0, 1, 2].map((k) => ({ id: `wh-${name}-${pr}-${k}`, pr, k, redelivery: false })));
  const redeliver = new Set<string>();
  for (let i = 0; i < REDELIVERIES; i++) redeliver.add(perPr[(i * 7) % PRS]![i % 3]!.id);

  const lat: number[] = [];
  const statuses = new Map<number, number>();
  let inFlight = 0;
  const slots: (() => void)[] = [];
  const acquire = async () => {
    if (inFlight >= IN_FLIGHT) await new Promise<void>((r) => slots.push(r));
    inFlight++;
  };
  const releaseSlot = () => {
    inFlight--;
    slots.shift()?.();
  };
  const send = async (d: Delivery) => {
    await acquire();
    try {
      const payload = prPayload({
        action: d.k === 0 ? "opened" : "synchronize",
        pull: d.pr,
        head: sha(d.pr, d.k),
        before: d.k === 0 ? BASE : sha(d.pr, d.k - 1),
        installation: 1000 + (d.pr % INSTALLATIONS),
      });
      const r = await postWebhook(url, "pull_request", payload, d.id, agent);
      lat.push(r.ms);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    } finally {
      releaseSlot();
    }
  };
  let n = 0;
  const t0 = performance.now();
  await Promise.all(
    perPr.map(async (seq, i) => {
      for (const d of seq) {
        if (redeliver.has(d.id) && i % 2 === 0) {
          // Racing the original (GitHub redelivers when the first answer was slow).
          await Promise.all([send(d), send({ ...d, redelivery: true })]);
          n += 2;
        } else {
          await send(d);
          n++;
        }
      }
      for (const d of seq) if (redeliver.has(d.id) && i % 2 === 1) await send({ ...d, redelivery: true }), n++;
    }),
  );
  const wallMs = performance.now() - t0;

  // Accounting. A handler still running when the middleware's 9 s timeout fired was answered 202
  // and goes on in the background: wait for those to settle (bounded) before counting.
  const account = async () => {
    const jobs = await q.queue.getJobs(["delayed", "waiting", "active", "completed", "failed", "prioritized"], 0, -1);
    // Since the handlers only enqueue, a delivery is accepted once its intake job is in Redis (no
    // worker runs here, so the review jobs and check runs come later).
    const intakeJobs = await q.intake.getJobs(["delayed", "waiting", "active", "completed", "failed", "prioritized"], 0, -1);
    const jobIds = new Set([...jobs, ...intakeJobs].map((j) => j.id));
    const runsByDelivery = new Map<string, { conclusion?: string }[]>();
    for (const c of gh.checkRuns.values()) runsByDelivery.set(c.external_id!, [...(runsByDelivery.get(c.external_id!) ?? []), c]);
    let inRedis = 0,
      replaced = 0,
      lost = 0,
      extraChecks = 0;
    for (const seq of perPr) {
      for (const d of seq) {
        const runs = runsByDelivery.get(d.id) ?? [];
        if (runs.length > 1) extraChecks += runs.length - 1;
        if (jobIds.has(jobIdFor(d.id))) inRedis++;
        else if (runs.length === 1 && runs[0]!.conclusion === "skipped") replaced++;
        else lost++;
      }
    }
    if (inRedis + replaced + lost !== PRS * 3) throw new Error("accounting bug");
    return { jobs, intakeJobs, inRedis, replaced, lost, extraChecks };
  };
  let acc = await account();
  let lastChange = performance.now();
  let prevKey = "";
  while (acc.lost > 0 && performance.now() - lastChange < 30_000 && performance.now() - t0 < 240_000) {
    await new Promise((r) => setTimeout(r, 500));
    acc = await account();
    const key = `${acc.inRedis}/${acc.replaced}/${gh.calls.length}`;
    if (key !== prevKey) (prevKey = key), (lastChange = performance.now());
  }
  const settledMs = performance.now() - t0;
  const { jobs, intakeJobs, replaced, lost, extraChecks } = acc;
  const perPrJobs = new Map<number, string[]>();
  for (const j of jobs) perPrJobs.set(j.data.pull!, [...(perPrJobs.get(j.data.pull!) ?? []), j.data.headSha]);
  let prsOk = 0;
  for (let pr = 1; pr <= PRS; pr++) if (perPrJobs.get(pr)?.length === 1 && perPrJobs.get(pr)![0] === sha(pr, 2)) prsOk++;
  const intakeOnly = jobs.length === 0; // the review jobs are added by the intake step, in a worker
  const checkCalls = gh.callsTo(/\/check-runs/).length;
  if (process.env.BENCH_DUMP_CALLS)
    for (const c of gh.calls) console.log(((c.at - gh.calls[0]!.at) / 1000).toFixed(2), c.method, c.path, c.token);

  await q.queue.obliterate({ force: true }).catch(() => {});
  await q.intake.obliterate({ force: true }).catch(() => {});
  await deletePrefix(redis, prefix);
  redis.disconnect();
  agent.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await q.close();
  await gh.close();

  const out = {
    setup: label,
    deliveries: n,
    answers:
      [...statuses]
        .sort()
        .map(([s, c]) => `${s}×${c}`)
        .join(" ") + (statuses.has(202) ? " (202 = Probot's 9 s timeout: the handler goes on in the background)" : ""),
    "ack p50 ms": pct(lat, 50).toFixed(1),
    "ack p99 ms": pct(lat, 99).toFixed(1),
    "ack max ms": Math.max(...lat).toFixed(1),
    "over 10 s": lat.filter((x) => x > 10_000).length,
    "wall s (all answered)": (wallMs / 1000).toFixed(1),
    "all handlers done after s": lost ? `not within ${(settledMs / 1000).toFixed(0)} s` : (settledMs / 1000).toFixed(1),
    "deliveries/s": (n / (wallMs / 1000)).toFixed(0),
    "unique deliveries": PRS * 3,
    "jobs in Redis": jobs.length + intakeJobs.length,
    "replaced by a newer push": replaced,
    "redeliveries (deduplicated)": n - PRS * 3,
    lost,
    "second check run for one delivery": extraChecks,
    "PRs with exactly one job, on the newest head": intakeOnly ? "n/a (decided by the intake step in the worker)" : `${prsOk}/${PRS}`,
    "check-run API calls": checkCalls,
  };
  return out;
}

export async function benchWebhooks(): Promise<unknown> {
  const results = [];
  for (const [label, throttled] of (
    [
      ["throttle off (handler + Redis + fake GitHub)", false],
      ["as npm start builds it (Octokit throttle via Redis)", true],
    ] as const
  ).filter(([, t]) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY === (t ? "throttled" : "unthrottled"))) {
    // Throttled, every write waits about 1 s: a full burst would take half an hour, so it is smaller.
    const r = throttled
      ? await burst(label, true, THROTTLED_PRS, Math.round(REDELIVERIES * (THROTTLED_PRS / PRS)))
      : await burst(label, false, PRS, REDELIVERIES);
    results.push(r);
    console.log(`\n### ${label}: ${r["unique deliveries"]} deliveries + ${r["redeliveries (deduplicated)"]} redeliveries`);
    for (const [k, v] of Object.entries(r)) if (k !== "setup") console.log(`${k.padEnd(46)} ${v}`);
  }
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(
    `webhook burst: ${PRS} PRs × 3 events + ${REDELIVERIES} redeliveries, ${INSTALLATIONS} installations, ${IN_FLIGHT} in flight, fake GitHub latency ${LATENCY} ms`,
  );
  await benchWebhooks();
  process.exit(0);
}
