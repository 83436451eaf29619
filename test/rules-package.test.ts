// Package-wide syntax rules: each directory under test/fixtures/rules/packages/ is one module,
// analysed whole through analyzeFiles (with the engine's collector, as the CLI and the app run
// it). Every `// want MC1xx` line must be reported in its file, and nothing else.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { analyzeFiles } from "../src/analysis/index.ts";
import { hazardCollector } from "../src/hazards.ts";
import type { Finding, SourceFile } from "../src/analysis/model.ts";

const root = path.join(import.meta.dirname, "fixtures", "rules", "packages");

function filesUnder(dir: string, rel = ""): SourceFile[] {
  const out: SourceFile[] = [];
  for (const name of readdirSync(path.join(dir, rel)).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    if (statSync(path.join(dir, p)).isDirectory()) out.push(...filesUnder(dir, p));
    else out.push({ path: p, text: readFileSync(path.join(dir, p), "utf8") });
  }
  return out;
}

export async function packageFindings(dir: string): Promise<{ files: SourceFile[]; findings: Finding[] }> {
  const files = filesUnder(dir);
  const a = await analyzeFiles(files, { rules: true }, await hazardCollector());
  return { files, findings: a.findings };
}

const RULES = /MC1\d\d/;

function wantLines(text: string, rule: string): number[] {
  const out: number[] = [];
  text.split("\n").forEach((l, i) => {
    const m = /\/\/ want ((?:MC\d{3}[ ,]*)+)/.exec(l);
    if (m && m[1].includes(rule)) out.push(i + 1);
  });
  return out;
}

for (const name of readdirSync(root).sort()) {
  test(`package fixture ${name}`, async () => {
    const { files, findings } = await packageFindings(path.join(root, name));
    const got: string[] = [];
    const want: string[] = [];
    for (const f of files.filter((x) => x.path.endsWith(".go"))) {
      for (const rule of ["MC101", "MC102", "MC111", "MC112"]) {
        for (const l of wantLines(f.text, rule)) want.push(`${f.path}:${l} ${rule}`);
      }
    }
    for (const f of findings) if (RULES.test(f.rule)) got.push(`${f.file}:${f.line} ${f.rule}`);
    assert.deepEqual(got.sort(), want.sort(), findings.map((f) => `${f.file}:${f.line} ${f.rule} ${f.message}`).join("\n"));
  });
}

test("a finding through a helper names the helper and where it reads", async () => {
  const { findings } = await packageFindings(path.join(root, "helpers"));
  const f = findings.find((x) => x.file === "api/handlers.go" && x.line === 22);
  assert.ok(f, "finding at the readRequestBody call");
  assert.match(f.message, /`readRequestBody` reads it with io\.ReadAll \(api\/helpers\.go:18\)/);
  const deep = findings.find((x) => x.file === "api/handlers.go" && x.line === 44);
  assert.match(deep!.message, /`parseInto` → `decodeJSON` reads it with json\.NewDecoder/);
});
