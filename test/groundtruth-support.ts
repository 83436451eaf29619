// Shared helpers for the ground-truth tests: build and run tools/gosizes (the go/types oracle)
// and memcheck's own CLI, and compare their memcheck.layout/v1 outputs.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { StructLayout, StructReport } from "../src/analysis/model.ts";

export const ROOT = resolve(import.meta.dirname, "..");
export const FIXTURES = join(ROOT, "test", "fixtures");

/** The torture corpus: fixtures that compile (the compiler test builds these). */
export const VALID_FIXTURES = ["layouts", "buildtags", "consts", "generics", "multipkg", "stdtypes", "edge", "nested", "vendored"];
/** Fixtures that are meant not to compile: both tools must survive them. */
export const INVALID_FIXTURES = ["invalid"];
export const ALL_FIXTURES = [...VALID_FIXTURES, ...INVALID_FIXTURES];

export interface LayoutOutput {
  schema: string;
  goos: string;
  archs: string[];
  structs: StructReport[];
}

/** Offline Go environment: no module proxy, no network, no cgo, no workspace files. */
export function goEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, GOFLAGS: "-mod=mod", GOPROXY: "off", GOWORK: "off", CGO_ENABLED: "0", GOTOOLCHAIN: "local", ...extra };
}

/** -mod=vendor when the module vendors its dependencies, else -mod=mod. */
export function modFlag(moduleDir: string): string {
  return existsSync(join(moduleDir, "vendor", "modules.txt")) ? "-mod=vendor" : "-mod=mod";
}

export function haveGo(): boolean {
  return spawnSync("go", ["version"], { encoding: "utf8" }).status === 0;
}

/** qemu-user's name for a GOARCH, for hosts that cannot run that arch's binaries natively. */
const QEMU: Record<string, string> = { "386": "qemu-i386", arm: "qemu-arm", arm64: "qemu-aarch64" };

/**
 * Runs a probe built with GOARCH=arch and returns its stdout. Natively when the host can (a 386
 * binary on an x86-64 kernel with IA-32 emulation), else under qemu-user: some VM kernels here
 * have no IA-32 emulation, and the compiler's own numbers must still be checked on 32-bit.
 */
export function runProbe(bin: string, arch: string, opts: { cwd?: string } = {}): string {
  const run = (cmd: string, args: string[], env?: NodeJS.ProcessEnv) =>
    spawnSync(cmd, args, { cwd: opts.cwd, env, encoding: "utf8", maxBuffer: 1 << 28 });
  const native = run(bin, []);
  if (native.status === 0) return native.stdout;
  const qemu = QEMU[arch];
  if (arch !== "amd64" && qemu && spawnSync(qemu, ["--version"]).status === 0) {
    // Go's asynchronous preemption signals crash under qemu-user (0 of 20 runs finish; 20 of 20 without).
    const emulated = run(qemu, [bin], { ...process.env, GODEBUG: "asyncpreemptoff=1" });
    if (emulated.status === 0) return emulated.stdout;
    throw new Error(`${qemu} ${bin} failed: ${emulated.stderr || emulated.error?.message}`);
  }
  const hint = qemu && arch !== "amd64" ? ` (this host cannot run ${arch} binaries: install qemu-user for ${qemu})` : "";
  throw new Error(`${bin} failed${hint}: ${native.stderr || native.error?.message}`);
}

let built: { dir: string; bin: string } | undefined;

/** Builds tools/gosizes once per process into a temporary directory. */
export function buildGosizes(): string {
  if (built) return built.bin;
  const dir = mkdtempSync(join(tmpdir(), "gosizes-"));
  const bin = join(dir, "gosizes");
  execFileSync("go", ["build", "-o", bin, "."], { cwd: join(ROOT, "tools", "gosizes"), env: goEnv(), stdio: "pipe" });
  built = { dir, bin };
  process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  return bin;
}

export function runGosizes(dir: string, archs: string[], goos = "linux"): LayoutOutput {
  const out = execFileSync(buildGosizes(), ["-arch", archs.join(","), "-goos", goos, dir], {
    encoding: "utf8",
    maxBuffer: 1 << 30,
  });
  return JSON.parse(out) as LayoutOutput;
}

