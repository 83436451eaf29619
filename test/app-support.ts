// Shared test plumbing for the app tests: Probot under nock (as STACK-NOTES says), signed webhooks
// over real HTTP, and per-file Redis namespaces.
import { createHmac, generateKeyPairSync } from "node:crypto";
import http from "node:http";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { Probot, ProbotOctokit, createNodeMiddleware, type ApplicationFunction } from "probot";
import { Redis } from "ioredis";
import { join } from "node:path";
import nock from "nock";
import { jobIdFor, type IntakeEvent, type ReviewJobData } from "../src/queue/index.ts";
import { readTree, blobSha } from "./support/tree.ts";
import { REDIS_URL, deletePrefix } from "./support/redis.ts";
import { before, after, beforeEach, afterEach } from "node:test";
import { createApp } from "../src/app.ts";
export { readTree, blobSha };

export const SECRET = "test-secret";
export const APP_ID = 123;
export const { privateKey: PRIVATE_KEY } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});

export function makeProbot(): Probot {
  return new Probot({
    appId: APP_ID,
    privateKey: PRIVATE_KEY,
    secret: SECRET,
    logLevel: "fatal",
    Octokit: ProbotOctokit.defaults((o: any) => ({
      ...o,
      retry: { enabled: false },
      throttle: { ...o?.throttle, enabled: false },
    })),
  });
}

export function fixture(name: string): any {
  return JSON.parse(readFileSync(new URL(`./fixtures/webhooks/${name}.json`, import.meta.url), "utf8"));
}

