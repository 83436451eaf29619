// Where memcheck's own assets live (grammars/, src/analysis/stdlib-table.json): the nearest folder
// above this file that holds package.json. The sources run from src/analysis/ and the compiled code
// from dist/src/analysis/, so a fixed number of ".." would be wrong in one of them.
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

function findPackageRoot(from: string): string {
  for (let dir = from; ; ) {
    if (existsSync(path.join(dir, "package.json"))) return dir;
    const up = path.dirname(dir);
    if (up === dir) return path.resolve(from, "..", ".."); // no package.json anywhere: the source layout
    dir = up;
  }
}

export const packageRoot = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));
