// The snapshot's archive path: many uncached blobs come from one tarball of the commit, streamed,
// SHA-checked and cached; a hostile, corrupt or slow archive ends in blob GETs for what it did not
// provide, never in a crash or in wrong text; the limits and their skip reasons are the same as
// with blob GETs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import nock from "nock";
import { ProbotOctokit } from "probot";
import { GitHubTreeSnapshot, MemoryBlobCache, archiveSettings, type SnapshotLimits } from "../src/github/snapshot.ts";
import { Readable } from "node:stream";
import { gitBlobSha, readArchive } from "../src/github/archive.ts";
import { FakeGitHub } from "./support/fake-github.ts";
import { buildTar, buildTarGz, repoTarball, type TarEntry } from "./support/tarball.ts";

const API = "https://api.github.com";
const CODELOAD = "https://codeload.github.com";
const LIMITS: SnapshotLimits = { maxFiles: 2000, maxBytes: 20 * 2 ** 20, maxFileBytes: 2 ** 20, maxPackages: 200 };
const SHA = "1".repeat(40);
const TOP = `o-r-${SHA.slice(0, 7)}`;

function octokit(baseUrl?: string) {
  return new ProbotOctokit({
    auth: "x",
    ...(baseUrl ? { baseUrl } : {}),
    retry: { enabled: false },
    throttle: { enabled: false },
    log: { debug() {}, info() {}, warn() {}, error() {} },
  } as any);
}

function goFile(pkg: string, i: number, extra = ""): string {
  return `package ${pkg}\n\n// T${i} is record ${i}.${extra}\ntype T${i} struct {\n\tA int64\n\tB bool\n}\n`;
}

/** A repository: go.mod, `n` files in p/, a few files elsewhere. */
function repoFiles(n: number, o: { changed?: number; tag?: string } = {}): Map<string, string> {
  const m = new Map<string, string>();
  m.set("go.mod", "module example.com/r\n\ngo 1.21\n");
  m.set("README.md", "# r\n");
  for (let i = 0; i < n; i++)
    m.set(`p/f${String(i).padStart(3, "0")}.go`, goFile("p", i, i < (o.changed ?? 0) ? ` ${o.tag ?? "changed"}` : ""));
  m.set("p/f_test.go", "package p\n");
  m.set("q/q.go", "package q\n");
  return m;
}

function treeJson(files: Map<string, string>) {
  return {
    sha: SHA,
    truncated: false,
    tree: [...files].map(([path, text]) => ({
      path,
      mode: "100644",
      type: "blob",
      sha: gitBlobSha(Buffer.from(text)),
      size: Buffer.byteLength(text),
    })),
  };
}

const blobJson = (text: string) => ({ encoding: "base64", content: Buffer.from(text).toString("base64") });

/** nock: the tree, and the tarball (302 to codeload) answering `archive`. */
function mockTreeAndArchive(files: Map<string, string>, archive: Buffer | ((scope: nock.Scope) => nock.Scope)) {
  nock(API).get(`/repos/o/r/git/trees/${SHA}`).query({ recursive: "true" }).reply(200, treeJson(files));
  nock(API)
    .get(`/repos/o/r/tarball/${SHA}`)
    .reply(302, "", { location: `${CODELOAD}/o/r/legacy.tar.gz/${SHA}` });
  const cl = nock(CODELOAD).get(`/o/r/legacy.tar.gz/${SHA}`);
  if (Buffer.isBuffer(archive)) cl.reply(200, archive, { "content-type": "application/x-gzip" });
  else archive(nock(CODELOAD));
}

/** Any blob of `files`, as often as asked (for fallbacks whose split between archive and blobs varies). */
function mockAnyBlob(files: Map<string, string>) {
  const bySha = new Map([...files.values()].map((t) => [gitBlobSha(Buffer.from(t)), t]));
  nock(API)
    .persist()
    .get(/\/repos\/o\/r\/git\/blobs\/[0-9a-f]{40}$/)
    .reply((uri: unknown) => {
      const url = typeof uri === "string" ? uri : String((uri as { url?: string }).url);
      const text = bySha.get(url.slice(-40));
      return text === undefined ? [404, { message: "Not Found" }] : [200, blobJson(text)];
    });
}

