// A fake GitHub REST API on 127.0.0.1, for tests and benchmarks that run Probot or the worker in
// a child process (which nock cannot reach). Point Probot at it with `baseUrl: fake.baseUrl`
// in-process, or with GHE_HOST=fake.host GHE_PROTOCOL=http in a child (base URL
// `http://HOST/api/v3`). It is stateful (check runs, reviews, review comments persist across
// requests, so a retried or re-run job sees what an earlier attempt wrote), it can hold a request
// (to kill a worker provably mid-job), inject failures (optionally after performing the write, as
// a gateway error after a committed POST looks), add latency, and it counts every call.
import http from "node:http";
import { createHash } from "node:crypto";
import type { AddressInfo } from "node:net";
import { repoTarball } from "./tarball.ts";

export const BOT_LOGIN = "memcheck[bot]";

export function gitBlobSha(buf: Buffer): string {
  return createHash("sha1").update(`blob ${buf.length}\0`).update(buf).digest("hex");
}

export interface FakePull {
  number: number;
  state: "open" | "closed";
  draft?: boolean;
  baseSha: string;
  headSha: string;
  /** pulls.listFiles entries (filename, status, patch, ...). */
  files: unknown[];
  updatedAt?: string;
}

export interface CheckRunState {
  id: number;
  owner: string;
  repo: string;
  name: string;
  head_sha: string;
  status: string;
  conclusion?: string;
  external_id?: string;
  output?: any;
  /** Every create/update body, in order. */
  history: any[];
}

export interface ReviewState {
  id: number;
  owner: string;
  repo: string;
  pull: number;
  body: any;
}

export interface CallRecord {
  method: string;
  /** Path without the /api/v3 prefix and without the query. */
  path: string;
  status: number;
  at: number;
  /** The Authorization header's token (which installation asked). */
  token?: string;
  /** Response body bytes. */
  bytes?: number;
}

export interface ReqInfo {
  method: string;
  path: string;
  query: URLSearchParams;
  body: any;
}

export type Matcher = (r: ReqInfo) => boolean;

interface Fault {
  match: Matcher;
  remaining: number;
  status: number;
  headers: Record<string, string>;
  body: unknown;
  /** Perform the request's effect first, then answer with the failure. */
  commit: boolean;
}

export interface Hold {
  /** Resolves when a matching request has arrived and is being held. */
  arrived: Promise<ReqInfo>;
  /** Let the held request (and any later one) through. */
  release(): void;
}

interface RepoState {
  pulls: Map<number, FakePull>;
  trees: Map<string, { path: string; sha: string; size: number }[]>;
  blobs: Map<string, Buffer>;
  reviewComments: Map<number, any[]>;
  issueComments: Map<number, any[]>;
}

export class FakeGitHub {
  readonly calls: CallRecord[] = [];
  /** `.github/memcheck.yml` per "owner/repo", served raw from the contents API (absent: 404, the defaults). */
  readonly configs = new Map<string, string>();
  readonly checkRuns = new Map<number, CheckRunState>();
  readonly reviews: ReviewState[] = [];
  /** Extra API routes, tried first (e.g. the app's webhook delivery log: test/support/webhook-log.ts). */
  readonly extraRoutes: ((r: ReqInfo) => [number, unknown, Record<string, string>?] | undefined)[] = [];
  latencyMs: number;
  private server: http.Server;
  private repos = new Map<string, RepoState>();
  private faults: Fault[] = [];
  private holds: { match: Matcher; commit: boolean; gate: Promise<void>; open: () => void; arrived: (r: ReqInfo) => void }[] = [];
  private nextId = 1000;
  /** Tarballs by "owner/repo@sha": built from the tree on first request, or set by setArchive. */
  private archives = new Map<string, Promise<Buffer>>();
  port = 0;

  constructor(o: { latencyMs?: number } = {}) {
    this.latencyMs = o.latencyMs ?? 0;
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    for (const h of this.holds) h.open();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** "127.0.0.1:PORT", for GHE_HOST. */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }
  get baseUrl(): string {
    return `http://${this.host}/api/v3`;
  }

  /** Probot's env for a child process: GHE_HOST + GHE_PROTOCOL. */
  env(): Record<string, string> {
    return { GHE_HOST: this.host, GHE_PROTOCOL: "http" };
  }

