// The app reviews a PR whose struct embeds a dependency's type: a real review job (runReview, the
// real pipeline in-process) against nock'd GitHub, with the module served by a fake Go module proxy
// over HTTP on 127.0.0.1 (MEMCHECK_GOPROXY) and its parsed declarations cached in real Redis. The
// struct is laid out (not left unresolved), and a second worker reviewing a second PR fetches the
// module from Redis, not from the proxy again.
import { test, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import nock from "nock";
import { Redis } from "ioredis";
import { runReview, type ReviewDeps } from "../src/github/review-job.ts";
import { defaultPipeline } from "../src/github/default-pipeline.ts";
import { MemoryBlobCache } from "../src/github/snapshot.ts";
import { ParseCache } from "../src/engine.ts";
import { ParsePool } from "../src/parse-pool.ts";
import { AppModules } from "../src/modules/app.ts";
import { hash1 } from "../src/modules/dirhash.ts";
import { writeZip } from "../src/modules/zip.ts";
import { makeProbot, mockRepo, reviewJob } from "./app-support.ts";

const redis = new Redis("redis://127.0.0.1:6379", { maxRetriesPerRequest: 1 });
const prefix = `mctest-app-modules-${process.pid}`;
const pool = new ParsePool(1);
const root = mkdtempSync(path.join(os.tmpdir(), "memcheck-app-modules-"));
after(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  await pool.close();
  rmSync(root, { recursive: true, force: true });
});
afterEach(() => nock.cleanAll());

const MOD = "github.com/prom/client";
const VER = "v1.19.0";
const entries = [
  { name: `${MOD}@${VER}/go.mod`, data: `module ${MOD}\n\ngo 1.21\n` },
  {
    name: `${MOD}@${VER}/desc.go`,
    data: "package client\n\ntype Desc struct {\n\tName   string\n\tHelp   string\n\tlabels []string\n\tbits   [8]uint16\n}\n",
  },
];
const ZIP = writeZip(entries);

/** A module proxy: GET /<module>/@v/<version>.zip, counted. */
async function startProxy(): Promise<{ url: string; zips: () => number; close: () => Promise<void> }> {
  let zips = 0;
  const server = http.createServer((req, res) => {
    if (req.url === `/${MOD}/@v/${VER}.zip`) {
      zips++;
      res.writeHead(200, { "content-type": "application/zip" }).end(ZIP);
    } else res.writeHead(404).end("not found");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    zips: () => zips,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** The service module at base (Metric without a flag) and head (a bool added before the embedded Desc). */
function writeSides(): { before: string; after: string } {
  const goMod = `module github.com/acme/shop\n\ngo 1.22\n\nrequire ${MOD} ${VER}\n`;
  const goSum = `${MOD} ${VER} ${hash1(entries)}\n`;
  const svc = (flag: boolean) =>
    `package metrics\n\nimport "${MOD}"\n\n// Metric is one series.\ntype Metric struct {\n${flag ? "\tOn bool\n" : ""}\tclient.Desc\n\tvalue float64\n}\n`;
  const out = { before: path.join(root, "before"), after: path.join(root, "after") };
  for (const [side, flag] of [
    ["before", false],
    ["after", true],
  ] as const) {
    mkdirSync(path.join(root, side, "metrics"), { recursive: true });
    writeFileSync(path.join(root, side, "go.mod"), goMod);
    writeFileSync(path.join(root, side, "go.sum"), goSum);
    writeFileSync(path.join(root, side, "metrics", "metric.go"), svc(flag));
  }
  return out;
}

const FILES = [
  {
    filename: "metrics/metric.go",
    status: "modified",
    additions: 1,
    deletions: 0,
    changes: 1,
    patch:
      '@@ -5,6 +5,7 @@ import "github.com/prom/client"\n // Metric is one series.\n type Metric struct {\n+\tOn bool\n \tclient.Desc\n \tvalue float64\n }',
  },
];

function deps(modules: AppModules): ReviewDeps {
  const probot = makeProbot();
  return {
    auth: (id) => probot.auth(id),
    botLogin: async () => "memcheck[bot]",
    pipeline: defaultPipeline({ inProcess: { parseCache: new ParseCache(), pool } }),
    cache: new MemoryBlobCache(),
    modules,
  };
}

const job = (delivery: string) => reviewJob({ deliveryId: delivery }, { id: `gh-${delivery}`, attempts: 1 });

test("a PR whose struct embeds a dependency's type: laid out through the proxy, fetched once for every worker", async () => {
  const proxy = await startProxy();
  const sides = writeSides();
  const env = { MEMCHECK_GOPROXY: proxy.url, HOME: "/nonexistent", GOFLAGS: "" };
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
  try {
    const cap = mockRepo({ before: sides.before, after: sides.after, files: FILES });
    const r = await runReview(job("mod-1"), deps(new AppModules({ redis, prefix, env })));
    assert.equal(r.status, "done", JSON.stringify(r));
    const done = cap.checkUpdates.find((u: { status?: string }) => u.status === "completed") as { output: { summary: string } };
    assert.ok(done, "the run was completed");
    // Desc is 16 + 16 + 24 + 16 = 72 B, so Metric is 80 B before and 88 B after: laid out, not unresolved.
    assert.match(done.output.summary, /`Metric` \| `metrics\/metric\.go:\d+` \| 80 → 88 B/, done.output.summary);
    assert.doesNotMatch(done.output.summary, /unresolved/i);
    assert.equal(proxy.zips(), 1, "the module zip was fetched once (base and head share it)");
    await new Promise((r) => setTimeout(r, 100)); // the cache write is fire-and-forget

    // Another worker process (nothing in memory) reviews the same PR again: the declarations come
    // from Redis, the proxy is not asked again.
    nock.cleanAll();
    const cap2 = mockRepo({ before: sides.before, after: sides.after, files: FILES });
    const r2 = await runReview(job("mod-2"), deps(new AppModules({ redis, prefix, env })));
    assert.equal(r2.status, "done");
    const done2 = cap2.checkUpdates.find((u: { status?: string }) => u.status === "completed") as { output: { summary: string } };
    assert.match(done2.output.summary, /80 → 88 B/);
    assert.equal(proxy.zips(), 1, "served from Redis the second time");
  } finally {
    await proxy.close();
  }
});
