// Logging: Probot's pino, structured. Secrets must never reach a log line. Octokit and Probot do not
// log tokens or keys by themselves (test/ops-logs.test.ts checks a full run at level trace); these
// redact paths are a second line of defence for a careless `log.info({ ... })`.
//
// Probot builds its own pino when none is given (createProbot: LOG_LEVEL, LOG_FORMAT). To apply
// these paths, pass your own pino logger as `createProbot({ overrides: { log } })` with
// `pino({ redact: REDACT_PATHS, ... })`; see docs/operate.md.

export const REDACT_PATHS: string[] = [
  "token",
  "*.token",
  "privateKey",
  "*.privateKey",
  "private_key",
  "*.private_key",
  "secret",
  "*.secret",
  "webhookSecret",
  "password",
  "*.password",
  "authorization",
  "headers.authorization",
  "*.headers.authorization",
  "*.*.headers.authorization",
  "headers.cookie",
  "*.headers.cookie",
  'headers["x-hub-signature-256"]',
  '*.headers["x-hub-signature-256"]',
];
