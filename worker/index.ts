// `npm run worker`: review workers only (scale these separately from the webhook server).
import { pathToFileURL } from "node:url";
import { createProbot, type Probot } from "probot";
import { defaultPipeline } from "../src/github/default-pipeline.ts";
import { createWorkerRuntime, type WorkerRuntime } from "./runtime.ts";
import { createOps, startOpsServer } from "../src/ops/index.ts";
import { createReviewQueue } from "../src/queue/index.ts";

/** Start a worker that authenticates through `probot` (so GHE_HOST / GHE_PROTOCOL apply). */
export async function startWorker(probot: Probot): Promise<WorkerRuntime> {
  await probot.ready(); // initialises probot.log (null until then)
  const rt = createWorkerRuntime({ probot, pipeline: defaultPipeline() });
  probot.log.info(`memcheck: worker on queue ${rt.worker.name}`);
  return rt;
}

async function main() {
  // createProbot defaults LOG_LEVEL to "warn", which hides the per-job log line.
  const ops = createOps();
  const probot = createProbot({ env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL || "info" }, overrides: { Octokit: ops.Octokit } });
  const rt = await startWorker(probot);
  // OPS_PORT: /metrics, /healthz, /readyz for this worker (the backlog does not make a worker unready).
  const opsQueue = process.env.OPS_PORT ? createReviewQueue() : undefined;
  const opsServer = opsQueue ? await startOpsServer({ port: Number(process.env.OPS_PORT), routes: ops.routes({ queue: opsQueue, dashboard: false, readyMaxBacklog: Infinity }), log: probot.log }) : undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    probot.log.info(`memcheck: ${signal}, draining worker`);
    opsServer?.close();
    await rt.close(); // waits for the running jobs
    await opsQueue?.close();
    await ops.close();
    setTimeout(() => process.exit(0), 250); // let the log stream flush
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
