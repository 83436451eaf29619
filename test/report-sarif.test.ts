// SARIF that code scanning shows well: valid against the official SARIF 2.1.0 schema (the OASIS
// rtm.5 schema shipped in @microsoft/jest-sarif, validated with ajv), every rule with its help,
// the tool's version, paths from the repository root, stable fingerprints.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import type { Options, ValidateFunction } from "ajv";
import type { Arch, Diff, Finding, StructDiff } from "../src/analysis/model.ts";
import { diffAnalyses } from "../src/analysis/diff.ts";
import { applyPolicy } from "../src/review/conclusion.ts";
import { toSarif } from "../src/report/sarif.ts";
import { ruleHelpFromDocs } from "../src/rule-docs.ts";
import { analysis, struct } from "./report-fixtures.ts";

const require = createRequire(import.meta.url);
const schema = JSON.parse(readFileSync(require.resolve("@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json"), "utf8"));
// ajv-draft-04 is CommonJS; its class is module.exports (the schema is draft-04).
const Ajv = require("ajv-draft-04") as new (o: Options) => { compile(schema: object): ValidateFunction };
// unicodeRegExp off: one of the schema's patterns (language tags) is not valid with the u flag.
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false });
const validate = ajv.compile(schema);
const version = JSON.parse(readFileSync("package.json", "utf8")).version as string;
const bin = path.resolve("bin/memcheck.js");

function assertValid(log: unknown): void {
  const ok = validate(log);
  assert.ok(ok, JSON.stringify(validate.errors?.slice(0, 5), null, 2));
}

