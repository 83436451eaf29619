#!/usr/bin/env node
// memcheck runs from its TypeScript sources through tsx: no build step, one source of truth.
import { register } from "tsx/esm/api";

register();
try {
  const { main } = await import("../src/cli.ts");
  process.exitCode = await main(process.argv);
} catch (err) {
  // Exit 1 means "a regression"; a crash must never look like one.
  process.stderr.write(`memcheck: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 3;
}
