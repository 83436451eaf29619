// The data model shared by every stage: parse -> resolve -> layout -> diff -> report.
// Pure types only; no behaviour lives here.

/** gc's architectures. Layouts depend on word size and max alignment (see sizes.ts). */
export const ALL_ARCHS = [
  "386",
  "amd64",
  "arm",
  "arm64",
  "loong64",
  "mips",
  "mipsle",
  "mips64",
  "mips64le",
  "ppc64",
  "ppc64le",
  "riscv64",
  "s390x",
  "wasm",
] as const;
export type Arch = (typeof ALL_ARCHS)[number];
export const DEFAULT_ARCH: Arch = "amd64";
export const DEFAULT_GOOS = "linux";

/** One source file, path relative to the snapshot root, always with forward slashes. */
export interface SourceFile {
  path: string;
  text: string;
}

/**
 * Where analysis input comes from. The CLI reads a directory or a git revision; the worker
 * reads GitHub trees and blobs. The analysis never knows which.
 */
export interface Snapshot {
  /** Human-readable origin: a directory, "HEAD~1", "owner/repo@sha". */
  label: string;
  /** Every file path (relative, forward slashes) the analysis may read. */
  paths(): Promise<string[]>;
  /** The text of one file. Rejects if the file cannot be read. */
  read(path: string): Promise<string>;
  /** A content hash (git blob SHA) when known, used to cache parsed declarations. */
  hash?(path: string): string | undefined;
}

export interface AnalyzeOptions {
  archs?: Arch[];
  goos?: string;
  /** Include _test.go files. */
  tests?: boolean;
  /** Run the hazard rules (MC1xx) over function bodies. */
  rules?: boolean;
  /** Limits that protect the engine from hostile input. */
  maxFileBytes?: number;
  /** Pin the Go release whose standard library layouts assume ("1.22"); default: chosen from go.mod. */
  go?: string;
}

export interface FieldLayout {
  /** Field name; an embedded field is named by its type name; blank fields are "_". */
  name: string;
  /** The field's type as written in the source, e.g. "*Node", "[4]byte", "sync.Mutex". */
  type: string;
  offset: number;
  size: number;
  align: number;
  /** Go's ptrdata for the field's type: the prefix the GC must scan. */
  ptrBytes: number;
  embedded?: boolean;
}

export interface StructLayout {
  size: number;
  align: number;
  /** Internal plus trailing padding, in bytes. */
  padding: number;
  trailingPadding: number;
  /** Go's ptrdata for the struct: the prefix of it that the GC scans. */
  ptrBytes: number;
  /** The allocator size class new(T) lands in (0 for zero-size types). */
  sizeClass: number;
  optimalSize: number;
  optimalPtrBytes: number;
  /** Field names in the suggested order (fieldalignment's sort). */
  optimalOrder: string[];
  /** Longest chain of pointer hops; undefined-free: 0 when the struct reaches no pointer. */
  pointerDepth: number;
  /** True when the struct reaches a pointer cycle (is on one, or points into one): its depth is unbounded. */
  cyclic: boolean;
  /**
   * Canonical keys of the struct types on the pointer cycle this struct is on or reaches; one key
   * is a self-recursive list or tree. Set only when cyclic.
   */
  cycle?: string[];
  /** e.g. ["Order", "*Customer", "*Address"]; for a cycle, the path back to its start. */
  pointerChain: string[];
  /** Number of fields whose type holds pointers. */
  pointerFields: number;
  fields: FieldLayout[];
}

/** Source positions of a struct declaration, for suggestions that rewrite it. */
export interface StructSource {
  /** 1-based line of the `type` keyword's spec (the name line). */
  line: number;
  /** 1-based lines of the opening `{` and closing `}` of the struct body. */
  openLine: number;
  closeLine: number;
  /**
   * One entry per field declaration line group, in source order: the lines from the first
   * leading doc comment down to the field's last line (including its trailing comment).
   * `names` lists the field names that declaration introduces (`a, b int` gives ["a","b"]).
   */
  fieldGroups: { names: string[]; startLine: number; endLine: number; text: string }[];
  /** `//memcheck:keep-order` or `//memcheck:ignore` directives found on or above the type. */
  directives: string[];
}

export interface StructReport {
  /** Import path when a go.mod is found, else the directory. */
  package: string;
  /** Directory relative to the snapshot root ("." for the root). */
  dir: string;
  file: string;
  line: number;
  name: string;
  generic: boolean;
  /** Its file carries Go's generated-code marker (`// Code generated ... DO NOT EDIT.` before the package clause). */
  generated?: boolean;
  /**
   * True when the struct has a layout on every requested arch whose build includes its file (a
   * type in t_amd64.go is not "unresolved" on 386), and it is neither generic nor unresolved.
   */
  resolved: boolean;
  /** What could not be resolved, e.g. "github.com/x/y.Z", "recursive type T". */
  unresolved: string[];
  layouts: Partial<Record<Arch, StructLayout>>;
  source?: StructSource;
}

