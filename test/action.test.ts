// The GitHub Action, tested without GitHub: src/action.ts in a simulated Actions environment
// (GITHUB_* variables, an event payload file, $GITHUB_OUTPUT and $GITHUB_STEP_SUMMARY files) on a
// fixture repository, with the API mocked by nock; then action.yml itself, its run steps executed
// by bash as the runner would (expressions substituted, `if:` evaluated), driven by the documented
// workflow docs/examples/memcheck-action.yml, for a PR from a branch and one from a fork.
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import nock from "nock";
import { Octokit } from "@octokit/rest";
import { parse as parseYaml } from "yaml";
import { runAction } from "../src/action.ts";

const ROOT = path.resolve(".");
let tmp: string;
let repo: string;
let baseSha: string;
let headSha: string;

const BASE_GO = "package shop\n\ntype Order struct {\n\tPaid  bool\n\tID    int64\n\tOpen  bool\n\tTotal int64\n}\n";
const HEAD_GO = `package shop

import (
	"io"
	"net/http"
)

//memcheck:hot
type Order struct {
	Paid  bool
	ID    int64
	Open  bool
	Total int64
	Note  string
}

func Handle(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	_ = b
}
`;

before(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), "memcheck-action-"));
  repo = path.join(tmp, "work");
  mkdirSync(path.join(repo, "shop"), { recursive: true });
  const git = (...a: string[]) => execFileSync("git", a, { cwd: repo, encoding: "utf8", stdio: "pipe" }).trim();
  git("init", "-q", "-b", "main");
  git("config", "user.email", "t@example.com");
  git("config", "user.name", "t");
  writeFileSync(path.join(repo, "go.mod"), "module example.com/shop\n\ngo 1.21\n");
  writeFileSync(path.join(repo, "shop/shop.go"), BASE_GO);
  git("add", "-A");
  git("commit", "-qm", "base");
  baseSha = git("rev-parse", "HEAD");
  writeFileSync(path.join(repo, "shop/shop.go"), HEAD_GO);
  git("commit", "-qam", "head");
  headSha = git("rev-parse", "HEAD");
});
after(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

/** The environment GitHub Actions gives a step, for a pull_request event. */
function actionsEnv(name: string, o: { fork?: boolean; inputs?: Record<string, string> } = {}): Record<string, string> {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  const event = {
    action: "synchronize",
    number: 7,
    pull_request: {
      number: 7,
      base: { sha: baseSha, ref: "main" },
      head: { sha: headSha, ref: "feature", repo: { full_name: o.fork ? "someone/r" : "o/r" } },
    },
    repository: { full_name: "o/r" },
  };
  writeFileSync(path.join(dir, "event.json"), JSON.stringify(event));
  writeFileSync(path.join(dir, "output"), "");
  writeFileSync(path.join(dir, "summary"), "");
  const env: Record<string, string> = {
    CI: "true",
    GITHUB_ACTIONS: "true",
    GITHUB_EVENT_NAME: "pull_request",
    GITHUB_EVENT_PATH: path.join(dir, "event.json"),
    GITHUB_REPOSITORY: "o/r",
    GITHUB_SHA: headSha,
    GITHUB_WORKSPACE: repo,
    GITHUB_API_URL: "https://api.github.com",
    GITHUB_OUTPUT: path.join(dir, "output"),
    GITHUB_STEP_SUMMARY: path.join(dir, "summary"),
    RUNNER_TEMP: dir,
  };
  for (const [k, v] of Object.entries(o.inputs ?? {})) env[`INPUT_${k.toUpperCase().replace(/-/g, "_")}`] = v;
  return env;
}

function outputsOf(file: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(file, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
}

test("a PR from a branch: annotations, job summary, SARIF, outputs, and the check run and review through the API", async () => {
  const env = actionsEnv("branch", { inputs: { comment: "true", token: "ghs_test", "fail-on": "warning" } });
  nock.disableNetConnect();
  // biome-ignore lint/suspicious/noExplicitAny: request bodies
  let checkRun: any;
  // biome-ignore lint/suspicious/noExplicitAny: request bodies
  let reviewBody: any;
  const api = nock("https://api.github.com", { reqheaders: { authorization: "token ghs_test" } })
    .post("/repos/o/r/check-runs", (b) => {
      checkRun = b;
      return true;
    })
    .reply(201, { id: 99 })
    .get("/repos/o/r/pulls/7/comments")
    .query({ per_page: "100" })
    .reply(200, [])
    .post("/repos/o/r/pulls/7/reviews", (b) => {
      reviewBody = b;
      return true;
    })
    .reply(200, { id: 5 });
  const lines: string[] = [];
  const r = await runAction(env, { stdout: (l) => lines.push(l) });
  assert.ok(api.isDone(), `pending: ${api.pendingMocks().join(", ")}`);
  assert.equal(r.exitCode, 1);

  assert.ok(
    lines.some((l) => /^::error file=shop\/shop\.go,line=9,title=memcheck MC001%3A Order::Order grew/.test(l)),
    lines.join("\n"),
  );
  assert.ok(lines.some((l) => /^::warning file=shop\/shop\.go,line=18,col=2,title=memcheck MC101%3A Unbounded request body::/.test(l)));
  assert.ok(lines.some((l) => l.startsWith("memcheck: posted ")));

  const out = outputsOf(env.GITHUB_OUTPUT);
  assert.deepEqual(
    {
      regressions: out.regressions,
      findings: out.findings,
      conclusion: out.conclusion,
      exit: out["exit-code"],
      upload: out["sarif-upload"],
    },
    { regressions: "2", findings: "1", conclusion: "failure", exit: "1", upload: "true" },
  );
  const sarif = JSON.parse(readFileSync(out["sarif-file"], "utf8"));
  assert.deepEqual(sarif.runs[0].results.map((x: { ruleId: string }) => x.ruleId).sort(), ["MC001", "MC101"]);
  assert.match(readFileSync(env.GITHUB_STEP_SUMMARY, "utf8"), /Order/);

  assert.equal(checkRun.head_sha, headSha, "the check run is on the PR's head, not the merge commit");
  assert.equal(checkRun.name, "memcheck");
  assert.equal(checkRun.conclusion, "failure");
  assert.ok(checkRun.output.annotations.length >= 2);
  assert.equal(reviewBody.commit_id, headSha);
  assert.equal(reviewBody.event, "COMMENT");
  assert.ok(reviewBody.comments.some((c: { path: string; body: string }) => c.path === "shop/shop.go" && /memcheck/.test(c.body)));
});

test("comments already posted are not posted again; an API refusal is a warning, not a crash", async () => {
  const env = actionsEnv("again", { inputs: { comment: "true", token: "ghs_test" } });
  nock.disableNetConnect();
  const octokit = new Octokit({ auth: "ghs_test" });
  // First a 403 (a token without checks: write).
  nock("https://api.github.com").post("/repos/o/r/check-runs").reply(403, { message: "Resource not accessible by integration" });
  const lines: string[] = [];
  const r = await runAction(env, { stdout: (l) => lines.push(l), octokit });
  assert.equal(r.exitCode, 1);
  assert.ok(
    lines.some((l) => /^::warning::memcheck: could not post the check run or review \(403/.test(l)),
    lines.join("\n"),
  );
  assert.ok(nock.isDone());
});

test("a PR from a fork: no API call, no SARIF upload, the annotations still printed", async () => {
  const env = actionsEnv("fork", { fork: true, inputs: { comment: "true", token: "ghs_readonly" } });
  nock.disableNetConnect(); // any request would fail the run with a warning below
  const lines: string[] = [];
  const r = await runAction(env, { stdout: (l) => lines.push(l) });
  assert.equal(r.exitCode, 1);
  const out = outputsOf(env.GITHUB_OUTPUT);
  assert.equal(out["sarif-upload"], "false");
  assert.ok(lines.some((l) => /^::notice::memcheck: a fork's pull request gets a read-only token, so the SARIF upload is skipped/.test(l)));
  assert.ok(lines.some((l) => /^::notice::memcheck: a fork's pull request .* no check run or review comments/.test(l)));
  assert.ok(!lines.some((l) => l.startsWith("::warning::memcheck: could not post")));
  assert.ok(lines.some((l) => l.startsWith("::error file=shop/shop.go")));
});

test("no base revision, a bad fail-on: usage errors (exit 2)", async () => {
  const env = actionsEnv("usage", { inputs: { "fail-on": "sometimes" } });
  const lines: string[] = [];
  assert.equal((await runAction(env, { stdout: (l) => lines.push(l) })).exitCode, 2);
  assert.match(lines.join("\n"), /fail-on must be one of error, warning, notice, never/);
  const push: Record<string, string> = { ...actionsEnv("push"), GITHUB_EVENT_NAME: "push" };
  writeFileSync(push.GITHUB_EVENT_PATH, JSON.stringify({ before: "0000000000000000000000000000000000000000" }));
  assert.equal((await runAction(push, { stdout: () => {} })).exitCode, 2);
});

// ---- action.yml, run as the runner runs a composite action ---------------------------------------

interface Step {
  id?: string;
  name?: string;
  if?: string;
  uses?: string;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
  "working-directory"?: string;
}

/** Run action.yml's steps: `run` steps with bash, `uses` steps recorded; returns what happened. */
function runComposite(inputs: Record<string, string>, env: Record<string, string>) {
  const action = parseYaml(readFileSync(path.join(ROOT, "action.yml"), "utf8")) as {
    inputs: Record<string, { default?: string }>;
    outputs: Record<string, { value: string }>;
    runs: { using: string; steps: Step[] };
  };
  assert.equal(action.runs.using, "composite");
  for (const k of Object.keys(inputs)) assert.ok(k in action.inputs, `the workflow passes input ${k}, which action.yml declares`);
  const stepOutputs: Record<string, Record<string, string>> = {};
  const expr = (s: string): string =>
    s.replace(/\$\{\{\s*([^}]+?)\s*\}\}/g, (_, e: string) => {
      let m = /^inputs\.([\w-]+)$/.exec(e);
      if (m) return inputs[m[1]] ?? expr(action.inputs[m[1]]?.default ?? "");
      m = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(e);
      if (m) return stepOutputs[m[1]]?.[m[2]] ?? "";
      if (e === "github.action_path") return ROOT;
      if (e === "github.token") return "ghs_token";
      const cmp = /^(.+?)\s*==\s*'([^']*)'$/.exec(e);
      if (cmp) return String(expr(`\${{ ${cmp[1]} }}`) === cmp[2]);
      throw new Error(`expression not simulated: ${e}`);
    });
  const ran: { name: string; uses?: string; with?: Record<string, string>; code: number }[] = [];
  let failed = false;
  for (const [i, step] of action.runs.steps.entries()) {
    const name = step.name ?? step.id ?? `step ${i}`;
    if (step.if && expr(step.if.includes("${{") ? step.if : `\${{ ${step.if} }}`) !== "true") continue;
    if (step.uses) {
      ran.push({
        name,
        uses: step.uses,
        with: Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, expr(String(v))])),
        code: 0,
      });
      continue;
    }
    if (step.id === "install") {
      ran.push({ name, code: 0 }); // node_modules is there already; npm ci would need the network
      continue;
    }
    const output = path.join(env.RUNNER_TEMP, `step-${i}.out`);
    writeFileSync(output, "");
    const stepEnv: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ...env,
      GITHUB_ACTION_PATH: ROOT,
      GITHUB_OUTPUT: output,
    };
    for (const [k, v] of Object.entries(step.env ?? {})) stepEnv[k] = expr(String(v));
    const r = spawnSync("bash", ["-e", "-c", expr(step.run ?? "")], {
      cwd: step["working-directory"] ? expr(step["working-directory"]) : env.GITHUB_WORKSPACE,
      env: stepEnv,
      encoding: "utf8",
    });
    if (step.id) stepOutputs[step.id] = outputsOf(output);
    ran.push({ name, code: r.status ?? -1 });
    if (r.status !== 0) {
      failed = true;
      break;
    }
  }
  const outputs = Object.fromEntries(Object.entries(action.outputs).map(([k, o]) => [k, expr(o.value)]));
  return { ran, failed, outputs };
}

