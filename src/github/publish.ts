// Publishing a review to GitHub: the check run (result, annotation batches), the review with inline
// comments, and the sticky comment. Every write is recorded (PublishState, persisted by the caller
// through job.updateData) before the next one starts, so a retried job continues where the last
// attempt stopped: a completed run is never re-opened or re-annotated, a review never posted twice.
// A write whose answer was lost (a 502 after GitHub stored it, a worker killed mid-request) is
// marked `pending` first and verified on the retry (annotations_count, our comments' markers).
import type { GitHubClient } from "./client.ts";
import { batch } from "../report/annotations.ts";
import { truncateBytes } from "../report/format.ts";
import { STICKY_MARKER } from "../report/markdown.ts";
import type { CheckAnnotation, ReviewCommentDraft } from "./pipeline.ts";
import type { OpenRunTracker } from "../queue/stale-runs.ts";
import type { PublishState } from "../queue/index.ts";
export type { PublishState };
import type { Arch, StructReport } from "../analysis/model.ts";

/** The check run's name: what branch protection requires. */
export const CHECK_NAME = "memcheck";
export const MAX_OUTPUT_BYTES = 65535;
export const ANNOTATIONS_PER_CALL = 50;

/** An installation-authenticated client (probot.auth(installationId)). */
export type { GitHubClient } from "./client.ts";

/** Octokit's request retries off, for writes that are not idempotent (the job's retry continues them safely). */
export const NO_RETRY = { retries: 0 };

export type CheckConclusion = "success" | "failure" | "neutral" | "skipped" | "cancelled" | "timed_out" | "action_required";

export interface Repo {
  owner: string;
  repo: string;
}

export function isBotSender(user: { type?: string | null; login?: string | null } | null | undefined): boolean {
  if (!user) return true;
  return user.type === "Bot" || (user.login ?? "").toLowerCase().endsWith("[bot]");
}

const short = (sha: string) => sha.slice(0, 7);

/** The one "superseded" text: names the commit this run was for and the one reviewed instead. */
export function supersededOutput(runSha: string, newerSha: string): { title: string; summary: string } {
  return {
    title: "Superseded",
    summary: `This run was for commit ${short(runSha)}. The pull request's head is now ${short(newerSha)}, which is reviewed instead.`,
  };
}

export interface PublisherOptions {
  installationId: number;
  /** Saves the state (job.updateData): awaited before the next write. */
  persist(state: PublishState): Promise<void>;
  now?: () => number;
  openRuns?: OpenRunTracker;
  jobId?: string;
  detailsUrl?: string;
}

function clipOutput(title: string, summary: string): { title: string; summary: string } {
  return { title: title.slice(0, 255), summary: truncateBytes(summary, MAX_OUTPUT_BYTES) };
}

/** One job's check run. */
export class CheckRunPublisher {
  private readonly now: () => number;
  constructor(
    private readonly gh: GitHubClient,
    private readonly where: Repo,
    readonly state: PublishState,
    private readonly o: PublisherOptions,
  ) {
    this.now = o.now ?? Date.now;
  }

  get runId(): number | undefined {
    return this.state.checkRunId;
  }

  /** Record the state now (after a write made outside this class, e.g. the review). */
  async persist(): Promise<void> {
    await this.o.persist(this.state);
  }

  /** Use another run from now on (adoption of a newer head's run, or a fresh one). */
  async useRun(id: number | undefined): Promise<void> {
    this.state.checkRunId = id;
    this.state.inProgress = false;
    this.state.resultPosted = false;
    this.state.annotationsPosted = 0;
    this.state.pending = undefined;
    await this.persist();
  }