/** Mocks still waiting, except the persisted blob route. */
function pendingExceptBlobs(): string[] {
  return nock.pendingMocks().filter((m) => !m.includes("git\\/blobs"));
}

function mockBlobs(files: Map<string, string>, paths: string[]) {
  const scope = nock(API);
  for (const p of paths) scope.get(`/repos/o/r/git/blobs/${gitBlobSha(Buffer.from(files.get(p)!))}`).reply(200, blobJson(files.get(p)!));
}

async function open(o: { cache?: MemoryBlobCache; limits?: SnapshotLimits; minMisses?: number; timeoutMs?: number } = {}) {
  return GitHubTreeSnapshot.open(octokit(), {
    owner: "o",
    repo: "r",
    sha: SHA,
    cache: o.cache ?? new MemoryBlobCache(),
    limits: o.limits ?? LIMITS,
    archive: { minMisses: o.minMisses ?? 50, ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}) },
  });
}

function assertTexts(s: GitHubTreeSnapshot, files: Map<string, string>, dirs = ["p"]) {
  for (const [path, text] of files) {
    const want =
      dirs.some((d) => path.startsWith(`${d}/`) && !path.slice(d.length + 1).includes("/")) &&
      path.endsWith(".go") &&
      !path.endsWith("_test.go");
    if (want) assert.equal(s.textOf(path), text, path);
  }
  assert.equal(s.textOf("go.mod"), files.get("go.mod"));
}

function done() {
  assert.deepEqual(nock.pendingMocks(), []);
  nock.cleanAll();
}

test.beforeEach(() => nock.disableNetConnect());
test.afterEach(() => nock.cleanAll());

test("archive: more than the threshold of uncached blobs come from one tarball, SHA-checked and cached", async () => {
  const files = repoFiles(60);
  mockTreeAndArchive(files, await repoTarball("o", "r", SHA, files));
  const cache = new MemoryBlobCache();
  const s = await open({ cache });
  await s.include(["p"], { followImports: true });
  assertTexts(s, files);
  assert.deepEqual(await s.paths(), ["go.mod", ...[...files.keys()].filter((p) => /^p\/f\d+\.go$/.test(p))]);
  assert.equal(s.stats.blobGets, 0);
  assert.equal(s.stats.archives, 1);
  assert.equal(s.stats.apiCalls, 2); // the tree and the tarball
  assert.equal(s.stats.archiveFiles, 61); // 60 files and go.mod
  assert.equal(cache.m.size, 61);
  for (const [sha, text] of cache.m) assert.equal(gitBlobSha(Buffer.from(text)), sha);
  assert.equal(s.archiveReads[0]!.complete, true);
  done();
});

test("archive: at or under the threshold, blob GETs as before and no tarball", async () => {
  const files = repoFiles(50);
  nock(API).get(`/repos/o/r/git/trees/${SHA}`).query({ recursive: "true" }).reply(200, treeJson(files));
  mockBlobs(files, ["go.mod", ...[...files.keys()].filter((p) => /^p\/f\d+\.go$/.test(p))]);
  const s = await open();
  await s.include(["p"]);
  assertTexts(s, files);
  assert.equal(s.stats.archives, 0);
  assert.equal(s.stats.blobGets, 51);
  done();
});

