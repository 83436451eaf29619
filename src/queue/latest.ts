// Queue semantics of "the newest head of a PR": which job reviews what when pushes arrive in a
// burst or out of order. The intake records every registration under latestKey; BullMQ's
// deduplication keeps at most one waiting job per PR; a job that finds its PR moved on either
// adopts the newest registration, reviews the current head itself, or steps aside.
import type { Redis } from "ioredis";
import { jobIdFor, latestKey, type QueueSettings, type ReviewJobData } from "./index.ts";

export interface LatestDeps {
  redis?: Redis;
  queue?: { getJob(id: string): Promise<unknown> };
  settings?: Pick<QueueSettings, "prefix" | "name">;
}

async function latestOf(deps: LatestDeps, data: ReviewJobData): Promise<ReviewJobData | undefined> {
  if (!deps.redis || !deps.settings) return undefined;
  const raw = await deps.redis.get(latestKey(deps.settings, data));
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as ReviewJobData;
  } catch {
    return undefined;
  }
}

export type HeadDecision =
  /** The job's head is the PR's head: review it. */
  | { kind: "current" }
  /** Run the newest registration (its job was dropped by dedup while this one waited). */
  | { kind: "adopt"; latest: ReviewJobData }
  /** Nobody else will review the PR's head: this job does, on a new run. */
  | { kind: "review-head" }
  /** Another job reviews (or reviewed) the newest head: close this one's run as superseded. */
  | { kind: "superseded" };

/**
 * What a job whose head is `data.headSha` does when the PR's head is `prHead`. A stale webhook (its
 * head is not the PR's) never supersedes the newest run and never re-reviews: unless this job is
 * the newest registration (nobody else knows the head), it steps aside.
 */
export async function decideHead(deps: LatestDeps, data: ReviewJobData, prHead: string): Promise<HeadDecision> {
  const wanted = data.headSha || prHead;
  if (wanted === prHead) return { kind: "current" };
  const latest = await latestOf(deps, data);
  if (
    latest &&
    latest.headSha === prHead &&
    latest.deliveryId !== data.deliveryId &&
    deps.queue &&
    !(await deps.queue.getJob(jobIdFor(latest.deliveryId)))
  ) {
    return { kind: "adopt", latest };
  }
  if (data.trigger !== "command" && latest?.deliveryId === data.deliveryId) return { kind: "review-head" };
  return { kind: "superseded" };
}
