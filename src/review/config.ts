// .github/memcheck.yml: schema, defaults, merging, and the defaults table for the README. The one
// config of every front end: the app loads the file from the default branch (github/config.ts),
// the CLI from the repository, --config FILE, or not at all (--no-config).
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { ALL_ARCHS, type Arch, type Thresholds } from "../analysis/model.ts";
import { DEFAULT_THRESHOLDS } from "../analysis/diff.ts";
import { DEFAULT_THRESHOLDS as RULE_THRESHOLDS, type RuleConfig, type RuleOptions } from "../analysis/rules/index.ts";
import { DEFAULT_FAIL_ON, FAIL_ON, type FailOn } from "./conclusion.ts";

export const CONFIG_PATH = ".github/memcheck.yml";

export type RuleSetting = RuleConfig[string];

/** The archs a review lays out when nothing says otherwise: the app and the CLI alike. */
export const DEFAULT_ARCHS: readonly Arch[] = ["amd64", "arm64"];

export interface Limits {
  /** Go files fetched per side (base or head). */
  maxFiles: number;
  /** Total bytes fetched per side. */
  maxBytes: number;
  /** A file larger than this is skipped. */
  maxFileBytes: number;
  /** Packages analysed per side (touched plus same-module imports). */
  maxPackages: number;
  /** Inline review comments per run. */
  maxComments: number;
}

/** Thresholds of the hazard rules (MC131, MC151, MC161); MC141 uses thresholds.maxPointerDepth. */
export type RuleThresholds = Required<
  Pick<NonNullable<RuleOptions["thresholds"]>, "bindingPointerFields" | "paddingWaste" | "gcScanGrowth">
>;

export interface MemcheckConfig {
  archs: Arch[];
  thresholds: Thresholds;
  ruleThresholds: RuleThresholds;
  ignore: string[];
  comment: boolean;
  suggest: boolean;
  drafts: boolean;
  rules: Record<string, RuleSetting>;
  limits: Limits;
  /** Types whose layout regressions fail the check whatever their population: `Name` or `pkg.Name`. */
  hot: string[];
  /** The lowest finding severity that fails the check ("never": nothing fails). */
  failOn: FailOn;
  /** Pin the Go release ("1.22") whose standard library layouts assume; default: from go.mod. */
  go?: string;
}

export const DEFAULT_CONFIG: MemcheckConfig = {
  archs: [...DEFAULT_ARCHS],
  thresholds: { ...DEFAULT_THRESHOLDS },
  ruleThresholds: {
    bindingPointerFields: RULE_THRESHOLDS.bindingPointerFields,
    paddingWaste: RULE_THRESHOLDS.paddingWaste,
    gcScanGrowth: RULE_THRESHOLDS.gcScanGrowth,
  },
  ignore: ["vendor/", "testdata/"],
  comment: true,
  suggest: true,
  drafts: false,
  rules: {},
  limits: { maxFiles: 2000, maxBytes: 20 * 1024 * 1024, maxFileBytes: 1024 * 1024, maxPackages: 200, maxComments: 30 },
  hot: [],
  failOn: DEFAULT_FAIL_ON,
};

// YAML reads `archs: [amd64, 386]` as a string and a number: GOARCH 386 is written bare by users.
const archSchema = z.preprocess((v) => (typeof v === "number" ? String(v) : v), z.enum(ALL_ARCHS as unknown as [Arch, ...Arch[]]));
const ruleId = z.string().regex(/^MC\d{3}$/, "rule ids look like MC101");
const ruleSetting = z.union([z.enum(["off", "error", "warning", "notice"]), z.literal(false)]).transform((v) => (v === false ? "off" : v));