test("archive: cached blobs do not count as misses; a warm cache needs no tarball", async () => {
  const files = repoFiles(60);
  const cache = new MemoryBlobCache();
  for (const [, text] of [...files].slice(0, 20)) await cache.set(gitBlobSha(Buffer.from(text)), text);
  // 60 files, 18 of them cached (go.mod and README.md are among the first 20): 42 misses <= 50
  nock(API).get(`/repos/o/r/git/trees/${SHA}`).query({ recursive: "true" }).reply(200, treeJson(files));
  const missing = [...files.keys()].filter((p) => /^p\/f\d+\.go$/.test(p) && !cache.m.has(gitBlobSha(Buffer.from(files.get(p)!))));
  assert.equal(missing.length, 42);
  mockBlobs(files, missing);
  const s = await open({ cache });
  await s.include(["p"]);
  assertTexts(s, files);
  assert.equal(s.stats.archives, 0);
  assert.equal(s.stats.cacheHits, 19); // 18 files and go.mod
  done();
});

test("archive: links, traversal, absolute paths, foreign folders, wrong content and devices are never used", async () => {
  const files = repoFiles(60);
  const good = new Map([...files].filter(([p]) => !["p/f000.go", "p/f001.go", "p/f002.go", "p/f003.go"].includes(p)));
  const entries: TarEntry[] = [
    { name: `${TOP}/`, type: "directory" },
    { name: `${TOP}/p/`, type: "directory" },
    { name: `${TOP}/p/f000.go`, type: "symlink", linkname: "/etc/passwd" },
    { name: `${TOP}/p/f001.go`, type: "link", linkname: `${TOP}/p/f010.go` },
    { name: `${TOP}/p/../p/f002.go`, content: files.get("p/f002.go")! },
    { name: `/p/f002.go`, content: files.get("p/f002.go")! },
    { name: `${TOP}/../../etc/f002.go`, content: "package evil\n" },
    { name: `elsewhere/p/f002.go`, content: files.get("p/f002.go")! },
    { name: `${TOP}/p/f003.go`, content: files.get("p/f003.go")!.replace("record", "RECORD") }, // same size, other SHA
    { name: `${TOP}/p/fifo.go`, type: "fifo" },
    ...[...good].map(([p, c]) => ({ name: `${TOP}/${p}`, content: c })),
  ];
  mockTreeAndArchive(files, await buildTarGz(entries, { globalComment: SHA }));
  mockBlobs(files, ["p/f000.go", "p/f001.go", "p/f002.go", "p/f003.go"]);
  const s = await open();
  await s.include(["p"]);
  assertTexts(s, files);
  const r = s.archiveReads[0]!;
  assert.equal(r.links, 2);
  assert.equal(r.unsafePaths, 4);
  assert.equal(r.mismatched, 1);
  assert.equal(r.otherEntries, 1);
  assert.equal(r.found, 57); // 56 files and go.mod
  assert.equal(s.stats.blobGets, 4);
  done();
});

test("archive: a decompression bomb is cut off at a cap derived from the tree, then blobs", async () => {
  const files = repoFiles(60);
  // 64 MiB of zeros (64 KiB gzipped) before the wanted files; the tree's files total ~10 KB
  const bomb: TarEntry = { name: `${TOP}/a/zero.bin`, content: Buffer.alloc(64 * 2 ** 20) };
  const archive = await buildTarGz([
    { name: `${TOP}/`, type: "directory" },
    bomb,
    ...[...files].map(([p, c]) => ({ name: `${TOP}/${p}`, content: c })),
  ]);
  assert.ok(archive.length < 2 ** 20);
  mockTreeAndArchive(files, archive);
  mockBlobs(files, ["go.mod", ...[...files.keys()].filter((p) => /^p\/f\d+\.go$/.test(p))]);
  const s = await open();
  await s.include(["p"]);
  assertTexts(s, files);
  const r = s.archiveReads[0]!;
  assert.match(r.error ?? "", /decompressed archive exceeded (\d+) bytes/);
  const cap = Number(/exceeded (\d+)/.exec(r.error!)![1]);
  assert.ok(cap < 2 * 2 ** 20, `cap ${cap}`);
  assert.ok(r.tarBytes <= cap + 64 * 1024, `read ${r.tarBytes} of a ${cap} cap`);
  assert.equal(s.stats.blobGets, 61);
  done();
});