export interface TestServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(appFn: ApplicationFunction, probot: Probot): Promise<TestServer> {
  const mw = await createNodeMiddleware(appFn, { probot });
  const server = http.createServer((req, res) => {
    mw(req, res, () => {
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export function sign(body: string, secret = SECRET): string {
  return "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
}

/** POST a signed webhook with node:http (fetch with a body breaks under nock). */
export function sendWebhook(
  server: TestServer,
  event: string,
  payload: unknown,
  delivery: string,
  opts: { secret?: string } = {},
): Promise<{ status: number; body: string }> {
  const body = JSON.stringify(payload);
  const u = new URL("/api/github/webhooks", server.url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      u,
      {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": event,
          "x-github-delivery": delivery,
          "x-hub-signature-256": sign(body, opts.secret),
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        let data = "";
        res.on("data", (c) => (data += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

export { REDIS_URL, deletePrefix };

export const BASE = "1111111111111111111111111111111111111111";
export const HEAD = "2222222222222222222222222222222222222222";
export const HEAD2 = "3333333333333333333333333333333333333333";

// ---- A nock'd GitHub repository serving a PR between two fixture trees ----

export const API = "https://api.github.com";

/** A review job as runReview sees it: acme/shop#7 from BASE to HEAD with queued run 555. */
export function reviewJob(data: Partial<ReviewJobData> = {}, o: { id?: string; attempts?: number } = {}) {
  return {
    id: o.id ?? "gh-test",
    attemptsMade: 0,
    opts: { attempts: o.attempts ?? 3 },
    data: {
      v: 1 as const,
      installationId: 42,
      owner: "acme",
      repo: "shop",
      pull: 7,
      baseSha: BASE,
      headSha: HEAD,
      trigger: "pull_request" as const,
      deliveryId: "d1",
      checkRunId: 555,
      at: 1,
      ...data,
    },
  };
}

export const PR_MODULE = new URL("./fixtures/pr-module/", import.meta.url).pathname;

export interface Captured {
  checkCreates: any[];
  checkUpdates: any[];
  reviews: any[];
  deletedComments: number[];
  issueComments: any[];
  issueCommentUpdates: any[];
  blobFetches: string[];
}

export interface RepoMockOptions {
  pull?: number;
  baseSha?: string;
  headSha?: string;
  /** The PR's current head (defaults to headSha). */
  prHead?: string;
  prState?: string;
  before?: string;
  after?: string;
  files?: unknown[];
  /** YAML of .github/memcheck.yml, or undefined for none. */
  config?: string;
  reviewComments?: unknown[];
  issueComments?: unknown[];
  reviewStatus?: number;
}

/** Register nock routes for one PR review run and capture every write. */
export function mockRepo(o: RepoMockOptions = {}): Captured {
  const pull = o.pull ?? 7;
  const baseSha = o.baseSha ?? BASE;
  const headSha = o.headSha ?? HEAD;
  const cap: Captured = {
    checkCreates: [],
    checkUpdates: [],
    reviews: [],
    deletedComments: [],
    issueComments: [],
    issueCommentUpdates: [],
    blobFetches: [],
  };
  const api = nock(API);
  api.post("/app/installations/42/access_tokens").optionally().reply(200, { token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" });
  // Read by the intake step and by the review job.
  api
    .get(`/repos/acme/shop/pulls/${pull}`)
    .optionally()
    .times(3)
    .reply(200, {
      number: pull,
      state: o.prState ?? "open",
      draft: false,
      head: { sha: o.prHead ?? headSha, ref: "coupon", repo: { id: 5001, full_name: "acme/shop" } },
      base: { sha: baseSha, ref: "main", repo: { id: 5001, full_name: "acme/shop" } },
    });
  if (o.config === undefined) {
    api
      .get(/\/repos\/acme\/shop\/contents\/.*memcheck\.yml/)
      .optionally()
      .reply(404, { message: "Not Found" });
    api
      .get(/\/repos\/acme\/\.github\/contents\/.*memcheck\.yml/)
      .optionally()
      .reply(404, { message: "Not Found" });
  } else {
    api
      .get(/\/repos\/acme\/shop\/contents\/.*memcheck\.yml/)
      .optionally()
      .reply(200, o.config, { "content-type": "application/vnd.github.raw; charset=utf-8" });
  }
  api
    .post("/repos/acme/shop/check-runs")
    .optionally()
    .times(5)
    .reply(async (req) => (cap.checkCreates.push(await req.json()), [201, { id: 556 }]));
  api
    .patch(/\/repos\/acme\/shop\/check-runs\/\d+/)
    .optionally()
    .times(50)
    .reply(async (req) => (cap.checkUpdates.push(await req.json()), [200, { id: 555 }]));
  api
    .get(`/repos/acme/shop/pulls/${pull}/files`)
    .query(true)
    .optionally()
    .reply(200, o.files ?? JSON.parse(readFileSync(join(PR_MODULE, "files.json"), "utf8")));
  api
    .get(`/repos/acme/shop/compare/${baseSha}...${headSha}`)
    .query(true)
    .optionally()
    .reply(200, { merge_base_commit: { sha: baseSha } });
  const blobs = new Map<string, Buffer>();
  for (const [sha, dir] of [
    [baseSha, o.before ?? join(PR_MODULE, "before")],
    [headSha, o.after ?? join(PR_MODULE, "after")],
  ] as const) {
    const tree = readTree(dir);
    const entries = [...tree].map(([path, buf]) => {
      const s = blobSha(buf);
      blobs.set(s, buf);
      return { path, mode: "100644", type: "blob", sha: s, size: buf.length, url: `${API}/repos/acme/shop/git/blobs/${s}` };
    });
    api
      .get(`/repos/acme/shop/git/trees/${sha}`)
      .query({ recursive: "true" })
      .optionally()
      .reply(200, { sha, url: "", tree: entries, truncated: false });
  }
  api
    .get(/\/repos\/acme\/shop\/git\/blobs\/[0-9a-f]{40}$/)
    .optionally()
    .times(100)
    .reply((req) => {
      const s = new URL(req.url).pathname.split("/").pop()!;
      cap.blobFetches.push(s);
      const b = blobs.get(s);
      return b ? [200, { sha: s, size: b.length, encoding: "base64", content: b.toString("base64") }] : [404, { message: "Not Found" }];
    });
  api
    .get(`/repos/acme/shop/pulls/${pull}/comments`)
    .query(true)
    .optionally()
    .reply(200, o.reviewComments ?? []);
  api
    .delete(/\/repos\/acme\/shop\/pulls\/comments\/\d+/)
    .optionally()
    .times(20)
    .reply((req) => (cap.deletedComments.push(Number(new URL(req.url).pathname.split("/").pop())), [204, ""]));
  api
    .post(`/repos/acme/shop/pulls/${pull}/reviews`)
    .optionally()
    .times(3)
    .reply(
      async (req) => (
        cap.reviews.push(await req.json()),
        [
          o.reviewStatus ?? 200,
          o.reviewStatus === 422 ? { message: "Unprocessable Entity", errors: ["Line could not be resolved"] } : { id: 900 },
        ]
      ),
    );
  api
    .get(`/repos/acme/shop/issues/${pull}/comments`)
    .query(true)
    .optionally()
    .reply(200, o.issueComments ?? []);
  api
    .post(`/repos/acme/shop/issues/${pull}/comments`)
    .optionally()
    .reply(async (req) => (cap.issueComments.push(await req.json()), [201, { id: 700 }]));
  api
    .patch(/\/repos\/acme\/shop\/issues\/comments\/\d+/)
    .optionally()
    .reply(async (req) => (cap.issueCommentUpdates.push(await req.json()), [200, { id: 700 }]));
  return cap;
}

/**
 * The queue seen by the webhook handlers, in memory: for tests of the event layer alone (what the
 * handlers accept, refuse and answer). The queue itself is tested against real Redis elsewhere.
 */
export class FakeQueue {
  jobs: ReviewJobData[] = [];
  /** What the handlers submitted (the intake step runs in the worker). */
  events: IntakeEvent[] = [];
  deliveries = new Set<string>();
  /** Simulate Redis being down. */
  fail = false;
  async enqueue(d: ReviewJobData) {
    if (this.fail) throw new Error("connect ECONNREFUSED 127.0.0.1:6379");
    this.jobs.push(d);
    this.deliveries.add(d.deliveryId);
    return { id: jobIdFor(d.deliveryId), duplicate: false };
  }
  async submit(e: IntakeEvent) {
    if (this.fail) throw new Error("connect ECONNREFUSED 127.0.0.1:6379");
    const duplicate = this.deliveries.has(e.deliveryId);
    if (!duplicate) this.events.push(e);
    this.deliveries.add(e.deliveryId);
    return { id: jobIdFor(e.deliveryId), duplicate };
  }
  async hasDelivery(id: string) {
    if (this.fail) throw new Error("connect ECONNREFUSED 127.0.0.1:6379");
    return this.deliveries.has(id);
  }
}

/**
 * A Redis connection for one test file, opened before its tests and closed after them, with every
 * key under `prefix` deleted; with `nock`, the network is closed except to 127.0.0.1 meanwhile.
 */
export function redisForFile(prefix: string, o: { nock?: boolean } = {}): { redis: Redis } {
  const ctx = {} as { redis: Redis };
  before(() => {
    ctx.redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    if (o.nock) {
      nock.disableNetConnect();
      nock.enableNetConnect("127.0.0.1");
    }
  });
  after(async () => {
    if (o.nock) nock.cleanAll();
    await deletePrefix(ctx.redis, prefix);
    ctx.redis.disconnect();
  });
  return ctx;
}

/**
 * The app's event layer over real HTTP with an in-memory queue, fresh for every test: a Probot under
 * nock (network closed but 127.0.0.1) serving createApp behind createNodeMiddleware.
 */
export function eventAppPerTest(): { server: TestServer; queue: FakeQueue } {
  const ctx = {} as { server: TestServer; queue: FakeQueue };
  beforeEach(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect("127.0.0.1");
    ctx.queue = new FakeQueue();
    ctx.server = await startServer(createApp({ queue: ctx.queue }), makeProbot());
  });
  afterEach(async () => {
    await ctx.server.close();
    nock.cleanAll();
  });
  return ctx;
}
