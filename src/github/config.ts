// The GitHub config loader: .github/memcheck.yml from the default branch, through Probot's
// config plugin. What the file means (schema, defaults, merging) is the review core's.
import { CONFIG_PATH, parseConfig, type ConfigResult } from "../review/config.ts";

export type { ConfigResult, MemcheckConfig } from "../review/config.ts";

/** The subset of Probot's octokit the loader needs (octokit.config from @probot/octokit-plugin-config). */
export interface ConfigOctokit {
  config: {
    get(o: { owner: string; repo: string; path: string }): Promise<{ config: Record<string, unknown>; files: { config: unknown }[] }>;
  };
}

/**
 * Read .github/memcheck.yml from the default branch (with `_extends` and the org `.github` repo
 * fallback, as Probot's context.config does). A YAML syntax error becomes an error result.
 */
export async function loadConfig(octokit: ConfigOctokit, owner: string, repo: string): Promise<ConfigResult> {
  let got: Awaited<ReturnType<ConfigOctokit["config"]["get"]>>;
  try {
    got = await octokit.config.get({ owner, repo, path: CONFIG_PATH });
  } catch (e: unknown) {
    const status = (e as { status?: number } | null)?.status;
    if (status && status >= 500) throw e; // transient: let the job retry
    if (status === 403 || status === 401) throw e;
    const message = (e as { message?: string } | null)?.message ?? String(e);
    return { ok: false, error: `Could not read ${CONFIG_PATH}: ${message.split("\n")[0].slice(0, 300)}` };
  }
  const found = got.files.some((f) => f.config !== null);
  if (!found) return parseConfig(null);
  return parseConfig(got.config);
}
