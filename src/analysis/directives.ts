// Suppression comments: memcheck's own (`//memcheck:ignore [MC1xx]`, `//memcheck:keep-order`,
// `//memcheck:hot`) and golangci-lint's `//nolint`, read the way golangci-lint users expect:
// - `//nolint` and `//nolint:memcheck` silence every memcheck rule (a bare `memcheck:ignore`);
// - `//nolint:fieldalignment` silences what fieldalignment would say: MC151 (padding waste) and the
//   reorder itself (no suggestion, `memcheck fix` leaves the struct alone);
// - `//nolint:otherlinter` is not about memcheck and changes nothing.
// Pure.

const MEMCHECK = /\/\/\s*memcheck:([a-z-]+(?:\s+[A-Z]{2}\d{3}(?:\s*,\s*[A-Z]{2}\d{3})*)?)/;
// golangci-lint: `//nolint`, `//nolint:a,b`, optionally followed by ` // why`.
const NOLINT = /^\/\/\s?nolint(?::([\w-]+(?:,[\w-]+)*))?(?=$|[\s/])/;

/** The linters a `//nolint` comment names ([] for a bare `//nolint`), or undefined when it is none. */
export function nolintLinters(comment: string): string[] | undefined {
  const m = NOLINT.exec(comment.trim());
  if (!m) return undefined;
  return m[1] ? m[1].split(",").map((s) => s.trim().toLowerCase()) : [];
}

/** The rule ids a `//nolint` comment silences: "*" for all, MC151 for fieldalignment. */
export function nolintIds(comment: string): Set<string> | undefined {
  const linters = nolintLinters(comment);
  if (!linters) return undefined;
  if (linters.length === 0 || linters.includes("memcheck")) return new Set(["*"]);
  if (linters.includes("fieldalignment")) return new Set(["MC151"]);
  return undefined;
}

/**
 * The memcheck directives one comment carries, in memcheck's own spelling ("ignore", "ignore MC151",
 * "keep-order", "hot"): a `//nolint` comment is translated.
 */
export function directivesIn(comment: string): string[] {
  const m = MEMCHECK.exec(comment);
  if (m) return [m[1].trim()];
  const linters = nolintLinters(comment);
  if (!linters) return [];
  if (linters.length === 0 || linters.includes("memcheck")) return ["ignore"];
  if (linters.includes("fieldalignment")) return ["ignore MC151", "keep-order"];
  return [];
}