let oracleGo: string | undefined;

/** The release of the `go` on PATH ("1.19"), which tools/gosizes is built with. */
export function oracleGoVersion(): string {
  oracleGo ??= /go(\d+\.\d+)/.exec(spawnSync("go", ["version"], { encoding: "utf8" }).stdout ?? "")?.[1] ?? "1.19";
  return oracleGo;
}

/** Runs `node bin/memcheck.js layout --json --arch ... <dir>`; throws with its stderr on failure. */
export function runMemcheck(dir: string, archs: string[], goos = "linux"): LayoutOutput {
  // The oracle is the `go` on PATH: memcheck assumes that release's standard library.
  const args = [join(ROOT, "bin", "memcheck.js"), "layout", "--json", "--arch", archs.join(","), "--go", oracleGoVersion()];
  if (goos !== "linux") args.push("--goos", goos);
  args.push(`${dir.replace(/\/+$/, "")}/...`); // every package below dir, as the go command reads it
  const r = spawnSync(process.execPath, args, { encoding: "utf8", maxBuffer: 1 << 30, cwd: ROOT });
  if (r.status !== 0 && !r.stdout.trim().startsWith("{")) {
    throw new Error(`memcheck layout failed (exit ${r.status}): ${(r.stderr || r.stdout).slice(0, 2000)}`);
  }
  return JSON.parse(r.stdout) as LayoutOutput;
}

export function structKey(s: Pick<StructReport, "dir" | "file" | "line" | "name">): string {
  return `${s.file}:${s.line}:${s.name}`;
}

export interface Mismatch {
  key: string;
  arch: string;
  what: string;
  oracle: string;
  memcheck: string;
}

export interface Comparison {
  /** (struct, arch) pairs where both sides have a layout. */
  compared: number;
  agreed: number;
  /** (struct, arch) pairs the oracle lays out. */
  oracleResolved: number;
  /** ...of which memcheck lays out too. */
  bothResolved: number;
  mismatches: Mismatch[];
  /** Oracle layouts memcheck does not produce: "key@arch: memcheck's reasons". */
  missing: string[];
  /** Layouts memcheck produces where the oracle has none (informational). */
  extra: string[];
}

/** Compares two layout outputs on size, align, every field offset, ptrBytes and optimalSize. */
export function compareLayouts(oracle: LayoutOutput, memcheck: LayoutOutput, archs: string[], strict = false): Comparison {
  const theirs = new Map(memcheck.structs.map((s) => [structKey(s), s]));
  const ours = new Map(oracle.structs.map((s) => [structKey(s), s]));
  const c: Comparison = { compared: 0, agreed: 0, oracleResolved: 0, bothResolved: 0, mismatches: [], missing: [], extra: [] };
  for (const o of oracle.structs) {
    const key = structKey(o);
    const m = theirs.get(key);
    for (const arch of archs) {
      const ol = (o.layouts as Record<string, StructLayout | undefined>)[arch];
      const ml = m ? (m.layouts as Record<string, StructLayout | undefined>)[arch] : undefined;
      if (!ol) continue;
      c.oracleResolved++;
      if (!ml) {
        c.missing.push(`${key}@${arch}: ${m ? m.unresolved.join("; ") || "no layout" : "not listed"}`);
        continue;
      }
      c.bothResolved++;
      c.compared++;
      const diffs = diffLayout(ol, ml, strict);
      for (const [what, a, b] of diffs) c.mismatches.push({ key, arch, what, oracle: a, memcheck: b });
      if (diffs.length === 0) c.agreed++;
    }
  }
  for (const m of memcheck.structs) {
    const key = structKey(m);
    const o = ours.get(key);
    for (const arch of archs) {
      const ml = (m.layouts as Record<string, StructLayout | undefined>)[arch];
      const ol = o ? (o.layouts as Record<string, StructLayout | undefined>)[arch] : undefined;
      if (ml && !ol)
        c.extra.push(`${key}@${arch}${o ? ` (oracle: ${o.generic ? "generic" : o.unresolved.join("; ")})` : " (oracle: not listed)"}`);
    }
  }
  return c;
}

