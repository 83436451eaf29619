// Shared test plumbing for the app tests: Probot under nock (as STACK-NOTES says), signed webhooks
// over real HTTP, and per-file Redis namespaces.
import { createHmac, generateKeyPairSync } from "node:crypto";
import http from "node:http";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { Probot, ProbotOctokit, createNodeMiddleware, type ApplicationFunction } from "probot";
import { Redis } from "ioredis";

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

export const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";

/** Delete every key under a prefix (test cleanup). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
    cursor = next;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== "0");
}

export const BASE = "1111111111111111111111111111111111111111";
export const HEAD = "2222222222222222222222222222222222222222";
export const HEAD2 = "3333333333333333333333333333333333333333";