  private repoState(owner: string, repo: string): RepoState {
    const k = `${owner}/${repo}`;
    let r = this.repos.get(k);
    if (!r) {
      r = { pulls: new Map(), trees: new Map(), blobs: new Map(), reviewComments: new Map(), issueComments: new Map() };
      this.repos.set(k, r);
    }
    return r;
  }

  /** A commit's tree: path -> content. Returns blob SHAs by path. */
  addTree(owner: string, repo: string, sha: string, files: Map<string, Buffer | string>): Map<string, string> {
    const r = this.repoState(owner, repo);
    const entries: { path: string; sha: string; size: number }[] = [];
    const out = new Map<string, string>();
    for (const [path, content] of files) {
      const buf = typeof content === "string" ? Buffer.from(content) : content;
      const s = gitBlobSha(buf);
      r.blobs.set(s, buf);
      entries.push({ path, sha: s, size: buf.length });
      out.set(path, s);
    }
    r.trees.set(sha, entries);
    return out;
  }

  addPull(owner: string, repo: string, p: FakePull): void {
    this.repoState(owner, repo).pulls.set(p.number, { ...p });
  }

  pull(owner: string, repo: string, n: number): FakePull {
    const p = this.repoState(owner, repo).pulls.get(n);
    if (!p) throw new Error(`no PR ${owner}/${repo}#${n}`);
    return p;
  }

  /** Review comments on a PR (ours and others'), as listReviewComments returns them. */
  reviewCommentsOf(owner: string, repo: string, n: number): any[] {
    return this.repoState(owner, repo).reviewComments.get(n) ?? [];
  }

  issueCommentsOf(owner: string, repo: string, n: number): any[] {
    return this.repoState(owner, repo).issueComments.get(n) ?? [];
  }

  /** Collaborator roles for /collaborators/{user}/permission (default "read"). */
  readonly permissions = new Map<string, string>();

  /** Every annotation sent to a run, in order (GitHub appends them across updates). */
  annotationsOf(id: number): any[] {
    const c = this.checkRuns.get(id);
    return (c?.history ?? []).flatMap((h) => h?.output?.annotations ?? []);
  }

  checkRunsFor(headSha: string): CheckRunState[] {
    return [...this.checkRuns.values()].filter((c) => c.head_sha === headSha);
  }

  /** Precreate a check run (as the webhook handler would have), returning its id. */
  createCheckRun(owner: string, repo: string, head_sha: string, status = "queued"): number {
    const id = this.nextId++;
    this.checkRuns.set(id, { id, owner, repo, name: "memcheck", head_sha, status, history: [{ status }] });
    return id;
  }

  /** Answer matching requests with `status` (the next `times` of them). */
  fail(match: Matcher, o: { status: number; headers?: Record<string, string>; body?: unknown; times?: number; commit?: boolean }): void {
    this.faults.push({
      match,
      remaining: o.times ?? 1,
      status: o.status,
      headers: o.headers ?? {},
      body: o.body ?? { message: `fake ${o.status}` },
      commit: o.commit ?? false,
    });
  }

  /**
   * Hold matching requests unanswered until release(). With `commit`, the request's effect happens
   * first and only the response is held (a write GitHub made, whose answer the client never saw).
   */
  hold(match: Matcher, o: { commit?: boolean } = {}): Hold {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let arrived!: (r: ReqInfo) => void;
    const p = new Promise<ReqInfo>((r) => (arrived = r));
    const h = { match, commit: o.commit ?? false, gate, open, arrived };
    this.holds.push(h);
    return {
      arrived: p,
      release: () => {
        this.holds = this.holds.filter((x) => x !== h);
        open();
      },
    };
  }

  /**
   * Serve `archive` (any bytes: a hostile or corrupt tarball) as the tarball of `sha`. Without it,
   * `GET /repos/{o}/{r}/tarball/{sha}` answers 302 to `/_codeload/{o}/{r}/legacy.tar.gz/{sha}`,
   * which serves a real .tar.gz of the tree (as GitHub's: `owner-repo-sha7/` prefix).
   */
  setArchive(owner: string, repo: string, sha: string, archive: Buffer): void {
    this.archives.set(`${owner}/${repo}@${sha}`, Promise.resolve(archive));
  }

