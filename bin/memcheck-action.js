#!/usr/bin/env node
// The GitHub Action's entry (action.yml runs it): src/action.ts. Exit 0 clean, 1 the gate tripped,
// 2 usage (no base revision, a bad input), 3 internal error.
import { loadEntry } from "./load.js";

try {
  const action = await loadEntry("action");
  process.exitCode = await action.main();
} catch (err) {
  process.stdout.write(`::error::memcheck: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 3;
}