export type Severity = "error" | "warning" | "notice";

/** A problem with the input itself (syntax errors, skipped files, cycles). Never a crash. */
export interface Diagnostic {
  file: string;
  line?: number;
  message: string;
}

/** A finding of a hazard rule (MC1xx). */
export interface Finding {
  rule: string;
  severity: Severity;
  file: string;
  line: number;
  endLine?: number;
  message: string;
  /** A safe fix: replacement text for lines [line, endLine] (a GitHub suggestion block). */
  suggestion?: { startLine: number; endLine: number; text: string };
  /** Struct rules: how many values the struct has, with the evidence (set by the review core, src/review/impact.ts). */
  impact?: { level: PopulationLevel; evidence: string };
  /** Shown in the check summary only, never inline: a struct notice without evidence of many values. */
  summaryOnly?: boolean;
}

export interface Analysis {
  schema: "memcheck.layout/v1";
  /** The Go release whose standard library the layouts assume, e.g. "go1.27.3". */
  go?: string;
  goos: string;
  archs: Arch[];
  structs: StructReport[];
  diagnostics: Diagnostic[];
  findings: Finding[];
  /** How many values each struct type has, by `${package}.${name}` (see population.ts). */
  population?: Record<string, Population>;
  /**
   * The structs each struct holds by value (directly, through arrays, anonymous structs or generic
   * instantiations), by struct key: what a change ripples through (see ripple.ts). Not in the
   * layout JSON.
   */
  holds?: Record<string, HeldStruct[]>;
  /** The pointer hops from each struct to the named struct types it reaches (pointers.ts). */
  pointerEdges?: Record<string, PointerEdge[]>;
  stats: {
    files: number;
    bytes: number;
    parseMs: number;
    layoutMs: number;
    /** Packages of other modules loaded for layouts (when module resolution is on). */
    modules?: { packages: number; unavailable: number; rounds: number; ms: number };
  };
}

/** A struct held by value in another: `Env Envelope` gives { field: "Env", type: "m/b.Envelope" }. */
export interface HeldStruct {
  /** The field path inside the holder ("Env", "Items[]", "Inner.Hdr"). */
  field: string;
  /** The held struct's canonical key (import path and name). */
  type: string;
}

/** One pointer edge of the type graph: `cust *Customer` from Order to Customer. */
export interface PointerEdge {
  /** The field path inside the struct ("Cust", "Lines[]", "Meta.Owner"). */
  field: string;
  /** The hop as written ("*Customer", "[]*Node", "map[string]*T"). */
  label: string;
  /** Hops the GC follows along this edge (`[]*T` is 2; 0 for a struct held by value). */
  hops: number;
  /** The target struct's canonical key. */
  to: string;
}

/** Why a struct changed without its own fields changing: it holds a changed struct by value. */
export interface Ripple {
  /** Struct keys from this struct down to the one the PR changed: [Message, Envelope, Header]. */
  keys: string[];
  /** Type names along the chain, package-qualified where the package changes. */
  chain: string[];
  /** The field taken at each step (one fewer than `keys`). */
  fields: string[];
}

/** A bounded graph of a struct's pointer chains, head side, with what is new against the base. */
export interface PointerMap {
  root: string;
  nodes: { key: string; label: string; depth: number; new?: boolean }[];
  edges: { from: number; to: number; field: string; label: string; byValue?: boolean; new?: boolean; cycle?: boolean }[];
  /** Types and edges reachable but left out by the bounds. */
  moreNodes: number;
  moreEdges: number;
  /** Pointer depth and cycle on the head and base side (first arch where it changed). */
  arch: Arch;
  depth: { before?: number; after: number };
  cyclic: { before?: boolean; after: boolean };
}

/** Hazard-rule output before package-level facts are known (see rules/index.ts). */
export interface PendingFinding extends Finding {
  /**
   * Keep the finding only if this package-local named type is a struct that holds pointers
   * (ptrBytes > 0 on the first analysed arch). Used by MC111, whose Put'd type may be declared
   * in another file of the package.
   */
  requiresPointerStruct?: string;
  /** Conditions on package-wide facts (function summaries, pools, middleware): see rules/summaries.ts. */
  requires?: Requires;
}

/** Frameworks whose handlers a body-limit middleware covers. */
export type Framework = "http" | "gin" | "echo";

