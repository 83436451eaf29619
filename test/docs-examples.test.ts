// Every memcheck config shown in README.md and docs/**/*.md must pass the schema the app uses, so
// the documentation cannot drift from it (the README's `archs: [amd64, arm64, 386]` once failed
// every PR: YAML reads 386 as a number).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import { configSchema, parseConfig } from "../src/review/config.ts";

interface Block {
  where: string;
  text: string;
}

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return markdownFiles(p);
    return p.endsWith(".md") ? [p] : [];
  });
}

/** Fenced ```yaml / ```yml blocks, also inside list items (indented fences). */
function yamlBlocks(file: string): Block[] {
  const lines = readFileSync(file, "utf8").split("\n");
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*ya?ml\b/.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence] = open;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !lines[j].trimStart().startsWith(fence); j++)
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j]);
    out.push({ where: `${file}:${i + 1}`, text: body.join("\n") });
    i = j;
  }
  return out;
}

const CONFIG_KEYS = new Set(Object.keys(configSchema.shape));
/** What a GitHub workflow (or a fragment of one) has at its top level. */
const WORKFLOW_KEYS = new Set(["on", "jobs", "steps", "uses", "run", "with", "env", "name", "permissions", "runs-on"]);

type Kind = "config" | "workflow";
function classify(value: unknown): Kind | undefined {
  if (Array.isArray(value)) return "workflow"; // a list of steps
  if (value === null || typeof value !== "object") return undefined;
  const keys = Object.keys(value);
  if (keys.some((k) => CONFIG_KEYS.has(k))) return "config";
  if (keys.some((k) => WORKFLOW_KEYS.has(k))) return "workflow";
  return undefined;
}

const docs = ["README.md", ...markdownFiles("docs")];
const blocks = docs.flatMap(yamlBlocks);

test("the docs hold memcheck config examples (the extractor finds them)", () => {
  const configs = blocks.filter((b) => classify(parseYaml(b.text)) === "config");
  assert.ok(
    configs.some((b) => b.where.startsWith("README.md")),
    "README.md's example is found",
  );
  assert.ok(
    configs.some((b) => b.where.includes("github-app.md")),
    "docs/github-app.md's example is found",
  );
  assert.ok(configs.length >= 3, `found ${configs.length}`);
});

test("every YAML block in the docs is either a valid memcheck config or a workflow", () => {
  for (const b of blocks) {
    let value: unknown;
    assert.doesNotThrow(() => (value = parseYaml(b.text)), `${b.where} is not valid YAML`);
    const kind = classify(value);
    assert.ok(kind, `${b.where}: neither a memcheck config nor a workflow; teach this test what it is`);
    if (kind !== "config") continue;
    const r = parseConfig(value);
    assert.ok(r.ok, `${b.where}: ${r.ok ? "" : r.error}\n${b.text}`);
  }
});

test("archs may be written as YAML numbers (386) and come out as GOARCH names", () => {
  const r = parseConfig(parseYaml("archs: [amd64, arm64, 386]\n"));
  assert.ok(r.ok, r.ok ? "" : r.error);
  assert.deepEqual(r.config.archs, ["amd64", "arm64", "386"]);
  const bad = parseConfig(parseYaml("archs: [387]\n"));
  assert.equal(bad.ok, false, "a number that is not a GOARCH is still rejected");
});
