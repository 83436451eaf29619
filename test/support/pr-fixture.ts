// The pr-module fixture (test/fixtures/pr-module: Order grows a size class, a new Coupon gets a
// suggestion) loaded into a FakeGitHub, plus app credentials and signed webhooks over node:http.
// Deliberately free of nock: these helpers serve child processes and real sockets.
import { createHmac, generateKeyPairSync } from "node:crypto";
import http from "node:http";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type FakeGitHub, loadPullFromTrees } from "./fake-github.ts";
import { readTree } from "./tree.ts";
export { readTree };

export const SECRET = "fault-secret";
export const APP_ID = 123;
export const INSTALLATION = 42;
export const { privateKey: PRIVATE_KEY } = generateKeyPairSync("rsa", {
  modulusLength: 2048,
  privateKeyEncoding: { type: "pkcs1", format: "pem" },
  publicKeyEncoding: { type: "spki", format: "pem" },
});

export const BASE = "1111111111111111111111111111111111111111";
export const HEAD = "2222222222222222222222222222222222222222";
export const HEAD2 = "3333333333333333333333333333333333333333";
export const PR_MODULE = fileURLToPath(new URL("../fixtures/pr-module/", import.meta.url));

export const PR_FILES: unknown[] = JSON.parse(readFileSync(join(PR_MODULE, "files.json"), "utf8"));
/** The review the fixture PR gets: its comments' (path, line) pairs. */
export const EXPECTED_REVIEW = JSON.parse(readFileSync(join(PR_MODULE, "expected-review.json"), "utf8"));

/** acme/shop#pull between the fixture's before (at BASE) and after (at head). */
export function loadFixturePull(gh: FakeGitHub, o: { pull?: number; head?: string; state?: "open" | "closed" } = {}): void {
  loadPullFromTrees(gh, {
    owner: "acme",
    repo: "shop",
    number: o.pull ?? 7,
    baseSha: BASE,
    headSha: o.head ?? HEAD,
    before: readTree(join(PR_MODULE, "before")),
    after: readTree(join(PR_MODULE, "after")),
    files: PR_FILES,
    state: o.state,
  });
}

/**
 * The fixture PR plus an added file with `structs` new, already optimal structs: each is one notice
 * annotation and no review comment, so the result needs several annotation batches of 50.
 */
export function loadNoisyFixturePull(gh: FakeGitHub, structs: number): void {
  const lines = ["package order", ""];
  for (let i = 0; i < structs; i++) lines.push(`type Gen${i} struct {`, "\tA int64", "\tB int64", "}", "");
  const text = `${lines.join("\n")}`;
  const after = readTree(join(PR_MODULE, "after"));
  after.set("order/gen.go", Buffer.from(text));
  const n = text.split("\n").length;
  const added = {
    filename: "order/gen.go",
    status: "added",
    additions: n,
    deletions: 0,
    changes: n,
    patch: `@@ -0,0 +1,${n} @@\n${text
      .split("\n")
      .map((l) => `+${l}`)
      .join("\n")}`,
  };
  loadPullFromTrees(gh, {
    owner: "acme",
    repo: "shop",
    number: 7,
    baseSha: BASE,
    headSha: HEAD,
    before: readTree(join(PR_MODULE, "before")),
    after,
    files: [...PR_FILES, added],
  });
}

/** Environment for a child worker talking to `gh` and Redis. */
export function workerEnv(
  gh: FakeGitHub,
  o: { redisUrl: string; queue: string; prefix: string; extra?: Record<string, string> },
): Record<string, string> {
  return {
    APP_ID: String(APP_ID),
    PRIVATE_KEY,
    WEBHOOK_SECRET: SECRET,
    REDIS_URL: o.redisUrl,
    MEMCHECK_QUEUE: o.queue,
    MEMCHECK_QUEUE_PREFIX: o.prefix,
    MEMCHECK_LOCK_MS: "4000",
    MEMCHECK_STALLED_MS: "2000",
    MEMCHECK_CONCURRENCY: "1",
    MEMCHECK_ATTEMPTS: "3",
    MEMCHECK_BACKOFF_MS: "200",
    MEMCHECK_DEBOUNCE_MS: "0",
    ...gh.env(),
    ...o.extra,
  };
}

export function sign(body: string, secret = SECRET): string {
  return "sha256=" + createHmac("sha256", secret).update(body).digest("hex");
}

/** POST a signed webhook; resolves with the status (and the time to the answer, in ms). */
export function postWebhook(
  url: string,
  event: string,
  payload: unknown,
  delivery: string,
  agent?: http.Agent,
): Promise<{ status: number; ms: number }> {
  const body = JSON.stringify(payload);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      new URL("/api/github/webhooks", url),
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "x-github-event": event,
          "x-github-delivery": delivery,
          "x-hub-signature-256": sign(body),
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0 }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** A pull_request webhook payload for acme/shop. */
export function prPayload(o: {
  action: string;
  pull: number;
  head: string;
  base?: string;
  before?: string;
  updatedAt?: string;
  installation?: number;
}): any {
  return {
    action: o.action,
    number: o.pull,
    ...(o.action === "synchronize" ? { before: o.before ?? BASE, after: o.head } : {}),
    pull_request: {
      number: o.pull,
      state: "open",
      draft: false,
      updated_at: o.updatedAt ?? "2026-11-26T10:00:00Z",
      head: { sha: o.head, ref: `pr-${o.pull}`, repo: { id: 5001, full_name: "acme/shop" } },
      base: { sha: o.base ?? BASE, ref: "main", repo: { id: 5001, full_name: "acme/shop" } },
      user: { login: "alice", type: "User" },
    },
    repository: { id: 5001, name: "shop", full_name: "acme/shop", owner: { login: "acme", type: "Organization" } },
    installation: { id: o.installation ?? INSTALLATION },
    sender: { login: "alice", type: "User" },
  };
}
