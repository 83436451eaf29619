// Prometheus metrics (prom-client): one registry per process, served at /metrics.
// Queue depth is collected on scrape; everything else is counted where it happens.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Finding } from "../analysis/model.ts";

/** The queue states reported as `memcheck_queue_jobs{state}`. */
export const QUEUE_STATES = ["waiting", "active", "delayed", "failed"] as const;
export type QueueState = (typeof QUEUE_STATES)[number];

/** Something with BullMQ's getJobCounts (a Queue). */
export interface CountsSource {
  name: string;
  getJobCounts(...types: string[]): Promise<Record<string, number>>;
}

/** The numbers one review produced (src/github/review-job.ts already measures them for its log line). */
export interface ReviewObservation {
  /** Milliseconds per stage as measured by the job: fetch, analyze, ripple, post, total. */
  stages?: Record<string, number | undefined>;
  /** Parse and layout milliseconds (Analysis.stats, base + head); split out of `analyze`. */
  parseMs?: number;
  layoutMs?: number;
  /** Blob cache hits, and blobs fetched from GitHub (the misses). */
  cacheHits?: number;
  filesFetched?: number;
  findings?: Pick<Finding, "rule" | "severity">[];
}

export interface Metrics {
  registry: Registry;
  webhooks: Counter<"event" | "outcome">;
  enqueued: Counter<"trigger" | "result">;
  queueJobs: Gauge<"queue" | "state">;
  stageSeconds: Histogram<"stage">;
  githubRequests: Counter<"method" | "status">;
  rateLimitRemaining: Gauge<"installation" | "resource">;
  secondaryLimitHits: Counter<"installation">;
  writeLimiterWaitSeconds: Histogram;
  blobCache: Counter<"result">;
  findings: Counter<"rule" | "severity">;
  sweeper: Counter<"result">;
  /** Report the depth of these queues on every scrape. */
  watchQueues(...queues: CountsSource[]): void;
  /** Record one finished review. */
  observeReview(o: ReviewObservation): void;
}

export interface MetricsOptions {
  registry?: Registry;
  /** Also export prom-client's process metrics (CPU, memory, event loop lag, GC). Default true. */
  defaultMetrics?: boolean;
  prefix?: string;
  /** Give up on a queue's counts after this long during a scrape (default 2000 ms). */
  queueTimeoutMs?: number;
}