  /**
   * The job's run: the recorded one, else one this job created in an attempt that died before
   * recording it (found by external_id), else a new one. Recorded at once.
   */
  async ensureRun(
    headSha: string,
    externalId: string,
    o: { status: "queued" | "in_progress"; lookup: boolean },
  ): Promise<{ id: number; completedBefore: boolean }> {
    if (this.state.checkRunId) return { id: this.state.checkRunId, completedBefore: false };
    const { owner, repo } = this.where;
    const found = o.lookup ? await findRunByExternalId(this.gh, this.where, headSha, externalId) : undefined;
    // Found completed: an earlier job for this delivery finished it (its record was lost with Redis).
    if (found?.status === "completed") return { id: found.id, completedBefore: true };
    let id = found?.id;
    if (!id) {
      const { data } = await this.gh.rest.checks.create({
        owner,
        repo,
        name: CHECK_NAME,
        head_sha: headSha,
        status: o.status,
        external_id: externalId,
        ...(o.status === "in_progress" ? { started_at: new Date(this.now()).toISOString() } : {}),
        ...(this.o.detailsUrl ? { details_url: this.o.detailsUrl } : {}),
        // A retried POST after a lost answer would open a second run: the job's retry finds it by external_id.
        request: NO_RETRY,
      });
      id = data.id;
    }
    this.state.checkRunId = id;
    this.state.inProgress = o.status === "in_progress";
    await this.persist();
    await this.o.openRuns?.opened({ installationId: this.o.installationId, owner, repo, checkRunId: id, jobId: this.o.jobId });
    return { id, completedBefore: false };
  }

  /** Is the recorded run already completed on GitHub by someone else (not by this job's own record)? */
  async runCompleted(): Promise<boolean> {
    const id = this.state.checkRunId;
    if (!id || this.state.resultPosted || this.state.pending) return false;
    const { data } = await this.gh.rest.checks.get({ ...this.where, check_run_id: id });
    return data.status === "completed";
  }

  /** Mark the run in_progress, once, and never after its result. */
  async inProgress(): Promise<void> {
    const id = this.state.checkRunId;
    if (!id || this.state.inProgress || this.state.resultPosted || this.state.pending) return;
    await this.gh.rest.checks.update({
      ...this.where,
      check_run_id: id,
      status: "in_progress",
      started_at: new Date(this.now()).toISOString(),
    });
    this.state.inProgress = true;
    await this.persist();
  }

  /**
   * The result: conclusion with the first batch of annotations in one write, then the other
   * batches. Resumable: batches already on the run are skipped.
   */
  async complete(
    conclusion: CheckConclusion,
    title: string,
    summary: string,
    annotations: CheckAnnotation[] = [],
    headSha?: string,
  ): Promise<void> {
    await this.settlePending();
    const output = clipOutput(title, summary);
    if (!this.state.checkRunId) {
      // No run to complete (e.g. a rerequest whose run creation failed): create it completed.
      if (!headSha) return;
      const batches = batch(annotations, ANNOTATIONS_PER_CALL);
      const { data } = await this.gh.rest.checks.create({
        ...this.where,
        name: CHECK_NAME,
        head_sha: headSha,
        status: "completed",
        conclusion,
        output: { ...output, ...(batches[0] ? { annotations: batches[0] } : {}) },
        request: NO_RETRY,
      });
      this.state.checkRunId = data.id;
      this.state.resultPosted = true;
      this.state.annotationsPosted = batches[0]?.length ?? 0;
      this.state.pending = undefined;
      await this.persist();
      await this.annotate(title, summary, annotations, 0);
      return;
    }
    const id = this.state.checkRunId;
    if (!this.state.resultPosted) {
      const first = annotations.slice(0, ANNOTATIONS_PER_CALL);
      this.state.pending = { kind: "result" };
      await this.persist();
      await this.gh.rest.checks.update({
        ...this.where,
        check_run_id: id,
        status: "completed",
        conclusion,
        completed_at: new Date(this.now()).toISOString(),
        output: { ...output, ...(first.length ? { annotations: first } : {}) },
        // GitHub appends annotations: a blind retry could post them twice. The job's retry verifies.
        request: NO_RETRY,
      });
      this.state.resultPosted = true;
      this.state.annotationsPosted = first.length;
      this.state.pending = undefined;
      await this.persist();
      await this.o.openRuns?.closed({ installationId: this.o.installationId, ...this.where, checkRunId: id });
    }
    await this.annotate(title, summary, annotations, 0);
  }

  /**
   * Append `annotations` (those at index >= already posted - offset are sent), in batches of 50,
   * each recorded before the next. `offset` is how many annotations precede this list on the run.
   */
  async annotate(title: string, summary: string, annotations: CheckAnnotation[], offset: number): Promise<void> {
    const id = this.state.checkRunId;
    if (!id) return;
    await this.settlePending();
    const output = clipOutput(title, summary);
    const done = Math.max(0, (this.state.annotationsPosted ?? 0) - offset);
    for (const b of batch(annotations.slice(done), ANNOTATIONS_PER_CALL)) {
      const expectAfter = (this.state.annotationsPosted ?? 0) + b.length;
      this.state.pending = { kind: "annotations", expectAfter };
      await this.persist();
      await this.gh.rest.checks.update({ ...this.where, check_run_id: id, output: { ...output, annotations: b }, request: NO_RETRY });
      this.state.annotationsPosted = expectAfter;
      this.state.pending = undefined;
      await this.persist();
    }
  }

