#!/usr/bin/env node
// `npm run build`: compile src/ and worker/ to dist/ (tsconfig.build.json, incremental) and copy the
// non-TypeScript modules the compiled code loads (the worker-thread entries).
// Assets (grammars/*.wasm, src/analysis/stdlib-table.json) are read from the package root, not dist/.
//
// `--if-needed` (npm's prestart/preworker): where TypeScript is not installed (a production image,
// `npm ci --omit=dev`) an existing dist/ is used as it is; otherwise the build runs, so `npm start`
// in a fresh clone or after an edit never runs stale code.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const built = ["dist/src/main.js", "dist/worker/index.js", "dist/src/parse-worker-boot.mjs", "dist/src/analysis-thread-boot.mjs"].every((f) => existsSync(root + f));

let tsc;
try {
  tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
} catch {
  if (process.argv.includes("--if-needed") && built) process.exit(0);
  console.error("memcheck build: TypeScript is not installed (npm install, with dev dependencies)");
  process.exit(2);
}

const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
if (r.status !== 0) process.exit(r.status ?? 1);
mkdirSync(root + "dist/src", { recursive: true });
// The worker-thread entries: each boots the compiled .js beside it, or tsx in a checkout.
for (const boot of ["parse-worker-boot.mjs", "analysis-thread-boot.mjs"]) copyFileSync(`${root}src/${boot}`, `${root}dist/src/${boot}`);