/** A call handing a parameter on: the callee's key (`name`, `.method`, `import/path.Name`) and the argument position. */
export interface CallEdge {
  callee: string;
  arg: number;
}

/** What a pending finding waits on; every part present must hold for it to be reported. */
export interface Requires {
  /** Report only if this call reads the argument whole with no bound (`{via}` in the message is filled in). */
  sink?: CallEdge;
  /** Drop if any of these calls bounds its argument (a helper that limits the body first). */
  unlessBound?: CallEdge[];
  /** Drop if a body-limit middleware for this framework exists in the module. */
  unlessLimited?: Framework;
  /** Report only if this name (a variable, or a field when `field`) is a sync.Pool in the package. */
  pool?: { name: string; field: boolean };
}

/** Thresholds that turn a change into a regression. Defaults live in diff.ts. */
export interface Thresholds {
  /** Any growth of the allocator size class. */
  sizeClassGrowth: boolean;
  /** Padding growth, in bytes, that counts (default 8). */
  paddingGrowth: number;
  /** Pointer depth beyond this counts (default 4). */
  maxPointerDepth: number;
  /** A new pointer cycle counts. */
  newCycle: boolean;
}

export type ChangeKind = "added" | "removed" | "changed" | "unchanged";

export interface ArchDelta {
  before?: StructLayout;
  after?: StructLayout;
  size: number;
  padding: number;
  ptrBytes: number;
  pointerDepth: number;
  sizeClassBefore: number;
  sizeClassAfter: number;
}

export interface FieldChange {
  name: string;
  kind: "added" | "removed" | "moved" | "retyped";
  before?: string;
  after?: string;
}

export interface Regression {
  arch: Arch;
  kind: "size-class" | "padding" | "pointer-depth" | "new-cycle";
  message: string;
  /** What the fail policy (src/review/conclusion.ts) weighs, found by the diff. */
  facts?: RegressionFacts;
  /** Why it fails the check, or why it is only a notice, with evidence (set by the fail policy). */
  reason?: string;
}

export interface RegressionFacts {
  /** The struct is new in this change. */
  added?: boolean;
  /** The struct had no size on the base side (a zero-size struct gained its first field). */
  fromZero?: boolean;
  /**
   * pointer-depth: the base side was already beyond the limit, or the struct sat on a chain that
   * was (its parent's): only an existing chain grew.
   */
  preexisting?: boolean;
  /** new-cycle: the cycle runs through one struct type only (a linked list or tree). */
  selfCycle?: boolean;
  /** new-cycle: the base side already had this cycle; the struct only gained a path into it. */
  knownCycle?: boolean;
}

/** How many values of a struct type the code suggests live at once (src/analysis/population.ts). */
export type PopulationLevel = "many" | "few" | "one";

export interface PopulationEvidence {
  kind: "container" | "loop" | "handler" | "pool" | "held" | "hot" | "package-var" | "main-init" | "singleton-name";
  /** e.g. "`[]Order`", "`&Order{}` per request", "held by value in `Batch`". */
  text: string;
  file: string;
  line: number;
}

export interface Population {
  level: PopulationLevel;
  evidence: PopulationEvidence[];
}

export interface StructDiff {
  /** `${package}.${name}` */
  key: string;
  package: string;
  name: string;
  /** File and line on the head side (base side for removed structs). */
  file: string;
  line: number;
  kind: ChangeKind;
  base?: StructReport;
  head?: StructReport;
  deltas: Partial<Record<Arch, ArchDelta>>;
  fieldChanges: FieldChange[];
  regressions: Regression[];
  /** Regressions the fail policy reports without failing (set by src/review/conclusion.ts). */
  notices?: Regression[];
  /** Set when the struct changed only because it holds a changed struct by value (ripple.ts). */
  ripple?: Ripple;
  /** The struct's pointer graph, when its pointer depth or cycles changed. */
  pointerMap?: PointerMap;
}

export interface Diff {
  archs: Arch[];
  /** Every struct that is added, removed or changed; unchanged ones are left out. */
  structs: StructDiff[];
  regressions: Regression[];
  /** Head structs that could not be resolved, and head diagnostics. */
  unresolved: StructReport[];
  diagnostics: Diagnostic[];
  /** Hazard findings on the head side. */
  findings: Finding[];
  /** Regressions reported as notices, not failures (set by the fail policy). */
  notices?: Regression[];
  /** The fail policy that sorted regressions from notices, when one ran. */
  policy?: "default" | "legacy";
  /** The Go release whose standard library the head's layouts assume, e.g. "go1.27.3". */
  go?: string;
}
