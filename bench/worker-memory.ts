// Worker memory under pathological PRs: one review worker (`npm run worker`, default budgets:
// MEMCHECK_CONCURRENCY 2, MEMCHECK_JOB_MEMORY_MB 1024, MEMCHECK_JOB_SECONDS 180) reviews, two at a
// time, PRs that used to take the worker to 3.2-3.6 GB: two 20,000-type pointer chains (five files)
// and two 5 MB files of 130,000 types under a config with limits.maxFileBytes: 16 MB. Peak RSS
// (VmHWM) of the worker process, which holds its analysis and parse threads, is the figure to
// compare with the cap documented in docs/operate.md ("Memory").
//
//   node --import tsx bench/worker-memory.ts          (or: npm run bench -- memory)
import { Redis } from "ioredis";
import { createReviewQueue, type ReviewJobData } from "../src/queue/index.ts";
import { FakeGitHub } from "../test/support/fake-github.ts";
import { loadAddedFilesPull, pointerChain } from "../test/support/pathological.ts";
import { currentRss, peakRss, spawnWorker, until, type Child } from "../test/support/processes.ts";
import { workerEnv } from "../test/support/pr-fixture.ts";
import { deletePrefix } from "../test/support/redis.ts";

const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const MiB = 2 ** 20;

export async function benchWorkerMemory(): Promise<{ peakMiB: number; idleMiB: number }> {
  const gh = await new FakeGitHub().start();
  const all = [
    { repo: "chain-a", head: pointerChain(20_000) },
    { repo: "chain-b", head: pointerChain(20_000) },
    { repo: "big-a", head: pointerChain(130_000, 1), config: "limits:\n  maxFileBytes: 16777216\n" },
    { repo: "big-b", head: pointerChain(130_000, 1), config: "limits:\n  maxFileBytes: 16777216\n" },
  ];
  // BENCH_MEMORY_PRS=chain or =big: one pair only.
  const prs = all.filter((p) => !process.env.BENCH_MEMORY_PRS || p.repo.startsWith(process.env.BENCH_MEMORY_PRS));
  prs.forEach((p, i) => {
    const sha = (k: number) => `${k}${i}`.padEnd(40, "c");
    loadAddedFilesPull(gh, { owner: "acme", repo: p.repo, number: 1, baseSha: sha(1), headSha: sha(2), head: p.head });
    if (p.config) gh.configs.set(`acme/${p.repo}`, p.config);
  });
  const name = "bench-mem";
  const prefix = `mcbench-mem-${process.pid}`;
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const q = createReviewQueue({ redisUrl: REDIS_URL, settings: { name, prefix, debounceMs: 0, attempts: 1 } });
  // As `npm run worker` runs by default: two reviews at a time, default budgets.
  const worker: Child = spawnWorker(
    workerEnv(gh, {
      redisUrl: REDIS_URL,
      queue: name,
      prefix,
      extra: { MEMCHECK_CONCURRENCY: "2", MEMCHECK_ATTEMPTS: "1", MEMCHECK_BOT_LOGIN: "memcheck[bot]" },
    }),
  );
  let sampled = 0;
  let ticks = 0;
  const sampler = setInterval(() => {
    const now = currentRss(worker.pid) ?? 0;
    sampled = Math.max(sampled, now);
    if (process.env.BENCH_VERBOSE && ++ticks % 20 === 0) console.log(`  t=${ticks / 10}s rss ${(now / MiB).toFixed(0)} MiB`);
  }, 100);
  try {
    await new Promise((r) => setTimeout(r, 3000));
    const idle = currentRss(worker.pid) ?? 0;
    const t0 = performance.now();
    const ids: string[] = [];
    for (const [i, p] of prs.entries()) {
      const headSha = `2${i}`.padEnd(40, "c");
      const data: ReviewJobData = {
        v: 1,
        installationId: 7000 + i,
        owner: "acme",
        repo: p.repo,
        pull: 1,
        baseSha: `1${i}`.padEnd(40, "c"),
        headSha,
        trigger: "pull_request",
        deliveryId: `mem-${i}`,
        checkRunId: gh.createCheckRun("acme", p.repo, headSha),
        at: Date.now(),
      };
      ids.push((await q.enqueue(data)).id);
    }
    await until(
      "the pathological jobs",
      async () => (await Promise.all(ids.map((id) => q.queue.getJobState(id)))).every((s) => s === "completed" || s === "failed"),
      900_000,
      250,
    );
    const secs = (performance.now() - t0) / 1000;
    for (const [i, p] of prs.entries()) {
      const job = await q.queue.getJob(ids[i]!);
      const run = gh.checkRunsFor(`2${i}`.padEnd(40, "c"))[0];
      console.log(
        `${p.repo}: job ${job?.finishedOn ? (job.failedReason ? "failed" : "completed") : "?"} (${job?.returnvalue?.status ?? job?.failedReason}, stages ${JSON.stringify(job?.returnvalue?.stages)}), run ${run?.status}/${run?.conclusion}: ${run?.output?.title}`,
      );
    }
    const peak = Math.max(peakRss(worker.pid) ?? 0, sampled);
    console.log(
      `worker RSS: idle ${(idle / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB (VmHWM), ${prs.length} pathological PRs in ${secs.toFixed(1)} s at concurrency 2`,
    );
    return { peakMiB: peak / MiB, idleMiB: idle / MiB };
  } finally {
    clearInterval(sampler);
    await worker.kill("SIGTERM");
    await q.queue.obliterate({ force: true }).catch(() => {});
    await deletePrefix(redis, prefix);
    await q.close();
    redis.disconnect();
    await gh.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchWorkerMemory();
  process.exit(0);
}
