// The long-run mutation fuzzer (the CI test, test/fuzz-mutants.test.ts, runs 20,000 cases).
//
//   node --import tsx scripts/fuzz.ts --cases 200000 --seed 7 --workers 2
//   node --import tsx scripts/fuzz.ts --seed 7 --first 12345 --cases 1 --show   # replay one case
//
// Every case is a pure function of (seed, index): a failure prints the command that replays it.
// Exit code 1 when a case failed, 2 on a hang (a case that made no progress for --stall-ms).
import { parseArgs } from "node:util";
import { runInWorkers, FuzzHang } from "../test/fixtures/hostile/run-workers.ts";
import { caseText, runCase } from "../test/fixtures/hostile/harness.ts";
import { loadCorpus } from "../test/fixtures/hostile/mutate.ts";

const { values } = parseArgs({
  options: {
    cases: { type: "string", default: "10000" },
    seed: { type: "string", default: "1" },
    first: { type: "string", default: "0" },
    workers: { type: "string" },
    "max-case-ms": { type: "string", default: "2000" },
    "stall-ms": { type: "string", default: "30000" },
    show: { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});

const num = (k: keyof typeof values, v = values[k]) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${k} needs a non-negative integer`);
    process.exit(2);
  }
  return n;
};
const seed = num("seed");
const first = num("first");
const cases = num("cases");
const maxCaseMs = num("max-case-ms");

if (values.show) {
  // Replay in this thread and print each mutant.
  const corpus = loadCorpus();
  let failed = 0;
  for (let i = first; i < first + cases; i++) {
    const { result } = await runCase(seed, i, corpus, maxCaseMs);
    const mutant = caseText(seed, i, corpus);
    console.log(`--- case ${i} of seed ${seed}: ${result.file} [${result.ops.join(", ")}] ${Math.round(result.ms)} ms`);
    for (const [path, text] of mutant) console.log(`=== ${path}\n${text}`);
    if (result.problems.length) {
      failed++;
      console.log(`PROBLEMS:\n  ${result.problems.join("\n  ")}`);
    }
  }
  process.exit(failed ? 1 : 0);
}

const workers = values.workers ? num("workers") : Math.max(1, Math.min(4, (await import("node:os")).availableParallelism()));
const started = Date.now();
let lastReport = 0;
try {
  const stats = await runInWorkers({
    seed,
    first,
    cases,
    workers,
    maxCaseMs,
    stallMs: num("stall-ms"),
    onProgress: (done) => {
      if (process.stderr.isTTY && Date.now() - lastReport > 1000) {
        lastReport = Date.now();
        const rate = done / ((Date.now() - started) / 1000);
        process.stderr.write(`\r${done}/${cases} cases, ${rate.toFixed(0)}/s `);
      }
    },
  });
  if (process.stderr.isTTY) process.stderr.write("\r\x1b[K");
  if (values.json) console.log(JSON.stringify(stats, null, 2));
  else {
    console.log(
      `seed ${seed}, cases ${first}..${first + cases - 1}, ${workers} worker(s): ${stats.cases} cases in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    console.log(`  slowest case: ${stats.maxMs} ms (case ${stats.slowest?.index}, ${stats.slowest?.file})`);
    console.log(
      `  ${stats.structs} structs (${stats.resolved} resolved), ${stats.findings} findings, ${(stats.bytes / 1e6).toFixed(1)} MB of mutated Go`,
    );
    console.log(
      `  trees: ${stats.trees} parsed, ${stats.treesLive} never deleted; RSS ${stats.rssStartMb} -> ${stats.rssEndMb} MB (peak ${stats.rssPeakMb})`,
    );
    console.log(`  failures: ${stats.failures.length}${stats.failures.length >= 20 ? " (first 20 per worker)" : ""}`);
    for (const f of stats.failures) {
      console.log(`  - case ${f.index} (${f.file}; ${f.ops.join(",")}): ${f.problems[0]?.slice(0, 300)}`);
      console.log(`    replay: node --import tsx scripts/fuzz.ts --seed ${seed} --first ${f.index} --cases 1 --show`);
    }
  }
  process.exit(stats.failures.length || stats.treesLive ? 1 : 0);
} catch (err) {
  if (process.stderr.isTTY) process.stderr.write("\n");
  console.error(err instanceof FuzzHang ? `HANG: ${err.message}` : `fuzz run failed: ${(err as Error).stack}`);
  process.exit(2);
}
