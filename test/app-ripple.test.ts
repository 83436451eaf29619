// Ripple in the app: a PR that changes a.Header (touching package a only) makes the worker fetch
// the whole tree at base and head, so c.Message (which holds a b.Envelope, which holds a Header)
// is reported with its chain, annotated at its declaration, and fails the check by the size-class
// threshold. A second PR on the same repository fetches and parses only what changed. The pointer
// map of a PR that adds a hop and a cycle appears as Mermaid in the sticky comment.
// A real review job (runReview, the real pipeline in-process) against nock'd GitHub.
import { test, beforeEach, afterEach, after } from "node:test";
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import nock from "nock";
import { runReview, type ReviewDeps } from "../src/github/review-job.ts";
import { defaultPipeline } from "../src/github/default-pipeline.ts";
import { MemoryBlobCache } from "../src/github/snapshot.ts";
import { ParseCache } from "../src/engine.ts";
import { ParsePool } from "../src/parse-pool.ts";
import type { ReviewJobData } from "../src/queue/index.ts";
import type { CheckAnnotation } from "../src/github/pipeline.ts";
import { ReviewLimitError } from "../src/review/limits.ts";
import { HEAD2, makeProbot, mockRepo, reviewJob } from "./app-support.ts";

const RIPPLE = path.resolve("test/fixtures/ripple");
const MAP = path.resolve("test/fixtures/pointer-map");
const files = (dir: string) => JSON.parse(readFileSync(path.join(dir, "files.json"), "utf8"));

const pool = new ParsePool(1);
after(() => pool.close());

const job = (data: Partial<ReviewJobData> = {}) => reviewJob({ deliveryId: "ripple-1", ...data }, { id: "gh-ripple", attempts: 1 });

function depsWith(parseCache: ParseCache, cache = new MemoryBlobCache()): ReviewDeps {
  const probot = makeProbot();
  return {
    auth: (id) => probot.auth(id),
    botLogin: async () => "memcheck[bot]",
    pipeline: defaultPipeline({ inProcess: { parseCache, pool } }),
    cache,
  };
}

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => nock.cleanAll());

interface Update {
  status?: string;
  conclusion?: string;
  output?: { summary: string; annotations?: CheckAnnotation[] };
}

function completed(cap: { checkUpdates: Update[] }) {
  const done = cap.checkUpdates.find((u) => u.status === "completed");
  assert.ok(done, "the check run was completed");
  const annotations = cap.checkUpdates.flatMap((u) => u.output?.annotations ?? []);
  return { done: { conclusion: done.conclusion, output: { summary: done.output?.summary ?? "" } }, annotations };
}

