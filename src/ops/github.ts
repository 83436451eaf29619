// An Octokit plugin for every client Probot creates (app-JWT, webhook-event and worker clients):
// counts GitHub API calls by status, records x-ratelimit-remaining and secondary-limit hits, and
// sends content-creating calls of an installation through the per-installation WriteLimiter.
// Install it with `createProbot({ overrides: { Octokit: ProbotOctokit.plugin(opsOctokitPlugin(...)) } })`.
import { retryAfterMs } from "../queue/index.ts";
import type { Metrics } from "./metrics.ts";
import type { WriteLimiter } from "./write-limiter.ts";

const WAITS = Symbol.for("memcheck.writeLimiter.waits");

/**
 * Mark a client whose content-creating calls wait for their limiter slot (the worker's clients).
 * Unmarked clients (the webhook handlers') are counted against the budget but never wait, since
 * GitHub wants the webhook answered within 10 s.
 */
export function waitForWriteSlots<T extends object>(octokit: T): T {
  (octokit as any)[WAITS] = true;
  return octokit;
}

interface RequestOptions {
  method?: string;
  url?: string;
  baseUrl?: string;
  query?: string;
  [k: string]: unknown;
}

/** GitHub counts POST, PATCH, PUT and DELETE as content-creating; token creation and GraphQL queries are not. */
export function isContentCreating(o: RequestOptions): boolean {
  const method = String(o.method ?? "GET").toUpperCase();
  if (method === "GET" || method === "HEAD") return false;
  const url = String(o.url ?? "");
  if (/^\/?app\/installations\/[^/]+\/access_tokens/.test(url.replace(/^https?:\/\/[^/]+/, "").replace(/^\/api\/v3/, ""))) return false;
  if (url.endsWith("/graphql")) return /^\s*mutation\b/.test(String(o.query ?? ""));
  return true;
}

function isSecondaryLimit(status: number, headers: Record<string, unknown>, message: string): boolean {
  if (status !== 403 && status !== 429) return false;
  if (String(headers["x-ratelimit-remaining"]) === "0") return false; // primary limit
  return headers["retry-after"] !== undefined || /secondary rate limit|abuse/i.test(message);
}

export interface OpsPluginOptions {
  metrics?: Metrics;
  limiter?: WriteLimiter;
  now?: () => number;
  log?: { warn(o: object, msg?: string): void };
}

export function opsOctokitPlugin(p: OpsPluginOptions) {
  const now = p.now ?? Date.now;
  return (octokit: any, options: any) => {
    const installationId = options?.auth?.installationId;
    const inst = installationId != null ? String(installationId) : "app";

    const record = (method: string, status: number, headers: Record<string, unknown> | undefined, err?: any) => {
      const h = headers ?? {};
      p.metrics?.githubRequests.inc({ method, status: String(status) });
      const remaining = Number(h["x-ratelimit-remaining"]);
      if (h["x-ratelimit-remaining"] !== undefined && Number.isFinite(remaining)) {
        p.metrics?.rateLimitRemaining.set({ installation: inst, resource: String(h["x-ratelimit-resource"] ?? "core") }, remaining);
      }
      if (err && isSecondaryLimit(status, h, String(err?.message ?? ""))) p.metrics?.secondaryLimitHits.inc({ installation: inst });
    };

    octokit.hook.wrap("request", async (request: (o: RequestOptions) => Promise<any>, o: RequestOptions) => {
      const method = String(o.method ?? "GET").toUpperCase();
      if (p.limiter && inst !== "app" && isContentCreating(o)) {
        try {
          const { waitMs } = await p.limiter.acquire(inst, { wait: octokit[WAITS] === true });
          if (octokit[WAITS] === true) p.metrics?.writeLimiterWaitSeconds.observe(waitMs / 1000);
        } catch (le) {
          // Fail open: without Redis the call goes ahead (Octokit's own throttle still spaces it).
          p.log?.warn({ err: (le as Error)?.message }, "memcheck: write limiter unavailable, not spacing this call");
        }
      }
      try {
        const res = await request(o);
        record(method, res?.status ?? 0, res?.headers);
        return res;
      } catch (e: any) {
        const status = typeof e?.status === "number" ? e.status : 0;
        record(method, status, e?.response?.headers, e);
        // GitHub asked us to wait (retry-after, or the primary limit's reset): no write from any
        // process for this installation before then. The job itself retries after the same delay
        // (src/queue's backoff uses the same retryAfterMs).
        const wait = retryAfterMs(e, now());
        if (p.limiter && inst !== "app" && wait !== undefined) {
          try {
            await p.limiter.block(inst, now() + wait);
          } catch (be) {
            p.log?.warn({ err: (be as Error)?.message }, "memcheck: could not record a GitHub rate-limit block");
          }
        }
        throw e;
      }
    });
  };
}
