// The real pipeline: src/pipeline.ts (engine + diff + rules) and the reporters in src/report/.
import { review } from "../pipeline.ts";
import { ParseCache } from "../engine.ts";
import { ParsePool, defaultThreads } from "../parse-pool.ts";
import { AnalysisThreads, type AnalysisBudget } from "../analysis-thread.ts";
import { checkAnnotations, checkSummary, checkTitle, conclusion, layoutDiagram, parseMarker, reviewComments } from "../report/index.ts";
import type { Pipeline } from "./pipeline.ts";

/** Strip ```suggestion blocks (config `suggest: false`); the comment keeps its text and diagram. */
export function withoutSuggestions(body: string): string {
  return body.replace(/(`{3,})suggestion\n[\s\S]*?\n\1\n?/g, "");
}

export interface DefaultPipelineOptions {
  /** Parse threads (inside each analysis thread, or of the in-process pool). */
  threads?: number;
  /** Budgets of one review; default from MEMCHECK_JOB_MEMORY_MB and MEMCHECK_JOB_SECONDS. */
  budget?: Partial<AnalysisBudget>;
  /** The analysis threads to use (tests share or inspect them). */
  analysisThreads?: AnalysisThreads;
  /**
   * Analyse on the calling thread instead (no memory or time budget: only for trusted input and
   * tests that substitute the cache or the pool).
   */
  inProcess?: { parseCache?: ParseCache; pool?: ParsePool };
}

export function defaultPipeline(o: DefaultPipelineOptions = {}): Pipeline {
  const cacheEntries = Number(process.env.MEMCHECK_PARSE_CACHE_ENTRIES) || 20_000;
  const parseTimeoutMs = Number(process.env.MEMCHECK_PARSE_TIMEOUT_MS) || undefined;
  // PR code is untrusted. The whole review runs in an analysis thread under a memory and a time
  // budget, so no PR can block the worker's event loop (BullMQ's lock renewal) or exhaust its heap;
  // inside it, every file is parsed in a parse thread under its own time budget, so a file that
  // sends tree-sitter exponential is skipped with a note. Each analysis thread keeps its parse
  // cache across jobs (the base of a PR is shared by every PR on the branch).
  const threads = o.inProcess
    ? undefined
    : (o.analysisThreads ??
      new AnalysisThreads({ budget: o.budget, parseThreads: o.threads ?? defaultThreads(), parseTimeoutMs, cacheEntries }));
  const cache = o.inProcess ? (o.inProcess.parseCache ?? new ParseCache(cacheEntries)) : undefined;
  const pool = o.inProcess ? (o.inProcess.pool ?? new ParsePool(o.threads ?? defaultThreads(), parseTimeoutMs)) : undefined;
  return {
    async review(base, head, i) {
      const options = {
        archs: i.archs,
        thresholds: i.thresholds,
        ruleThresholds: i.ruleThresholds,
        ruleConfig: i.rules,
        changedLines: i.changedLines,
        maxFileBytes: i.maxFileBytes,
        hot: i.hot,
        ...(i.go ? { go: i.go } : {}),
      };
      // Throws ReviewLimitError when the review overruns its budget.
      if (threads) return threads.review(base, head, options, i.modules);
      const modules = i.modules ? { source: i.modules, modFlag: i.modules.modFlag } : undefined;
      return review(base, head, { ...options, cache, pool, ...(modules ? { modules } : {}) });
    },
    title: (d) => checkTitle(d),
    summary: (d, s) => checkSummary(d, { skipped: s.skipped, mermaid: s.mermaid }),
    conclusion: (d, failOn) => conclusion(d, failOn),
    annotations: (d) => checkAnnotations(d),
    reviewComments(d, changed, r) {
      const cs = reviewComments(d, changed, { maxComments: r.maxComments, fileText: r.fileText });
      return r.suggest ? cs : cs.map((c) => ({ ...c, body: withoutSuggestions(c.body) }));
    },
    parseMarker: (b) => parseMarker(b),
    diagram: (s, a) => layoutDiagram(s, a),
    warm: async () => threads?.warm(),
  };
}
