// Mutation fuzzing over the Go fixture corpus: 20,000 mutated files per run (byte- and
// token-level edits: deleted, duplicated and swapped spans, brackets, quotes, comment openers,
// random unicode and invalid UTF-8, truncation, renamed identifiers, huge numbers). Each goes
// through layouts on two archs, the hazard rules, the struct rules and the diff both ways against
// its original. Nothing may throw or break an invariant, no case may take over 2 s (a hang
// detector, not a speed test: a watchdog ends a case that never returns), every tree-sitter tree
// must be deleted, and RSS must stay bounded.
//
// FUZZ_SEED and FUZZ_CASES override the defaults; scripts/fuzz.ts runs the long version.
import { test } from "node:test";
import assert from "node:assert/strict";
import { FuzzHang, runInWorkers } from "./fixtures/hostile/run-workers.ts";

const SEED = Number(process.env.FUZZ_SEED ?? 20261127);
const CASES = Number(process.env.FUZZ_CASES ?? 20_000);
const MAX_CASE_MS = 2_000;
const MAX_RSS_GROWTH_MB = 150;

test(`${CASES} mutated Go files never crash, hang or leak (seed ${SEED})`, { timeout: 10 * 60_000 }, async (t) => {
  const stats = await runInWorkers({ seed: SEED, cases: CASES, workers: 1, maxCaseMs: MAX_CASE_MS, stallMs: 30_000 });
  t.diagnostic(
    `${stats.cases} cases in ${stats.totalMs} ms; slowest ${stats.maxMs} ms (case ${stats.slowest?.index}, ${stats.slowest?.file}); ` +
      `${stats.structs} structs (${stats.resolved} resolved), ${stats.findings} findings, ${(stats.bytes / 1e6).toFixed(1)} MB of Go; ` +
      `${stats.trees} trees; RSS ${stats.rssStartMb} -> ${stats.rssEndMb} MB (peak ${stats.rssPeakMb})`,
  );
  const failures = stats.failures.map((f) => ({
    replay: `scripts/fuzz.ts --seed ${SEED} --first ${f.index} --cases 1 --show`,
    file: f.file,
    ops: f.ops.join(","),
    problems: f.problems.map((p) => p.slice(0, 400)),
  }));
  assert.deepEqual(failures, []);
  assert.equal(stats.cases, CASES);
  assert.ok(stats.maxMs < MAX_CASE_MS, `slowest case took ${stats.maxMs} ms`);
  assert.equal(stats.treesLive, 0, `${stats.treesLive} of ${stats.trees} trees never deleted`);
  assert.ok(stats.trees >= CASES * 2, `${stats.trees} trees parsed`);
  const growth = stats.rssPeakMb - stats.rssStartMb;
  assert.ok(growth < MAX_RSS_GROWTH_MB, `RSS grew ${growth} MB (${stats.rssStartMb} -> peak ${stats.rssPeakMb})`);
  // The corpus and the mutations must still exercise the engine, not just the parser's error path.
  assert.ok(stats.resolved > CASES, `${stats.resolved} resolved structs`);
  assert.ok(stats.findings > CASES / 10, `${stats.findings} findings`);
});

test("the watchdog ends a case that never returns and names it", async () => {
  await assert.rejects(
    runInWorkers({ seed: SEED, cases: 30, workers: 1, warmup: 0, hangAt: 17, stallMs: 1_500 }),
    (err: unknown) => err instanceof FuzzHang && err.index === 17 && err.seed === SEED && /--first 17 --cases 1/.test(err.message),
  );
});
