#!/usr/bin/env node
// memcheck: from a git checkout (src/ and the dev dependency tsx present) the TypeScript sources
// run through tsx, so an edit never meets a stale build; otherwise (the Docker image, an installed
// package) the compiled CLI in dist/ (`npm run build`). MEMCHECK_COMPILED=1 forces dist/.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";

const compiled = new URL("../dist/src/cli.js", import.meta.url);
const source = new URL("../src/cli.ts", import.meta.url);
function tsxAvailable() {
  try {
    createRequire(import.meta.url).resolve("tsx/esm/api");
    return true;
  } catch {
    return false;
  }
}
try {
  let cli;
  if (process.env.MEMCHECK_COMPILED !== "1" && existsSync(source) && tsxAvailable()) {
    const { register } = await import("tsx/esm/api");
    register();
    cli = await import(source.href);
  } else {
    cli = await import(compiled.href);
  }
  process.exitCode = await cli.main(process.argv);
} catch (err) {
  // Exit 1 means "a regression"; a crash must never look like one.
  process.stderr.write(`memcheck: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 3;
}
