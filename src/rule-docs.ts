// The rules' long help for SARIF (code scanning shows it on each alert): read from their docs
// pages (docs/rules/MCnnn.md, the one place a rule is explained), so the reports stay pure.
import { readFileSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "./analysis/package-root.ts";
import { RULES } from "./analysis/rules/index.ts";
import type { RuleHelp } from "./report/sarif.ts";

/** Markdown to one plain paragraph: links keep their text, code and emphasis marks go. */
function plain(md: string): string {
  return md
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[`*_]/g, "")
    .replace(/\s+/g, " ")
    .trim();
}

/** The first paragraph under "## What it finds" (else the first paragraph after the title). */
export function firstParagraph(page: string): string {
  const lines = page.split(/\r?\n/);
  let i = lines.findIndex((l) => /^##\s+What it finds/i.test(l));
  if (i < 0) i = lines.findIndex((l) => /^#\s/.test(l));
  const para: string[] = [];
  for (let j = i + 1; j < lines.length; j++) {
    const l = lines[j];
    if (/^#/.test(l)) break;
    if (l.trim() === "") {
      if (para.length) break;
      continue;
    }
    if (/^\*\*Default severity/.test(l)) continue;
    para.push(l);
  }
  return plain(para.join(" "));
}

/** Help for every registered rule whose page exists; a missing page falls back to the registry's text. */
export function ruleHelpFromDocs(root: string = packageRoot): Record<string, RuleHelp> {
  const out: Record<string, RuleHelp> = {};
  // MC000 (a rule that failed) has no page of its own: the registry's text.
  for (const r of RULES) {
    let page: string;
    try {
      page = readFileSync(path.join(root, r.docs), "utf8");
    } catch {
      continue;
    }
    const full = firstParagraph(page);
    if (full) out[r.id] = { fullDescription: full, markdown: page.slice(0, 60_000) };
  }
  return out;
}
