// One review, one place: the same change and the same .github/memcheck.yml, reviewed by the GitHub
// App (a real BullMQ worker running the job against nock'd GitHub) and by `memcheck diff --json` on a
// git checkout, must give the same regressions, findings, severities and conclusion. The config
// changes archs, a threshold, a severity and an ignore, so a side that drops any of them drifts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import nock from "nock";
import { defaultPipeline } from "../src/github/default-pipeline.ts";
import { createReviewQueue, type ReviewJobData } from "../src/queue/index.ts";
import { createWorkerRuntime } from "../worker/runtime.ts";
import { API, BASE, HEAD, PR_MODULE, REDIS_URL, makeProbot, mockRepo, redisForFile } from "./app-support.ts";

const PREFIX = `mctest-parity-${process.pid}`;
redisForFile(PREFIX, { nock: true });

/** What both front ends must agree on. */
interface Verdict {
  failing: boolean;
  /** "Struct: kind, kind" for each failing regression group. */
  regressions: string[];
  /** "path:line rule severity" for each reported finding. */
  findings: string[];
}

const LEVEL_TO_SEVERITY: Record<string, string> = { failure: "error", warning: "warning", notice: "notice" };

/** A PR fixture: before/ and after/ trees, and the PR's files.json (default: test/fixtures/pr-module). */
interface Fixture {
  dir: string;
  files?: unknown[];
}

async function appVerdict(config: string, name: string, fx: Fixture = { dir: PR_MODULE }): Promise<Verdict> {
  const settings = { name, prefix: PREFIX, debounceMs: 0, attempts: 1, concurrency: 1 };
  const probot = makeProbot();
  await probot.ready(); // initialises probot.log
  const queue = createReviewQueue({ redisUrl: REDIS_URL, settings });
  const rt = createWorkerRuntime({
    probot,
    pipeline: defaultPipeline({ threads: 1 }),
    settings,
    redisUrl: REDIS_URL,
    staleRuns: { enabled: false },
  });
  const eventsConn = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const events = new QueueEvents(name, { connection: eventsConn, prefix: PREFIX });
  nock(API).get("/app").optionally().reply(200, { id: 123, slug: "memcheck", name: "memcheck" });
  const cap = mockRepo({ config, before: path.join(fx.dir, "before"), after: path.join(fx.dir, "after"), files: fx.files });
  try {
    await events.waitUntilReady();
    const data: ReviewJobData = {
      v: 1,
      installationId: 42,
      owner: "acme",
      repo: "shop",
      pull: 7,
      baseSha: BASE,
      headSha: HEAD,
      trigger: "pull_request",
      deliveryId: `parity-${name}`,
      checkRunId: 555,
      at: Date.now(),
    };
    const { id } = await queue.enqueue(data);
    const job = await queue.queue.getJob(id);
    const result = await job!.waitUntilFinished(events, 120_000);
    assert.equal(result.status, "done");
    const completed = cap.checkUpdates.find((u: any) => u.status === "completed") as any;
    assert.ok(completed, "the check run was completed");
    const annotations = cap.checkUpdates.flatMap((u: any) => u.output?.annotations ?? []);
    return {
      failing: completed.conclusion === "failure",
      regressions: annotations
        .filter((a: any) => a.annotation_level === "failure" && String(a.title).startsWith("memcheck: "))
        .map((a: any) => String(a.title).slice("memcheck: ".length).replace(" ", ": "))
        .sort(),
      findings: annotations
        .filter((a: any) => /^MC\d+$/.test(a.title))
        .map((a: any) => `${a.path}:${a.start_line} ${a.title} ${LEVEL_TO_SEVERITY[a.annotation_level]}`)
        .sort(),
    };
  } finally {
    await rt.close();
    await events.close();
    eventsConn.disconnect();
    await queue.queue.obliterate({ force: true }).catch(() => {});
    await queue.close();
    nock.cleanAll();
  }
}

interface DiffJson {
  regressions: { kind: string; message: string }[];
  findings: { rule: string; severity: string; file: string; line: number }[];
}

/** The same PR as a git checkout: base committed with the config, head in the working tree. */
function cliVerdict(config: string, fixtureDir = PR_MODULE): Verdict {
  const dir = mkdtempSync(path.join(os.tmpdir(), "memcheck-parity-"));
  try {
    const git = (...a: string[]) => execFileSync("git", a, { cwd: dir, stdio: "pipe" });
    git("init", "-q", "-b", "main");
    git("config", "user.email", "t@example.com");
    git("config", "user.name", "t");
    cpSync(path.join(fixtureDir, "before"), dir, { recursive: true });
    mkdirSync(path.join(dir, ".github"));
    writeFileSync(path.join(dir, ".github", "memcheck.yml"), config);
    git("add", "-A");
    git("commit", "-qm", "base");
    cpSync(path.join(fixtureDir, "after"), dir, { recursive: true });
    const r = spawnSync(process.execPath, [path.resolve("bin/memcheck.js"), "diff", "--base", "main", "--json"], {
      cwd: dir,
      encoding: "utf8",
    });
    assert.ok(r.status === 0 || r.status === 1, r.stderr);
    const json = JSON.parse(r.stdout) as DiffJson;
    const groups = new Map<string, Set<string>>();
    for (const reg of json.regressions) {
      const struct = reg.message.split(" ")[0]!;
      groups.set(struct, (groups.get(struct) ?? new Set()).add(reg.kind));
    }
    return {
      failing: r.status === 1,
      regressions: [...groups].map(([s, kinds]) => `${s}: ${[...kinds].join(", ")}`).sort(),
      findings: json.findings.map((f) => `${f.file}:${f.line} ${f.rule} ${f.severity}`).sort(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const CONFIGS: Record<string, string> = {
  // Order's padding growth (+14 B) is under the threshold; MC151 is raised to a warning.
  thresholds: "archs: [amd64, arm64]\nthresholds:\n  paddingGrowth: 32\nrules:\n  MC151: warning\n",
  // On 386 first, a reorder of Coupon saves only 4 B: no MC151 on either side.
  archs: "archs: [386, amd64]\n",
  // The new file is ignored and MC151 is off: only Order's regressions remain.
  ignores: 'ignore: ["order/coupon.go"]\nrules:\n  MC151: "off"\nhot: [Order]\n',
};

for (const [name, config] of Object.entries(CONFIGS)) {
  test(`the app and memcheck diff give the same review (${name})`, async () => {
    const app = await appVerdict(config, `parity-${name}`);
    const cli = cliVerdict(config);
    assert.deepEqual(app, cli);
    // Guard against both sides agreeing on nothing: the fixture's Order regresses under both configs.
    assert.ok(app.failing && app.regressions.some((r) => r.startsWith("Order: ")), JSON.stringify(app));
  });
}

test("the app and memcheck diff give the same review (ripple: a change in package a reaches c.Message)", async () => {
  const dir = path.resolve("test/fixtures/ripple");
  const files = JSON.parse(readFileSync(path.join(dir, "files.json"), "utf8"));
  const config = "archs: [amd64, 386]\n";
  const app = await appVerdict(config, "parity-ripple", { dir, files });
  const cli = cliVerdict(config, dir);
  assert.deepEqual(app, cli);
  // The PR touches package a only; the app found c.Message (through b.Envelope) by fetching the tree.
  assert.ok(app.failing && app.regressions.includes("Message: size-class"), JSON.stringify(app));
});
