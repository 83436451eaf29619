// The analysis entry points: source text in, layouts and findings out. No I/O happens here.
import { loadGoGrammar } from "./grammar.ts";
import { parseFile, type FileDecls, type HazardCollector } from "./parse.ts";
import { fileNameSatisfied } from "./buildtags.ts";
import { ModuleMap, fileBaseName, isListedDir, selectFiles, type Module } from "./packages.ts";
import { dirOf, parseGoModFile } from "./gopath.ts";
import { Resolver, Unresolved, buildPackageInfo, type PackageInfo, type PackageSource } from "./types.ts";
import { PointerGraph, pointerEdges } from "./pointers.ts";
import { heldStructs } from "./ripple.ts";
import { populations } from "./population.ts";
import { structLayout } from "./layout.ts";
import { wordSize } from "./sizes.ts";
import { chooseGoVersion, stdlibGoVersion, stdlibKey } from "./stdlib.ts";
import { packageView, settle } from "./rules/summaries.ts";
import {
  DEFAULT_ARCH,
  DEFAULT_GOOS,
  type Analysis,
  type AnalyzeOptions,
  type Arch,
  type Diagnostic,
  type Finding,
  type HeldStruct,
  type PendingFinding,
  type PointerEdge,
  type SourceFile,
  type StructReport,
} from "./model.ts";

export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024;

/** Should this path be parsed at all for these options? Cheap: file names only. */
export function wantsFile(file: string, options: AnalyzeOptions): boolean {
  if (!file.endsWith(".go")) return false;
  // go build never reads testdata/ or directories starting with _ or . (vendor/ still serves imports).
  if (
    file
      .split("/")
      .slice(0, -1)
      .some((p) => p === "testdata" || p.startsWith("_") || (p.startsWith(".") && p !== "."))
  )
    return false;
  const archs = options.archs?.length ? options.archs : [DEFAULT_ARCH];
  const goos = options.goos ?? DEFAULT_GOOS;
  const base = fileBaseName(file);
  return archs.some((goarch) => fileNameSatisfied(base, { goos, goarch }, options.tests ?? false));
}

/** Why a file's text cannot be analysed (too big, binary), or undefined when it can. */
export function rejectText(file: string, text: string, options: AnalyzeOptions): string | undefined {
  const max = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  if (text.length > max) return `skipped: ${text.length} bytes is over the ${max}-byte limit per file`;
  if (text.indexOf("\u0000") >= 0) return "skipped: binary content";
  const run = longestCommentRun(text);
  if (run > MAX_COMMENT_RUN) return `skipped: ${run} comments in a row (over ${MAX_COMMENT_RUN}), which the parser cannot handle`;
  return undefined;
}

/**
 * Thousands of comments in a row inside an expression crash tree-sitter's wasm (a trap that leaves
 * the instance unusable: found by the fuzzer, reproduced with 2,854 `//x` lines inside an array
 * length). Real Go never comes close; a file past this is skipped, with the reason.
 */
export const MAX_COMMENT_RUN = 1000;

/** The longest run of consecutive comments (comment-only lines, and comments on one line). Linear. */
function longestCommentRun(text: string): number {
  if (text.length < MAX_COMMENT_RUN * 4) return 0; // each comment takes at least 4 characters (/**/ or //\n)
  let best = 0;
  let run = 0;
  let start = 0;
  let nextBlock = text.indexOf("/*");
  while (start <= text.length) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    let i = start;
    while (i < end && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9 || text.charCodeAt(i) === 13)) i++;
    let n = 0; // block comments on this line (the next "/*" is found once per occurrence: linear)
    if (nextBlock >= 0 && nextBlock < i) nextBlock = text.indexOf("/*", i);
    while (nextBlock >= 0 && nextBlock < end) {
      n++;
      nextBlock = text.indexOf("/*", nextBlock + 2);
    }
    if (text.startsWith("//", i)) run += 1 + n;
    else if (text.startsWith("/*", i)) run += n;
    else if (i < end) run = n; // code first: only the comments after it on this line
    if (run > best) best = run;
    start = end + 1;
  }
  return best;
}

/** The declarations of a file that was not parsed: empty, with the reason as a diagnostic. */
export function skippedDecls(file: SourceFile, message: string): FileDecls {
  return {
    path: file.path,
    packageName: "",
    imports: [],
    constraint: { plusBuild: [] },
    types: [],
    consts: [],
    vars: [],
    diagnostics: [{ file: file.path, message }],
    hazards: [],
    bytes: file.text.length,
  };
}

/** Parse one file, or describe why it was skipped. */
export function parseSource(file: SourceFile, options: AnalyzeOptions, hazards?: HazardCollector): FileDecls {
  const why = rejectText(file.path, file.text, options);
  if (why) return skippedDecls(file, why);
  return parseFile(file.path, file.text, hazards);
}

