#!/usr/bin/env node
// memcheck: the CLI (src/cli.ts; see load.js for sources vs dist/).
import { loadEntry } from "./load.js";

try {
  const cli = await loadEntry("cli");
  process.exitCode = await cli.main(process.argv);
} catch (err) {
  // Exit 1 means "a regression"; a crash must never look like one.
  process.stderr.write(`memcheck: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 3;
}