const SECONDS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export function createMetrics(o: MetricsOptions = {}): Metrics {
  const registry = o.registry ?? new Registry();
  const p = o.prefix ?? "memcheck_";
  // Node's default metrics keep their standard names (process_*, nodejs_*) so stock dashboards
  // match; only memcheck's own metrics carry the prefix.
  if (o.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const watched: CountsSource[] = [];
  const queueTimeoutMs = o.queueTimeoutMs ?? 2000;

  const webhooks = new Counter({
    name: `${p}webhooks_total`,
    help: "Webhook deliveries answered, by X-GitHub-Event and outcome (ok = 2xx, rejected = 4xx such as a bad signature, error = 5xx: GitHub marks the delivery failed).",
    labelNames: ["event", "outcome"] as const,
    registers: [registry],
  });
  const enqueued = new Counter({
    name: `${p}jobs_enqueued_total`,
    help: "Review jobs enqueued by the webhook handlers, by trigger and result (new, duplicate = an existing job for the delivery or PR).",
    labelNames: ["trigger", "result"] as const,
    registers: [registry],
  });
  const queueJobs = new Gauge({
    name: `${p}queue_jobs`,
    help: "Jobs in the queue by state (collected from Redis on scrape).",
    labelNames: ["queue", "state"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const q of watched) {
        let counts: Record<string, number>;
        try {
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), queueTimeoutMs)));
          counts = await Promise.race([q.getJobCounts(...QUEUE_STATES), timeout]).finally(() => clearTimeout(timer));
        } catch {
          continue; // Redis unreachable (or the queue closed): leave the series out of this scrape
        }
        for (const s of QUEUE_STATES) this.set({ queue: q.name, state: s }, counts[s] ?? 0);
      }
    },
  });
  const stageSeconds = new Histogram({
    name: `${p}job_stage_seconds`,
    help: "Review job duration by stage: fetch, parse, layout, diff (diff + rules: analyze minus parse and layout), ripple (whole-tree fetch and review), post, total.",
    labelNames: ["stage"] as const,
    buckets: SECONDS_BUCKETS,
    registers: [registry],
  });
  const githubRequests = new Counter({
    name: `${p}github_requests_total`,
    help: "GitHub API requests by method and HTTP status (0 = no response).",
    labelNames: ["method", "status"] as const,
    registers: [registry],
  });
  const rateLimitRemaining = new Gauge({
    name: `${p}github_rate_limit_remaining`,
    help: 'x-ratelimit-remaining of the last GitHub response, by installation ("app" for app-JWT calls) and resource.',
    labelNames: ["installation", "resource"] as const,
    registers: [registry],
  });
  const secondaryLimitHits = new Counter({
    name: `${p}github_secondary_limit_hits_total`,
    help: "GitHub secondary rate-limit responses (403/429 with retry-after, or a secondary-limit message), by installation.",
    labelNames: ["installation"] as const,
    registers: [registry],
  });
  const writeLimiterWaitSeconds = new Histogram({
    name: `${p}github_write_wait_seconds`,
    help: "Time a content-creating GitHub call waited for the per-installation write limiter.",
    buckets: [0, 0.5, 1, 5, 15, 30, 60, 120, 300, 900],
    registers: [registry],
  });
  const blobCache = new Counter({
    name: `${p}blob_cache_total`,
    help: "Blob lookups by result: hit (served from the Redis blob cache) or miss (fetched from GitHub).",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  const findings = new Counter({
    name: `${p}findings_total`,
    help: "Hazard-rule findings reported, by rule and severity.",
    labelNames: ["rule", "severity"] as const,
    registers: [registry],
  });
  const sweeper = new Counter({
    name: `${p}sweeper_deliveries_total`,
    help: "Missed-delivery sweeper: failed deliveries redelivered, skipped (already attempted), or whose redelivery request failed.",
    labelNames: ["result"] as const,
    registers: [registry],
  });
  // Pre-create the common series so they show up (at 0) before the first event.
  for (const r of ["hit", "miss"]) blobCache.inc({ result: r }, 0);
  for (const r of ["redelivered", "skipped", "error"]) sweeper.inc({ result: r }, 0);

  return {
    registry,
    webhooks,
    enqueued,
    queueJobs,
    stageSeconds,
    githubRequests,
    rateLimitRemaining,
    secondaryLimitHits,
    writeLimiterWaitSeconds,
    blobCache,
    findings,
    sweeper,
    watchQueues(...queues) {
      for (const q of queues) if (!watched.includes(q)) watched.push(q);
    },
    observeReview(r) {
      const st = r.stages ?? {};
      const obs = (stage: string, ms: number | undefined) => {
        if (typeof ms === "number" && Number.isFinite(ms) && ms >= 0) stageSeconds.observe({ stage }, ms / 1000);
      };
      obs("fetch", st.fetch);
      obs("parse", r.parseMs);
      obs("layout", r.layoutMs);
      if (typeof st.analyze === "number") obs("diff", Math.max(0, st.analyze - (r.parseMs ?? 0) - (r.layoutMs ?? 0)));
      obs("ripple", st.ripple);
      obs("post", st.post);
      obs("total", st.total);
      if (r.cacheHits) blobCache.inc({ result: "hit" }, r.cacheHits);
      if (r.filesFetched) blobCache.inc({ result: "miss" }, r.filesFetched);
      for (const f of r.findings ?? []) findings.inc({ rule: f.rule, severity: f.severity });
    },
  };
}