/** Analyse source files held in memory: the whole pipeline in one call. */
export async function analyzeFiles(files: SourceFile[], options: AnalyzeOptions = {}, hazards?: HazardCollector): Promise<Analysis> {
  await loadGoGrammar();
  const started = performance.now();
  const modules = files.filter((f) => f.path === "go.mod" || f.path.endsWith("/go.mod")).flatMap((f) => moduleOf(f));
  const parsed = files.filter((f) => wantsFile(f.path, options)).map((f) => parseSource(f, options, options.rules ? hazards : undefined));
  const analysis = analyzeParsed(parsed, modules, options);
  analysis.stats.parseMs = Math.round(performance.now() - started - analysis.stats.layoutMs);
  return analysis;
}

export function moduleOf(goMod: SourceFile): Module[] {
  const f = parseGoModFile(goMod.text);
  if (!f.module) return [];
  return [{ dir: dirOf(goMod.path), path: f.module, ...(f.go ? { go: f.go } : {}), ...(f.toolchain ? { toolchain: f.toolchain } : {}) }];
}

/**
 * Packages from outside the tree (other modules), loaded by the engine when a layout needs them.
 * They serve imports only: their structs are not reported and their diagnostics are dropped.
 */
export interface ExternalPackages {
  /** Parsed files of each loaded package directory, by import path (unfiltered: selection is per arch). */
  packages: Map<string, FileDecls[]>;
  /** Import paths that could not be loaded, with the reason (it goes into the unresolved note). */
  unavailable: Map<string, string>;
  /** Filled by analyzeParsed: import paths a layout needed that are in neither map. */
  wanted: Set<string>;
  /** Prefer these to the tree's vendor/ folders (not in -mod=vendor mode). Default true. */
  beforeVendor?: boolean;
  /**
   * Only find what is wanted: the engine's intermediate rounds skip findings and populations (the
   * analysis they return is incomplete and thrown away).
   */
  discoverOnly?: boolean;
}

