// The parse pool's worker thread entry. Compiled (dist/src/), parse-worker.js sits beside this file
// and is imported directly. From the sources, worker threads do not inherit the tsx loader that the
// CLI registers in-process: register it here (tsx is a dev dependency, never loaded in production).
import { existsSync } from "node:fs";

if (existsSync(new URL("./parse-worker.js", import.meta.url))) {
  await import(new URL("./parse-worker.js", import.meta.url).href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("./parse-worker.ts");
}
