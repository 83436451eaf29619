// Webhook signatures over real HTTP (Probot's createNodeMiddleware behind http.createServer):
// a bad, missing or malformed signature gets a 400, and so does a replayed signature on changed
// bytes. Nothing is enqueued and no GitHub API call is made for a rejected delivery.
import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import nock from "nock";
import { createApp } from "../src/app.ts";
import { makeProbot, startServer, sign, fixture, SECRET, type TestServer, FakeQueue } from "./app-support.ts";

let server: TestServer;
let q: FakeQueue;
before(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect("127.0.0.1");
  q = new FakeQueue();
  server = await startServer(createApp({ queue: q }), makeProbot());
});
after(async () => {
  await server.close();
  nock.cleanAll();
  nock.enableNetConnect();
});
afterEach(() => {
  // A rejected delivery must not reach the app: no job, no API call (none is mocked).
  assert.equal(q.events.length, 0);
});

/** POST raw bytes with exactly these headers (node:http: fetch with a body breaks under nock). */
function post(body: string | Buffer, headers: Record<string, string | undefined>): Promise<{ status: number; body: string }> {
  const u = new URL("/api/github/webhooks", server.url);
  const h: Record<string, string | number> = { "content-type": "application/json", "content-length": Buffer.byteLength(body) };
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) h[k] = v;
  return new Promise((resolve, reject) => {
    const req = http.request(u, { method: "POST", headers: h }, (res) => {
      let data = "";
      res.on("data", (c) => (data += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const payload = fixture("pull_request.opened");
const body = JSON.stringify(payload);
const base = { "x-github-event": "pull_request", "x-github-delivery": "d-sig" };

test("a signature made with another secret gets a 400", async () => {
  const r = await post(body, { ...base, "x-hub-signature-256": sign(body, "not-the-secret") });
  assert.equal(r.status, 400);
});

test("a missing or malformed signature gets a 400", async () => {
  const good = sign(body, SECRET);
  const variants: (string | undefined)[] = [
    undefined,
    "",
    "sha256=",
    "sha256=zz",
    good.slice(0, -1),
    good + "0",
    good.toUpperCase(),
    good.replace("sha256=", "sha1="),
    good.replace("sha256=", ""),
    "sha256=" + "0".repeat(64),
    `${good}, ${good}`,
    "sha256=" + "\u00e9".repeat(64), // Latin-1 (an HTTP client cannot send wider characters)
  ];
  for (const [i, sig] of variants.entries()) {
    const r = await post(body, { ...base, "x-github-delivery": `d-sig-m${i}`, "x-hub-signature-256": sig });
    assert.equal(r.status, 400, `signature ${JSON.stringify(sig)} gave ${r.status}`);
  }
});

test("a replayed signature on a changed payload gets a 400", async () => {
  const sig = sign(body, SECRET);
  const changed = { ...payload, pull_request: { ...payload.pull_request, head: { ...payload.pull_request.head, sha: "f".repeat(40) } } };
  const variants = [
    JSON.stringify(changed), // a different head SHA
    body + " ", // one byte of trailing white space
    JSON.stringify(payload, null, 2), // the same JSON, formatted differently
    body.replace('"opened"', '"reopened"'),
    Buffer.concat([Buffer.from(body), Buffer.from([0])]),
  ];
  for (const [i, b] of variants.entries()) {
    const r = await post(b, { ...base, "x-github-delivery": `d-replay-${i}`, "x-hub-signature-256": sig });
    assert.equal(r.status, 400, `variant ${i} gave ${r.status}`);
  }
});

test("control: the same body with its own signature is accepted", async () => {
  // The handler makes no GitHub call (the intake job does): nock has no route, and any call would fail.
  const r = await post(body, { ...base, "x-github-delivery": "d-sig-ok", "x-hub-signature-256": sign(body, SECRET) });
  assert.equal(r.status, 200);
  assert.equal(q.events.length, 1);
  q.events.length = 0;
});
