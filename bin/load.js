// Loads one of memcheck's entry modules (src/cli.ts, src/action.ts): from a git checkout (src/ and
// the dev dependency tsx present) the TypeScript sources run through tsx, so an edit never meets a
// stale build; otherwise (the Docker image, an installed package) the compiled module in dist/
// (`npm run build`). MEMCHECK_COMPILED=1 forces dist/.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";

function tsxAvailable() {
  try {
    createRequire(import.meta.url).resolve("tsx/esm/api");
    return true;
  } catch {
    return false;
  }
}

/** `name` is the module's path under src/ without its extension, e.g. "cli". */
export async function loadEntry(name) {
  const compiled = new URL(`../dist/src/${name}.js`, import.meta.url);
  const source = new URL(`../src/${name}.ts`, import.meta.url);
  if (process.env.MEMCHECK_COMPILED !== "1" && existsSync(source) && tsxAvailable()) {
    const { register } = await import("tsx/esm/api");
    register();
    return import(source.href);
  }
  return import(compiled.href);
}
