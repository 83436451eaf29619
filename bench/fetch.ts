// Fetching a PR's snapshots: one git/blobs GET per file (before) vs one repository archive per side
// when a snapshot misses more than MEMCHECK_ARCHIVE_THRESHOLD (default 50) blobs (after), measured
// in the same run on the same machine. Each mode runs in its own worker process (`node --import tsx
// worker/index.ts`, as `npm run worker` starts it, Octokit's throttle on: at most 10 requests in
// flight per installation) against the fake GitHub on 127.0.0.1 answering every request after
// BENCH_GH_LATENCY_MS (50 ms); real Redis (a private prefix, removed afterwards); the real engine.
//
// PRs come from bench/worker.ts's generator (N changed files in N/10 packages, a `common` package
// every file imports, 200 untouched files in the tree). Every PR has its own content and its own
// installation, so every measured job is cold (no cached blob). The jobs of one mode run one at a
// time, alternating modes, after one unmeasured warm-up job per worker. Per job: wall time from enqueue to completed,
// the fetch stage, API calls (every request the job made, the codeload redirect target included),
// blob GETs, archive downloads, and the bytes GitHub sent.
//
//   node --import tsx bench/fetch.ts          (or: npm run bench -- fetch)
//   BENCH_FETCH_SIZES=20:5,100:3,1000:2 BENCH_FETCH_MODES=before,blobs,auto,archive
//   BENCH_FETCH_BEFORE_ROOT=scratch/before   (today's code, for the "before" mode)
//   BENCH_FETCH_PART=snapshots|jobs           (only the in-process fetch, or only the worker jobs)
import { spawn } from "node:child_process";
import { Redis } from "ioredis";
import { createReviewQueue, type ReviewJobData } from "../src/queue/index.ts";
import { FakeGitHub } from "../test/support/fake-github.ts";
import { peakRss, spawnWorker, track, until, type Child } from "../test/support/processes.ts";
import { APP_ID, PRIVATE_KEY, SECRET } from "../test/support/pr-fixture.ts";
import { deletePrefix } from "../test/support/redis.ts";
import { genPr, load, type GenPr } from "./worker.ts";
import { ProbotOctokit } from "probot";
import { resolve } from "node:path";
import { touchedPackages } from "../src/github/files.ts";
import { GitHubTreeSnapshot, MemoryBlobCache } from "../src/github/snapshot.ts";

const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const LATENCY = Number(process.env.BENCH_GH_LATENCY_MS ?? 50);
const SIZES: [files: number, prs: number][] = (process.env.BENCH_FETCH_SIZES ?? "20:5,100:3,1000:2")
  .split(",")
  .map((x) => x.split(":").map(Number) as [number, number]);
/**
 * before: today's code, a worker started from BENCH_FETCH_BEFORE_ROOT (a checkout of main without
 * this change, e.g. `git archive main | tar -x -C scratch/before` plus a node_modules link);
 * blobs: this code with the archive off; auto: the default threshold; archive: always (threshold 0).
 */
const MODES: Record<string, string> = { before: "", blobs: "off", auto: "", archive: "0" };
const BEFORE_ROOT = process.env.BENCH_FETCH_BEFORE_ROOT;
const ONLY_MODES = (process.env.BENCH_FETCH_MODES ?? `${BEFORE_ROOT ? "before," : ""}blobs,auto,archive`).split(",");