test("archive: truncated, non-gzip, non-tar and failed downloads fall back to blob GETs", async () => {
  const files = repoFiles(60);
  const good = await repoTarball("o", "r", SHA, files);
  const notTar = gzipSync(Buffer.from("this is not a tar archive ".repeat(100)));
  const cases: [string, (s: nock.Scope) => nock.Scope, RegExp][] = [
    [
      "truncated gzip",
      (sc) =>
        sc
          .get(`/o/r/legacy.tar.gz/${SHA}`)
          .reply(200, good.subarray(0, Math.floor(good.length / 2)), { "content-type": "application/x-gzip" }),
      /unexpected end of file/,
    ],
    [
      "not gzip",
      (sc) =>
        sc
          .get(`/o/r/legacy.tar.gz/${SHA}`)
          .reply(200, Buffer.from("<html>not an archive</html>"), { "content-type": "application/x-gzip" }),
      /header check|incorrect/,
    ],
    ["not tar", (sc) => sc.get(`/o/r/legacy.tar.gz/${SHA}`).reply(200, notTar, { "content-type": "application/x-gzip" }), /./],
    ["codeload 500", (sc) => sc.get(`/o/r/legacy.tar.gz/${SHA}`).reply(500, { message: "boom" }), /GET tarball: 500/],
  ];
  for (const [name, archive, why] of cases) {
    mockTreeAndArchive(files, archive);
    mockAnyBlob(files);
    const s = await open();
    await s.include(["p"]);
    assertTexts(s, files);
    const r = s.archiveReads[0]!;
    assert.equal(r.complete, false, name);
    assert.match(r.error ?? "(none)", why, name);
    // what was read and verified before the failure is kept; the rest comes as blobs
    assert.ok(s.stats.blobGets > 0, name);
    assert.equal(s.stats.blobGets + s.stats.archiveFiles, 61, name);
    assert.deepEqual(pendingExceptBlobs(), [], name);
    nock.cleanAll();
  }
  // A 404 on the tarball itself (e.g. a GHE that refuses archives)
  nock(API).get(`/repos/o/r/git/trees/${SHA}`).query({ recursive: "true" }).reply(200, treeJson(files));
  nock(API).get(`/repos/o/r/tarball/${SHA}`).reply(404, { message: "Not Found" });
  mockBlobs(files, ["go.mod", ...[...files.keys()].filter((p) => /^p\/f\d+\.go$/.test(p))]);
  const s = await open();
  await s.include(["p"]);
  assertTexts(s, files);
  assert.match(s.archiveReads[0]!.error!, /GET tarball: 404/);
  done();
});

test("archive: the limits skip and report exactly as with blob GETs", async () => {
  const files = repoFiles(80);
  files.set("p/huge.go", `package p\n// ${"x".repeat(5000)}\n`);
  const run = async (limits: SnapshotLimits, minMisses: number) => {
    nock(API).get(`/repos/o/r/git/trees/${SHA}`).query({ recursive: "true" }).reply(200, treeJson(files));
    nock(API)
      .get(`/repos/o/r/tarball/${SHA}`)
      .optionally()
      .reply(302, "", { location: `${CODELOAD}/o/r/legacy.tar.gz/${SHA}` });
    nock(CODELOAD)
      .get(`/o/r/legacy.tar.gz/${SHA}`)
      .optionally()
      .reply(200, await repoTarball("o", "r", SHA, files), { "content-type": "application/x-gzip" });
    mockAnyBlob(files);
    const s = await open({ limits, minMisses });
    await s.include(["p"]);
    nock.cleanAll();
    return s;
  };
  const cases: [SnapshotLimits, RegExp][] = [
    [{ maxFiles: 2000, maxBytes: 70 * 60, maxFileBytes: 4000, maxPackages: 200 }, /^byte limit \(4200\) reached$/],
    [{ maxFiles: 55, maxBytes: 2 ** 20, maxFileBytes: 4000, maxPackages: 200 }, /^file limit \(55\) reached$/],
  ];
  for (const [limits, reason] of cases) {
    const blobs = await run(limits, Infinity);
    const archive = await run(limits, 50);
    assert.equal(blobs.stats.archives, 0);
    assert.equal(archive.stats.archives, 1);
    assert.equal(archive.stats.blobGets, 0);
    assert.ok(
      blobs.skipped.some((x) => x.path === "p/huge.go" && x.reason === "larger than 4000 bytes (5014)"),
      JSON.stringify(blobs.skipped),
    );
    assert.ok(
      blobs.skipped.some((x) => reason.test(x.reason)),
      JSON.stringify(blobs.skipped),
    );
    assert.deepEqual(archive.skipped, blobs.skipped);
    assert.deepEqual(await archive.paths(), await blobs.paths());
    assert.equal(archive.stats.bytes, blobs.stats.bytes);
    for (const p of await blobs.paths()) assert.equal(archive.textOf(p), blobs.textOf(p));
    // the archive held the skipped files too; none of them was kept
    for (const x of archive.skipped) assert.equal(archive.has(x.path), false);
  }
});

