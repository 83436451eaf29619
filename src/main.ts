// `npm start`: the webhook server (Probot's node middleware on node:http) plus an in-process worker.
// `npm run worker` runs workers alone (worker/index.ts). With no APP_ID, Probot's setup flow runs.
import http from "node:http";
import { pathToFileURL } from "node:url";
import { createNodeMiddleware, createProbot, run, type Probot } from "probot";
import { createApp } from "./app.ts";
import { createReviewQueue, ready, type ReviewQueue } from "./queue/index.ts";
import { createOps, instrumentQueue, probotEnv, RedisHealth, exitOnSignals, webhookIntake } from "./ops/index.ts";

import type { Route } from "./ops/server.ts";
export type { Route };

export interface ServerOptions {
  probot: Probot;
  queue: ReviewQueue;
  /** Tried in order before the webhook middleware. */
  extraRoutes?: Route[];
  webhooksPath?: string;
  detailsUrl?: string;
  /** Is the queue's Redis reachable? Default: its client is ready, or becomes so within 1 s. While not, webhooks get 503. */
  redisReady?: () => boolean | Promise<boolean>;
}

export async function createServer(o: ServerOptions): Promise<http.Server> {
  const webhooks = await createNodeMiddleware(createApp({ queue: o.queue, detailsUrl: o.detailsUrl }), {
    probot: o.probot,
    ...(o.webhooksPath ? { webhooksPath: o.webhooksPath } : {}),
  });
  // Size limit, signature and Redis checks before Probot sees a byte (src/ops/intake.ts).
  const intake = webhookIntake({
    webhooksPath: o.webhooksPath || "/api/github/webhooks",
    verify: (payload, signature) => o.probot.webhooks.verify(payload, signature),
    redisReady:
      o.redisReady ??
      (() =>
        ready(o.queue.redis, 1000).then(
          () => true,
          () => false,
        )),
    log: o.probot.log,
  });
  const routes = [...(o.extraRoutes ?? []), intake];
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
  // probotEnv: no REDIS_URL for Probot, whose Redis-backed throttle breaks when Redis comes back empty.
  const probot = createProbot({ env: probotEnv(), overrides: { Octokit: ops.Octokit } });
  const queue = instrumentQueue(createReviewQueue(), ops.metrics);
  await probot.ready();
  // One log line per Redis state change; the queue's client decides whether webhooks get 503.
  const health = new RedisHealth({ log: probot.log, role: "server", meanwhile: "webhooks are answered 503 and redelivered later" }).watch(
    queue.redis,
  );
  queue.queue.on("error", (e) => health.noteError(e, "queue"));
  const extraRoutes = [...ops.routes({ queue }), ...(opts.extraRoutes ?? [])];
  const server = await createServer({
    probot,
    queue,
    extraRoutes,
    webhooksPath: process.env.WEBHOOK_PATH,
    detailsUrl: process.env.MEMCHECK_DETAILS_URL,
  });
  const port = Number(process.env.PORT) || 3000;
  const host = process.env.HOST || "0.0.0.0";
  await new Promise<void>((r) => server.listen(port, host, r));
  probot.log.info(`memcheck: listening on http://${host}:${port}`);
  // In the background: with Redis down at start it waits for Redis instead of blocking the server.
  void ops
    .startSweeper(probot, queue, health)
    .catch((e) => probot.log.error({ err: (e as Error)?.message }, "memcheck: sweeper did not start"));

  let worker: { close(): Promise<void> } | undefined;
  if (process.env.MEMCHECK_INPROCESS_WORKER !== "false") {
    const { startWorker } = await import("../worker/index.ts");
    worker = await startWorker(probot, health);
  }

  exitOnSignals({
    log: probot.log,
    role: "server",
    stop: async () => {
      // Stop accepting; answers in flight finish, idle keep-alive sockets are dropped.
      server.close();
      server.closeIdleConnections();
      await worker?.close();
      health.close();
      await queue.close();
      await ops.close(); // the sweeper and the write limiter's connection
    },
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
