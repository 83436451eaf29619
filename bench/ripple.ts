// Ripple on a large real tree: a PR that adds a field to a widely embedded struct, reviewed by a
// real review job (runReview, the default pipeline: an analysis thread with its parse threads, as
// the worker runs it) against the fake GitHub on 127.0.0.1 answering after BENCH_GH_LATENCY_MS
// (default 0: the figures exclude GitHub's latency). The tree is any local checkout (default
// scratch/etcd: `git archive` of github.com/etcd-io/etcd; never committed).
//
// Per run: the job's stages (fetch = the touched packages at both sides, analyze = the first
// review, ripple = fetching every other Go package at both sides and reviewing the whole tree),
// the API calls the job made (blob GETs and archives among them), and the structs reported as
// grown through embedding. Runs:
//   cold   a fresh pipeline (empty parse cache) and an empty blob cache, PR 1
//   warm   the same pipeline and blob cache, PR 2 (same base, the struct grows differently)
//   limit  the default limits (maxPackages 200, maxFiles 2000): where the bound stops the search
//
//   node --import tsx bench/ripple.ts        (or: npm run bench -- ripple)
//   BENCH_RIPPLE_REPO=scratch/etcd BENCH_RIPPLE_TYPE=TLSInfo BENCH_RIPPLE_THREADS=2
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { Probot } from "probot";
import { runReview, type ReviewResult } from "../src/github/review-job.ts";
import { defaultPipeline } from "../src/github/default-pipeline.ts";
import { MemoryBlobCache } from "../src/github/snapshot.ts";
import { AnalysisThreads } from "../src/analysis-thread.ts";
import { FakeGitHub, loadPullFromTrees } from "../test/support/fake-github.ts";
import { APP_ID, PRIVATE_KEY, SECRET } from "../test/support/pr-fixture.ts";

const REPO = process.env.BENCH_RIPPLE_REPO ?? "scratch/etcd";
const TYPE = process.env.BENCH_RIPPLE_TYPE ?? "TLSInfo";
const LATENCY = Number(process.env.BENCH_GH_LATENCY_MS ?? 0);
const THREADS = Number(process.env.BENCH_RIPPLE_THREADS ?? 2);
const BIG_LIMITS = "limits:\n  maxFiles: 5000\n  maxPackages: 2000\n  maxBytes: 104857600\n";

