#!/usr/bin/env node
// memcheck runs from its TypeScript sources through tsx: no build step, one source of truth.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/cli.ts");
process.exitCode = await main(process.argv);
