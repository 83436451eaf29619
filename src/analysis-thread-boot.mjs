// The analysis thread's entry. Worker threads do not inherit the tsx loader that the CLI or
// `npm start` registers in-process: a compiled build (dist/, .js beside this file) imports its .js
// directly; from source, tsx is registered here first.
import { existsSync } from "node:fs";

const compiled = new URL("./analysis-thread-worker.js", import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("./analysis-thread-worker.ts");
}