test("a PR touching package a: the check reports c.Message with its chain and fails by the size class", async () => {
  const cap = mockRepo({ before: path.join(RIPPLE, "before"), after: path.join(RIPPLE, "after"), files: files(RIPPLE) });
  const r = await runReview(job(), depsWith(new ParseCache()));
  assert.equal(r.status, "done");
  assert.equal(r.conclusion, "failure");
  assert.ok(r.stages?.ripple !== undefined, "the ripple pass ran");
  const { done, annotations } = completed(cap);
  assert.equal(done.conclusion, "failure");
  assert.match(done.output.summary, /### Grew through embedding/);
  assert.match(done.output.summary, /`c\.Message ⊃ b\.Envelope ⊃ a\.Header`/);
  const msg = annotations.find((a) => a.title === "memcheck: Message size-class");
  assert.ok(msg, JSON.stringify(annotations.map((a) => a.title)));
  assert.deepEqual([msg.path, msg.start_line, msg.end_line, msg.annotation_level], ["c/message.go", 6, 9, "failure"]);
  assert.match(
    msg.message,
    /Message grew 48 → 56 B on amd64 \(size class 48 → 64\) \(holds Header by value: c\.Message ⊃ b\.Envelope ⊃ a\.Header\)/,
  );
  // No inline review comment on lines the PR did not change.
  for (const rv of cap.reviews) for (const c of rv.comments ?? []) assert.equal(c.path, "a/header.go");
  // Every Go file of both sides fetched once (identical blobs once): 4 + 3 distinct Go blobs + go.mod.
  assert.equal(new Set(cap.blobFetches).size, cap.blobFetches.length, "no blob fetched twice");
  assert.equal(cap.blobFetches.length, 5);
});

test("a second PR on the same repository fetches and parses only what changed", async () => {
  const parseCache = new ParseCache();
  const blobs = new MemoryBlobCache();
  const deps = depsWith(parseCache, blobs);
  let cap = mockRepo({ before: path.join(RIPPLE, "before"), after: path.join(RIPPLE, "after"), files: files(RIPPLE) });
  await runReview(job(), deps);
  const missesAfterFirst = parseCache.misses;
  // PR 8: the same base, Header grows differently (one changed file).
  const head2 = mkdtempSync(path.join(os.tmpdir(), "memcheck-ripple2-"));
  try {
    cpSync(path.join(RIPPLE, "after"), head2, { recursive: true });
    writeFileSync(
      path.join(head2, "a/header.go"),
      "package a\n\n// Header is the wire header.\ntype Header struct {\n\tID    uint64\n\tKind  uint32\n\tFlags uint32\n\tSpan  [2]uint64\n}\n",
    );
    nock.cleanAll();
    cap = mockRepo({ pull: 8, headSha: HEAD2, before: path.join(RIPPLE, "before"), after: head2, files: files(RIPPLE) });
    const r = await runReview(job({ pull: 8, headSha: HEAD2, deliveryId: "ripple-2" }), deps);
    assert.equal(r.status, "done");
    assert.equal(r.conclusion, "failure");
    assert.deepEqual(cap.blobFetches.length, 1, "only the new header.go is fetched");
    // The first pass (package a) and the ripple pass parse one new file between them.
    assert.equal(parseCache.misses - missesAfterFirst, 1);
    const { done } = completed(cap);
    assert.match(done.output.summary, /`c\.Message ⊃ b\.Envelope ⊃ a\.Header`/);
  } finally {
    rmSync(head2, { recursive: true, force: true });
  }
});

test("a PR that changes no struct layout does not fetch the rest of the tree", async () => {
  const head = mkdtempSync(path.join(os.tmpdir(), "memcheck-ripple3-"));
  try {
    cpSync(path.join(RIPPLE, "before"), head, { recursive: true });
    writeFileSync(
      path.join(head, "a/header.go"),
      "package a\n\n// Header is the wire header (renamed field).\ntype Header struct {\n\tID    uint64\n\tKind  uint32\n\tBits  uint32\n}\n",
    );
    const cap = mockRepo({ before: path.join(RIPPLE, "before"), after: head, files: files(RIPPLE) });
    const r = await runReview(job(), depsWith(new ParseCache()));
    assert.equal(r.status, "done");
    assert.equal(r.stages?.ripple, undefined);
    // Only package a (and go.mod) at both sides.
    assert.equal(cap.blobFetches.length, 3);
  } finally {
    rmSync(head, { recursive: true, force: true });
  }
});

test("the package limit stops the ripple search with a note", async () => {
  const cap = mockRepo({
    before: path.join(RIPPLE, "before"),
    after: path.join(RIPPLE, "after"),
    files: files(RIPPLE),
    config: "limits:\n  maxPackages: 2\n",
  });
  const r = await runReview(job(), depsWith(new ParseCache()));
  assert.equal(r.status, "done");
  const { done } = completed(cap);
  assert.match(done.output.summary, /ripple searched 2 of 3 Go packages \(stopped by limits\.maxPackages \(2\)\)/);
  // Package b was searched: Envelope is reported with its chain; c was not.
  assert.match(done.output.summary, /`b\.Envelope ⊃ a\.Header`/);
  assert.doesNotMatch(done.output.summary, /c\.Message/);
});

test("a whole-tree review over the job's budget keeps the first review, with a note", async () => {
  const cap = mockRepo({ before: path.join(RIPPLE, "before"), after: path.join(RIPPLE, "after"), files: files(RIPPLE) });
  const deps = depsWith(new ParseCache());
  const real = deps.pipeline;
  let calls = 0;
  deps.pipeline = {
    ...real,
    review: (b, h, o) =>
      ++calls === 2 ? Promise.reject(new ReviewLimitError("memcheck could not finish: too big", "over")) : real.review(b, h, o),
  };
  const r = await runReview(job(), deps);
  assert.equal(r.status, "done");
  assert.equal(calls, 2);
  const { done } = completed(cap);
  assert.match(done.output.summary, /ripple was not searched: reviewing the whole tree went over the job's memory or time budget/);
  // The first review stands: Header alone, no evidence of many values, a notice.
  assert.match(done.output.summary, /Header grew 16 → 24 B/);
  assert.doesNotMatch(done.output.summary, /c\.Message/);
  assert.equal(done.conclusion, "success");
});

test("a /memcheck command on a PR that adds a hop and a cycle: the sticky comment draws the pointer map in Mermaid", async () => {
  const cap = mockRepo({ before: path.join(MAP, "before"), after: path.join(MAP, "after"), files: files(MAP) });
  const r = await runReview(job({ trigger: "command", options: { commentId: 3001, sender: "alice" } }), depsWith(new ParseCache()));
  assert.equal(r.status, "done");
  const { done } = completed(cap);
  // The check summary: a text tree (GitHub does not render Mermaid there).
  assert.doesNotMatch(done.output.summary, /```mermaid/);
  assert.match(done.output.summary, /```text\nOrder \(pointer depth 2 → 3, new cycle on amd64\)/);
  assert.equal(cap.issueComments.length, 1);
  const sticky = cap.issueComments[0].body as string;
  assert.match(sticky, /^<!-- memcheck:sticky -->/);
  assert.match(sticky, /### Pointer chains/);
  assert.match(sticky, /```mermaid\ngraph LR\n {2}n0\["Order · pointer depth 2 → 3, new cycle on amd64"\]:::root/);
  assert.match(sticky, /==>\|"Orders \[\]\*Order · new ↻"\|/);
  assert.match(sticky, /==>\|"Geo \*Geo · new"\|/);
});

test("packages that do not import the changed one are read for their imports but never parsed", async () => {
  const plain = new ParseCache();
  mockRepo({ before: path.join(RIPPLE, "before"), after: path.join(RIPPLE, "after"), files: files(RIPPLE) });
  await runReview(job(), depsWith(plain));
  nock.cleanAll();
  // The same PR in a repository with one more package, z, that imports none of a, b, c.
  const root = mkdtempSync(path.join(os.tmpdir(), "memcheck-ripple-z-"));
  try {
    const zText = "package z\n\n// Z holds its own fields only.\ntype Z struct {\n\tOn bool\n\tN  int64\n}\n";
    for (const side of ["before", "after"]) {
      cpSync(path.join(RIPPLE, side), path.join(root, side), { recursive: true });
      mkdirSync(path.join(root, side, "z"), { recursive: true });
      writeFileSync(path.join(root, side, "z", "z.go"), zText);
    }
    const cap = mockRepo({ before: path.join(root, "before"), after: path.join(root, "after"), files: files(RIPPLE) });
    const withZ = new ParseCache();
    const r = await runReview(job(), depsWith(withZ));
    assert.equal(r.status, "done");
    assert.equal(r.conclusion, "failure");
    assert.ok(cap.blobFetches.length >= 6, "z/z.go was read (for its imports)");
    assert.equal(withZ.misses, plain.misses, "z/z.go was not parsed");
    assert.match(completed(cap).done.output.summary, /`c\.Message ⊃ b\.Envelope ⊃ a\.Header`/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