export const configSchema = z
  .object({
    archs: z.array(archSchema).min(1).max(ALL_ARCHS.length).optional(),
    // YAML reads `go: 1.22` as a number; `go: 1.20` would be 1.2, so a string is safer and both work.
    go: z
      .preprocess((v) => (typeof v === "number" ? String(v) : v), z.string().regex(/^(go)?1\.\d+(\.\d+)?$/, "go looks like 1.22"))
      .optional(),
    thresholds: z
      .object({
        sizeClassGrowth: z.boolean().optional(),
        paddingGrowth: z
          .number()
          .int()
          .min(0)
          .max(1 << 20)
          .optional(),
        maxPointerDepth: z.number().int().min(1).max(64).optional(),
        newCycle: z.boolean().optional(),
      })
      .strict()
      .optional(),
    ruleThresholds: z
      .object({
        bindingPointerFields: z.number().int().min(1).max(1000).optional(),
        paddingWaste: z
          .number()
          .int()
          .min(1)
          .max(1 << 20)
          .optional(),
        gcScanGrowth: z
          .number()
          .int()
          .min(1)
          .max(1 << 20)
          .optional(),
      })
      .strict()
      .optional(),
    ignore: z.array(z.string().min(1).max(500)).max(200).optional(),
    comment: z.boolean().optional(),
    suggest: z.boolean().optional(),
    drafts: z.boolean().optional(),
    rules: z.record(ruleId, ruleSetting).optional(),
    limits: z
      .object({
        maxFiles: z.number().int().min(1).max(20000).optional(),
        maxBytes: z
          .number()
          .int()
          .min(1024)
          .max(512 * 1024 * 1024)
          .optional(),
        maxFileBytes: z
          .number()
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .optional(),
        maxPackages: z.number().int().min(1).max(5000).optional(),
        maxComments: z.number().int().min(0).max(200).optional(),
      })
      .strict()
      .optional(),
    hot: z
      .array(
        z
          .string()
          .min(1)
          .max(300)
          .regex(/^[\w./-]+$/, "a type name: Name or pkg.Name"),
      )
      .max(500)
      .optional(),
    failOn: z.enum(FAIL_ON as unknown as [FailOn, ...FailOn[]]).optional(),
    // Handled by Probot's config loader; allowed so a merged config still validates.
    _extends: z.string().optional(),
  })
  .strict();

export type ConfigResult = { ok: true; config: MemcheckConfig } | { ok: false; error: string };

function describeIssue(issue: z.core.$ZodIssue): string {
  const key = issue.path.length ? issue.path.map(String).join(".") : "(top level)";
  if (issue.code === "unrecognized_keys") {
    const keys = (issue as { keys: string[] }).keys;
    const where = issue.path.length ? ` in \`${key}\`` : "";
    return `unknown key${keys.length > 1 ? "s" : ""} ${keys.map((k) => `\`${k}\``).join(", ")}${where}`;
  }
  return `\`${key}\`: ${issue.message}`;
}

/** Validate a parsed YAML value (null/undefined = no file) and merge it over the defaults. */
export function parseConfig(raw: unknown): ConfigResult {
  if (raw == null) return { ok: true, config: structuredClone(DEFAULT_CONFIG) };
  if (typeof raw !== "object" || Array.isArray(raw)) {
    return { ok: false, error: `${CONFIG_PATH} must be a YAML mapping (key: value), got ${Array.isArray(raw) ? "a list" : typeof raw}` };
  }
  const r = configSchema.safeParse(raw);
  if (!r.success) {
    const msgs = r.error.issues.slice(0, 5).map(describeIssue);
    return { ok: false, error: `Invalid ${CONFIG_PATH}: ${msgs.join("; ")}` };
  }
  const c = r.data;
  const d = DEFAULT_CONFIG;
  return {
    ok: true,
    config: {
      archs: c.archs ? [...new Set(c.archs)] : [...d.archs],
      thresholds: { ...d.thresholds, ...c.thresholds },
      ruleThresholds: { ...d.ruleThresholds, ...c.ruleThresholds },
      ignore: c.ignore ?? [...d.ignore],
      comment: c.comment ?? d.comment,
      suggest: c.suggest ?? d.suggest,
      drafts: c.drafts ?? d.drafts,
      rules: { ...(c.rules as Record<string, RuleSetting> | undefined) },
      limits: { ...d.limits, ...c.limits },
      hot: c.hot ? [...new Set(c.hot)] : [...d.hot],
      failOn: c.failOn ?? d.failOn,
      ...(c.go ? { go: c.go } : {}),
    },
  };
}