/**
 * The compared numbers. `strict` adds the derived ones the differential test does not require:
 * padding, trailingPadding, sizeClass, optimalPtrBytes, optimalOrder, pointerFields and every
 * field's size, align and ptrBytes.
 */
function diffLayout(o: StructLayout, m: StructLayout, strict = false): [string, string, string][] {
  const out: [string, string, string][] = [];
  const cmp = (what: string, a: unknown, b: unknown) => {
    if (a !== b) out.push([what, String(a), String(b)]);
  };
  cmp("size", o.size, m.size);
  cmp("align", o.align, m.align);
  cmp("ptrBytes", o.ptrBytes, m.ptrBytes);
  cmp("optimalSize", o.optimalSize, m.optimalSize);
  cmp("fields", o.fields.length, m.fields.length);
  const n = Math.min(o.fields.length, m.fields.length);
  for (let i = 0; i < n; i++) {
    cmp(`fields[${i}].name`, o.fields[i].name, m.fields[i].name);
    cmp(`fields[${i}].offset (${o.fields[i].name})`, o.fields[i].offset, m.fields[i].offset);
    if (strict) {
      cmp(`fields[${i}].size (${o.fields[i].name})`, o.fields[i].size, m.fields[i].size);
      cmp(`fields[${i}].align (${o.fields[i].name})`, o.fields[i].align, m.fields[i].align);
      cmp(`fields[${i}].ptrBytes (${o.fields[i].name})`, o.fields[i].ptrBytes, m.fields[i].ptrBytes);
    }
  }
  if (strict) {
    cmp("padding", o.padding, m.padding);
    cmp("trailingPadding", o.trailingPadding, m.trailingPadding);
    cmp("sizeClass", o.sizeClass, m.sizeClass);
    cmp("optimalPtrBytes", o.optimalPtrBytes, m.optimalPtrBytes);
    cmp("pointerFields", o.pointerFields, m.pointerFields);
    cmp("optimalOrder", o.optimalOrder.join(","), m.optimalOrder.join(","));
  }
  return out;
}

/** A fixed-width table of mismatches, one line each. */
export function mismatchTable(title: string, c: Comparison): string {
  const lines = [
    `${title}: compared ${c.compared}, agreed ${c.agreed}, mismatches ${c.mismatches.length}, ` +
      `oracle-only ${c.missing.length}, memcheck-only ${c.extra.length}`,
  ];
  if (c.mismatches.length) {
    const rows = [
      ["struct", "arch", "what", "gosizes", "memcheck"],
      ...c.mismatches.map((x) => [x.key, x.arch, x.what, x.oracle, x.memcheck]),
    ];
    const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) lines.push("  " + r.map((cell, i) => cell.padEnd(w[i])).join("  "));
  }
  for (const m of c.missing) lines.push(`  unresolved by memcheck: ${m}`);
  return lines.join("\n");
}

/** A program printing size, align and ptrdata of each table type; firstRow is the line of entries[0]. */
export function probeSource(entries: [string, unknown][]): { src: string; firstRow: number } {
  const pkgs = [...new Set(entries.map(([k]) => k.slice(0, k.lastIndexOf("."))))].sort();
  const alias = new Map(pkgs.map((p, i) => [p, `p${i}`]));
  const rows = entries.map(([k]) => {
    const i = k.lastIndexOf(".");
    return `\t{${JSON.stringify(k)}, reflect.TypeOf((*${alias.get(k.slice(0, i))}.${k.slice(i + 1)})(nil)).Elem()},`;
  });
  const head = `package main

import (
	"fmt"
	"reflect"
	"unsafe"
${pkgs.map((p) => `\t${alias.get(p)} ${JSON.stringify(p)}`).join("\n")}
)

func ptrdata(t reflect.Type) uintptr {
	type eface struct{ typ, data unsafe.Pointer }
	return (*[2]uintptr)((*eface)(unsafe.Pointer(&t)).data)[1]
}

var types = []struct {
	key string
	t   reflect.Type
}{
${rows.join("\n")}
}

func main() {
	for _, e := range types {
		fmt.Printf("%s %d %d %d\\n", e.key, e.t.Size(), e.t.Align(), ptrdata(e.t))
	}
}
`;
  return { src: head, firstRow: head.split("\n").indexOf("}{") + 2 };
}
