// The CLI's view of a directory on disk.
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { Snapshot } from "../analysis/model.ts";

/** Directories never worth walking: VCS data and dependency caches. */
const SKIP_DIRS = new Set([".git", ".hg", ".svn", "node_modules"]);

export class LocalDirSnapshot implements Snapshot {
  readonly label: string;
  constructor(readonly root: string) {
    this.label = root;
  }

  async paths(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (rel: string): Promise<void> => {
      const entries = await readdir(path.join(this.root, rel), { withFileTypes: true });
      for (const e of entries) {
        const p = rel ? `${rel}/${e.name}` : e.name;
        if (e.isDirectory()) {
          if (!SKIP_DIRS.has(e.name)) await walk(p);
        } else if (e.isFile() && (e.name.endsWith(".go") || e.name === "go.mod")) {
          out.push(p);
        }
      }
    };
    await walk("");
    return out.sort();
  }

  read(file: string): Promise<string> {
    return readFile(path.join(this.root, file), "utf8");
  }
}

/** A go.mod above the root (the CLI may be pointed at a package inside a module). */
export async function findEnclosingGoMod(dir: string): Promise<{ dir: string; text: string } | undefined> {
  let current = path.resolve(dir);
  for (;;) {
    const candidate = path.join(current, "go.mod");
    try {
      if ((await stat(candidate)).isFile()) return { dir: current, text: await readFile(candidate, "utf8") };
    } catch {
      // keep walking up
    }
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}