  private async archiveRoute(info: ReqInfo): Promise<[number, unknown, Record<string, string>?] | undefined> {
    let m: RegExpMatchArray | null;
    if (info.method === "GET" && (m = info.path.match(/^\/repos\/([^/]+)\/([^/]+)\/tarball\/(.+)$/))) {
      const r = this.repoState(m[1]!, m[2]!);
      if (!r.trees.has(m[3]!) && !this.archives.has(`${m[1]}/${m[2]}@${m[3]}`)) return [404, { message: "Not Found" }];
      return [302, undefined, { location: `http://${this.host}/_codeload/${m[1]}/${m[2]}/legacy.tar.gz/${m[3]}` }];
    }
    if (info.method === "GET" && (m = info.path.match(/^\/_codeload\/([^/]+)\/([^/]+)\/legacy\.tar\.gz\/(.+)$/))) {
      const [, owner, repo, sha] = m as unknown as [string, string, string, string];
      const key = `${owner}/${repo}@${sha}`;
      let p = this.archives.get(key);
      if (!p) {
        const tree = this.repoState(owner, repo).trees.get(sha);
        if (!tree) return [404, { message: "Not Found" }];
        const blobs = this.repoState(owner, repo).blobs;
        p = repoTarball(
          owner,
          repo,
          sha,
          tree.map((e) => [e.path, blobs.get(e.sha)!] as [string, Buffer]),
        );
        this.archives.set(key, p);
      }
      return [
        200,
        await p,
        { "content-type": "application/x-gzip", "content-disposition": `attachment; filename=${owner}-${repo}-${sha.slice(0, 7)}.tar.gz` },
      ];
    }
    return undefined;
  }

  callsTo(re: RegExp, method?: string): CallRecord[] {
    return this.calls.filter((c) => re.test(c.path) && (!method || c.method === method));
  }

