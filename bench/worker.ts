// Worker throughput: review jobs per second for synthetic Go PRs with 10, 100 and 1,000 changed
// files, run by 1 and by 2 worker processes (`node --import tsx worker/index.ts`, as `npm run
// worker` starts them: Probot from the environment, MEMCHECK_CONCURRENCY jobs each, default 2)
// against a fake GitHub on 127.0.0.1 that answers every request after BENCH_GH_LATENCY_MS (50 ms).
// Real Redis (a private queue name and prefix per run, removed afterwards), the real engine.
//
// Each PR lives in its own installation. A PR changes N files across N/10 packages (a new bool
// field at the top of a struct: padding and size-class regressions, review comments); the
// repository also holds untouched packages and a `common` package every file imports (followed by
// the snapshot). Per configuration: a cold run (empty blob cache), then a warm run of the same PRs
// (new deliveries; the blob cache in Redis and each worker's parse cache are warm; the review
// comments exist, so no review is posted again).
//
// Figures: jobs/s per PR size, mean stage times (fetch / analyze / post) from the jobs' results,
// GitHub API calls per job, blob cache hit rate (from the per-job log line), peak RSS per worker.
//
//   node --import tsx bench/worker.ts          (or: npm run bench -- worker)
import { Redis } from "ioredis";
import { createReviewQueue, type ReviewJobData } from "../src/queue/index.ts";
import { FakeGitHub } from "../test/support/fake-github.ts";
import { peakRss, spawnWorker, until, type Child } from "../test/support/processes.ts";
import { APP_ID, PRIVATE_KEY, SECRET } from "../test/support/pr-fixture.ts";
import { deletePrefix } from "../test/support/redis.ts";

const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const LATENCY = Number(process.env.BENCH_GH_LATENCY_MS ?? 50);
const SIZES: [files: number, prs: number][] = (process.env.BENCH_SIZES ?? "10:6,100:4,1000:2")
  .split(",")
  .map((x) => x.split(":").map(Number) as [number, number]);
const WORKERS = (process.env.BENCH_WORKERS ?? "1,2").split(",").map(Number);
const MODULE = "example.com/big";

export interface GenPr {
  number: number;
  files: number;
  baseSha: string;
  headSha: string;
  base: Map<string, string>;
  head: Map<string, string>;
  prFiles: unknown[];
}

const hex = (n: number, k: number) => (k.toString(16) + n.toString(16).padStart(8, "0")).padEnd(40, "a").slice(0, 40);

function goFile(pr: number, pkg: string, i: number, head: boolean): string {
  const T = `Rec${i}`;
  const lines = [
    `// Package ${pkg} (synthetic, PR ${pr}).`,
    `package ${pkg}`,
    ``,
    `import (`,
    `\t"strings"`,
    ``,
    `\t"${MODULE}/common"`,
    `)`,
    ``,
    `// ${T} is one record of the ${pkg} store.`,
    `type ${T} struct {`,
    ...(head ? [`\tActive bool`] : []),
    `\tID      int64`,
    `\tName    string`,
    `\tCount   int32`,
    `\tTags    []string`,
    `\tNext    *${T}`,
    `\tMeta    map[string]int`,
    `\tStamp   common.Stamp`,
    `\tFlag    bool`,
    `}`,
    ``,
    `// Pair${i} is a small value type.`,
    `type Pair${i} struct {`,
    `\tA, B int32`,
    `\tC    *Pair${i}`,
    `\tD    [4]byte`,
    `}`,
    ``,
    `// Sum adds up the record.`,
    `func (r *${T}) Sum() int {`,
    `\ttotal := int(r.ID) + int(r.Count)`,
    `\tfor i, t := range r.Tags {`,
    `\t\tif strings.HasPrefix(t, "x") {`,
    `\t\t\ttotal += i * len(t)`,
    `\t\t}`,
    `\t}`,
    `\tfor k, v := range r.Meta {`,
    `\t\ttotal += len(k) + v`,
    `\t}`,
    `\treturn total`,
    `}`,
    ``,
    `// Walk visits the chain.`,
    `func (r *${T}) Walk(f func(*${T}) bool) {`,
    `\tfor n := r; n != nil; n = n.Next {`,
    `\t\tif !f(n) {`,
    `\t\t\treturn`,
    `\t\t}`,
    `\t}`,
    `}`,
    ``,
  ];
  return lines.join("\n");
}

