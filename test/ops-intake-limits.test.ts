// Webhook intake limits and process lifecycle, against running processes (`npm start`, `npm run
// worker` as children; MEMCHECK_TEST_COMPILED=1 runs them from dist/):
// - 4 × 50 MB unsigned or forged bodies at once: 413 each, before they are buffered; the server's
//   RSS grows by less than 50 MB and its log stays under 10 KB (no payload, no stack trace). Before:
//   each body was buffered whole and logged at error level twice (226 MB → 1.48 GB RSS, 543 MB log).
// - a forged small webhook: 400 and one WARN line with delivery id, event and size.
// - the worker without APP_ID / PRIVATE_KEY: one clear line, exit 2 (before: a raw stack trace).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { createHmac } from "node:crypto";
import { currentRss, freePort, spawnServer, spawnWorker, until, type Child } from "./support/processes.ts";
import { APP_ID, PRIVATE_KEY, SECRET } from "./support/pr-fixture.ts";

const REDIS_URL = process.env.REDIS_URL || "redis://127.0.0.1:6379";
const PREFIX = `mcintake${process.pid}`;
const children: Child[] = [];
after(async () => {
  for (const c of children) await c.kill("SIGKILL");
});

function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) =>
    http.get({ host: "127.0.0.1", port, path }, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on("error", reject),
  );
}

async function startServer(extra: Record<string, string> = {}): Promise<{ child: Child; port: number }> {
  const port = await freePort();
  const child = spawnServer({
    APP_ID: String(APP_ID),
    PRIVATE_KEY,
    WEBHOOK_SECRET: SECRET,
    REDIS_URL,
    MEMCHECK_QUEUE: "intake",
    MEMCHECK_QUEUE_PREFIX: PREFIX,
    MEMCHECK_INPROCESS_WORKER: "false",
    SWEEP_ENABLED: "false",
    LOG_LEVEL: "info",
    PORT: String(port),
    HOST: "127.0.0.1",
    ...extra,
  });
  children.push(child);
  await until(
    "the server to answer /healthz",
    async () => {
      if (child.proc.exitCode !== null) assert.fail(`server exited:\n${child.output()}`);
      return (await get(port, "/healthz")) === 200;
    },
    90_000,
    200,
  );
  return { child, port };
}

/** POST `total` bytes in 1 MB chunks; resolves with the answer's status (the server may cut the upload). */
function postBig(port: number, total: number, o: { contentLength: boolean; signature?: string }): Promise<number> {
  const chunk = Buffer.alloc(1024 * 1024, 0x7b); // "{{{{"
  return new Promise((resolve) => {
    let status = 0;
    const headers: http.OutgoingHttpHeaders = {
      "content-type": "application/json",
      "x-github-event": "pull_request",
      "x-github-delivery": `big-${Math.random()}`,
    };
    if (o.contentLength) headers["content-length"] = total;
    if (o.signature) headers["x-hub-signature-256"] = o.signature;
    const req = http.request({ host: "127.0.0.1", port, path: "/api/github/webhooks", method: "POST", headers }, (res) => {
      status = res.statusCode ?? 0;
      res.resume();
      res.on("end", () => resolve(status));
    });
    req.on("error", () => resolve(status)); // the server closed the connection after answering
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

test("4 × 50 MB unsigned or forged webhook bodies: 413 before buffering (411 without a length), RSS flat, log small", async () => {
  const { child, port } = await startServer();
  const logBefore = child.output().length;
  const rssBefore = currentRss(child.pid)!;
  const fifty = 50 * 1024 * 1024;
  const statuses = await Promise.all([
    postBig(port, fifty, { contentLength: true }), // unsigned, declared size
    postBig(port, fifty, { contentLength: true }),
    postBig(port, fifty, { contentLength: true, signature: "sha256=" + "0".repeat(64) }), // forged
    postBig(port, fifty, { contentLength: true, signature: "sha256=" + "0".repeat(64) }),
    postBig(port, fifty, { contentLength: false, signature: "sha256=" + "0".repeat(64) }), // forged, chunked
  ]);
  assert.deepEqual(statuses, [413, 413, 413, 413, 411]);
  await until(
    "five WARN lines",
    () =>
      (
        child
          .output()
          .slice(logBefore)
          .match(/webhook refused/g) ?? []
      ).length >= 5,
    5000,
    50,
  );
  const rssAfter = currentRss(child.pid)!;
  const grewMb = (rssAfter - rssBefore) / 1024 / 1024;
  const log = child.output().slice(logBefore);
  console.log(
    `# intake: RSS ${(rssBefore / 1048576).toFixed(0)} -> ${(rssAfter / 1048576).toFixed(0)} MB (+${grewMb.toFixed(1)} MB), log ${log.length} B`,
  );
  assert.ok(grewMb < 50, `server RSS grew by ${grewMb.toFixed(1)} MB`);
  assert.ok(log.length < 10 * 1024, `log grew by ${log.length} bytes`);
  assert.doesNotMatch(log, /\{\{\{\{|stack|ERROR/, "no payload, stack trace or error in the log");
  assert.equal((log.match(/webhook refused/g) ?? []).length, 5, log);
  assert.equal(await get(port, "/healthz"), 200, "the server still answers");

  // A small forged delivery: 400, one WARN line naming delivery, event and size, not the payload.
  const body = JSON.stringify({ action: "opened", secret_marker: "payload-must-not-be-logged" });
  const bad = "sha256=" + createHmac("sha256", "wrong-secret").update(body).digest("hex");
  const before = child.output().length;
  const status = await new Promise<number>((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: "/api/github/webhooks",
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-github-event": "pull_request",
          "x-github-delivery": "forged-1",
          "x-hub-signature-256": bad,
          "content-length": Buffer.byteLength(body),
        },
      },
      (res) => (res.resume(), resolve(res.statusCode ?? 0)),
    );
    req.on("error", reject);
    req.end(body);
  });
  assert.equal(status, 400);
  await until("the WARN line", () => child.output().slice(before).includes("forged-1"), 5000, 50);
  const line = child.output().slice(before);
  assert.doesNotMatch(line, /payload-must-not-be-logged|ERROR|stack/);
  assert.match(line, /WARN/);
  assert.match(line, /pull_request/);
  assert.match(line, new RegExp(`size.{0,5}${Buffer.byteLength(body)}`));
});

test("the worker without APP_ID or PRIVATE_KEY: one clear line and exit 2", async () => {
  for (const env of [{ PRIVATE_KEY }, { APP_ID: String(APP_ID) }] as Record<string, string>[]) {
    const w = spawnWorker({ REDIS_URL, MEMCHECK_QUEUE_PREFIX: PREFIX, ...env });
    children.push(w);
    assert.equal(await w.exited, 2, w.output());
    const lines = w.output().trim().split("\n");
    assert.equal(lines.length, 1, w.output());
    assert.match(lines[0]!, /APP_ID|PRIVATE_KEY/);
    assert.doesNotMatch(w.output(), /\n\s+at /, "no stack trace");
  }
});
