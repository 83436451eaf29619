// A small HTTP server for processes that have no webhook server (`npm run worker`): /metrics,
// /healthz and /readyz on OPS_PORT.
import http from "node:http";

/**
 * An HTTP route (on the webhook server or this ops server): return true when it handled the
 * request. This is where /metrics, /healthz, /readyz and /admin/queues mount.
 */
export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => boolean | Promise<boolean>;

export async function startOpsServer(o: {
  routes: Route[];
  port: number;
  host?: string;
  log?: { error(o: object, msg?: string): void };
}): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    try {
      for (const r of o.routes) if (await r(req, res)) return;
      if (!res.headersSent) res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    } catch (e) {
      o.log?.error({ err: (e as Error)?.message }, "memcheck: ops request failed");
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host ?? "0.0.0.0", () => (server.off("error", reject), resolve()));
  });
  return server;
}