export function genPr(number: number, files: number): GenPr {
  const base = new Map<string, string>();
  base.set("go.mod", `module ${MODULE}\n\ngo 1.19\n\n// PR ${number}\n`);
  base.set(
    "common/stamp.go",
    `// PR ${number}\npackage common\n\n// Stamp is a point in time.\ntype Stamp struct {\n\tSec  int64\n\tNsec int32\n\tZone *string\n}\n`,
  );
  // Untouched packages: in the tree, never fetched.
  for (let p = 0; p < 50; p++) for (let f = 0; f < 4; f++) base.set(`other/o${p}/f${f}.go`, goFile(number, `o${p}`, f, false));
  const pkgs = Math.max(1, Math.ceil(files / 10));
  const changed: string[] = [];
  for (let p = 0; p < pkgs; p++) {
    for (let f = 0; f < 10 && changed.length < files; f++) {
      const path = `pkg/p${p}/f${f}.go`;
      base.set(path, goFile(number, `p${p}`, f, false));
      changed.push(path);
    }
  }
  const head = new Map(base);
  const prFiles: unknown[] = [];
  for (const path of changed) {
    const [, p, f] = /pkg\/p(\d+)\/f(\d+)\.go/.exec(path)!;
    const text = goFile(number, `p${p}`, Number(f), true);
    head.set(path, text);
    const lines = text.split("\n");
    const at = lines.indexOf("\tActive bool") + 1; // 1-based
    prFiles.push({
      filename: path,
      status: "modified",
      additions: 1,
      deletions: 0,
      changes: 1,
      patch: `@@ -${at - 1},2 +${at - 1},3 @@\n ${lines[at - 2]}\n+${lines[at - 1]}\n ${lines[at]}`,
    });
  }
  return { number, files, baseSha: hex(number, 1), headSha: hex(number, 2), base, head, prFiles };
}

export function load(gh: FakeGitHub, prs: GenPr[]) {
  for (const p of prs) {
    gh.addTree("acme", "big", p.baseSha, p.base);
    gh.addTree("acme", "big", p.headSha, p.head);
    gh.addPull("acme", "big", { number: p.number, state: "open", baseSha: p.baseSha, headSha: p.headSha, files: p.prFiles });
  }
}

interface Row {
  workers: number;
  run: string;
  files: number;
  jobs: number;
  "jobs/s": string;
  "fetch ms": number;
  "analyze ms": number;
  "post ms": number;
  "API calls/job": string;
  "blob GETs/job": string;
  "cache hit rate": string;
}

function reviewLogs(out: string, from: number): any[] {
  const rows: any[] = [];
  for (const line of out.slice(from).split("\n")) {
    if (!line.includes("review done")) continue;
    try {
      rows.push(JSON.parse(line));
    } catch {
      /* not JSON */
    }
  }
  return rows;
}