  /** A result without annotations (errors, limits, nothing to review). Never replaces a result. */
  async finish(conclusion: CheckConclusion, title: string, summary: string, headSha?: string): Promise<void> {
    await this.settlePending();
    if (this.state.resultPosted) return;
    await this.complete(conclusion, title, summary, [], headSha);
  }

  /** A write whose answer was lost: ask GitHub whether it happened. */
  private async settlePending(): Promise<void> {
    const p = this.state.pending;
    const id = this.state.checkRunId;
    if (!p || !id) return;
    const { data } = await this.gh.rest.checks.get({ ...this.where, check_run_id: id });
    const count = data.output?.annotations_count ?? 0;
    if (p.kind === "result") {
      if (data.status === "completed") {
        this.state.resultPosted = true;
        this.state.annotationsPosted = count;
      }
    } else if (count >= p.expectAfter) {
      this.state.annotationsPosted = p.expectAfter;
    }
    this.state.pending = undefined;
    await this.persist();
  }
}

async function findRunByExternalId(
  gh: GitHubClient,
  where: Repo,
  headSha: string,
  externalId: string,
): Promise<{ id: number; status: string } | undefined> {
  const { data } = await gh.rest.checks.listForRef({ ...where, ref: headSha, check_name: CHECK_NAME, filter: "all", per_page: 100 });
  return data.check_runs.find((r) => r.external_id === externalId);
}

// ---- Review and comments ----

interface OurComment {
  id: number;
  body?: string | null;
}

type ListRoute = GitHubClient["rest"]["pulls"]["listReviewComments"] | GitHubClient["rest"]["issues"]["listComments"];

async function listOurs(
  gh: GitHubClient,
  route: ListRoute,
  params: Record<string, string | number>,
  bot: string,
  maxPages = 30,
): Promise<OurComment[]> {
  const out: OurComment[] = [];
  let pages = 0;
  for await (const page of gh.paginate.iterator(
    route as GitHubClient["rest"]["issues"]["listComments"],
    { ...params, per_page: 100 } as never,
  )) {
    for (const c of page.data as { id: number; body?: string | null; user?: { login?: string } | null }[])
      if (c.user?.login === bot) out.push(c);
    if (++pages >= maxPages) break;
  }
  return out;
}

export interface ReviewOutcome {
  created: number;
  deleted: number;
  kept: number;
  fallback: boolean;
}

export interface ReviewTarget extends Repo {
  pull: number;
  headSha: string;
}

function statusOf(e: unknown): number | undefined {
  return (e as { status?: number } | undefined)?.status;
}

/**
 * One review with the comments not on the PR yet (our comments carry a marker per finding, so a
 * retry after a lost answer posts only what is missing), after deleting ours whose finding is gone.
 * A 422 (one bad line rejects all) falls back to `fallback` (annotations).
 */