/**
 * Parse the text of a memcheck.yml (`source` names it in errors). A YAML syntax error is an error
 * result, as a schema error is; an empty file is the defaults.
 */
export function parseConfigText(text: string, source = CONFIG_PATH): ConfigResult {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    return {
      ok: false,
      error: `Invalid ${source}: ${String((e as Error).message)
        .split("\n")[0]
        .slice(0, 300)}`,
    };
  }
  const r = parseConfig(raw);
  return r.ok || source === CONFIG_PATH ? r : { ok: false, error: r.error.replace(CONFIG_PATH, source) };
}

/** Markdown table of every key and its default, for the README and docs. */
export function defaultsMarkdownTable(): string {
  const d = DEFAULT_CONFIG;
  const rows: [string, string, string][] = [
    ["archs", JSON.stringify(d.archs), `GOARCHes to lay out (any of ${ALL_ARCHS.join(", ")})`],
    ["go", "(from go.mod)", 'the Go release whose standard library layouts assume, e.g. `"1.22"` (docs/modules.md)'],
    [
      "thresholds.sizeClassGrowth",
      String(d.thresholds.sizeClassGrowth),
      "a struct moving to a larger allocator size class is a regression",
    ],
    ["thresholds.paddingGrowth", String(d.thresholds.paddingGrowth), "padding growth in bytes that counts as a regression"],
    ["thresholds.maxPointerDepth", String(d.thresholds.maxPointerDepth), "pointer chains longer than this are a regression"],
    ["thresholds.newCycle", String(d.thresholds.newCycle), "a new pointer cycle is a regression"],
    [
      "ruleThresholds.bindingPointerFields",
      String(d.ruleThresholds.bindingPointerFields),
      "MC131: pointer fields a binding struct needs before it is reported",
    ],
    [
      "ruleThresholds.paddingWaste",
      String(d.ruleThresholds.paddingWaste),
      "MC151: bytes a reorder must save (or drop a size class) to be reported",
    ],
    [
      "ruleThresholds.gcScanGrowth",
      String(d.ruleThresholds.gcScanGrowth),
      "MC161: growth of pointer bytes beyond what the best order would need",
    ],
    ["ignore", JSON.stringify(d.ignore), "path prefixes/segments/globs to skip (`_test.go` and generated files are always skipped)"],
    ["comment", String(d.comment), "post inline review comments"],
    ["suggest", String(d.suggest), "attach GitHub suggestion blocks (the reordered fields) to comments"],
    ["drafts", String(d.drafts), "review draft PRs"],
    ["rules", "{}", "per-rule severity, e.g. `MC151: off`; values `off`, `error`, `warning`, `notice`"],
    ["limits.maxFiles", String(d.limits.maxFiles), "Go files fetched per side"],
    ["limits.maxBytes", String(d.limits.maxBytes), "bytes fetched per side"],
    ["limits.maxFileBytes", String(d.limits.maxFileBytes), "larger files are skipped (and reported)"],
    ["limits.maxPackages", String(d.limits.maxPackages), "packages analysed per side"],
    ["limits.maxComments", String(d.limits.maxComments), "inline comments per review"],
    [
      "hot",
      "[]",
      "types whose size-class/padding regressions fail the check even without evidence of many values (`Name` or `pkg.Name`; `//memcheck:hot` above a struct does the same)",
    ],
    [
      "failOn",
      d.failOn,
      "the lowest finding severity that fails the check: `error`, `warning`, `notice`, or `never` (nothing fails, not even a layout regression); the CLI's `--fail-on` overrides it",
    ],
  ];
  return ["| key | default | meaning |", "|---|---|---|", ...rows.map((r) => `| \`${r[0]}\` | \`${r[1]}\` | ${r[2]} |`)].join("\n");
}