test("archive: settings come from options, then the environment, then the limits", () => {
  assert.deepEqual(archiveSettings({ maxBytes: 20 * 2 ** 20 }, {}, {}), {
    minMisses: 50,
    maxTarBytes: 80 * 2 ** 20,
    bytesPerMiss: 256 * 1024,
    timeoutMs: 30_000,
  });
  assert.equal(archiveSettings({ maxBytes: 1024 }, {}, {}).maxTarBytes, 64 * 2 ** 20);
  const env = { MEMCHECK_ARCHIVE_THRESHOLD: "off", MEMCHECK_ARCHIVE_MAX_MB: "10", MEMCHECK_ARCHIVE_TIMEOUT_SECONDS: "5" };
  assert.deepEqual(archiveSettings({ maxBytes: 1024 }, {}, env), {
    minMisses: Infinity,
    maxTarBytes: 10 * 2 ** 20,
    bytesPerMiss: 256 * 1024,
    timeoutMs: 5000,
  });
  assert.equal(archiveSettings({ maxBytes: 1024 }, { minMisses: 7 }, env).minMisses, 7);
  assert.equal(archiveSettings({ maxBytes: 1024 }, {}, { MEMCHECK_ARCHIVE_THRESHOLD: "nonsense" }).minMisses, 50);
});

