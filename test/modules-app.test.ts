// Module resolution in the app: a fake proxy over HTTPS (nock) and real Redis. A public module is
// fetched once and its parsed declarations serve every installation from Redis; a private module
// (GOPRIVATE, on github.com) comes from the installation's zipball and is cached for that
// installation only; a failed fetch leaves the struct unresolved with the reason and never fails
// the review; the analysis thread asks the main thread for packages.
import { test, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import nock from "nock";
import { Redis } from "ioredis";
import { AppModules } from "../src/modules/app.ts";
import { hash1 } from "../src/modules/dirhash.ts";
import { writeZip } from "../src/modules/zip.ts";
import { analyzeSnapshot } from "../src/engine.ts";
import { AnalysisThreads } from "../src/analysis-thread.ts";
import type { Analysis, Snapshot } from "../src/analysis/model.ts";
import type { ModuleSource } from "../src/modules/loader.ts";

const redis = new Redis("redis://127.0.0.1:6379", { maxRetriesPerRequest: 1 });
const prefix = `mc-modtest-${process.pid}-${Date.now()}`;

after(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

const PUB = "github.com/prom/client";
const PUB_V = "v1.19.0";
const PUB_FILES: Record<string, string> = {
  "go.mod": `module ${PUB}\n\ngo 1.21\n`,
  "desc.go":
    "package client\n\nconst Max = 1 << 3\n\ntype Desc struct {\n\tName  string\n\tHelp  string\n\tlabels []string\n\tbits  [Max]uint16\n}\n",
};
const pubEntries = Object.entries(PUB_FILES).map(([n, d]) => ({ name: `${PUB}@${PUB_V}/${n}`, data: d }));
const PUB_ZIP = writeZip(pubEntries);
const PUB_H1 = hash1(pubEntries);

const PRIV = "github.com/acme/platform/types";
const PRIV_V = "v0.4.1";
const PRIV_FILES: Record<string, string> = {
  "go.mod": `module ${PRIV}\n\ngo 1.21\n`,
  "meta.go": "package types\n\ntype Meta struct {\n\tID    int64\n\tOwner string\n\tok    bool\n}\n",
};
const privEntries = Object.entries({ ...PRIV_FILES, LICENSE: "MIT\n" }).map(([n, d]) => ({ name: `${PRIV}@${PRIV_V}/${n}`, data: d }));
const PRIV_H1 = hash1(privEntries);
/** GitHub's zipball of acme/platform at types/v0.4.1: the module in types/, a nested module, vendor, LICENSE at the root. */
const ZIPBALL = writeZip([
  { name: "acme-platform-0123abc/LICENSE", data: "MIT\n" },
  { name: "acme-platform-0123abc/README.md", data: "# platform\n" },
  ...Object.entries(PRIV_FILES).map(([n, d]) => ({ name: `acme-platform-0123abc/types/${n}`, data: d })),
  { name: "acme-platform-0123abc/types/nested/go.mod", data: "module github.com/acme/platform/types/nested\n" },
  { name: "acme-platform-0123abc/types/nested/n.go", data: "package nested\n" },
  { name: "acme-platform-0123abc/types/vendor/x.io/y/y.go", data: "package y\n" },
]);

const APP_FILES: Record<string, string> = {
  "go.mod": `module github.com/acme/svc\n\ngo 1.22\n\nrequire (\n\t${PUB} ${PUB_V}\n\t${PRIV} ${PRIV_V}\n)\n`,
  "go.sum": `${PUB} ${PUB_V} ${PUB_H1}\n${PRIV} ${PRIV_V} ${PRIV_H1}\n`,
  "svc.go": `package svc\n\nimport (\n\t"${PUB}"\n\t"${PRIV}"\n)\n\ntype Metric struct {\n\tclient.Desc\n\tvalue float64\n}\n\ntype Owned struct {\n\tm    types.Meta\n\tflag bool\n}\n`,
};

function memory(files: Record<string, string>): Snapshot {
  return {
    label: "mem",
    paths: async () => Object.keys(files).sort(),
    read: async (p) => files[p] ?? Promise.reject(new Error(`no ${p}`)),
  };
}

const env = { MEMCHECK_GOPROXY: "https://proxy.test", GOPRIVATE: "github.com/acme", HOME: "/nonexistent" };

async function analyse(source: ModuleSource): Promise<Analysis> {
  return analyzeSnapshot(memory(APP_FILES), { archs: ["amd64"], threads: 1, modules: { source } });
}

const struct = (a: Analysis, name: string) => a.structs.find((s) => s.name === name)!;

test("a public module is fetched once; every installation then reads its declarations from Redis", async () => {
  nock.disableNetConnect();
  const proxy = nock("https://proxy.test").get(`/github.com/prom/client/@v/${PUB_V}.zip`).once().reply(200, PUB_ZIP);
  let zipballs = 0;
  const zipball = async () => {
    zipballs++;
    return ZIPBALL;
  };
  const first = new AppModules({ redis, prefix, env });
  const a = await analyse(first.forJob({ installationId: 1, host: "github.com", zipball }));
  assert.ok(struct(a, "Metric").resolved, JSON.stringify(struct(a, "Metric").unresolved));
  // Desc: 16+16+24 + 8*2 = 72; Metric 80.
  assert.equal(struct(a, "Metric").layouts.amd64?.size, 80);
  assert.ok(struct(a, "Owned").resolved, JSON.stringify(struct(a, "Owned").unresolved));
  assert.equal(struct(a, "Owned").layouts.amd64?.size, 40);
  assert.ok(proxy.isDone());
  assert.equal(zipballs, 1);
  await new Promise((r) => setTimeout(r, 50)); // the Redis writes are fire-and-forget

  // Another worker (nothing in memory), another installation: the public module comes from Redis,
  // the private one is fetched again with that installation's token.
  const second = new AppModules({ redis, prefix, env });
  const b = await analyse(second.forJob({ installationId: 2, host: "github.com", zipball }));
  assert.equal(struct(b, "Metric").layouts.amd64?.size, 80);
  assert.equal(struct(b, "Owned").layouts.amd64?.size, 40);
  assert.equal(second.hits, 1);
  assert.equal(zipballs, 2);
  const keys = (await redis.keys(`${prefix}:moddecls:*`)).sort();
  assert.deepEqual(
    keys.map((k) => k.slice(prefix.length)),
    [`:moddecls:1:inst:1:${PRIV}@${PRIV_V}/`, `:moddecls:1:inst:2:${PRIV}@${PRIV_V}/`, `:moddecls:1:public:${PUB}@${PUB_V}/`],
  );
  // A third installation whose go.sum disagrees with the cached module's hash is refused, cache or not.
  const third = new AppModules({ redis, prefix, env });
  const tampered = { ...APP_FILES, "go.sum": APP_FILES["go.sum"].replace(PUB_H1, "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=") };
  const c = await analyzeSnapshot(memory(tampered), {
    archs: ["amd64"],
    threads: 1,
    modules: { source: third.forJob({ installationId: 3, host: "github.com", zipball }) },
  });
  assert.match(
    struct(c, "Metric").unresolved.join("\n"),
    /checksum mismatch for github\.com\/prom\/client@v1\.19\.0: go\.sum has h1:AAAA.*the module memcheck cached/,
  );
});

test("a failed fetch leaves the struct unresolved with the reason; the review goes on", async () => {
  nock.disableNetConnect();
  nock("https://proxy.test").get(`/github.com/prom/client/@v/${PUB_V}.zip`).reply(503);
  const m = new AppModules({ redis, prefix: `${prefix}-fail`, env });
  const a = await analyse(m.forJob({ installationId: 9, host: "github.com" }));
  assert.match(
    struct(a, "Metric").unresolved.join("\n"),
    /github\.com\/prom\/client\.Desc \(github\.com\/prom\/client@v1\.19\.0 from https:\/\/proxy\.test: HTTP 503\)/,
  );
  assert.match(struct(a, "Owned").unresolved.join("\n"), /matches GOPRIVATE but is not a repository|GitHub archive/);
});

test("through the analysis thread: the thread asks the main thread for packages", async () => {
  nock.disableNetConnect();
  nock("https://proxy.test").get(`/github.com/prom/client/@v/${PUB_V}.zip`).once().reply(200, PUB_ZIP);
  const threads = new AnalysisThreads({ parseThreads: 1 });
  try {
    const m = new AppModules({ redis, prefix: `${prefix}-thread`, env });
    const source = m.forJob({ installationId: 5, host: "github.com", zipball: async () => ZIPBALL });
    const r = await threads.review(memory(APP_FILES), memory(APP_FILES), { archs: ["amd64"], changedLines: new Map() }, source);
    assert.equal(struct(r.head, "Metric").layouts.amd64?.size, 80);
    assert.equal(struct(r.head, "Owned").layouts.amd64?.size, 40);
    assert.equal(r.head.stats.modules?.packages, 2);
  } finally {
    await threads.close();
  }
});
