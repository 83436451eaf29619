// Webhook acks and push -> completed check run, side by side for two checkouts of memcheck (this
// one and BENCH_OLD_ROOT, e.g. `git archive main | tar -x -C scratch/old`, node_modules linked),
// each started as `npm start` starts it (`node --import tsx src/main.ts`: Probot from the
// environment with its Redis-shared throttle, the ops layer, the in-process worker) in a child
// process, against one fake GitHub on 127.0.0.1 answering after BENCH_GH_LATENCY_MS (50).
//
// 1. Acks: deliveries paced at BENCH_ACK_RATE/s (200) for BENCH_ACK_SECONDS (5), open loop (each
//    sent on schedule, whatever the earlier ones did): 100 PRs, pushes in turn; once on one
//    installation, once spread over 100. Then the server is killed with SIGKILL at once and Redis
//    is checked: every delivery answered 200 must be there.
// 2. Push -> completed check run: BENCH_PUSHES (8) pushes to 20-file PRs, one at a time, debounce
//    0; the time from sending the webhook to the run being completed at the fake GitHub.
//
//   BENCH_OLD_ROOT=scratch/old node --import tsx bench/intake.ts
import http from "node:http";
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { Redis } from "ioredis";
import { Queue } from "bullmq";
import { FakeGitHub } from "../test/support/fake-github.ts";
import { freePort, until, ROOT, type Child } from "../test/support/processes.ts";
import { APP_ID, PRIVATE_KEY, SECRET, BASE, postWebhook, prPayload } from "../test/support/pr-fixture.ts";
import { deletePrefix } from "../test/support/redis.ts";

const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const LATENCY = Number(process.env.BENCH_GH_LATENCY_MS ?? 50);
const RATE = Number(process.env.BENCH_ACK_RATE) || 200;
const SECONDS = Number(process.env.BENCH_ACK_SECONDS) || 5;
const PUSHES = Number(process.env.BENCH_PUSHES) || 8;
const FILES = 20;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
}

const sha = (pr: number, k: number) => `${(k + 1).toString(16).padStart(8, "0")}${pr.toString(16).padStart(32, "0")}`.slice(0, 40);

interface App {
  url: string;
  child: Child;
}

async function startApp(root: string, gh: FakeGitHub, o: { queue: string; prefix: string; debounceMs: number }): Promise<App> {
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    APP_ID: String(APP_ID),
    PRIVATE_KEY,
    WEBHOOK_SECRET: SECRET,
    REDIS_URL,
    MEMCHECK_QUEUE: o.queue,
    MEMCHECK_QUEUE_PREFIX: o.prefix,
    MEMCHECK_DEBOUNCE_MS: String(o.debounceMs),
    MEMCHECK_BOT_LOGIN: "memcheck[bot]",
    SWEEP_ENABLED: "false",
    MEMCHECK_STALE_RUN_SWEEP: "false",
    ...(process.env.BENCH_INPROCESS_WORKER ? { MEMCHECK_INPROCESS_WORKER: process.env.BENCH_INPROCESS_WORKER } : {}),
    PORT: String(port),
    HOST: "127.0.0.1",
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL || "fatal",
    ...gh.env(),
  };
  const proc = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout?.on("data", (c) => (out += c));
  proc.stderr?.on("data", (c) => (out += c));
  const exited = new Promise<number | null>((r) => proc.once("exit", (c) => r(c)));
  const child: Child = {
    proc,
    pid: proc.pid!,
    output: () => out,
    exited,
    async kill(signal = "SIGKILL") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
  const url = `http://127.0.0.1:${port}`;
  await until(
    `the app in ${root} to listen`,
    () =>
      new Promise<boolean>((res) =>
        http.get(`${url}/healthz`, (r) => (r.resume(), res(r.statusCode === 200))).on("error", () => res(false)),
      ),
    60_000,
    100,
  ).catch((e) => {
    throw new Error(`${e.message}\n${out}`);
  });
  return { url, child };
}

