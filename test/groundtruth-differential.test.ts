// Differential test: memcheck's TypeScript engine against tools/gosizes (go/types with the gc
// size rules, itself proven against the compiler in groundtruth-compiler.test.ts) on the torture
// corpus. Any struct both tools lay out must agree on size, align, every field offset, ptrBytes
// and optimalSize. Structs the oracle lays out and memcheck does not count against the
// resolution rate, which must stay at or above MIN_RESOLUTION.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  ALL_FIXTURES,
  FIXTURES,
  compareLayouts,
  haveGo,
  mismatchTable,
  runGosizes,
  runMemcheck,
  type Comparison,
} from "./groundtruth-support.ts";

/** Minimum share of the oracle's (struct, arch) layouts that memcheck must also produce. */
const MIN_RESOLUTION = 0.9;
const ARCHS = ["amd64", "386", "arm64"];

const results = new Map<string, Comparison>();
const noGo = !haveGo() && "go not installed";

for (const fixture of ALL_FIXTURES) {
  test(`memcheck agrees with gosizes on fixture ${fixture}`, { skip: noGo }, () => {
    const dir = join(FIXTURES, fixture);
    const oracle = runGosizes(dir, ARCHS);
    const memcheck = runMemcheck(dir, ARCHS);
    assert.equal(memcheck.schema, "memcheck.layout/v1");
    const c = compareLayouts(oracle, memcheck, ARCHS);
    results.set(fixture, c);
    console.log(
      mismatchTable(fixture, c)
        .split("\n")
        .map((l) => `# ${l}`)
        .join("\n"),
    );
    assert.ok(c.oracleResolved > 0 || fixture === "invalid", `${fixture}: the oracle laid out nothing`);
    assert.deepEqual(c.mismatches, [], `memcheck and gosizes disagree on ${fixture}:\n${mismatchTable(fixture, c)}`);
  });
}

test(`memcheck resolves at least ${MIN_RESOLUTION * 100}% of what gosizes resolves`, { skip: noGo }, () => {
  let oracle = 0;
  let both = 0;
  const rows: string[] = [];
  for (const [fixture, c] of results) {
    oracle += c.oracleResolved;
    both += c.bothResolved;
    rows.push(
      `${fixture.padEnd(10)} ${String(c.bothResolved).padStart(4)}/${String(c.oracleResolved).padEnd(4)} ` +
        `agreed ${c.agreed}/${c.compared}`,
    );
  }
  assert.ok(results.size === ALL_FIXTURES.length, "some fixtures did not run");
  const rate = oracle ? both / oracle : 1;
  console.log(
    `# resolution (struct x arch layouts memcheck also produces):\n${rows.map((r) => `#   ${r}`).join("\n")}\n#   total ${both}/${oracle} = ${(rate * 100).toFixed(1)}%`,
  );
  const missing = [...results.values()].flatMap((c) => c.missing);
  assert.ok(
    rate >= MIN_RESOLUTION,
    `resolution ${(rate * 100).toFixed(1)}% < ${MIN_RESOLUTION * 100}%; unresolved by memcheck:\n${missing.join("\n")}`,
  );
});
