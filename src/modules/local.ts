// Module resolution for the CLI: Go's environment, a go.work above the analysed folder, and the
// go.mod / go.sum of workspace modules outside it, read from disk.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { parseGoWork } from "../analysis/gopath.ts";
import type { EngineModules } from "../engine.ts";
import { ModuleLoader } from "./loader.ts";
import { settingsFromEnv } from "./settings.ts";

function read(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** The go.work that governs `root`: GOWORK when set (off disables), else the nearest one at or above it. */
function findGoWork(root: string, goWork: string | undefined): string | undefined {
  if (goWork === "off") return undefined;
  if (goWork) return path.resolve(goWork);
  for (let dir = path.resolve(root); ; ) {
    const f = path.join(dir, "go.work");
    if (existsSync(f)) return f;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

const rel = (root: string, p: string) => path.relative(root, p).split(path.sep).join("/") || ".";

export function localModules(
  root: string,
  env: NodeJS.ProcessEnv = process.env,
  loaderOptions: { fetch?: typeof fetch } = {},
): EngineModules {
  const settings = settingsFromEnv(env);
  const out: EngineModules = {
    source: new ModuleLoader(settings, { root: path.resolve(root), ...loaderOptions }),
    modFlag: settings.modFlag,
    noWork: settings.goWork === "off",
    goMods: [],
    goSums: [],
  };
  const workFile = findGoWork(root, settings.goWork);
  const text = workFile ? read(workFile) : undefined;
  if (!workFile || text === undefined) return out;
  const workDir = path.dirname(workFile);
  // The engine reads a go.work at the snapshot root itself; one above (or elsewhere) comes from here.
  if (path.resolve(workDir) !== path.resolve(root)) out.goWork = { dir: rel(root, workDir), text };
  out.goSums!.push(read(path.join(workDir, "go.work.sum")) ?? "");
  for (const use of parseGoWork(text).use) {
    const dir = path.resolve(workDir, use);
    const r = rel(root, dir);
    if (!r.startsWith("..") && !path.isAbsolute(r)) continue; // inside the snapshot: the engine reads it
    const goMod = read(path.join(dir, "go.mod"));
    if (goMod !== undefined) out.goMods!.push({ dir: r, text: goMod });
    out.goSums!.push(read(path.join(dir, "go.sum")) ?? "");
  }
  return out;
}
