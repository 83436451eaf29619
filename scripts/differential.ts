// Compares memcheck's layouts with tools/gosizes (the go/types + gc-rules oracle) on any tree:
//
//   node --import tsx scripts/differential.ts <dir> [--arch amd64,386,arm64] [--goos linux]
//        [--gosizes path/to/binary] [--json] [--max-rows 50] [--strict]
//
// Prints per-tree counts (structs, layouts compared, agreement, resolution) and a table of
// mismatches (size, align, field offsets, ptrBytes, optimalSize), then the (struct, arch)
// layouts gosizes produces and memcheck does not. --strict also compares padding,
// trailingPadding, sizeClass, optimalPtrBytes, optimalOrder, pointerFields and each field's
// size, align and ptrBytes. Exit status 1 on any mismatch.
import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { buildGosizes, compareLayouts, runMemcheck, type LayoutOutput } from "../test/groundtruth-support.ts";

function usage(): never {
  console.error(
    "usage: node --import tsx scripts/differential.ts <dir> [--arch a,b] [--goos linux] [--gosizes bin] [--json] [--max-rows N] [--strict]",
  );
  process.exit(2);
}

const args = process.argv.slice(2);
let dir: string | undefined;
let archs = ["amd64", "386", "arm64"];
let goos = "linux";
let gosizes: string | undefined;
let json = false;
let maxRows = 50;
let strict = false;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--arch") archs = (args[++i] ?? usage()).split(",").filter(Boolean);
  else if (a === "--goos") goos = args[++i] ?? usage();
  else if (a === "--gosizes") gosizes = args[++i] ?? usage();
  else if (a === "--json") json = true;
  else if (a === "--strict") strict = true;
  else if (a === "--max-rows") maxRows = Number(args[++i] ?? usage());
  else if (a.startsWith("--")) usage();
  else dir = a;
}
if (!dir) usage();
dir = resolve(dir);

const t0 = Date.now();
const bin = gosizes ?? buildGosizes();
const oracle = JSON.parse(
  execFileSync(bin, ["-arch", archs.join(","), "-goos", goos, dir], { encoding: "utf8", maxBuffer: 1 << 30 }),
) as LayoutOutput;
const t1 = Date.now();
const memcheck = runMemcheck(dir, archs, goos);
const t2 = Date.now();
const c = compareLayouts(oracle, memcheck, archs, strict);

const nonGeneric = oracle.structs.filter((s) => !s.generic);
const summary = {
  dir,
  archs,
  structs: { gosizes: oracle.structs.length, memcheck: memcheck.structs.length, generic: oracle.structs.length - nonGeneric.length },
  layouts: { gosizes: c.oracleResolved, both: c.bothResolved, memcheckOnly: c.extra.length },
  compared: c.compared,
  agreed: c.agreed,
  agreementRate: c.compared ? c.agreed / c.compared : 1,
  resolutionRate: c.oracleResolved ? c.bothResolved / c.oracleResolved : 1,
  mismatches: c.mismatches.length,
  ms: { gosizes: t1 - t0, memcheck: t2 - t1 },
};

if (json) {
  console.log(JSON.stringify({ summary, mismatches: c.mismatches, missing: c.missing, extra: c.extra }, null, 2));
} else {
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  console.log(`tree        ${dir}`);
  console.log(`archs       ${archs.join(", ")}`);
  console.log(`structs     gosizes ${summary.structs.gosizes} (${summary.structs.generic} generic), memcheck ${summary.structs.memcheck}`);
  console.log(`layouts     gosizes ${c.oracleResolved}, both ${c.bothResolved}, memcheck only ${c.extra.length}`);
  console.log(`agreement   ${c.agreed}/${c.compared} = ${pct(summary.agreementRate)}`);
  console.log(`resolution  ${c.bothResolved}/${c.oracleResolved} = ${pct(summary.resolutionRate)}`);
  console.log(`time        gosizes ${summary.ms.gosizes} ms, memcheck ${summary.ms.memcheck} ms`);
  if (c.mismatches.length) {
    console.log(`\nmismatches (first ${Math.min(maxRows, c.mismatches.length)} of ${c.mismatches.length}):`);
    const rows = [
      ["struct", "arch", "what", "gosizes", "memcheck"],
      ...c.mismatches.slice(0, maxRows).map((x) => [x.key, x.arch, x.what, x.oracle, x.memcheck]),
    ];
    const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) console.log("  " + r.map((cell, i) => cell.padEnd(w[i])).join("  "));
  }
  if (c.missing.length) {
    console.log(`\nlaid out by gosizes, not by memcheck (first ${Math.min(maxRows, c.missing.length)} of ${c.missing.length}):`);
    for (const m of c.missing.slice(0, maxRows)) console.log(`  ${m}`);
  }
}
process.exitCode = c.mismatches.length ? 1 : 0;