async function ackRun(label: string, root: string, installations: number): Promise<Record<string, string | number>> {
  const gh = await new FakeGitHub({ latencyMs: LATENCY }).start();
  const queue = `bench-ack-${installations}`;
  const prefix = `mcbench-ack-${process.pid}-${label.replace(/\W/g, "")}`;
  const total = RATE * SECONDS;
  const PRS = 100;
  const pushesPerPr = Math.ceil(total / PRS);
  for (let pr = 1; pr <= PRS; pr++)
    gh.addPull("acme", "shop", { number: pr, state: "open", baseSha: BASE, headSha: sha(pr, pushesPerPr - 1), files: [] });
  const app = await startApp(root, gh, { queue, prefix, debounceMs: 600_000 });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  const lat: number[] = [];
  const statuses = new Map<number, number>();
  const ok: string[] = [];
  const t0 = performance.now();
  const sends: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const pr = (i % PRS) + 1;
    const k = Math.floor(i / PRS);
    const at = t0 + (i * 1000) / RATE;
    const wait = at - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const id = `ack-${label}-${installations}-${i}`;
    const payload = prPayload({
      action: k === 0 ? "opened" : "synchronize",
      pull: pr,
      head: sha(pr, k),
      before: k === 0 ? BASE : sha(pr, k - 1),
      installation: installations === 1 ? 42 : 1000 + (pr % installations),
    });
    sends.push(
      postWebhook(app.url, "pull_request", payload, id, agent).then(
        (r) => {
          lat.push(r.ms);
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status === 200) ok.push(id);
        },
        () => void statuses.set(0, (statuses.get(0) ?? 0) + 1),
      ),
    );
  }
  await Promise.all(sends);
  const wallS = (performance.now() - t0) / 1000;
  // SIGKILL right after the answers: every 200 must already be in Redis.
  await app.child.kill("SIGKILL");
  agent.destroy();
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  let inRedis = 0;
  const queues = [new Queue(queue, { connection: redis, prefix }), new Queue(`${queue}-intake`, { connection: redis, prefix })];
  for (const id of ok) {
    const jobId = `gh-${id}`;
    let found = false;
    for (const q of queues) if (!found && (await q.getJob(jobId))) found = true;
    // The old code: a delivery replaced by a newer push has no job, but its run was closed as superseded.
    if (!found && [...gh.checkRuns.values()].some((c) => c.external_id === id)) found = true;
    if (found) inRedis++;
  }
  for (const q of queues) await q.close();
  await deletePrefix(redis, prefix);
  redis.disconnect();
  await gh.close();
  return {
    code: label,
    installations,
    deliveries: total,
    "rate sent /s": (total / wallS).toFixed(0),
    answers: [...statuses]
      .sort()
      .map(([s, c]) => `${s}×${c}`)
      .join(" "),
    "202 answers": statuses.get(202) ?? 0,
    "ack p50 ms": pct(lat, 50).toFixed(1),
    "ack p99 ms": pct(lat, 99).toFixed(1),
    "ack max ms": Math.max(...lat).toFixed(1),
    "answered 200, then in Redis after SIGKILL": `${inRedis}/${ok.length}`,
  };
}

function goFile(pkg: string, i: number, head: boolean): string {
  return [
    `package ${pkg}`,
    ``,
    `type Rec${i} struct {`,
    ...(head ? [`\tActive bool`] : []),
    `\tID    int64`,
    `\tName  string`,
    `\tCount int32`,
    `\tTags  []string`,
    `\tOK    bool`,
    `}`,
    ``,
  ].join("\n");
}

/** A 20-file PR (two packages), base and head trees, in the fake. */
function loadPr(gh: FakeGitHub, pr: number): { head: string } {
  const base = new Map<string, string>([["go.mod", "module example.com/lat\n\ngo 1.22\n"]]);
  const head = new Map(base);
  const files: unknown[] = [];
  for (let i = 0; i < FILES; i++) {
    const pkg = `p${i % 2}`;
    const path = `${pkg}/f${i}.go`;
    base.set(path, goFile(pkg, i, false));
    head.set(path, goFile(pkg, i, true));
    files.push({
      filename: path,
      status: "modified",
      additions: 1,
      deletions: 0,
      changes: 1,
      patch: `@@ -2,3 +2,4 @@\n \n type Rec${i} struct {\n+\tActive bool\n \tID    int64`,
    });
  }
  const baseSha = sha(pr, 100);
  const headSha = sha(pr, 101);
  gh.addTree("acme", "shop", baseSha, base);
  gh.addTree("acme", "shop", headSha, head);
  gh.addPull("acme", "shop", { number: pr, state: "open", baseSha, headSha, files });
  return { head: headSha };
}

