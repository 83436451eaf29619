// Go's module environment, read the way the go command reads it: GOMODCACHE / GOPATH, GOPROXY,
// GONOPROXY / GOPRIVATE, GONOSUMDB / GOSUMDB, GOFLAGS (-mod=), GOWORK, and a netrc file for
// proxy credentials. docs/modules.md states the exact rules.
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";

/** One GOPROXY entry and what happens when it fails. */
export type ProxyEntry =
  | { kind: "url"; url: string; anyError: boolean }
  | { kind: "off"; anyError: boolean }
  | { kind: "direct"; anyError: boolean };

export interface ModuleSettings {
  /** Module cache roots to look in, in order (GOMODCACHE, else $GOPATH[0]/pkg/mod, else ~/go/pkg/mod). */
  modCache: string[];
  /** GOPROXY, parsed. Empty: no proxy is consulted (the module cache only). */
  proxies: ProxyEntry[];
  /** GONOPROXY (default GOPRIVATE): modules never fetched through a proxy. */
  noProxy: string;
  /** GONOSUMDB (default GOPRIVATE): modules that may be used without a go.sum line. */
  noSumDb: string;
  /** GOSUMDB=off: every module may be used without a go.sum line. */
  sumDbOff: boolean;
  /** -mod= from GOFLAGS (vendor, readonly, mod). With mod, a module without a go.sum line is used (unverified). */
  modFlag?: string;
  /** GOWORK: "off" disables workspaces; a path names the go.work file. */
  goWork?: string;
  /** Credentials for proxy hosts (netrc: NETRC, else ~/.netrc). */
  netrc: Map<string, { login: string; password: string }>;
}

/**
 * GOPROXY list semantics: entries separated by "," fall through to the next only on 404 or 410;
 * entries separated by "|" fall through on any error. "off" ends the list with an error; "direct"
 * (version control) is not supported by memcheck and says so.
 */
export function parseGoProxy(value: string | undefined): ProxyEntry[] {
  const out: ProxyEntry[] = [];
  if (!value?.trim()) return out;
  const re = /([^,|]*)([,|]?)/g;
  for (let m = re.exec(value); m && m[0] !== ""; m = re.exec(value)) {
    const item = m[1].trim();
    const anyError = m[2] === "|";
    if (item === "") continue;
    if (item === "off") out.push({ kind: "off", anyError });
    else if (item === "direct" || item === "noproxy") out.push({ kind: "direct", anyError });
    else out.push({ kind: "url", url: item.replace(/\/+$/, ""), anyError });
  }
  return out;
}

/** Go's module.MatchPrefixPatterns: does any comma-separated glob match a leading part of the path? */
export function matchPrefixPatterns(globs: string, target: string): boolean {
  for (const raw of globs.split(",")) {
    const glob = raw.trim().replace(/\/+$/, "");
    if (!glob) continue;
    const n = glob.split("/").length;
    const parts = target.split("/");
    if (parts.length < n) continue;
    if (globMatch(glob, parts.slice(0, n).join("/"))) return true;
  }
  return false;
}

/** path.Match: `*` and `?` never match "/", `[...]` classes with ranges and `^`. */
function globMatch(pattern: string, name: string): boolean {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) return false;
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith("^")) cls = `^${cls.slice(1)}`;
      re += `[${cls.replace(/\\/g, "\\\\")}]`;
      i = end;
    } else if (c === "\\" && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  try {
    return new RegExp(`${re}$`).test(name);
  } catch {
    return false;
  }
}

/** The -mod= value in a GOFLAGS string, if any. */
export function modFlagOf(goflags: string | undefined): string | undefined {
  for (const f of (goflags ?? "").split(/\s+/)) {
    const m = /^--?mod=(.*)$/.exec(f);
    if (m) return m[1];
  }
  return undefined;
}

export function parseNetrc(text: string): Map<string, { login: string; password: string }> {
  const out = new Map<string, { login: string; password: string }>();
  const toks = text.split(/\s+/).filter(Boolean);
  let machine: string | undefined;
  let login = "";
  let password = "";
  const flush = () => {
    if (machine && !out.has(machine)) out.set(machine, { login, password });
  };
  for (let i = 0; i < toks.length; i++) {
    if (toks[i] === "machine") {
      flush();
      machine = toks[++i];
      login = "";
      password = "";
    } else if (toks[i] === "default") {
      flush();
      machine = undefined;
    } else if (toks[i] === "login") login = toks[++i] ?? "";
    else if (toks[i] === "password") password = toks[++i] ?? "";
  }
  flush();
  return out;
}

/** The module settings of an environment (the CLI passes process.env). */
export function settingsFromEnv(env: NodeJS.ProcessEnv, home = homedir()): ModuleSettings {
  const modCache: string[] = [];
  if (env.GOMODCACHE) modCache.push(env.GOMODCACHE);
  else {
    const gopath = (env.GOPATH ?? "").split(path.delimiter).filter(Boolean)[0];
    modCache.push(path.join(gopath ?? path.join(home, "go"), "pkg", "mod"));
  }
  let netrc = new Map<string, { login: string; password: string }>();
  try {
    netrc = parseNetrc(readFileSync(env.NETRC ?? path.join(home, ".netrc"), "utf8"));
  } catch {
    // no netrc
  }
  const priv = env.GOPRIVATE ?? "";
  return {
    modCache,
    proxies: parseGoProxy(env.GOPROXY),
    noProxy: env.GONOPROXY ?? priv,
    noSumDb: env.GONOSUMDB ?? priv,
    sumDbOff: env.GOSUMDB === "off",
    modFlag: modFlagOf(env.GOFLAGS),
    goWork: env.GOWORK,
    netrc,
  };
}