  resetCalls(): void {
    this.calls.length = 0;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString("utf8");
    let body: any;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    const u = new URL(req.url ?? "/", "http://x");
    const path = decodeURIComponent(u.pathname.replace(/^\/api\/v3/, ""));
    const info: ReqInfo = { method: req.method ?? "GET", path, query: u.searchParams, body };
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      const body = Buffer.isBuffer(payload) ? payload : Buffer.from(payload === undefined ? "" : JSON.stringify(payload));
      this.calls.push({
        method: info.method,
        path,
        status,
        at: Date.now(),
        token: String(req.headers.authorization ?? "")
          .split(" ")
          .pop(),
        bytes: body.length,
      });
      if (res.destroyed) return;
      const type = Buffer.isBuffer(payload) ? {} : { "content-type": "application/json; charset=utf-8" };
      res.writeHead(status, { ...type, "content-length": String(body.length), ...headers });
      res.end(body);
    };
    const hold = this.holds.find((h) => h.match(info));
    if (hold?.commit) {
      const out = this.route(info);
      hold.arrived(info);
      await hold.gate;
      send(...out);
      return;
    }
    if (hold) {
      hold.arrived(info);
      await hold.gate;
    }
    if (this.latencyMs) await new Promise((r) => setTimeout(r, this.latencyMs));
    const fault = this.faults.find((f) => f.remaining > 0 && f.match(info));
    if (fault) {
      fault.remaining--;
      if (fault.commit) this.route(info);
      send(fault.status, fault.body, fault.headers);
      return;
    }
    const [status, payload, headers] = (await this.archiveRoute(info)) ?? this.route(info);
    send(status, payload, headers);
  }

  private link(path: string, query: URLSearchParams, page: number, last: number): Record<string, string> {
    if (page >= last) return {};
    const q = new URLSearchParams(query);
    q.set("page", String(page + 1));
    return {
      link: `<${this.baseUrl}${path}?${q}>; rel="next", <${this.baseUrl}${path}?${q.toString().replace(/page=\d+/, `page=${last}`)}>; rel="last"`,
    };
  }

  private page<T>(all: T[], info: ReqInfo): [number, T[], Record<string, string>] {
    const per = Math.min(100, Number(info.query.get("per_page")) || 30);
    const page = Math.max(1, Number(info.query.get("page")) || 1);
    const last = Math.max(1, Math.ceil(all.length / per));
    return [200, all.slice((page - 1) * per, page * per), this.link(info.path, info.query, page, last)];
  }

  /** The API. Returns [status, body, headers]. */
  private route(info: ReqInfo): [number, unknown, Record<string, string>?] {
    for (const extra of this.extraRoutes) {
      const out = extra(info);
      if (out) return out;
    }
    const { method, path, body } = info;
    let m: RegExpMatchArray | null;
    if (method === "POST" && (m = path.match(/^\/app\/installations\/(\d+)\/access_tokens$/))) {
      return [201, { token: `ghs_fake_${m[1]}`, expires_at: new Date(Date.now() + 3600_000).toISOString(), permissions: {} }];
    }
    if (method === "GET" && path === "/app") return [200, { id: 123, slug: "memcheck", name: "memcheck" }];
    if (!(m = path.match(/^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/))) return [404, { message: "Not Found" }];
    const [, owner, repo, rest = ""] = m as unknown as [string, string, string, string?];
    const r = this.repoState(owner!, repo!);
    const pullJson = (p: FakePull) => ({
      number: p.number,
      state: p.state,
      draft: p.draft ?? false,
      updated_at: p.updatedAt ?? "2026-11-26T10:00:00Z",
      changed_files: p.files.length,
      head: { sha: p.headSha, ref: `pr-${p.number}`, repo: { id: 5001, full_name: `${owner}/${repo}` } },
      base: { sha: p.baseSha, ref: "main", repo: { id: 5001, full_name: `${owner}/${repo}` } },
    });
    if (method === "GET" && rest === "/pulls") {
      return this.page([...r.pulls.values()].filter((p) => p.state === "open").map(pullJson), info);
    }
    if (method === "GET" && (m = rest.match(/^\/pulls\/(\d+)$/))) {
      const p = r.pulls.get(Number(m[1]));
      return p ? [200, pullJson(p)] : [404, { message: "Not Found" }];
    }
    if (method === "GET" && (m = rest.match(/^\/pulls\/(\d+)\/files$/))) {
      const p = r.pulls.get(Number(m[1]));
      return p ? this.page(p.files, info) : [404, { message: "Not Found" }];
    }
    if (method === "GET" && rest === "/contents/.github/memcheck.yml" && this.configs.has(`${owner}/${repo}`))
      return [200, Buffer.from(this.configs.get(`${owner}/${repo}`)!)];
    if (rest.startsWith("/contents/")) return [404, { message: "Not Found" }];
    if (method === "GET" && (m = rest.match(/^\/compare\/([0-9a-f]+)\.\.\.([0-9a-f]+)$/))) {
      if (!r.trees.has(m[1]!) || !r.trees.has(m[2]!)) return [404, { message: "Not Found" }];
      return [200, { merge_base_commit: { sha: m[1] }, commits: [], files: [] }];
    }
    if (method === "GET" && (m = rest.match(/^\/git\/trees\/([0-9a-f]+)$/))) {
      const t = r.trees.get(m[1]!);
      if (!t) return [404, { message: "Not Found" }];
      return [
        200,
        { sha: m[1], truncated: false, tree: t.map((e) => ({ path: e.path, mode: "100644", type: "blob", sha: e.sha, size: e.size })) },
      ];
    }
    if (method === "GET" && (m = rest.match(/^\/git\/blobs\/([0-9a-f]{40})$/))) {
      const b = r.blobs.get(m[1]!);
      return b ? [200, { sha: m[1], size: b.length, encoding: "base64", content: b.toString("base64") }] : [404, { message: "Not Found" }];
    }
    if (method === "POST" && rest === "/check-runs") {
      const id = this.nextId++;
      this.checkRuns.set(id, {
        id,
        owner: owner!,
        repo: repo!,
        name: body?.name,
        head_sha: body?.head_sha,
        status: body?.status ?? "queued",
        conclusion: body?.conclusion,
        external_id: body?.external_id,
        output: body?.output,
        history: [body],
      });
      return [201, { id, head_sha: body?.head_sha, status: body?.status }];
    }
    if (method === "GET" && (m = rest.match(/^\/check-runs\/(\d+)$/))) {
      const c = this.checkRuns.get(Number(m[1]));
      if (!c) return [404, { message: "Not Found" }];
      return [
        200,
        {
          id: c.id,
          name: c.name,
          head_sha: c.head_sha,
          status: c.status,
          conclusion: c.conclusion ?? null,
          external_id: c.external_id ?? null,
          output: {
            title: c.output?.title ?? null,
            summary: c.output?.summary ?? null,
            annotations_count: this.annotationsOf(c.id).length,
          },
        },
      ];
    }
    if (method === "GET" && (m = rest.match(/^\/commits\/([0-9a-f]{40})\/check-runs$/))) {
      const name = info.query.get("check_name");
      const runs = [...this.checkRuns.values()].filter(
        (c) => c.owner === owner && c.repo === repo && c.head_sha === m![1] && (!name || c.name === name),
      );
      return [
        200,
        {
          total_count: runs.length,
          check_runs: runs.map((c) => ({
            id: c.id,
            name: c.name,
            head_sha: c.head_sha,
            status: c.status,
            conclusion: c.conclusion ?? null,
            external_id: c.external_id ?? null,
          })),
        },
      ];
    }
    if (method === "GET" && (m = rest.match(/^\/collaborators\/([^/]+)\/permission$/))) {
      const role = this.permissions.get(m[1]!) ?? "read";
      return [200, { permission: role === "triage" ? "read" : role, role_name: role, user: { login: m[1] } }];
    }
    if (method === "PATCH" && (m = rest.match(/^\/check-runs\/(\d+)$/))) {
      const c = this.checkRuns.get(Number(m[1]));
      if (!c) return [404, { message: "Not Found" }];
      c.history.push(body);
      if (body?.status) c.status = body.status;
      if (body?.conclusion) {
        c.conclusion = body.conclusion;
        c.status = "completed";
      }
      if (body?.output) c.output = body.output;
      return [200, { id: c.id, status: c.status, conclusion: c.conclusion }];
    }
    if (method === "GET" && (m = rest.match(/^\/pulls\/(\d+)\/comments$/))) {
      return this.page(r.reviewComments.get(Number(m[1])) ?? [], info);
    }
    if (method === "POST" && (m = rest.match(/^\/pulls\/(\d+)\/reviews$/))) {
      const n = Number(m[1]);
      const p = r.pulls.get(n);
      if (!p) return [404, { message: "Not Found" }];
      const id = this.nextId++;
      this.reviews.push({ id, owner: owner!, repo: repo!, pull: n, body });
      const list = r.reviewComments.get(n) ?? [];
      for (const c of body?.comments ?? [])
        list.push({
          id: this.nextId++,
          pull_request_review_id: id,
          user: { login: BOT_LOGIN, type: "Bot" },
          path: c.path,
          line: c.line,
          start_line: c.start_line ?? null,
          side: c.side,
          body: c.body,
          commit_id: body.commit_id,
        });
      r.reviewComments.set(n, list);
      return [200, { id, state: "COMMENTED" }];
    }
    if (method === "DELETE" && (m = rest.match(/^\/pulls\/comments\/(\d+)$/))) {
      const id = Number(m[1]);
      for (const list of r.reviewComments.values()) {
        const i = list.findIndex((c) => c.id === id);
        if (i >= 0) {
          list.splice(i, 1);
          return [204, undefined];
        }
      }
      return [404, { message: "Not Found" }];
    }
    if ((m = rest.match(/^\/issues\/(\d+)\/comments$/))) {
      const n = Number(m[1]);
      const list = r.issueComments.get(n) ?? [];
      if (method === "GET") return this.page(list, info);
      if (method === "POST") {
        const c = { id: this.nextId++, user: { login: BOT_LOGIN, type: "Bot" }, body: body?.body };
        list.push(c);
        r.issueComments.set(n, list);
        return [201, c];
      }
    }
    if (method === "PATCH" && (m = rest.match(/^\/issues\/comments\/(\d+)$/))) {
      for (const list of r.issueComments.values()) {
        const c = list.find((x) => x.id === Number(m![1]));
        if (c) {
          c.body = body?.body;
          return [200, c];
        }
      }
      return [404, { message: "Not Found" }];
    }
    if (method === "POST" && /^\/issues\/comments\/\d+\/reactions$/.test(rest)) return [201, { id: this.nextId++, content: body?.content }];
    return [404, { message: `fake github: no route for ${method} ${path}` }];
  }
}

/** Load a PR between two directory trees (e.g. test/fixtures/pr-module before/after) into the fake. */
export function loadPullFromTrees(
  gh: FakeGitHub,
  o: {
    owner: string;
    repo: string;
    number: number;
    baseSha: string;
    headSha: string;
    before: Map<string, Buffer>;
    after: Map<string, Buffer>;
    files: unknown[];
    state?: "open" | "closed";
  },
): void {
  gh.addTree(o.owner, o.repo, o.baseSha, o.before);
  gh.addTree(o.owner, o.repo, o.headSha, o.after);
  gh.addPull(o.owner, o.repo, { number: o.number, state: o.state ?? "open", baseSha: o.baseSha, headSha: o.headSha, files: o.files });
}
