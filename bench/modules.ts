// Module resolution on a real tree: how many structs resolve without and with other modules'
// packages, the engine time of each (cold, then warm with the parsed-declaration cache), and the
// packages read. Usage: GOMODCACHE=… node --import tsx bench/modules.ts DIR [--arch amd64]
// (not part of `npm run bench`: it needs a tree and its module cache on disk).
import { analyzeSnapshot, ParseCache } from "../src/engine.ts";
import { LocalDirSnapshot } from "../src/snapshot/local.ts";
import { localModules } from "../src/modules/local.ts";
import type { Analysis } from "../src/analysis/model.ts";

const dir = process.argv[2];
if (!dir) throw new Error("usage: bench/modules.ts DIR");
const archs = ["amd64" as const];

function count(a: Analysis) {
  const structs = a.structs.filter((s) => !s.generic && !/(_test|\.pb|_gen|zz_generated[^/]*)\.go$/.test(s.file));
  const resolved = structs.filter((s) => s.resolved).length;
  const byModule = new Map<string, number>();
  for (const s of structs.filter((x) => !x.resolved))
    for (const n of s.unresolved) {
      const m = /^([^ ]+)\.[^. ]+/.exec(n)?.[1] ?? n;
      byModule.set(m, (byModule.get(m) ?? 0) + 1);
    }
  return {
    structs: structs.length,
    resolved,
    unresolved: structs.length - resolved,
    top: [...byModule].sort((a, b) => b[1] - a[1]).slice(0, 6),
  };
}

async function run(label: string, modules: boolean, cache: ParseCache) {
  const t0 = performance.now();
  const a = await analyzeSnapshot(new LocalDirSnapshot(dir), {
    archs,
    threads: 1,
    cache,
    ...(modules ? { modules: localModules(dir) } : {}),
  });
  const ms = Math.round(performance.now() - t0);
  const c = count(a);
  console.log(
    `${label}: ${c.resolved}/${c.structs} hand-written structs resolved (${c.unresolved} not), ${ms} ms, modules ${JSON.stringify(a.stats.modules ?? null)}`,
  );
  if (c.top.length) console.log(`  still unresolved, by first missing name: ${c.top.map(([m, n]) => `${m} ${n}`).join("; ")}`);
  return c;
}

const cacheOff = new ParseCache();
await run("without modules (cold)", false, cacheOff);
await run("without modules (warm)", false, cacheOff);
const cacheOn = new ParseCache();
await run("with modules (cold)", true, cacheOn);
await run("with modules (warm)", true, cacheOn);