function readTree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name === ".git") continue;
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile()) out.set(relative(dir, p).split("\\").join("/"), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

/** The tree with `field` added as the first field of `type TYPE struct {`, and the PR's file entry. */
function withField(base: Map<string, Buffer>, field: string): { head: Map<string, Buffer>; file: string; prFile: unknown } {
  const decl = new RegExp(`^type ${TYPE} struct \\{$`, "m");
  for (const [path, buf] of base) {
    if (!path.endsWith(".go") || path.endsWith("_test.go")) continue;
    const text = buf.toString("utf8");
    const m = decl.exec(text);
    if (!m) continue;
    const line = text.slice(0, m.index).split("\n").length; // 1-based line of the declaration
    const lines = text.split("\n");
    lines.splice(line, 0, `\t${field}`);
    const head = new Map(base);
    head.set(path, Buffer.from(lines.join("\n")));
    const patch = `@@ -${line},2 +${line},3 @@\n ${lines[line - 1]}\n+\t${field}\n ${lines[line + 1]}`;
    return { head, file: path, prFile: { filename: path, status: "modified", additions: 1, deletions: 0, changes: 1, patch } };
  }
  throw new Error(`no "type ${TYPE} struct {" in ${REPO}`);
}

interface Row {
  run: string;
  "total ms": number;
  "fetch ms": number;
  "analyze ms": number;
  "ripple ms": number;
  "API calls": number;
  "blob GETs": number;
  archives: number;
  "rippled structs": number;
  note: string;
}

export async function benchRipple(): Promise<Row[]> {
  if (!existsSync(REPO)) {
    console.log(
      `${REPO} not found: extract a large Go repository there (e.g. git archive of github.com/etcd-io/etcd) or set BENCH_RIPPLE_REPO`,
    );
    return [];
  }
  const base = readTree(REPO);
  const goFiles = [...base.keys()].filter((p) => p.endsWith(".go") && !p.endsWith("_test.go")).length;
  const gh = await new FakeGitHub({ latencyMs: LATENCY }).start();
  let config = BIG_LIMITS;
  gh.extraRoutes.push((r) =>
    r.method === "GET" && /^\/repos\/acme\/big\/contents\/\.github\/memcheck\.yml$/.test(r.path)
      ? [200, Buffer.from(config), { "content-type": "application/vnd.github.raw; charset=utf-8" }]
      : undefined,
  );
  const probot = new Probot({ appId: APP_ID, privateKey: PRIVATE_KEY, secret: SECRET, baseUrl: gh.baseUrl, logLevel: "fatal" });
  await probot.ready();
  const rows: Row[] = [];
  const baseSha = "b".repeat(40);
  const newThreads = () => new AnalysisThreads({ parseThreads: THREADS });
  let threads = newThreads();
  let pipeline = defaultPipeline({ analysisThreads: threads });
  let cache = new MemoryBlobCache();
  const fields = ["RippleBench [3]uint64", "RippleBench [5]uint64", "RippleBench [7]uint64"];
  console.log(
    `${REPO}: ${base.size} files, ${goFiles} non-test Go files; PR adds a field to ${TYPE}; fake GitHub latency ${LATENCY} ms; ${THREADS} parse threads`,
  );
  try {
    for (const [i, run] of ["cold", "warm", "limit"].entries()) {
      if (run === "limit") {
        config = "limits:\n  maxPackages: 50\n"; // a bound that stops the search
        await threads.close();
        threads = newThreads();
        pipeline = defaultPipeline({ analysisThreads: threads });
        cache = new MemoryBlobCache();
      }
      const headSha = String(i + 1).repeat(40);
      const pr = withField(base, fields[i]!);
      loadPullFromTrees(gh, {
        owner: "acme",
        repo: "big",
        number: i + 1,
        baseSha,
        headSha,
        before: base,
        after: pr.head,
        files: [pr.prFile],
      });
      const checkRunId = gh.createCheckRun("acme", "big", headSha);
      gh.resetCalls();
      const t0 = performance.now();
      const r: ReviewResult = await runReview(
        {
          id: `ripple-${run}`,
          attemptsMade: 0,
          opts: { attempts: 1 },
          data: {
            v: 1,
            installationId: 42,
            owner: "acme",
            repo: "big",
            pull: i + 1,
            baseSha,
            headSha,
            trigger: "pull_request",
            deliveryId: `ripple-${run}`,
            checkRunId,
            at: 1,
          },
        },
        { auth: (id) => probot.auth(id), botLogin: async () => "memcheck[bot]", pipeline, cache },
      );
      const total = performance.now() - t0;
      const out = gh.checkRunsFor(headSha)[0]?.output as { summary?: string } | undefined;
      const summary = out?.summary ?? "";
      const section = summary.split("### Grew through embedding")[1]?.split("\n### ")[0] ?? "";
      const note = /ripple searched (\d+ of \d+) Go packages \(stopped by ([^)]*\)?)\)/.exec(summary);
      rows.push({
        run,
        "total ms": Math.round(total),
        "fetch ms": r.stages?.fetch ?? 0,
        "analyze ms": r.stages?.analyze ?? 0,
        "ripple ms": r.stages?.ripple ?? 0,
        "API calls": gh.calls.length,
        "blob GETs": gh.callsTo(/\/git\/blobs\//).length,
        archives: gh.callsTo(/\/tarball\//).length,
        "rippled structs": section.split("\n").filter((l) => l.startsWith("- ")).length,
        note: note ? `searched ${note[1]} (${note[2]})` : "",
      });
      if (run === "cold") {
        const lines = section.split("\n").filter((l) => l.startsWith("- "));
        console.log(`rippled (${r.conclusion}):\n${lines.slice(0, 12).join("\n")}`);
      }
    }
  } finally {
    await threads.close();
    await gh.close();
  }
  console.table(rows);
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) await benchRipple();