/** The documented workflow's memcheck step: its `with:` inputs. */
function documentedInputs(): Record<string, string> {
  const wf = parseYaml(readFileSync(path.join(ROOT, "docs/examples/memcheck-action.yml"), "utf8"));
  const steps = wf.jobs.memcheck.steps as { uses?: string; with?: Record<string, unknown> }[];
  const step = steps.find((s) => s.uses?.startsWith("memcheck/memcheck@"));
  assert.ok(step, "the workflow uses the action");
  assert.deepEqual(steps[0].with, { "fetch-depth": 0 }, "full history: the base must be in the clone");
  // comment: true would call the API from a child process nock cannot see: tested in-process above.
  return Object.fromEntries(Object.entries(step.with ?? {}).map(([k, v]) => [k, k === "comment" ? "false" : String(v)]));
}

test("action.yml runs the documented workflow's step: branch PR uploads SARIF, then fails the job", { timeout: 180_000 }, () => {
  const env = actionsEnv("yml-branch");
  const r = runComposite(documentedInputs(), env);
  assert.deepEqual(
    r.ran.map((s) => s.name),
    ["Set up Node.js", "Install memcheck", "memcheck diff", "Upload SARIF", "Fail on the memcheck gate"],
  );
  const upload = r.ran.find((s) => s.name === "Upload SARIF");
  assert.equal(upload?.uses, "github/codeql-action/upload-sarif@v3");
  assert.ok(upload?.with?.sarif_file && existsSync(upload.with.sarif_file), "the SARIF file the upload step gets exists");
  assert.equal(r.failed, true, "the job fails after the upload");
  assert.equal(r.outputs["exit-code"], "1");
  assert.equal(r.outputs.regressions, "2");
  assert.equal(r.outputs.findings, "1");
  assert.match(readFileSync(env.GITHUB_STEP_SUMMARY, "utf8"), /Order/);
});

test("action.yml on a fork PR: no upload step, the job still fails on the gate", { timeout: 180_000 }, () => {
  const env = actionsEnv("yml-fork", { fork: true });
  const r = runComposite(documentedInputs(), env);
  assert.ok(!r.ran.some((s) => s.name === "Upload SARIF"));
  assert.equal(r.failed, true);
  assert.equal(r.outputs["exit-code"], "1");
});

test("docs/github-action.md shows the tested workflow verbatim", () => {
  const doc = readFileSync(path.join(ROOT, "docs/github-action.md"), "utf8");
  const wf = readFileSync(path.join(ROOT, "docs/examples/memcheck-action.yml"), "utf8");
  assert.ok(doc.includes(wf.trim()), "docs/github-action.md must include docs/examples/memcheck-action.yml as it is");
});
