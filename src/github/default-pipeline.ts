// The real pipeline: src/pipeline.ts (engine + diff + rules) and the reporters in src/report/.
import { review } from "../pipeline.ts";
import { ParseCache } from "../engine.ts";
import { ParsePool, defaultThreads } from "../parse-pool.ts";
import { checkAnnotations, checkSummary, checkTitle, conclusion, layoutDiagram, parseMarker, reviewComments } from "../report/index.ts";
import type { Pipeline } from "./pipeline.ts";

/** Strip ```suggestion blocks (config `suggest: false`); the comment keeps its text and diagram. */
export function withoutSuggestions(body: string): string {
  return body.replace(/(`{3,})suggestion\n[\s\S]*?\n\1\n?/g, "");
}

export function defaultPipeline(o: { parseCache?: ParseCache; threads?: number; pool?: ParsePool } = {}): Pipeline {
  // Parsed declarations are shared across jobs: the base of a PR is shared by every PR on the branch.
  const cache = o.parseCache ?? new ParseCache(Number(process.env.MEMCHECK_PARSE_CACHE_ENTRIES) || 20_000);
  // PR code is untrusted: every file is parsed in a worker thread under a time budget, so a file
  // that sends tree-sitter exponential is skipped with a note instead of blocking the worker.
  const pool = o.pool ?? new ParsePool(o.threads ?? defaultThreads(), Number(process.env.MEMCHECK_PARSE_TIMEOUT_MS) || undefined);
  return {
    async review(base, head, i) {
      return review(base, head, {
        archs: i.archs,
        thresholds: i.thresholds,
        ruleThresholds: i.ruleThresholds,
        ruleConfig: i.rules,
        changedLines: i.changedLines,
        maxFileBytes: i.maxFileBytes,
        hot: i.hot,
        cache,
        pool,
      });
    },
    title: (d) => checkTitle(d),
    summary: (d, s) => checkSummary(d, { skipped: s.skipped }),
    conclusion: (d) => conclusion(d),
    annotations: (d) => checkAnnotations(d),
    reviewComments(d, changed, r) {
      const cs = reviewComments(d, changed, { maxComments: r.maxComments, fileText: r.fileText });
      return r.suggest ? cs : cs.map((c) => ({ ...c, body: withoutSuggestions(c.body) }));
    },
    parseMarker: (b) => parseMarker(b),
    diagram: (s, a) => layoutDiagram(s, a),
  };
}
