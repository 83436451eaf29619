// Writes a newer Go release's standard-library table as a delta over the base table
// (src/analysis/stdlib-table.json): the types and constants it adds or changes, and the names it
// no longer has. Used by scripts/gen-stdlib.sh; src/analysis/stdlib.ts merges them back.
// usage: node scripts/stdlib-delta.mjs BASE.json FULL.json OUT.json
import { readFileSync, writeFileSync } from "node:fs";

const [baseFile, fullFile, outFile] = process.argv.slice(2);
const base = JSON.parse(readFileSync(baseFile, "utf8"));
const full = JSON.parse(readFileSync(fullFile, "utf8"));
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const changed = (now, was = {}) => Object.fromEntries(Object.entries(now ?? {}).filter(([k, v]) => !same(v, was[k])));
const removed = (now = {}, was = {}) => Object.keys(was).filter((k) => !(k in now));
const delta = {
  schema: "memcheck.stdlib-delta/v1",
  goVersion: full.goVersion,
  base: base.goVersion,
  note: `${full.note}; a delta over stdlib-table.json (${base.goVersion}), written by scripts/stdlib-delta.mjs`,
  archs: full.archs,
  packages: full.packages,
  types: changed(full.types, base.types),
  removedTypes: removed(full.types, base.types),
  consts: changed(full.consts, base.consts),
  archConsts: changed(full.archConsts, base.archConsts),
  removedConsts: [...removed(full.consts, base.consts), ...removed(full.archConsts, base.archConsts)],
};
writeFileSync(outFile, `${JSON.stringify(delta)}\n`);
console.log(
  `wrote ${outFile}: ${Object.keys(delta.types).length} types added or changed, ${delta.removedTypes.length} removed, over ${base.goVersion}`,
);