export async function publishReview(
  gh: GitHubClient,
  o: {
    target: ReviewTarget;
    bot: string;
    drafts: ReviewCommentDraft[];
    parseMarker(body: string): string | undefined;
    mayDelete: boolean;
    fallback(a: CheckAnnotation[]): Promise<void>;
    warn?(o: object, msg: string): void;
  },
): Promise<ReviewOutcome> {
  const { owner, repo, pull, headSha } = o.target;
  const existing = await listOurs(gh, gh.rest.pulls.listReviewComments, { owner, repo, pull_number: pull }, o.bot);
  const have = new Map<string, OurComment[]>();
  for (const c of existing) {
    const k = o.parseMarker(c.body ?? "");
    if (k) have.set(k, [...(have.get(k) ?? []), c]);
  }
  const wantKeys = new Set<string>();
  const fresh: ReviewCommentDraft[] = [];
  for (const d of o.drafts) {
    const k = o.parseMarker(d.body);
    if (k) wantKeys.add(k);
    if (k && have.has(k)) continue;
    fresh.push(d);
  }
  let deleted = 0;
  if (o.mayDelete) {
    for (const [k, cs] of have) {
      if (wantKeys.has(k)) continue;
      for (const c of cs) {
        try {
          await gh.rest.pulls.deleteReviewComment({ owner, repo, comment_id: c.id });
          deleted++;
        } catch (e) {
          if (statusOf(e) !== 404) throw e;
        }
      }
    }
  }
  let fallbackUsed = false;
  if (fresh.length) {
    try {
      await gh.rest.pulls.createReview({
        owner,
        repo,
        pull_number: pull,
        commit_id: headSha,
        event: "COMMENT",
        // GitHub documents `body` as required for COMMENT reviews.
        body: `**memcheck**: ${fresh.length === 1 ? "1 comment" : `${fresh.length} comments`} on changed lines. The \`memcheck\` check has the full report.`,
        comments: fresh.map((d) => ({
          path: d.path,
          line: d.line,
          side: "RIGHT" as const,
          ...(d.start_line && d.start_line < d.line ? { start_line: d.start_line, start_side: "RIGHT" as const } : {}),
          body: d.body,
        })),
        // Not idempotent: a 5xx may come after GitHub stored the review, and Octokit's retry would
        // post it twice. The job's retry re-lists our comments first, so it posts only what is missing.
        request: NO_RETRY,
      });
    } catch (e) {
      if (statusOf(e) !== 422) throw e;
      fallbackUsed = true;
      o.warn?.(
        { repo: `${owner}/${repo}`, pr: pull, err: String((e as Error)?.message ?? e).slice(0, 300) },
        "memcheck: review rejected (422), falling back to annotations",
      );
      await o.fallback(
        fresh.map((d) => ({
          path: d.path,
          start_line: d.start_line && d.start_line < d.line ? d.start_line : d.line,
          end_line: d.line,
          annotation_level: "warning" as const,
          message: stripMarkers(d.body).slice(0, 60000),
        })),
      );
    }
  }
  return { created: fallbackUsed ? 0 : fresh.length, deleted, kept: o.drafts.length - fresh.length, fallback: fallbackUsed };
}

function stripMarkers(body: string): string {
  return body.replace(/<!--[\s\S]*?-->/g, "").trim();
}

/** Create the sticky comment, or edit ours (known id, else found by its marker). Returns its id. */
export async function upsertSticky(
  gh: GitHubClient,
  o: { where: Repo; pull: number; bot: string; text: string; knownId?: number },
): Promise<number> {
  const body = truncateBytes(`${STICKY_MARKER}\n${o.text}`, 65000);
  const { owner, repo } = o.where;
  let id = o.knownId;
  if (!id) {
    const mine = (await listOurs(gh, gh.rest.issues.listComments, { owner, repo, issue_number: o.pull }, o.bot, 10)).find((c) =>
      (c.body ?? "").includes(STICKY_MARKER),
    );
    id = mine?.id;
  }
  if (id) {
    await gh.rest.issues.updateComment({ owner, repo, comment_id: id, body });
    return id;
  }
  // No blind retry: a lost answer is found by its marker on the job's retry.
  const { data } = await gh.rest.issues.createComment({ owner, repo, issue_number: o.pull, body, request: NO_RETRY });
  return data.id;
}

/** The `/memcheck explain Type` section of the sticky comment: before/after diagrams per arch. */
export function explainBody(
  diagram: (s: StructReport, arch: Arch) => string,
  head: StructReport[],
  base: StructReport[],
  name: string,
  archs: Arch[],
): string {
  const match = (s: StructReport) => s.name === name || `${s.package.split("/").pop()}.${s.name}` === name;
  const h = head.filter(match);
  const b = base.filter(match);
  if (h.length === 0 && b.length === 0) {
    return `### memcheck explain \`${name}\`\n\nNo struct named \`${name}\` in the packages this pull request touches.`;
  }
  const parts = [`### memcheck explain \`${name}\``];
  for (const arch of archs) {
    for (const [label, list] of [
      ["before", b],
      ["after", h],
    ] as const) {
      for (const s of list.slice(0, 2)) {
        if (!s.layouts[arch]) continue;
        parts.push(
          `**${label}** (${arch}) \`${s.package}.${s.name}\` at \`${s.file}:${s.line}\`\n\n\`\`\`text\n${diagram(s, arch).trimEnd()}\n\`\`\``,
        );
      }
    }
  }
  return parts.join("\n\n");
}