/** Build every struct's layout from parsed declarations, for every requested arch. */
export function analyzeParsed(
  parsed: FileDecls[],
  modules: Module[],
  options: AnalyzeOptions = {},
  externals?: ExternalPackages,
): Analysis {
  const started = performance.now();
  const archs: Arch[] = options.archs?.length ? [...new Set(options.archs)] : [DEFAULT_ARCH];
  const goos = options.goos ?? DEFAULT_GOOS;
  const moduleMap = new ModuleMap(modules);
  const mainModule = modules.find((m) => m.dir === ".") ?? modules[0];
  const go = chooseGoVersion({ pin: options.go, toolchain: mainModule?.toolchain, go: mainModule?.go });
  const diagnostics: Diagnostic[] = parsed.flatMap((f) => f.diagnostics);

  const byDir = new Map<string, FileDecls[]>();
  for (const f of parsed) {
    const d = dirOf(f.path);
    let list = byDir.get(d);
    if (!list) byDir.set(d, (list = []));
    list.push(f);
  }

  // Archs that select the same files everywhere, with the same word size and exactly the same stdlib
  // layouts, share one resolution.
  const groups = new Map<string, { archs: Arch[]; selection: Map<string, FileDecls[]>; external: Map<string, FileDecls[]> }>();
  for (const arch of archs) {
    const selection = new Map<string, FileDecls[]>();
    const sig: string[] = [String(wordSize(arch)), stdlibKey(arch, go)];
    for (const [dir, files] of byDir) {
      const chosen = selectFiles(files, { goos, goarch: arch }, options.tests ?? false, arch === archs[0] ? diagnostics : undefined);
      selection.set(dir, chosen);
      sig.push(dir + ":" + chosen.map((f) => f.path).join(","));
    }
    const external = new Map<string, FileDecls[]>();
    for (const [importPath, files] of externals?.packages ?? []) {
      const chosen = selectFiles(files, { goos, goarch: arch }, false);
      external.set(importPath, chosen);
      sig.push(`@${importPath}:${chosen.map((f) => f.path).join(",")}`);
    }
    const key = sig.join("|");
    const g = groups.get(key);
    if (g) g.archs.push(arch);
    else groups.set(key, { archs: [arch], selection, external });
  }

  const reports = new Map<string, StructReport>();
  const holds: Record<string, HeldStruct[]> = {};
  const edges: Record<string, PointerEdge[]> = {};
  for (const { archs: groupArchs, selection, external } of groups.values()) {
    const packages = new Map<string, PackageInfo>();
    const packageOfDir = (dir: string): PackageInfo | undefined => {
      let p = packages.get(dir);
      if (!p) {
        const files = selection.get(dir);
        if (!files || files.length === 0) return undefined;
        p = buildPackageInfo(dir, moduleMap.importPathOf(dir), files);
        packages.set(dir, p);
      }
      return p;
    };
    const externalInfo = new Map<string, PackageInfo | null>();
    const externalPackage = (importPath: string): PackageInfo | undefined => {
      let p = externalInfo.get(importPath);
      if (p === undefined) {
        const files = external.get(importPath);
        p = files?.length ? buildPackageInfo(`@${importPath}`, importPath, files) : null;
        externalInfo.set(importPath, p);
      }
      return p ?? undefined;
    };
    const beforeVendor = externals?.beforeVendor ?? true;
    const source: PackageSource = {
      packageByPath: (importPath) => {
        for (const dir of moduleMap.moduleDirsFor(importPath)) {
          const p = packageOfDir(dir);
          if (p) return p;
        }
        if (beforeVendor) {
          const p = externalPackage(importPath);
          if (p) return p;
        }
        for (const dir of moduleMap.vendorDirsFor(importPath)) {
          const p = packageOfDir(dir);
          if (p) return p;
        }
        return beforeVendor ? undefined : externalPackage(importPath);
      },
      missing: (importPath) => {
        if (!externals) return undefined;
        const why = externals.unavailable.get(importPath);
        if (why !== undefined) return why;
        if (!externals.packages.has(importPath)) externals.wanted.add(importPath);
        return undefined;
      },
    };
    const resolver = new Resolver(groupArchs[0], wordSize(groupArchs[0]), source, go);
    const graph = new PointerGraph();
    for (const dir of selection.keys()) {
      if (!isListedDir(dir)) continue;
      const pkg = packageOfDir(dir);
      if (!pkg) continue;
      for (const [name, { spec, file }] of pkg.types) {
        if (spec.alias) continue;
        const key = `${file.path}:${spec.line}:${name}`;
        const entry = (): StructReport => {
          let r = reports.get(key);
          if (!r) {
            r = {
              package: pkg.importPath,
              dir,
              file: file.path,
              line: spec.line,
              name,
              generic: spec.typeParams.length > 0,
              resolved: false,
              unresolved: [],
              layouts: {},
              ...(spec.source ? { source: spec.source } : {}),
              ...(file.generated ? { generated: true } : {}),
            };
            reports.set(key, r);
          }
          return r;
        };
        if (spec.typeParams.length > 0) {
          if (spec.type.k === "struct") entry();
          continue;
        }
        try {
          const t = resolver.resolveNamed(pkg, spec, file, []);
          if (t.kind !== "struct") continue;
          const layout = structLayout(name, t, graph);
          const r = entry();
          const skey = `${pkg.importPath}.${name}`;
          if (!(skey in holds)) {
            const held = heldStructs(t);
            if (held.length) holds[skey] = held;
            const pe = layout.ptrBytes > 0 ? pointerEdges(t) : [];
            if (pe.length) edges[skey] = pe;
          }
          for (const arch of groupArchs) r.layouts[arch] = layout;
        } catch (err) {
          if (!(err instanceof Unresolved)) throw err;
          // A struct type (spec.source is set for struct syntax, even when it failed to parse).
          if (spec.type.k !== "struct" && !spec.source) continue;
          const r = entry();
          for (const n of err.names) if (!r.unresolved.includes(n)) r.unresolved.push(n);
        }
      }
    }
  }

  const structs = [...reports.values()].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line));
  for (const s of structs) {
    // Archs whose build does not include the file are not "unresolved"; only those that include it count.
    s.resolved = !s.generic && s.unresolved.length === 0 && Object.keys(s.layouts).length > 0;
  }
  if (externals?.discoverOnly) {
    return {
      schema: "memcheck.layout/v1",
      goos,
      archs,
      structs,
      diagnostics,
      findings: [],
      population: {},
      stats: { files: parsed.length, bytes: 0, parseMs: 0, layoutMs: 0 },
    };
  }
  const findings = settleHazards(
    settle(
      parsed.flatMap((f) => f.hazards),
      packageView(parsed, (p) => moduleMap.dirsFor(p)),
    ),
    structs,
  );
  const population = Object.fromEntries(populations(parsed, structs));
  return {
    population,
    holds,
    pointerEdges: edges,
    schema: "memcheck.layout/v1",
    go: stdlibGoVersion(go),
    goos,
    archs,
    structs,
    diagnostics,
    findings,
    stats: {
      files: parsed.length,
      bytes: parsed.reduce((n, f) => n + f.bytes, 0),
      parseMs: 0,
      layoutMs: Math.round(performance.now() - started),
    },
  };
}

/** Keep pending hazard findings whose package-level condition holds. */
function settleHazards(pending: PendingFinding[], structs: StructReport[]): Finding[] {
  const out: Finding[] = [];
  for (const p of pending) {
    const { requiresPointerStruct, ...finding } = p;
    if (requiresPointerStruct) {
      const dir = dirOf(p.file);
      const s = structs.find((x) => x.dir === dir && x.name === requiresPointerStruct);
      const layout = s && Object.values(s.layouts)[0];
      if (!layout || layout.ptrBytes === 0) continue;
    }
    out.push(finding);
  }
  return out;
}
