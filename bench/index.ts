// `npm run bench`: every benchmark, printing figures and ratios (never pass/fail).
import { benchEngine } from "./engine.ts";
import { benchFetch, benchSnapshots } from "./fetch.ts";
import { benchWebhooks } from "./webhooks.ts";
import { benchWorker } from "./worker.ts";
import { benchWorkerMemory } from "./worker-memory.ts";
import { benchRipple } from "./ripple.ts";

const only = process.argv[2];
const benches: Record<string, () => Promise<unknown>> = {
  engine: benchEngine,
  webhooks: benchWebhooks,
  worker: benchWorker,
  memory: benchWorkerMemory,
  fetch: async () => (await benchSnapshots(), await benchFetch()),
  ripple: benchRipple,
};
for (const [name, run] of Object.entries(benches)) {
  if (only && only !== name) continue;
  console.log(`\n## ${name}`);
  await run();
}