export async function benchWorker(): Promise<Row[]> {
  const prs: GenPr[] = [];
  let n = 1;
  for (const [files, count] of SIZES) for (let i = 0; i < count; i++) prs.push(genPr(n++, files));
  console.log(
    `PRs: ${SIZES.map(([f, c]) => `${c} × ${f} files`).join(", ")}; fake GitHub latency ${LATENCY} ms; MEMCHECK_CONCURRENCY 2 per worker`,
  );
  const rows: Row[] = [];
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  for (const workers of WORKERS) {
    const gh = await new FakeGitHub({ latencyMs: LATENCY }).start();
    load(gh, prs);
    const name = `bench-wk-${workers}`;
    const prefix = `mcbench-wk-${process.pid}`;
    const q = createReviewQueue({ redisUrl: REDIS_URL, settings: { name, prefix, debounceMs: 0, attempts: 1 } });
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
      LOG_LEVEL: "info",
      LOG_FORMAT: "json",
    };
    const children: Child[] = Array.from({ length: workers }, () => spawnWorker(env));
    try {
      for (const run of ["cold", "warm"]) {
        for (const [files] of SIZES) {
          const group = prs.filter((p) => p.files === files);
          gh.resetCalls();
          const outLens = children.map((c) => c.output().length);
          const ids: string[] = [];
          const t0 = performance.now();
          for (const p of group) {
            const data: ReviewJobData = {
              v: 1,
              installationId: 5000 + p.number,
              owner: "acme",
              repo: "big",
              pull: p.number,
              baseSha: p.baseSha,
              headSha: p.headSha,
              trigger: "pull_request",
              deliveryId: `${name}-${run}-${p.number}`,
              checkRunId: gh.createCheckRun("acme", "big", p.headSha),
              at: Date.now(),
            };
            ids.push((await q.enqueue(data)).id);
          }
          await until(
            `${files}-file jobs`,
            async () => {
              const states = await Promise.all(ids.map((id) => q.queue.getJobState(id)));
              if (states.includes("failed")) {
                const j = await q.queue.getJob(ids[states.indexOf("failed")]!);
                throw new Error(`job failed: ${j?.failedReason}\n${children.map((c) => c.output().slice(-3000)).join("\n")}`);
              }
              return states.every((s) => s === "completed");
            },
            600_000,
            50,
          ).catch((e) => {
            if (/job failed/.test(e.message)) console.error(e.message);
            throw e;
          });
          const secs = (performance.now() - t0) / 1000;
          const results = await Promise.all(ids.map(async (id) => (await q.queue.getJob(id))!.returnvalue));
          const mean = (k: string) => Math.round(results.reduce((a, r) => a + (r?.stages?.[k] ?? 0), 0) / results.length);
          await new Promise((r) => setTimeout(r, 1000)); // the workers' log lines are written asynchronously
          const logs = children.flatMap((c, i) => reviewLogs(c.output(), outLens[i]!));
          const fetched = logs.reduce((a, l) => a + (l.filesFetched ?? 0), 0);
          const hits = logs.reduce((a, l) => a + (l.cacheHits ?? 0), 0);
          const row: Row = {
            workers,
            run,
            files,
            jobs: group.length,
            "jobs/s": (group.length / secs).toFixed(group.length / secs < 1 ? 3 : 2),
            "fetch ms": mean("fetch"),
            "analyze ms": mean("analyze"),
            "post ms": mean("post"),
            "API calls/job": (gh.calls.length / group.length).toFixed(0),
            "blob GETs/job": (gh.callsTo(/\/git\/blobs\//).length / group.length).toFixed(0),
            "cache hit rate":
              logs.length === group.length && fetched + hits
                ? `${((100 * hits) / (fetched + hits)).toFixed(1)}%`
                : `n/a (${logs.length}/${group.length} log lines)`,
          };
          rows.push(row);
          console.log(JSON.stringify(row));
        }
      }
      const rss = children.map((c) => peakRss(c.pid));
      console.log(`workers=${workers}: peak RSS ${rss.map((b) => (b ? `${(b / 2 ** 20).toFixed(0)} MiB` : "?")).join(", ")}`);
      (rows as any).rss = { ...((rows as any).rss ?? {}), [workers]: rss };
    } finally {
      for (const c of children) await c.kill("SIGTERM");
      await q.queue.obliterate({ force: true }).catch(() => {});
      await deletePrefix(redis, prefix);
      await q.close();
      await gh.close();
    }
  }
  redis.disconnect();
  console.log(
    "\n| workers | run | files/PR | jobs | jobs/s | fetch ms | analyze ms | post ms | API calls/job | blob GETs/job | blob cache hits |",
  );
  console.log("|---|---|---|---|---|---|---|---|---|---|---|");
  for (const r of rows)
    console.log(
      `| ${r.workers} | ${r.run} | ${r.files} | ${r.jobs} | ${r["jobs/s"]} | ${r["fetch ms"]} | ${r["analyze ms"]} | ${r["post ms"]} | ${r["API calls/job"]} | ${r["blob GETs/job"]} | ${r["cache hit rate"]} |`,
    );
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await benchWorker();
  process.exit(0);
}
