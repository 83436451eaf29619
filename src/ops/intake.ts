// The webhook route's gate, in front of Probot's middleware (src/main.ts createServer):
// - a body over GitHub's 25 MB payload cap is refused with 413 before it is buffered (by its
//   content-length, and by counting the bytes as they arrive); a body without content-length
//   (chunked) is refused with 411: GitHub always sends one, and an unverified chunked body could
//   only be judged after buffering up to 25 MB of it;
// - an unsigned or forged body is refused with 400 and one WARN line (delivery id, event, size):
//   its payload is never logged, and Probot never sees it;
// - while Redis is down a genuine delivery is answered 503 without running any handler: nothing is
//   acknowledged that cannot be enqueued, GitHub marks the delivery failed, and the sweeper asks
//   for it again once Redis is back (src/ops/sweeper.ts).
import type http from "node:http";

/** GitHub caps webhook payloads at 25 MB. */
export const MAX_WEBHOOK_BYTES = 25 * 1024 * 1024;

export interface IntakeOptions {
  webhooksPath: string;
  /** The HMAC check (Probot's `probot.webhooks.verify`). */
  verify(payload: string, signature: string): Promise<boolean>;
  /** False while the queue's Redis is unreachable. */
  redisReady(): boolean | Promise<boolean>;
  log: { warn(o: object, msg: string): void; debug?(o: object, msg: string): void };
  maxBytes?: number;
}

function header(req: http.IncomingMessage, name: string): string {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  // Only what a real header can hold, and short: these values go into a log line.
  return (s ?? "").replace(/[^\x20-\x7e]/g, "?").slice(0, 100);
}

function answer(res: http.ServerResponse, status: number, error: string, extra: http.OutgoingHttpHeaders = {}): void {
  if (res.headersSent) return;
  const body = JSON.stringify({ error }) + "\n";
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...extra }).end(body);
}

/**
 * Refuse without keeping the rest of the body: it is drained (read and dropped: a reset would also
 * discard our answer on the sender's side) for at most 10 s, then the connection is cut.
 */
function refuseAndClose(req: http.IncomingMessage, res: http.ServerResponse, status: number, error: string): void {
  req.removeAllListeners("data");
  req.resume();
  answer(res, status, error);
  const cut = setTimeout(() => req.destroy(), 10_000).unref();
  req.once("end", () => clearTimeout(cut));
}

type Body = { ok: true; text: string } | { ok: false; size: number };

function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Body> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        done = true;
        req.off("data", onData);
        chunks.length = 0;
        resolve({ ok: false, size });
        return;
      }
      chunks.push(c);
    };
    req.on("data", onData);
    req.once("end", () => !done && resolve({ ok: true, text: Buffer.concat(chunks).toString("utf8") }));
    req.once("error", (e) => !done && reject(e));
  });
}

/** A route: true when it answered the request itself; false to hand it on (with `req.body` set). */
export function webhookIntake(o: IntakeOptions): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean> {
  const maxBytes = o.maxBytes ?? MAX_WEBHOOK_BYTES;
  return async (req, res) => {
    if (req.method !== "POST" || (req.url ?? "").split("?")[0] !== o.webhooksPath) return false;
    const who = () => ({ delivery: header(req, "x-github-delivery"), event: header(req, "x-github-event") });
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxBytes) {
      o.log.warn({ ...who(), size: declared }, "memcheck: webhook refused: body over 25 MB");
      refuseAndClose(req, res, 413, "payload too large");
      return true;
    }
    if (!Number.isFinite(declared)) {
      o.log.warn({ ...who() }, "memcheck: webhook refused: no content-length");
      refuseAndClose(req, res, 411, "content-length required");
      return true;
    }
    const signature = header(req, "x-hub-signature-256");
    if (!signature) {
      o.log.warn({ ...who(), size: declared }, "memcheck: webhook refused: no signature");
      refuseAndClose(req, res, 400, "missing x-hub-signature-256");
      return true;
    }
    const body = await readBody(req, maxBytes);
    if (!body.ok) {
      o.log.warn({ ...who(), size: body.size }, "memcheck: webhook refused: body over 25 MB");
      refuseAndClose(req, res, 413, "payload too large");
      return true;
    }
    let verified = false;
    try {
      verified = await o.verify(body.text, signature);
    } catch {
      verified = false;
    }
    if (!verified) {
      o.log.warn({ ...who(), size: Buffer.byteLength(body.text) }, "memcheck: webhook refused: signature does not match");
      answer(res, 400, "signature does not match");
      return true;
    }
    if (!(await o.redisReady())) {
      // No log line per delivery: the outage itself is logged once (src/ops/redis-state.ts).
      o.log.debug?.({ ...who() }, "memcheck: webhook answered 503, Redis down");
      answer(res, 503, "queue unavailable, redeliver later", { "retry-after": "30" });
      return true;
    }
    // Probot's middleware reads a string body from `req.body` instead of the (consumed) stream.
    (req as http.IncomingMessage & { body?: string }).body = body.text;
    return false;
  };
}
