// The standard library types that structs commonly hold, per arch, generated from Go itself by
// tools/gosizes (see scripts/ and docs/verification.md). Never typed by hand.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
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

interface StdlibTable {
  schema: string;
  goVersion: string;
  types: Record<string, StdlibType>;
  consts?: Record<string, string>;
  /** Constants whose value depends on the arch (math.MaxInt, strconv.IntSize...). */
  archConsts?: Record<string, Partial<Record<Arch, string>>>;
}

let table: StdlibTable | undefined;

function load(): StdlibTable {
  if (!table) {
    try {
      const file = path.join(packageRoot, "src", "analysis", "stdlib-table.json");
      table = JSON.parse(readFileSync(file, "utf8")) as StdlibTable;
    } catch {
      table = { schema: "memcheck.stdlib/v1", goVersion: "none", types: {} };
    }
  }
  return table;
}

/** A stdlib type by import path and name, e.g. ("sync/atomic", "Int64"). */
export function stdlibType(importPath: string, name: string): StdlibType | undefined {
  return load().types[`${importPath}.${name}`];
}

/** An integer constant of the standard library, e.g. ("crypto/sha256", "Size"). */
export function stdlibConst(importPath: string, name: string, arch: Arch): bigint | undefined {
  const key = `${importPath}.${name}`;
  const t = load();
  const v = t.archConsts?.[key]?.[arch] ?? t.consts?.[key];
  return v === undefined ? undefined : BigInt(v);
}

export function stdlibGoVersion(): string {
  return load().goVersion;
}

/** Standard library import paths have no dot in their first element. */
export function isStdlibPath(importPath: string): boolean {
  const first = importPath.split("/")[0];
  return !first.includes(".") && importPath !== "C";
}

const layoutKeys = new Map<Arch, string>();

/**
 * A digest of every stdlib layout and constant for one arch. Archs with equal digests (mips and
 * mipsle, for instance) see the same standard library; amd64 and arm64 do not (syscall types).
 */
export function stdlibKey(arch: Arch): string {
  let key = layoutKeys.get(arch);
  if (key === undefined) {
    const t = load();
    const h = createHash("sha1");
    for (const [name, type] of Object.entries(t.types)) h.update(`${name}=${JSON.stringify(type.layouts[arch] ?? null)};`);
    for (const [name, values] of Object.entries(t.archConsts ?? {})) h.update(`${name}=${values[arch] ?? ""};`);
    key = h.digest("hex");
    layoutKeys.set(arch, key);
  }
  return key;
}
