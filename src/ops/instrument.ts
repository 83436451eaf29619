// Counting at the edges, without touching the handlers: webhook outcomes are read from the HTTP
// answer the webhook route gives (GitHub sees exactly that), and enqueue results from the queue.
import type http from "node:http";
import type { Route } from "./server.ts";
import type { QueueLike } from "../queue/index.ts";
import type { Metrics } from "./metrics.ts";

/** outcome label from an HTTP status: ok (2xx/3xx), rejected (4xx, e.g. a bad signature), error (5xx). */
export function outcomeOf(status: number): "ok" | "rejected" | "error" {
  return status >= 500 || status === 0 ? "error" : status >= 400 ? "rejected" : "ok";
}

/**
 * A route that never handles anything: for POSTs to the webhook path it counts the answer by
 * X-GitHub-Event and outcome when the response finishes. Mount it first.
 */
export function webhookObserver(metrics: Pick<Metrics, "webhooks">, webhooksPath = "/api/github/webhooks"): Route {
  return (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.method !== "POST" || (req.url ?? "").split("?")[0] !== webhooksPath) return false;
    const raw = req.headers["x-github-event"];
    const event = typeof raw === "string" && /^[a-z_]{1,64}$/.test(raw) ? raw : "unknown";
    let counted = false;
    const count = (status: number) => {
      if (counted) return;
      counted = true;
      metrics.webhooks.inc({ event, outcome: outcomeOf(status) });
    };
    res.on("finish", () => count(res.statusCode));
    res.on("close", () => count(res.writableFinished ? res.statusCode : 0));
    return false;
  };
}

/** Wrap the queue the app submits into, counting deliveries by trigger and result (new / duplicate). */
export function instrumentQueue<Q extends QueueLike>(queue: Q, metrics: Pick<Metrics, "enqueued">): Q {
  const submit: QueueLike["submit"] = async (event) => {
    const r = await queue.submit(event);
    metrics.enqueued.inc({ trigger: event.trigger, result: r.duplicate ? "duplicate" : "new" });
    return r;
  };
  return new Proxy(queue, {
    get(target, prop, receiver) {
      if (prop === "submit") return submit;
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
