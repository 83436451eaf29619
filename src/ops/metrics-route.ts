// GET /metrics: the prom-client registry in Prometheus text format, optionally behind a bearer token.
import type http from "node:http";
import type { Route } from "./server.ts";
import { safeEqual } from "./dashboard.ts";
import type { Metrics } from "./metrics.ts";

export function metricsRoute(metrics: Pick<Metrics, "registry">, o: { token?: string; path?: string } = {}): Route {
  const path = o.path ?? "/metrics";
  return async (req: http.IncomingMessage, res: http.ServerResponse) => {
    if ((req.url ?? "").split("?")[0] !== path) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return true;
    }
    if (o.token) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
      if (!m || !safeEqual(m[1], o.token)) {
        res.writeHead(401, { "www-authenticate": 'Bearer realm="memcheck metrics"', "content-type": "text/plain" }).end("unauthorized\n");
        return true;
      }
    }
    try {
      const body = await metrics.registry.metrics();
      res
        .writeHead(200, { "content-type": metrics.registry.contentType, "cache-control": "no-store" })
        .end(req.method === "HEAD" ? undefined : body);
    } catch (e) {
      res.writeHead(500, { "content-type": "text/plain" }).end(`metrics collection failed: ${(e as Error)?.message ?? e}\n`);
    }
    return true;
  };
}