/** `node --import tsx worker/index.ts` in another checkout (spawnWorker runs this one). */
function spawnWorkerIn(root: string, env: Record<string, string>): Child {
  const base: Record<string, string> = {};
  for (const k of ["PATH", "HOME", "TMPDIR", "LANG"]) if (process.env[k]) base[k] = process.env[k]!;
  const proc = spawn(process.execPath, ["--import", "tsx", "worker/index.ts"], {
    cwd: root,
    env: { ...base, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return track(proc);
}

interface FetchRow {
  mode: string;
  files: number;
  jobs: number;
  "wall ms/job": number;
  "fetch ms": number;
  "API calls/job": number;
  "blob GETs/job": number;
  "archives/job": number;
  "KiB/job": number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : 0;
};

export async function benchFetch(): Promise<FetchRow[]> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  let n = 9000;
  console.log(
    `fake GitHub latency ${LATENCY} ms; sizes ${SIZES.map(([f, c]) => `${c} × ${f} files`).join(", ")}; modes ${ONLY_MODES.join(", ")} (jobs interleaved across modes)`,
  );
  const gh = await new FakeGitHub({ latencyMs: LATENCY }).start();
  const prefix = `mcbench-fetch-${process.pid}`;
  // One worker per mode, each on its own queue; the jobs run one at a time, alternating modes, so
  // the machine's load (shared, noisy) falls on every mode alike.
  const modes = ONLY_MODES.map((mode) => {
    const threshold = MODES[mode];
    if (threshold === undefined) throw new Error(`unknown mode ${mode}`);
    const name = `bench-fetch-${mode}`;
    const q = createReviewQueue({ redisUrl: REDIS_URL, settings: { name, prefix, debounceMs: 0, attempts: 1 } });
    if (mode === "before" && !BEFORE_ROOT) throw new Error("mode before needs BENCH_FETCH_BEFORE_ROOT");
    const env = {
      APP_ID: String(APP_ID),
      PRIVATE_KEY,
      WEBHOOK_SECRET: SECRET,
      REDIS_URL,
      ...gh.env(),
      MEMCHECK_QUEUE: name,
      MEMCHECK_QUEUE_PREFIX: prefix,
      MEMCHECK_BOT_LOGIN: "memcheck[bot]",
      MEMCHECK_ATTEMPTS: "1",
      MEMCHECK_CONCURRENCY: "1",
      LOG_LEVEL: "warn",
      ...(threshold ? { MEMCHECK_ARCHIVE_THRESHOLD: threshold } : {}),
    };
    const worker = mode === "before" ? spawnWorkerIn(BEFORE_ROOT!, env) : spawnWorker(env);
    return { mode, name, q, worker, rows: new Map<number, Sample[]>() };
  });
  type Mode = (typeof modes)[number];
  const runJob = async (m: Mode, p: GenPr, tag: string): Promise<Sample> => {
    const data: ReviewJobData = {
      v: 1,
      installationId: 7000 + p.number,
      owner: "acme",
      repo: "big",
      pull: p.number,
      baseSha: p.baseSha,
      headSha: p.headSha,
      trigger: "pull_request",
      deliveryId: `${m.name}-${tag}-${p.number}`,
      checkRunId: gh.createCheckRun("acme", "big", p.headSha),
      at: Date.now(),
    };
    gh.resetCalls();
    const t0 = performance.now();
    const wall0 = Date.now();
    const id = (await m.q.enqueue(data)).id;
    // until() retries a callback that throws, so a failed job is returned, then thrown
    const state = await until(
      `job ${id}`,
      async () => {
        const st = await m.q.queue.getJobState(id);
        return st === "completed" || st === "failed" ? st : undefined;
      },
      600_000,
      20,
    );
    if (state === "failed") throw new Error(`job failed: ${(await m.q.queue.getJob(id))?.failedReason}\n${m.worker.output().slice(-3000)}`);
    const ms = performance.now() - t0;
    const result = (await m.q.queue.getJob(id))!.returnvalue;
    const calls = gh.calls.filter((c) => c.path !== "/app" && !c.path.startsWith("/app/"));
    if (process.env.BENCH_TRACE)
      for (const c of calls)
        console.log(`  +${Math.round(c.at - wall0)} ms ${c.method} ${c.path.replace(/[0-9a-f]{40}/g, "<sha>")} ${c.status}`);
    return {
      ms,
      fetch: result?.stages?.fetch ?? 0,
      analyze: result?.stages?.analyze ?? 0,
      post: result?.stages?.post ?? 0,
      calls: calls.length,
      blobs: calls.filter((c) => c.path.includes("/git/blobs/")).length,
      archives: calls.filter((c) => c.path.includes("/tarball/")).length,
      bytes: gh.calls.reduce((a, c) => a + (c.bytes ?? 0), 0),
    };
  };
  const rows: FetchRow[] = [];
  try {
    for (const m of modes) {
      const warm = genPr(n++, 10);
      load(gh, [warm]);
      await runJob(m, warm, "warm");
    }
    for (const [files, count] of SIZES) {
      for (let i = 0; i < count; i++) {
        for (const m of modes) {
          if (m.mode === "archive" && files >= 1000) continue; // there "auto" is the archive
          const p = genPr(n++, files); // its own content: a cold cache
          load(gh, [p]);
          const sample = await runJob(m, p, "cold");
          m.rows.set(files, [...(m.rows.get(files) ?? []), sample]);
          console.log(
            JSON.stringify({
              mode: m.mode,
              files,
              ms: Math.round(sample.ms),
              fetch: sample.fetch,
              analyze: sample.analyze,
              post: sample.post,
              calls: sample.calls,
              blobs: sample.blobs,
              archives: sample.archives,
              kib: Math.round(sample.bytes / 1024),
            }),
          );
        }
      }
    }
    for (const m of modes) {
      for (const [files, per] of m.rows) {
        rows.push({
          mode: m.mode,
          files,
          jobs: per.length,
          "wall ms/job": Math.round(median(per.map((x) => x.ms))),
          "fetch ms": Math.round(median(per.map((x) => x.fetch))),
          "API calls/job": Math.round(median(per.map((x) => x.calls))),
          "blob GETs/job": Math.round(median(per.map((x) => x.blobs))),
          "archives/job": Math.round(median(per.map((x) => x.archives))),
          "KiB/job": Math.round(median(per.map((x) => x.bytes)) / 1024),
        });
      }
      const rss = peakRss(m.worker.pid);
      console.log(`${m.mode}: worker peak RSS ${rss ? `${(rss / 2 ** 20).toFixed(0)} MiB` : "?"}`);
    }
  } finally {
    for (const m of modes) {
      await m.worker.kill("SIGTERM");
      await m.q.queue.obliterate({ force: true }).catch(() => {});
      await m.q.close();
    }
    await deletePrefix(redis, prefix);
    await gh.close();
    redis.disconnect();
  }
  rows.sort((a, b) => a.files - b.files || ONLY_MODES.indexOf(a.mode) - ONLY_MODES.indexOf(b.mode));
  console.log(
    "\n| files/PR | mode | jobs | wall ms/job (median) | fetch ms | API calls/job | blob GETs/job | archives/job | KiB from GitHub/job |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|");
  for (const r of rows)
    console.log(
      `| ${r.files} | ${r.mode} | ${r.jobs} | ${r["wall ms/job"]} | ${r["fetch ms"]} | ${r["API calls/job"]} | ${r["blob GETs/job"]} | ${r["archives/job"]} | ${r["KiB/job"]} |`,
    );
  return rows;
}

interface SnapshotRow {
  mode: string;
  files: number;
  runs: number;
  "fetch ms": number;
  "API calls": number;
  "blob GETs": number;
  archives: number;
  KiB: number;
}

/**
 * The fetch alone, in this process (no parse, no posts, little CPU, so the shared machine's load
 * matters less): both snapshots of a job opened and filled as runReview does, with a ProbotOctokit
 * whose throttle is on (10 requests in flight), an empty in-memory blob cache per run.
 */
export async function benchSnapshots(): Promise<SnapshotRow[]> {
  type Open = typeof GitHubTreeSnapshot.open;
  const impls: [string, Open, Record<string, unknown>][] = [];
  for (const mode of ONLY_MODES) {
    if (mode === "before") {
      const old = (await import(resolve(BEFORE_ROOT!, "src/github/snapshot.ts"))) as { GitHubTreeSnapshot: { open: Open } };
      impls.push([mode, old.GitHubTreeSnapshot.open.bind(old.GitHubTreeSnapshot), {}]);
    } else {
      const minMisses = mode === "blobs" ? Infinity : mode === "archive" ? 0 : undefined;
      impls.push([mode, GitHubTreeSnapshot.open.bind(GitHubTreeSnapshot), minMisses === undefined ? {} : { archive: { minMisses } }]);
    }
  }
  const gh = await new FakeGitHub({ latencyMs: LATENCY }).start();
  const kit = new ProbotOctokit({
    auth: "ghs_bench",
    baseUrl: gh.baseUrl,
    log: { debug() {}, info() {}, warn() {}, error() {} },
  } as never) as unknown as Parameters<Open>[0];
  const samples = new Map<string, { ms: number; calls: number; blobs: number; archives: number; bytes: number }[]>();
  let n = 20000;
  const limits = { maxFiles: 2000, maxBytes: 20 * 2 ** 20, maxFileBytes: 2 ** 20, maxPackages: 200 };
  try {
    for (const [files, count] of SIZES) {
      for (let i = 0; i < count + 1; i++) {
        for (const [mode, open, extra] of impls) {
          const p = genPr(n++, files);
          load(gh, [p]);
          const dirs = touchedPackages(p.prFiles as never, []).dirs;
          gh.resetCalls();
          const t0 = performance.now();
          const cache = new MemoryBlobCache();
          const inflight = new Map<string, Promise<string>>();
          const snaps = await Promise.all(
            [p.baseSha, p.headSha].map((sha) => open(kit, { owner: "acme", repo: "big", sha, cache, limits, inflight, ...extra })),
          );
          await Promise.all(snaps.map((s) => s.include(dirs, { followImports: true })));
          const ms = performance.now() - t0;
          if (i === 0) continue; // warm-up round (JIT, connections)
          const key = `${files}\t${mode}`;
          samples.set(key, [
            ...(samples.get(key) ?? []),
            {
              ms,
              calls: gh.calls.length,
              blobs: gh.callsTo(/\/git\/blobs\//).length,
              archives: gh.callsTo(/\/tarball\//).length,
              bytes: gh.calls.reduce((a, c) => a + (c.bytes ?? 0), 0),
            },
          ]);
        }
      }
    }
  } finally {
    await gh.close();
  }
  const rows: SnapshotRow[] = [...samples].map(([key, per]) => {
    const [files, mode] = key.split("\t");
    return {
      mode: mode!,
      files: Number(files),
      runs: per.length,
      "fetch ms": Math.round(median(per.map((x) => x.ms))),
      "API calls": Math.round(median(per.map((x) => x.calls))),
      "blob GETs": Math.round(median(per.map((x) => x.blobs))),
      archives: Math.round(median(per.map((x) => x.archives))),
      KiB: Math.round(median(per.map((x) => x.bytes)) / 1024),
    };
  });
  console.log("\n| files/PR | mode | runs | fetch ms (median) | API calls | blob GETs | archives | KiB from GitHub |");
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of rows)
    console.log(
      `| ${r.files} | ${r.mode} | ${r.runs} | ${r["fetch ms"]} | ${r["API calls"]} | ${r["blob GETs"]} | ${r.archives} | ${r.KiB} |`,
    );
  return rows;
}

interface Sample {
  ms: number;
  fetch: number;
  analyze: number;
  post: number;
  calls: number;
  blobs: number;
  archives: number;
  bytes: number;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  if (process.env.BENCH_FETCH_PART !== "jobs") await benchSnapshots();
  if (process.env.BENCH_FETCH_PART !== "snapshots") await benchFetch();
  process.exit(0);
}
