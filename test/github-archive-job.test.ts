// A whole review job (runReview, the real pipeline) against the fake GitHub over HTTP, with the
// archive off and forced: the same check run and the same review. No nock in this file: while nock
// is loaded, fetch() with a body to 127.0.0.1 fails ("unusable"), and the job posts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Probot } from "probot";
import { MemoryBlobCache } from "../src/github/snapshot.ts";
import { runReview } from "../src/github/review-job.ts";
import { defaultPipeline } from "../src/github/default-pipeline.ts";
import { FakeGitHub } from "./support/fake-github.ts";
import { loadFixturePull, APP_ID, PRIVATE_KEY, SECRET, BASE, HEAD, INSTALLATION } from "./support/pr-fixture.ts";

test("archive (fake GitHub, real pipeline): a review job gives the same check run and review with and without the archive", async () => {
  const saved = process.env.MEMCHECK_ARCHIVE_THRESHOLD;
  const pipeline = defaultPipeline({ threads: 1 });
  const outcomes: unknown[] = [];
  try {
    for (const threshold of ["off", "0"]) {
      process.env.MEMCHECK_ARCHIVE_THRESHOLD = threshold;
      const gh = await new FakeGitHub().start();
      try {
        loadFixturePull(gh);
        const probot = new Probot({ appId: APP_ID, privateKey: PRIVATE_KEY, secret: SECRET, baseUrl: gh.baseUrl, logLevel: "fatal" });
        await probot.ready();
        const checkRunId = gh.createCheckRun("acme", "shop", HEAD);
        const data = {
          v: 1 as const,
          installationId: INSTALLATION,
          owner: "acme",
          repo: "shop",
          pull: 7,
          baseSha: BASE,
          headSha: HEAD,
          trigger: "pull_request" as const,
          deliveryId: `arch-${threshold}`,
          checkRunId,
          at: 1,
        };
        const r = await runReview(
          { id: "gh-arch", attemptsMade: 0, opts: { attempts: 1 }, data },
          { auth: (id) => probot.auth(id), botLogin: async () => "memcheck[bot]", pipeline, cache: new MemoryBlobCache() },
        );
        assert.equal(r.status, "done");
        const archives = gh.callsTo(/\/tarball\//).length;
        // forced: one archive per side and breadth-first step (the fixture follows an import)
        if (threshold === "0") assert.ok(archives >= 2, `${archives} archives`);
        else assert.equal(archives, 0);
        if (threshold === "0") assert.equal(gh.callsTo(/\/git\/blobs\//).length, 0);
        const run = gh.checkRunsFor(HEAD)[0]!;
        outcomes.push({
          conclusion: run.conclusion,
          output: run.output,
          comments: gh.reviewCommentsOf("acme", "shop", 7).map((c) => ({ path: c.path, line: c.line, body: c.body })),
        });
      } finally {
        await gh.close();
      }
    }
  } finally {
    if (saved === undefined) delete process.env.MEMCHECK_ARCHIVE_THRESHOLD;
    else process.env.MEMCHECK_ARCHIVE_THRESHOLD = saved;
    await (pipeline as { close?: () => Promise<void> }).close?.();
  }
  assert.deepEqual(outcomes[1], outcomes[0]);
  assert.ok((outcomes[0] as { comments: unknown[] }).comments.length > 0);
});