// biome-ignore lint/suspicious/noExplicitAny: SARIF is checked field by field below.
function assertRulesComplete(log: any): void {
  const driver = log.runs[0].tool.driver;
  assert.equal(driver.name, "memcheck");
  assert.equal(driver.version, version);
  assert.match(driver.informationUri, /^https:\/\//);
  const ids = driver.rules.map((r: { id: string }) => r.id);
  for (const id of ["MC001", "MC002", "MC003", "MC004", "MC101", "MC102", "MC111", "MC112", "MC121", "MC131", "MC141", "MC151", "MC161"]) {
    assert.ok(ids.includes(id), `rule ${id} listed`);
  }
  for (const r of driver.rules) {
    assert.ok(r.shortDescription.text.length > 5, `${r.id} shortDescription`);
    assert.ok(r.fullDescription.text.length > 20, `${r.id} fullDescription`);
    assert.ok(r.help.text.length > 20 && r.help.markdown.length > 20, `${r.id} help`);
    assert.match(r.helpUri, /^https:\/\/\S+$/, `${r.id} helpUri`);
  }
  for (const res of log.runs[0].results) {
    assert.equal(driver.rules[res.ruleIndex].id, res.ruleId);
    const loc = res.locations[0].physicalLocation.artifactLocation;
    assert.equal(loc.uriBaseId, "%SRCROOT%");
    assert.doesNotMatch(loc.uri, /^(\/|\.\.|[a-z]+:)/, "relative to the repository root");
    assert.ok(res.partialFingerprints["memcheck/v1"]);
  }
}

test("rule help comes from the docs pages", () => {
  const help = ruleHelpFromDocs();
  assert.match(help.MC101.fullDescription, /^An HTTP handler that reads the request body with no size limit/);
  assert.match(help.MC151.markdown, /^# MC151: padding waste/);
  for (const id of ["MC101", "MC102", "MC111", "MC121", "MC131", "MC141", "MC151", "MC161"]) assert.ok(help[id], id);
});

test("a diff with regressions and findings validates against the SARIF 2.1.0 schema", () => {
  const a = (archs: Arch[], fields: [string, string][]) => analysis([struct("Order", fields, { archs, file: "order/order.go" })]);
  const base = a(
    ["amd64"],
    [
      ["ID", "int64"],
      ["Paid", "bool"],
    ],
  );
  const head = a(
    ["amd64"],
    [
      ["Paid", "bool"],
      ["ID", "int64"],
      ["Open", "bool"],
      ["Note", "string"],
    ],
  );
  const diff: Diff = applyPolicy(diffAnalyses(base, head), { policy: "legacy" });
  const findings: Finding[] = [
    { rule: "MC101", severity: "warning", file: "api/h.go", line: 10, endLine: 12, message: "io.ReadAll reads the whole request body" },
    { rule: "MC000", severity: "notice", file: "x.go", line: 1, message: "rule MC131 failed" },
    { rule: "MC999", severity: "error", file: "y.go", line: 2, message: "a rule nothing registers" },
  ];
  diff.findings = findings;
  assert.ok(diff.regressions.length > 0);
  const log = toSarif(diff, { toolVersion: version, ruleHelp: ruleHelpFromDocs() });
  assertValid(log);
  assertRulesComplete(log);
  // biome-ignore lint/suspicious/noExplicitAny: SARIF
  const results = (log as any).runs[0].results;
  assert.deepEqual(
    results.map((r: { ruleId: string; level: string }) => `${r.ruleId}:${r.level}`),
    ["MC001:error", "MC101:warning", "MC000:note", "MC999:error"],
  );
  assert.deepEqual(toSarif(diff, { toolVersion: version }), toSarif(diff, { toolVersion: version }), "deterministic");
  const s: StructDiff = diff.structs[0];
  assert.equal(results[0].partialFingerprints["memcheck/v1"], `layout:${s.package}.${s.name}:size-class`);
});

test("memcheck check --format sarif: valid, every rule, repository-root paths, stable fingerprints", () => {
  const repo = mkdtempSync(path.join(os.tmpdir(), "memcheck-sarif-"));
  try {
    execFileSync("git", ["init", "-q", "-b", "main"], { cwd: repo });
    mkdirSync(path.join(repo, "services/api/handlers"), { recursive: true });
    writeFileSync(path.join(repo, "services/api/go.mod"), "module example.com/api\n\ngo 1.21\n");
    const handler = (pad: string) =>
      `package handlers\n${pad}\nimport (\n\t"io"\n\t"net/http"\n)\n\ntype Flags struct {\n\tA bool\n\tB int64\n\tC bool\n}\n\nfunc H(w http.ResponseWriter, r *http.Request) {\n\tb, _ := io.ReadAll(r.Body)\n\t_ = b\n}\n`;
    writeFileSync(path.join(repo, "services/api/handlers/h.go"), handler(""));
    const run = () => {
      // From the module's folder, as a monorepo job would run it.
      const r = spawnSync(process.execPath, [bin, "check", "--format", "sarif", "./..."], {
        cwd: path.join(repo, "services/api"),
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout);
    };
    const log = run();
    assertValid(log);
    assertRulesComplete(log);
    const results = log.runs[0].results;
    assert.deepEqual(results.map((r: { ruleId: string }) => r.ruleId).sort(), ["MC101", "MC151"]);
    for (const r of results) assert.equal(r.locations[0].physicalLocation.artifactLocation.uri, "services/api/handlers/h.go");
    // A line inserted above moves the findings, not their fingerprints.
    writeFileSync(path.join(repo, "services/api/handlers/h.go"), handler("\n// A comment that shifts every line.\n"));
    const moved = run();
    const fp = (l: typeof log) =>
      l.runs[0].results.map((r: { partialFingerprints: Record<string, string> }) => r.partialFingerprints["memcheck/v1"]).sort();
    assert.deepEqual(fp(moved), fp(log));
    assert.notDeepEqual(
      moved.runs[0].results.map(
        (r: { locations: { physicalLocation: { region: { startLine: number } } }[] }) => r.locations[0].physicalLocation.region.startLine,
      ),
      results.map(
        (r: { locations: { physicalLocation: { region: { startLine: number } } }[] }) => r.locations[0].physicalLocation.region.startLine,
      ),
    );
  } finally {
    rmSync(repo, { recursive: true, force: true });
  }
});
