// Parse `/memcheck` commands in issue comments. Defensive: bounded work on any body size, only the
// first line that starts with `/memcheck`, a strict token grammar, and nothing echoed unescaped.
import { ALL_ARCHS, type Arch } from "../analysis/model.ts";

export type Command =
  | { kind: "run"; archs?: Arch[] }
  | { kind: "explain"; type: string; archs?: Arch[] }
  | { kind: "help"; error?: string };

/** Only this much of a comment body is scanned for a command line. */
export const MAX_SCAN_CHARS = 16 * 1024;
export const MAX_LINE_CHARS = 200;

const TYPE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}(\.[A-Za-z_][A-Za-z0-9_]{0,99})?$/;
const ARCH_SET = new Set<string>(ALL_ARCHS);

/** Find the first `/memcheck` line; undefined when the comment is not a command. */
export function findCommandLine(body: unknown): string | undefined {
  if (typeof body !== "string" || body.length === 0) return undefined;
  const text = body.length > MAX_SCAN_CHARS ? body.slice(0, MAX_SCAN_CHARS) : body;
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const line = text
      .slice(start, Math.min(end, start + MAX_LINE_CHARS + 1))
      .replace(/\r$/, "")
      .trimStart();
    if (line.startsWith("/memcheck") && (line.length === 9 || /\s/.test(line[9]!))) {
      return line.length > MAX_LINE_CHARS ? line.slice(0, MAX_LINE_CHARS + 1) : line.trimEnd();
    }
    start = end + 1;
  }
  return undefined;
}

export function parseCommand(line: string): Command {
  if (line.length > MAX_LINE_CHARS) return { kind: "help", error: "command line too long" };
  const tokens = line
    .split(/[ \t]+/)
    .filter(Boolean)
    .slice(1);
  if (tokens.length > 4) return { kind: "help", error: "too many arguments" };
  let archs: Arch[] | undefined;
  let explain: string | undefined;
  let sawExplain = false;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === "help" && tokens.length === 1) return { kind: "help" };
    if (t.startsWith("arch=") || t.startsWith("archs=")) {
      if (archs) return { kind: "help", error: "`arch=` given twice" };
      const list = t
        .slice(t.indexOf("=") + 1)
        .split(",")
        .filter(Boolean);
      if (list.length === 0 || list.length > ALL_ARCHS.length) return { kind: "help", error: "`arch=` needs a comma-separated list" };
      for (const a of list) {
        if (!ARCH_SET.has(a)) return { kind: "help", error: `unknown arch \`${sanitize(a)}\`` };
      }
      archs = [...new Set(list)] as Arch[];
      continue;
    }
    if (t === "explain" && !sawExplain) {
      sawExplain = true;
      const name = tokens[i + 1];
      if (!name || !TYPE_NAME.test(name)) return { kind: "help", error: "`explain` needs a type name such as `Order` or `pkg.Order`" };
      explain = name;
      i++;
      continue;
    }
    return { kind: "help", error: `unknown argument \`${sanitize(t)}\`` };
  }
  if (explain) return archs ? { kind: "explain", type: explain, archs } : { kind: "explain", type: explain };
  return archs ? { kind: "run", archs } : { kind: "run" };
}

/** Make user text safe to quote inside inline code in markdown. */
export function sanitize(s: string): string {
  return s.slice(0, 40).replace(/[^A-Za-z0-9_.,=\-]/g, "?");
}

export const HELP_TEXT = [
  "**memcheck commands**",
  "",
  "| command | what it does |",
  "|---|---|",
  "| `/memcheck` | re-run the memory review on this PR's head |",
  "| `/memcheck arch=386,arm64` | re-run for these GOARCHes only |",
  `| \`/memcheck explain TypeName\` | show the byte layout of one struct (before and after) |`,
  "| `/memcheck help` | this text |",
  "",
  `Architectures: ${ALL_ARCHS.map((a) => `\`${a}\``).join(", ")}.`,
  "Commands need triage, write, maintain or admin access to the repository.",
].join("\n");
