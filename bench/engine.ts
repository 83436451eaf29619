// Engine throughput on a large Go corpus (the Go standard library by default), side by side with
// the raw tree-sitter parse and with the Go reference dumper (go/types) on the same tree.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadGoGrammar, goParser } from "../src/analysis/grammar.ts";
import { wantsFile } from "../src/analysis/index.ts";
import { analyzeSnapshot, ParseCache } from "../src/engine.ts";
import { ParsePool } from "../src/parse-pool.ts";
import { LocalDirSnapshot } from "../src/snapshot/local.ts";

function corpusDir(): string {
  if (process.env.BENCH_CORPUS) return process.env.BENCH_CORPUS;
  return path.join(execFileSync("go", ["env", "GOROOT"], { encoding: "utf8" }).trim(), "src");
}

const mb = (bytes: number) => bytes / 1e6;
const rate = (bytes: number, ms: number) => `${(mb(bytes) / (ms / 1000)).toFixed(2)} MB/s`;

export async function benchEngine(): Promise<Record<string, string>> {
  const dir = corpusDir();
  const snapshot = new LocalDirSnapshot(dir);
  const paths = (await snapshot.paths()).filter((p) => wantsFile(p, {}));
  const texts = paths.map((p) => readFileSync(path.join(dir, p), "utf8"));
  const bytes = texts.reduce((n, t) => n + t.length, 0);
  console.log(`corpus: ${dir}: ${paths.length} files, ${mb(bytes).toFixed(1)} MB (non-test, amd64 file names)`);

  await loadGoGrammar();
  const parser = goParser();
  let t0 = performance.now();
  for (const text of texts) {
    const tree = parser.parse(text);
    tree?.delete();
  }
  const rawMs = performance.now() - t0;
  console.log(`raw tree-sitter parse, 1 thread: ${rate(bytes, rawMs)}`);

  t0 = performance.now();
  const one = await analyzeSnapshot(snapshot, { threads: 1 });
  const oneMs = performance.now() - t0;
  const structs = one.structs.length;
  console.log(
    `engine (read+parse+layout), 1 thread: ${rate(bytes, oneMs)}, ${Math.round(structs / (oneMs / 1000))} structs/s (${structs} structs)`,
  );

  const threads = os.availableParallelism?.() ?? os.cpus().length;
  const cache = new ParseCache();
  // As the CLI runs it: a pool whose workers start while the files are read.
  t0 = performance.now();
  const pool = new ParsePool(threads).warm();
  await analyzeSnapshot(snapshot, { pool, cache });
  await pool.close();
  const multiMs = performance.now() - t0;
  console.log(`engine, ${threads} worker threads: ${rate(bytes, multiMs)}, ${Math.round(structs / (multiMs / 1000))} structs/s`);

  t0 = performance.now();
  await analyzeSnapshot(snapshot, { threads, cache });
  const warmMs = performance.now() - t0;
  console.log(`engine, parse cache warm (same blobs again): ${(warmMs / 1000).toFixed(2)} s, ${rate(bytes, warmMs)}`);

  const archs = "amd64,386,arm64";
  t0 = performance.now();
  await analyzeSnapshot(snapshot, { threads, archs: ["amd64", "386", "arm64"], cache: new ParseCache() });
  const threeMs = performance.now() - t0;
  console.log(`engine, ${threads} threads, 3 archs (${archs}): ${rate(bytes, threeMs)}`);

  let refMs: number | undefined;
  try {
    const bin = path.join(mkdtempSync(path.join(os.tmpdir(), "gosizes-")), "gosizes");
    execFileSync("go", ["build", "-o", bin, "."], { cwd: "tools/gosizes", stdio: "pipe" });
    t0 = performance.now();
    execFileSync(bin, ["-arch", "amd64", dir], { maxBuffer: 1 << 30, stdio: ["ignore", "ignore", "ignore"] });
    refMs = performance.now() - t0;
    console.log(`reference dumper (go/types + gc sizes), amd64: ${(refMs / 1000).toFixed(2)} s, ${rate(bytes, refMs)}`);
  } catch (err) {
    console.log(`reference dumper: not run (${(err as Error).message.split("\n")[0]})`);
  }

  const rss = process.resourceUsage().maxRSS / 1024;
  const out: Record<string, string> = {
    corpus: `${paths.length} files, ${mb(bytes).toFixed(1)} MB`,
    rawParse: rate(bytes, rawMs),
    engine1: rate(bytes, oneMs),
    engineN: rate(bytes, multiMs),
    ratioToRawParse1: (rawMs / oneMs).toFixed(2),
    ratioToRawParseN: (rawMs / multiMs).toFixed(2),
    warmCache: `${(warmMs / 1000).toFixed(2)} s`,
    peakRssMB: rss.toFixed(0),
  };
  if (refMs) out.speedupOverGoTypes = (refMs / multiMs).toFixed(2);
  console.log(`engine vs raw parse: ${out.ratioToRawParse1}x on 1 thread, ${out.ratioToRawParseN}x on ${threads}`);
  if (refMs) console.log(`engine (${threads} threads) vs go/types reference: ${out.speedupOverGoTypes}x faster`);
  console.log(`peak RSS: ${out.peakRssMB} MB`);
  return out;
}

/**
 * Pathological inputs within the default limits (issue 12): n struct types linked by pointers,
 * declared leaf first, so every walk reuses the next type's memoised chain. Parsed once; the
 * figure is the layout (resolution, pointer walk) alone, in-process, and the heap it leaves.
 */
export async function benchPathological(sizes = [5_000, 10_000, 20_000]): Promise<Record<string, string>> {
  const { analyzeParsed, parseSource } = await import("../src/analysis/index.ts");
  await loadGoGrammar();
  const out: Record<string, string> = {};
  for (const n of sizes) {
    let text = "package chain\n\n";
    for (let i = 0; i < n; i++) {
      const j = n - 1 - i;
      text += j + 1 < n ? `type T${j} struct { next *T${j + 1}; v int }\n` : `type T${j} struct { v int }\n`;
    }
    const decls = parseSource({ path: "chain/chain.go", text }, {});
    globalThis.gc?.();
    const heap0 = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    const a = analyzeParsed([decls], [{ dir: ".", path: "example.com/chain" }], { archs: ["amd64"] });
    const ms = performance.now() - t0;
    const heapMB = (process.memoryUsage().heapUsed - heap0) / 1e6;
    const depth = a.structs.find((s) => s.name === "T0")?.layouts.amd64?.pointerDepth;
    console.log(
      `pointer chain of ${n} types (${(text.length / 1e3).toFixed(0)} KB), leaf first: layout ${ms.toFixed(0)} ms, heap +${heapMB.toFixed(0)} MB, T0 depth ${depth}`,
    );
    out[`chain${n}`] = `${ms.toFixed(0)} ms, +${heapMB.toFixed(0)} MB`;
  }
  return out;
}

if (process.argv[1]?.endsWith("engine.ts") && process.argv[2] === "pathological") {
  await benchPathological(
    process.argv
      .slice(3)
      .map(Number)
      .filter((n) => n > 0).length
      ? process.argv.slice(3).map(Number)
      : undefined,
  );
}