async function latencyRun(label: string, root: string): Promise<Record<string, string | number>> {
  const gh = await new FakeGitHub({ latencyMs: LATENCY }).start();
  const queue = "bench-lat";
  const prefix = `mcbench-lat-${process.pid}-${label.replace(/\W/g, "")}`;
  const app = await startApp(root, gh, { queue, prefix, debounceMs: 0 });
  const times: number[] = [];
  const firstRun: number[] = [];
  try {
    for (let n = 0; n <= PUSHES; n++) {
      const pr = 500 + n;
      const { head } = loadPr(gh, pr);
      const t0 = performance.now();
      const r = await postWebhook(
        app.url,
        "pull_request",
        prPayload({ action: "synchronize", pull: pr, head, before: sha(pr, 100), base: sha(pr, 100) }),
        `lat-${label}-${n}`,
      );
      if (r.status !== 200) throw new Error(`webhook answered ${r.status}`);
      const run = await until("a check run", () => gh.checkRunsFor(head)[0], 30_000, 5);
      if (n > 0) firstRun.push(performance.now() - t0);
      await until(
        "the completed check run",
        () => gh.checkRunsFor(head).some((c) => c.status === "completed" && c.conclusion !== "skipped"),
        120_000,
        5,
      ).catch((e) => {
        throw new Error(`${e.message}\n${app.child.output().slice(-3000)}`);
      });
      if (n > 0) times.push(performance.now() - t0); // n = 0 warms the engine (grammar, caches)
      if (process.env.BENCH_DUMP_CALLS) {
        const start = Date.now() - (performance.now() - t0);
        for (const c of gh.calls.filter((c) => c.at >= start)) console.log(`  ${c.at - start} ms ${c.method} ${c.path} ${c.status}`);
      }
      void run;
      // Let this job finish (its review) and the per-installation write spacing pass: each push is
      // measured alone, not behind the previous one's review.
      await until("the review", () => gh.reviews.some((x) => x.pull === pr), 60_000, 20);
      await new Promise((r) => setTimeout(r, 3500));
    }
  } finally {
    await app.child.kill("SIGKILL");
    const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    await deletePrefix(redis, prefix);
    redis.disconnect();
    await gh.close();
  }
  return {
    code: label,
    pushes: times.length,
    "push -> queued run p50 ms": pct(firstRun, 50).toFixed(0),
    "push -> completed run p50 ms": pct(times, 50).toFixed(0),
    "push -> completed run max ms": Math.max(...times).toFixed(0),
  };
}

export async function benchIntake(): Promise<unknown[]> {
  const roots: [string, string][] = process.env.BENCH_ONLY_OLD ? [] : [["new", ROOT]];
  if (process.env.BENCH_OLD_ROOT) roots.unshift(["old", resolve(process.env.BENCH_OLD_ROOT)]);
  const out: unknown[] = [];
  const show = (r: Record<string, string | number>) => {
    out.push(r);
    console.log(
      Object.entries(r)
        .map(([k, v]) => `${k}: ${v}`)
        .join(" | "),
    );
  };
  if (process.env.BENCH_PART !== "latency")
    for (const inst of [1, 100]) for (const [label, root] of roots) show(await ackRun(label, root, inst));
  if (process.env.BENCH_PART !== "ack") for (const [label, root] of roots) show(await latencyRun(label, root));
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`acks at ${RATE}/s for ${SECONDS} s; push -> completed for ${FILES}-file PRs; fake GitHub latency ${LATENCY} ms`);
  await benchIntake();
  process.exit(0);
}
