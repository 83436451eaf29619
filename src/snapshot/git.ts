// A git revision of a local checkout, read with `git ls-tree` and `git cat-file` (never checked out).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Snapshot } from "../analysis/model.ts";

const run = promisify(execFile);
const MAX_BUFFER = 256 * 1024 * 1024;

export class GitError extends Error {}

async function git(repo: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run("git", ["-C", repo, ...args], { maxBuffer: MAX_BUFFER, encoding: "utf8" });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new GitError((e.stderr || e.message).trim().split("\n")[0]);
  }
}

/** Resolve a ref to a commit SHA, with a clear error for bad refs and non-repositories. */
export async function resolveRef(repo: string, ref: string): Promise<string> {
  if (!/^[\w./@{}~^:-]+$/.test(ref) || ref.startsWith("-")) throw new GitError(`not a valid git ref: ${ref}`);
  try {
    return (await git(repo, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`])).trim();
  } catch {
    await git(repo, ["rev-parse", "--git-dir"]);
    throw new GitError(`unknown git revision: ${ref}`);
  }
}

export class GitRevSnapshot implements Snapshot {
  readonly label: string;
  private blobs = new Map<string, string>();
  private batch?: Promise<Map<string, string>>;

  constructor(
    readonly repo: string,
    readonly commit: string,
    label?: string,
  ) {
    this.label = label ?? commit;
  }

  async paths(): Promise<string[]> {
    const out = await git(this.repo, ["ls-tree", "-r", "-z", "--full-tree", this.commit]);
    const paths: string[] = [];
    for (const entry of out.split("\0")) {
      const m = /^\d+ blob ([0-9a-f]+)\t(.*)$/s.exec(entry);
      if (!m) continue;
      const p = m[2];
      if (p.endsWith(".go") || p === "go.mod" || p.endsWith("/go.mod")) {
        this.blobs.set(p, m[1]);
        paths.push(p);
      }
    }
    return paths;
  }

  hash(file: string): string | undefined {
    return this.blobs.get(file);
  }

  async read(file: string): Promise<string> {
    const texts = await (this.batch ??= this.readAll());
    const text = texts.get(file);
    if (text === undefined) throw new GitError(`${file} is not in ${this.label}`);
    return text;
  }

  /** One `git cat-file --batch` for every blob: far faster than a process per file. */
  private async readAll(): Promise<Map<string, string>> {
    if (this.blobs.size === 0) await this.paths();
    const shas = [...new Set(this.blobs.values())];
    const texts = new Map<string, string>();
    const byBlob = new Map<string, string>();
    const { spawn } = await import("node:child_process");
    await new Promise<void>((resolve, reject) => {
      const child = spawn("git", ["-C", this.repo, "cat-file", "--batch"], { stdio: ["pipe", "pipe", "pipe"] });
      const chunks: Buffer[] = [];
      child.stdout.on("data", (c: Buffer) => chunks.push(c));
      child.on("error", reject);
      child.on("close", (code) => {
        if (code !== 0) return reject(new GitError(`git cat-file failed (${code})`));
        const buf = Buffer.concat(chunks);
        let pos = 0;
        while (pos < buf.length) {
          const nl = buf.indexOf(10, pos);
          const header = buf.subarray(pos, nl).toString();
          const [sha, type, size] = header.split(" ");
          // "<sha> missing": an object a partial clone lacks; read() then rejects for that file.
          if (type === "missing" || size === undefined) {
            pos = nl + 1;
            continue;
          }
          const n = Number(size);
          byBlob.set(sha, buf.subarray(nl + 1, nl + 1 + n).toString("utf8"));
          pos = nl + 1 + n + 1;
        }
        resolve();
      });
      child.stdin.end(shas.join("\n") + "\n");
    });
    for (const [p, sha] of this.blobs) {
      const t = byBlob.get(sha);
      if (t !== undefined) texts.set(p, t);
    }
    return texts;
  }
}

/** The working tree's root for a path inside a repository. */
export async function repoRoot(dir: string): Promise<string> {
  return (await git(dir, ["rev-parse", "--show-toplevel"])).trim();
}

/** Lines added or changed on the head side, per file, from `git diff -U0`. */
export async function changedLines(repo: string, base: string, head?: string): Promise<Map<string, Set<number>>> {
  const args = ["diff", "-U0", "--no-color", "--no-ext-diff", base, ...(head ? [head] : []), "--", "*.go"];
  const out = await git(repo, args);
  const result = new Map<string, Set<number>>();
  let current: Set<number> | undefined;
  for (const line of out.split("\n")) {
    if (line.startsWith("+++ ")) {
      const p = line.slice(4);
      current = p === "/dev/null" ? undefined : new Set();
      if (current) result.set(p.replace(/^b\//, ""), current);
      continue;
    }
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/.exec(line);
    if (hunk && current) {
      const start = Number(hunk[1]);
      const count = hunk[2] === undefined ? 1 : Number(hunk[2]);
      for (let i = 0; i < count; i++) current.add(start + i);
    }
  }
  // Against the working tree, a new file nobody has `git add`ed yet is changed on every line:
  // `git diff` does not list it, but the working-tree snapshot reads it.
  if (!head) {
    const untracked = await git(repo, ["ls-files", "--others", "--exclude-standard", "-z", "--", "*.go"]);
    for (const p of untracked.split("\0").filter(Boolean)) {
      const text = await readFile(path.join(repo, p), "utf8").catch(() => "");
      const lines = new Set<number>();
      for (let i = 1, n = text.split("\n").length; i <= n; i++) lines.add(i);
      result.set(p, lines);
    }
  }
  return result;
}
