// `npm start`: the webhook server (Probot's node middleware on node:http) plus an in-process worker.
// `npm run worker` runs workers alone (worker/index.ts). With no APP_ID, Probot's setup flow runs.
import http from "node:http";
import { pathToFileURL } from "node:url";
import { createNodeMiddleware, createProbot, run, type Probot } from "probot";
import { createApp } from "./app.ts";
import { createReviewQueue, type ReviewQueue } from "./queue/index.ts";
import { createOps, instrumentQueue } from "./ops/index.ts";

import type { Route } from "./ops/server.ts";
export type { Route };

export interface ServerOptions {
  probot: Probot;
  queue: ReviewQueue;
  /** Tried in order before the webhook middleware. */
  extraRoutes?: Route[];
  webhooksPath?: string;
  detailsUrl?: string;
}

export async function createServer(o: ServerOptions): Promise<http.Server> {
  const webhooks = await createNodeMiddleware(createApp({ queue: o.queue, detailsUrl: o.detailsUrl }), {
    probot: o.probot,
    ...(o.webhooksPath ? { webhooksPath: o.webhooksPath } : {}),
  });
  const routes = o.extraRoutes ?? [];
  return http.createServer(async (req, res) => {
    try {
      for (const r of routes) if (await r(req, res)) return;
      await webhooks(req, res, () => {
        if (!res.headersSent) res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      });
    } catch (e) {
      o.probot.log.error({ err: (e as Error)?.message }, "memcheck: request failed");
      if (!res.headersSent) res.writeHead(500).end();
    }
  });
}

function hasCredentials(env = process.env): boolean {
  return Boolean(env.APP_ID && (env.PRIVATE_KEY || env.PRIVATE_KEY_PATH));
}

export async function main(opts: { extraRoutes?: Route[] } = {}): Promise<void> {
  if (!hasCredentials()) {
    // First run: Probot's setup flow registers the app from app.yml and writes .env.
    const { default: app } = await import("./app.ts");
    await run(app);
    return;
  }
  // createProbot defaults LOG_LEVEL to "warn", which hides the per-job log line.
  // Ops (docs/operate.md): metrics, GitHub write spacing (an Octokit plugin), /healthz, /readyz,
  // /metrics, /admin/queues, and the missed-delivery sweeper.
  const ops = createOps();
  const probot = createProbot({ env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL || "info" }, overrides: { Octokit: ops.Octokit } });
  const queue = instrumentQueue(createReviewQueue(), ops.metrics);
  const extraRoutes = [...ops.routes({ queue }), ...(opts.extraRoutes ?? [])];
  const server = await createServer({ probot, queue, extraRoutes, webhooksPath: process.env.WEBHOOK_PATH, detailsUrl: process.env.MEMCHECK_DETAILS_URL });
  const port = Number(process.env.PORT) || 3000;
  const host = process.env.HOST || "0.0.0.0";
  await new Promise<void>((r) => server.listen(port, host, r));
  probot.log.info(`memcheck: listening on http://${host}:${port}`);
  // In the background: with Redis down at start it waits for Redis instead of blocking the server.
  void ops.startSweeper(probot, queue).catch((e) => probot.log.error({ err: (e as Error)?.message }, "memcheck: sweeper did not start"));

  let worker: { close(): Promise<void> } | undefined;
  if (process.env.MEMCHECK_INPROCESS_WORKER !== "false") {
    const { startWorker } = await import("../worker/index.ts");
    worker = await startWorker(probot);
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    probot.log.info(`memcheck: ${signal}, draining`);
    server.close();
    try {
      await worker?.close();
      await queue.close();
      await ops.close(); // the sweeper and the write limiter's connection
    } finally {
      // Give the (asynchronous) log stream a moment to flush.
      setTimeout(() => process.exit(0), 250);
    }
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
