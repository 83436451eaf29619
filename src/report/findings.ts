// Findings for terminals and CI logs, the way Go tools print them. Pure.
// - text: `path:line:col: severity: message (MC101)`, as go vet and staticcheck do (editors and
//   CI problem matchers parse the `path:line:col:` prefix); the long explanation with --verbose;
// - github: workflow commands (`::warning file=…,line=…,col=…,title=…::…`) that GitHub Actions
//   turns into annotations on the PR;
// - markdown: a table for `memcheck check --format markdown` (a job summary).
import type { Diff, Finding, Severity } from "../analysis/model.ts";
import { ruleInfo } from "../analysis/rules/index.ts";
import { cell, groupRegressions, plural, prose } from "./format.ts";
import { LAYOUT_RULES } from "./sarif.ts";

/** A finding with where to show it: the path to print and the 1-based column. */
export interface PlacedFinding {
  finding: Finding;
  /** The path as printed (relative to the current directory, or to the repository root in CI). */
  path: string;
  column: number;
}

/** Colour functions (picocolors' shape); identity when colour is off. */
export interface Paint {
  red(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

export const NO_PAINT: Paint = { red: (s) => s, yellow: (s) => s, cyan: (s) => s, dim: (s) => s, bold: (s) => s };

/**
 * The first sentence or clause of a finding's message: what is wrong, without the why and the how
 * (those are behind --verbose). Messages are written "what: why. How." by every rule.
 */
export function shortMessage(message: string): string {
  const m = message.replace(/\s*\r?\n\s*/g, " ").trim();
  let depth = 0;
  for (let i = 0; i < m.length - 1; i++) {
    const c = m[i];
    if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth = Math.max(0, depth - 1);
    else if (depth === 0 && (c === ":" || c === ".") && m[i + 1] === " " && i >= 12) return m.slice(0, i);
  }
  return m.replace(/\.$/, "");
}

/** The 1-based column of the first non-blank character of a line (Go counts bytes; tabs are one). */
export function firstColumn(text: string | undefined, line: number): number {
  if (text === undefined) return 1;
  let start = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf("\n", start);
    if (nl < 0) return 1;
    start = nl + 1;
  }
  let i = start;
  while (i < text.length && (text[i] === " " || text[i] === "\t")) i++;
  return Buffer.byteLength(text.slice(start, i), "utf8") + 1;
}

function paintSeverity(sev: Severity, p: Paint): string {
  return sev === "error" ? p.red(sev) : sev === "warning" ? p.yellow(sev) : p.cyan(sev);
}

/** One finding as Go tools print one: `path:line:col: severity: message (MC101)`; more with verbose. */
export function findingText(f: PlacedFinding, o: { verbose?: boolean; paint?: Paint } = {}): string {
  const p = o.paint ?? NO_PAINT;
  const x = f.finding;
  const msg = (o.verbose ? x.message.replace(/\s*\r?\n\s*/g, " ") : shortMessage(x.message)).replace(/[\x00-\x08\x0b-\x1f\x7f]/g, "");
  const head = `${p.bold(`${f.path}:${x.line}:${f.column}:`)} ${paintSeverity(x.severity, p)}: ${msg} ${p.dim(`(${x.rule})`)}`;
  if (!o.verbose) return head;
  const info = ruleInfo(x.rule);
  return info ? `${head}\n\t${p.dim(`${info.title}; see ${info.docs}`)}` : head;
}

/** `check`'s closing line: "3 findings (1 error, 2 warnings)". */
export function findingsSummary(findings: readonly Finding[]): string {
  const by: Record<Severity, number> = { error: 0, warning: 0, notice: 0 };
  for (const f of findings) by[f.severity]++;
  const parts = (["error", "warning", "notice"] as const).filter((s) => by[s]).map((s) => plural(by[s], s));
  return `${plural(findings.length, "finding")}${parts.length ? ` (${parts.join(", ")})` : ""}`;
}

// ---- GitHub Actions workflow commands -----------------------------------------------------------

const COMMAND: Record<Severity, string> = { error: "error", warning: "warning", notice: "notice" };

/** Escape the data part of a workflow command (GitHub's own toolkit rules). */
export function escapeData(s: string): string {
  return s.replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** Escape a property value of a workflow command (also `:` and `,`). */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

function command(level: string, props: Record<string, string | number | undefined>, message: string): string {
  const ps = Object.entries(props)
    .filter(([, v]) => v !== undefined && v !== "")
    .map(([k, v]) => `${k}=${escapeProperty(String(v))}`)
    .join(",");
  return `::${level} ${ps}::${escapeData(message)}`;
}

/** One workflow command per finding: `::warning file=a.go,line=3,col=2,title=MC101 …::message`. */
export function githubFindingCommands(findings: readonly PlacedFinding[]): string[] {
  return findings.map(({ finding: f, path, column }) =>
    command(
      COMMAND[f.severity] ?? "warning",
      {
        file: path,
        line: f.line,
        endLine: f.endLine && f.endLine > f.line ? f.endLine : undefined,
        col: column,
        title: `memcheck ${f.rule}: ${ruleInfo(f.rule)?.title ?? f.rule}`,
      },
      f.message,
    ),
  );
}

/**
 * Workflow commands for a diff: an error per failing layout regression (at the struct), a notice
 * per regression the policy only notes, then the findings. `place` maps a snapshot path to the
 * printed path (the repository root's, in CI).
 */
export function githubDiffCommands(diff: Diff, findings: readonly PlacedFinding[], place: (file: string) => string): string[] {
  const out: string[] = [];
  for (const s of diff.structs) {
    if (!s.head) continue;
    const line = s.head.source?.line ?? s.line;
    for (const [list, level] of [
      [s.regressions, "error"],
      [s.notices ?? [], "notice"],
    ] as const) {
      for (const g of groupRegressions(list)) {
        const also = g.archs.filter((a) => a !== g.first.arch);
        const text = `${g.first.message}${also.length ? ` (also on ${also.join(", ")})` : ""}${g.first.reason ? `. Why: ${g.first.reason}` : ""}`;
        out.push(command(level, { file: place(s.file), line, title: `memcheck ${LAYOUT_RULES[g.kind].id}: ${s.name}` }, text));
      }
    }
  }
  return [...out, ...githubFindingCommands(findings)];
}

// ---- markdown ----------------------------------------------------------------------------------

/** A markdown table of findings (a job summary for `memcheck check`). */
export function findingsMarkdown(findings: readonly PlacedFinding[], o: { max?: number } = {}): string {
  const max = o.max ?? 200;
  const out = [`### memcheck: ${findingsSummary(findings.map((f) => f.finding))}`, ""];
  if (findings.length === 0) return out.join("\n");
  out.push("| | rule | where | finding |", "|---|---|---|---|");
  const icon: Record<Severity, string> = { error: "🔴", warning: "🟠", notice: "🔵" };
  for (const f of findings.slice(0, max)) {
    const x = f.finding;
    out.push(`| ${icon[x.severity]} ${x.severity} | ${x.rule} | \`${cell(f.path)}:${x.line}\` | ${cell(prose(shortMessage(x.message)))} |`);
  }
  if (findings.length > max) out.push("", `…and ${findings.length - max} more.`);
  return out.join("\n");
}