test("archive (fake GitHub over HTTP): base and head share blobs and the cache; a second job fetches nothing", async () => {
  nock.enableNetConnect("127.0.0.1");
  const gh = await new FakeGitHub().start();
  try {
    const base = repoFiles(120);
    const head = repoFiles(120, { changed: 10 });
    const baseSha = "b".repeat(40);
    const headSha = "c".repeat(40);
    gh.addTree("o", "r", baseSha, new Map([...base].map(([p, t]) => [p, Buffer.from(t)])));
    gh.addTree("o", "r", headSha, new Map([...head].map(([p, t]) => [p, Buffer.from(t)])));
    const cache = new MemoryBlobCache();
    const job = async () => {
      const inflight = new Map<string, Promise<string>>();
      const kit = octokit(gh.baseUrl);
      const [b, h] = await Promise.all(
        [baseSha, headSha].map((sha) => GitHubTreeSnapshot.open(kit, { owner: "o", repo: "r", sha, cache, limits: LIMITS, inflight })),
      );
      await Promise.all([b!.include(["p"], { followImports: true }), h!.include(["p"], { followImports: true })]);
      return [b!, h!] as const;
    };
    const [b, h] = await job();
    assertTexts(b, base);
    assertTexts(h, head);
    // One side has 121 misses (over 50): its archive. The other then misses only its 10 changed
    // files (under 50), fetched as blobs; the 111 shared ones it awaits from the first side.
    assert.equal(gh.callsTo(/\/tarball\//).length, 1);
    assert.equal(gh.callsTo(/^\/_codeload\//).length, 1);
    assert.equal(gh.callsTo(/\/git\/blobs\//).length, 10);
    assert.equal(cache.m.size, 131);
    assert.equal(b.stats.filesFetched + h.stats.filesFetched, 131);
    gh.resetCalls();
    const [b2, h2] = await job();
    assertTexts(b2, base);
    assertTexts(h2, head);
    assert.deepEqual(
      gh.calls.map((c) => c.path.replace(/[0-9a-f]{40}/, "SHA")),
      ["/repos/o/r/git/trees/SHA", "/repos/o/r/git/trees/SHA"],
    );
    assert.equal(b2.stats.cacheHits + h2.stats.cacheHits, 131);
  } finally {
    await gh.close();
  }
});

test("archive (fake GitHub over HTTP): a stalled download is abandoned at the time budget, then blobs", async () => {
  nock.enableNetConnect("127.0.0.1");
  const gh = await new FakeGitHub().start();
  const hold = gh.hold((r) => r.path.startsWith("/_codeload/"));
  try {
    const files = repoFiles(60);
    gh.addTree("o", "r", SHA, new Map([...files].map(([p, t]) => [p, Buffer.from(t)])));
    const s = await GitHubTreeSnapshot.open(octokit(gh.baseUrl), {
      owner: "o",
      repo: "r",
      sha: SHA,
      cache: new MemoryBlobCache(),
      limits: LIMITS,
      archive: { timeoutMs: 300 },
    });
    await s.include(["p"]);
    assertTexts(s, files);
    assert.match(s.archiveReads[0]!.error ?? "", /time budget \(300 ms\) exceeded/);
    assert.equal(gh.callsTo(/\/git\/blobs\//).length, 61);
  } finally {
    hold.release();
    await gh.close();
  }
});

test("archive: the fake's tarball is what GitHub's looks like (pax global header, owner-repo-sha7/ folder)", async () => {
  const tarText = (await buildTar([{ name: "x/a.go", content: "package a\n" }], { globalComment: SHA })).toString("latin1");
  assert.equal(tarText.charAt(156), "g");
  assert.match(tarText, new RegExp(`comment=${SHA}\\n`));
});

test("archive: a compressed stream longer than any archive of the tree is cut off (empty gzip members)", async () => {
  const member = gzipSync(Buffer.alloc(0)); // 20 bytes that decompress to nothing
  let sent = 0;
  const endless = Readable.from(
    (function* () {
      for (;;) {
        sent += 64 * member.length;
        yield Buffer.concat(Array.from({ length: 64 }, () => member));
      }
    })(),
  );
  const wants = new Map([["p/a.go", { path: "p/a.go", sha: "0".repeat(40), size: 10 }]]);
  const r = await readArchive(endless, wants, () => assert.fail("nothing is found"), { maxTarBytes: 2 ** 20, timeoutMs: 60_000 });
  assert.match(r.error ?? "", /compressed archive exceeded 2097152 bytes/);
  assert.equal(r.tarBytes, 0);
  assert.ok(sent < 4 * 2 ** 20, `read ${sent} bytes`);
});

test("archive: not used when the repository's archive is too big for the blobs it would save", async () => {
  const files = repoFiles(60);
  nock(API).get(`/repos/o/r/git/trees/${SHA}`).query({ recursive: "true" }).reply(200, treeJson(files));
  mockBlobs(files, ["go.mod", ...[...files.keys()].filter((p) => /^p\/f\d+\.go$/.test(p))]);
  const s = await GitHubTreeSnapshot.open(octokit(), {
    owner: "o",
    repo: "r",
    sha: SHA,
    cache: new MemoryBlobCache(),
    limits: LIMITS,
    archive: { bytesPerMiss: 64 },
  });
  await s.include(["p"]);
  assertTexts(s, files);
  assert.equal(s.stats.archives, 0);
  assert.equal(s.stats.blobGets, 61);
  done();
});
