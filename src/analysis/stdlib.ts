// The standard library types that structs commonly hold, per arch and per Go release, generated from
// Go itself by tools/gosizes (scripts/gen-stdlib.sh; docs/verification.md). Never typed by hand.
// stdlib-table.json is the base release (Go 1.19); each stdlib-go1.NN.json is a newer release as a
// delta over it (types and constants added or changed, and those removed), generated with that
// release's compiler. docs/modules.md says how a module's release is chosen.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { packageRoot } from "./package-root.ts";
import type { Arch } from "./model.ts";

export interface StdlibLayout {
  size: number;
  align: number;
  ptrBytes: number;
  /** Per field: [offset, size, align, ptrBytes], in the order of StdlibType.fields. */
  fields?: [number, number, number, number][];
}

export interface StdlibType {
  /** The underlying kind: struct, interface, pointer, slice, map, chan, func, string, basic, array, unsafe.Pointer. */
  kind: string;
  generic?: boolean;
  fields?: { name: string; type: string }[];
  note?: string;
  layouts: Partial<Record<Arch, StdlibLayout>>;
}

export interface StdlibTable {
  schema: string;
  goVersion: string;
  packages?: string[];
  types: Record<string, StdlibType>;
  consts?: Record<string, string>;
  /** Constants whose value depends on the arch (math.MaxInt, strconv.IntSize...). */
  archConsts?: Record<string, Partial<Record<Arch, string>>>;
}

/** A newer release over the base: what it adds or changes, and what it no longer has. */
export interface StdlibDelta extends StdlibTable {
  base: string;
  removedTypes?: string[];
  removedConsts?: string[];
}

const DIR = path.join(packageRoot, "src", "analysis");
const DELTA = /^stdlib-go(1\.\d+)\.json$/;

let base: StdlibTable | undefined;
const tables = new Map<string, StdlibTable>();

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path.join(DIR, file), "utf8")) as T;
  } catch {
    return undefined;
  }
}

function loadBase(): StdlibTable {
  base ??= readJson<StdlibTable>("stdlib-table.json") ?? { schema: "memcheck.stdlib/v1", goVersion: "none", types: {} };
  return base;
}

/** "go1.27.3" or "1.27" -> "1.27". */
export function goMinor(v: string): string | undefined {
  const m = /^(?:go)?(\d+)\.(\d+)/.exec(v.trim());
  return m ? `${m[1]}.${m[2]}` : undefined;
}

function minorNumber(v: string): number {
  const [maj, min] = v.split(".").map(Number);
  return maj * 1000 + min;
}

let versions: string[] | undefined;

/** The Go releases memcheck has standard-library tables for, oldest first ("1.19", ..., "1.27"). */
export function stdlibVersions(): string[] {
  if (!versions) {
    const found = new Set<string>();
    const b = goMinor(loadBase().goVersion);
    if (b) found.add(b);
    try {
      for (const f of readdirSync(DIR)) {
        const m = DELTA.exec(f);
        if (m) found.add(m[1]);
      }
    } catch {
      // no asset folder: the base only
    }
    versions = [...found].sort((a, b2) => minorNumber(a) - minorNumber(b2));
  }
  return versions;
}

/** The table of one release (a supported "1.NN"); the base table for anything else. */
export function stdlibTable(go?: string): StdlibTable {
  const b = loadBase();
  const minor = go ? goMinor(go) : undefined;
  if (!minor || minor === goMinor(b.goVersion)) return b;
  let t = tables.get(minor);
  if (!t) {
    const d = readJson<StdlibDelta>(`stdlib-go${minor}.json`);
    if (!d) return b;
    const types = { ...b.types, ...d.types };
    for (const n of d.removedTypes ?? []) delete types[n];
    const consts = { ...b.consts, ...d.consts };
    const archConsts = { ...b.archConsts, ...d.archConsts };
    for (const n of d.removedConsts ?? []) {
      delete consts[n];
      delete archConsts[n];
    }
    t = { schema: b.schema, goVersion: d.goVersion, packages: d.packages, types, consts, archConsts };
    tables.set(minor, t);
  }
  return t;
}

/**
 * The release whose standard library the layouts assume: a pin (`--go`, `go:` in the config, or the
 * go.mod `toolchain` directive) picks that release, or the newest supported one older than it; else
 * the newest supported release, which satisfies any `go` directive up to it (Go builds a module with
 * the newest local toolchain that is at least its `go` version).
 */
export function chooseGoVersion(o: { pin?: string; toolchain?: string; go?: string }): string {
  const all = stdlibVersions();
  const newest = all[all.length - 1] ?? "1.19";
  const want = goMinor(o.pin ?? "") ?? goMinor(o.toolchain ?? "");
  if (want) {
    const older = all.filter((v) => minorNumber(v) <= minorNumber(want));
    return older[older.length - 1] ?? all[0] ?? newest;
  }
  return newest;
}

/** A stdlib type by import path and name, e.g. ("sync/atomic", "Int64"), in one release's table. */
export function stdlibType(importPath: string, name: string, go?: string): StdlibType | undefined {
  return stdlibTable(go).types[`${importPath}.${name}`];
}

/** An integer constant of the standard library, e.g. ("crypto/sha256", "Size"). */
export function stdlibConst(importPath: string, name: string, arch: Arch, go?: string): bigint | undefined {
  const key = `${importPath}.${name}`;
  const t = stdlibTable(go);
  const v = t.archConsts?.[key]?.[arch] ?? t.consts?.[key];
  return v === undefined ? undefined : BigInt(v);
}

/** The exact release a table was generated with, e.g. "go1.27.3". */
export function stdlibGoVersion(go?: string): string {
  return stdlibTable(go).goVersion;
}

/** Standard library import paths have no dot in their first element. */
export function isStdlibPath(importPath: string): boolean {
  const first = importPath.split("/")[0];
  return !first.includes(".") && importPath !== "C";
}

const layoutKeys = new Map<string, string>();

/**
 * A digest of every stdlib layout and constant for one arch. Archs with equal digests (mips and
 * mipsle, for instance) see the same standard library; amd64 and arm64 do not (syscall types).
 */
export function stdlibKey(arch: Arch, go?: string): string {
  const t = stdlibTable(go);
  const id = `${t.goVersion}/${arch}`;
  let key = layoutKeys.get(id);
  if (key === undefined) {
    const h = createHash("sha1");
    for (const [name, type] of Object.entries(t.types)) h.update(`${name}=${JSON.stringify(type.layouts[arch] ?? null)};`);
    for (const [name, values] of Object.entries(t.archConsts ?? {})) h.update(`${name}=${values[arch] ?? ""};`);
    key = h.digest("hex");
    layoutKeys.set(id, key);
  }
  return key;
}
