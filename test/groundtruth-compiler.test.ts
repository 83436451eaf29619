// Proves tools/gosizes (go/types + our gc-rule types.Sizes) against the gc compiler itself:
// for every struct the dumper lays out in the valid fixtures, a generated Go program prints
// reflect's Size/Align/Field offsets and the runtime type's ptrdata, compiled with GOARCH=amd64
// and GOARCH=386 (both run on an x86-64 host). Every number must agree exactly. For structs
// declared with a plain field list, the compiler also sizes the dumper's suggested field order,
// which must give the dumper's optimalSize and optimalPtrBytes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { StructLayout, StructReport } from "../src/analysis/model.ts";
import { FIXTURES, VALID_FIXTURES, goEnv, haveGo, modFlag, runGosizes, runProbe } from "./groundtruth-support.ts";

const ARCHS = ["amd64", "386"];

interface Probed {
  size: number;
  align: number;
  ptrdata: number;
  fields: [number, number, number][]; // offset, size, align
  optSize?: number;
  optPtrdata?: number;
}

/**
 * Whether the probe can re-declare the struct in the dumper's suggested order: declared with a
 * field list (so field type strings are source text valid in that file), no embedded fields,
 * and no repeated names (optimalOrder is by name, so two "_" fields are ambiguous).
 */
function reorderable(s: StructReport, l: StructLayout, lineText: string): boolean {
  const names = l.fields.map((f) => f.name);
  return (
    l.fields.length > 0 &&
    new RegExp(`\\b${s.name}\\s+struct\\b`).test(lineText) &&
    new Set(names).size === names.length &&
    l.fields.every((f) => !f.embedded && !f.type.includes("\n"))
  );
}

/** Code appended to the file that declares the structs: it sees that file's imports. */
function probeInit(structs: StructReport[], arch: string, lines: string[]): string {
  const entries: string[] = [];
  for (const s of structs) {
    const l = (s.layouts as Record<string, StructLayout>)[arch];
    const t = `gosizesTypeOf((*${s.name})(nil)).Elem()`;
    let opt = "nil";
    if (reorderable(s, l, lines[s.line - 1] ?? "")) {
      const byName = new Map(l.fields.map((f) => [f.name, f.type]));
      const parts = l.optimalOrder.map((name) => `${name} ${byName.get(name)}`);
      opt = `gosizesTypeOf((*struct{ ${parts.join("; ")} })(nil)).Elem()`;
    }
    entries.push(`\t\tgosizesEntry{${JSON.stringify(s.name)}, ${t}, ${opt}},`);
  }
  return `\n\nfunc init() {\n\tgosizesEntries = append(gosizesEntries,\n${entries.join("\n")}\n\t)\n}\n`;
}

function probePackage(pkgName: string, fn: string): string {
  return `package ${pkgName}

import "reflect"

type gosizesEntry = struct {
	Name string
	T    reflect.Type
	Opt  reflect.Type
}

var gosizesTypeOf = reflect.TypeOf

var gosizesEntries []gosizesEntry

func ${fn}() []gosizesEntry { return gosizesEntries }
`;
}

const MAIN = `package main

import (
	"encoding/json"
	"os"
	"reflect"
	"unsafe"
%IMPORTS%
)

type entry = struct {
	Name string
	T    reflect.Type
	Opt  reflect.Type
}

// ptrdata reads the runtime type's ptrdata: the second word of the type descriptor.
func ptrdata(t reflect.Type) uintptr {
	type eface struct{ typ, data unsafe.Pointer }
	e := (*eface)(unsafe.Pointer(&t))
	return (*[2]uintptr)(e.data)[1]
}

func main() {
	out := map[string]map[string]interface{}{}
	add := func(pkg string, es []entry) {
		m := map[string]interface{}{}
		for _, e := range es {
			fields := [][3]uintptr{}
			for i := 0; i < e.T.NumField(); i++ {
				f := e.T.Field(i)
				fields = append(fields, [3]uintptr{f.Offset, f.Type.Size(), uintptr(f.Type.Align())})
			}
			r := map[string]interface{}{"size": e.T.Size(), "align": e.T.Align(), "ptrdata": ptrdata(e.T), "fields": fields}
			if e.Opt != nil {
				r["optSize"] = e.Opt.Size()
				r["optPtrdata"] = ptrdata(e.Opt)
			}
			m[e.Name] = r
		}
		out[pkg] = m
	}
%CALLS%
	json.NewEncoder(os.Stdout).Encode(out)
}
`;

function packageName(file: string): string {
  const m = /^package\s+([A-Za-z_][A-Za-z0-9_]*)/m.exec(readFileSync(file, "utf8").replace(/^\uFEFF/, ""));
  if (!m) throw new Error(`no package clause in ${file}`);
  return m[1];
}

/** Builds and runs the probe for one fixture and arch; returns package -> type -> compiler facts. */
function compilerFacts(fixture: string, arch: string, structs: StructReport[]): Record<string, Record<string, Probed>> {
  const work = mkdtempSync(join(tmpdir(), `gt-${fixture}-${arch}-`));
  try {
    cpSync(join(FIXTURES, fixture), work, { recursive: true });
    const byPkg = new Map<string, StructReport[]>();
    for (const s of structs) byPkg.set(s.package, [...(byPkg.get(s.package) ?? []), s]);
    const imports: string[] = [];
    const calls: string[] = [];
    let i = 0;
    for (const [pkg, list] of byPkg) {
      const name = packageName(join(work, list[0].file));
      if (name === "main") continue;
      const fn = `GosizesProbe${i}`;
      writeFileSync(join(work, list[0].dir, "zz_gosizes_probe.go"), probePackage(name, fn));
      const byFile = new Map<string, StructReport[]>();
      for (const s of list) byFile.set(s.file, [...(byFile.get(s.file) ?? []), s]);
      for (const [file, structsOfFile] of byFile) {
        const text = readFileSync(join(work, file), "utf8");
        writeFileSync(join(work, file), text + probeInit(structsOfFile, arch, text.split("\n")));
      }
      imports.push(`\tp${i} ${JSON.stringify(pkg)}`);
      calls.push(`\tadd(${JSON.stringify(pkg)}, p${i}.${fn}())`);
      i++;
    }
    mkdirSync(join(work, "zz_gosizes_probe_main"));
    writeFileSync(
      join(work, "zz_gosizes_probe_main", "main.go"),
      MAIN.replace("%IMPORTS%", imports.join("\n")).replace("%CALLS%", calls.join("\n")),
    );
    const bin = join(work, "probe");
    execFileSync("go", ["build", "-o", bin, "./zz_gosizes_probe_main"], {
      cwd: work,
      env: goEnv({ GOARCH: arch, GOOS: "linux", GOFLAGS: modFlag(work) }),
      stdio: "pipe",
    });
    return JSON.parse(runProbe(bin, arch));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

for (const fixture of VALID_FIXTURES) {
  test(`gosizes agrees with the gc compiler on fixture ${fixture}`, { skip: !haveGo() && "go not installed" }, () => {
    const oracle = runGosizes(join(FIXTURES, fixture), ARCHS);
    let checked = 0;
    let reordered = 0;
    const problems: string[] = [];
    for (const arch of ARCHS) {
      const structs = oracle.structs.filter((s) => (s.layouts as Record<string, StructLayout>)[arch]);
      assert.ok(structs.length > 0, `${fixture}: no structs laid out on ${arch}`);
      const facts = compilerFacts(fixture, arch, structs);
      for (const s of structs) {
        const l = (s.layouts as Record<string, StructLayout>)[arch];
        const f = facts[s.package]?.[s.name];
        const where = `${s.file}:${s.line} ${s.name} (${arch})`;
        if (!f) {
          problems.push(`${where}: not probed`);
          continue;
        }
        checked++;
        const eq = (what: string, ours: number, gc: number) => {
          if (ours !== gc) problems.push(`${where}: ${what} gosizes=${ours} gc=${gc}`);
        };
        eq("size", l.size, f.size);
        eq("align", l.align, f.align);
        eq("ptrBytes", l.ptrBytes, f.ptrdata);
        eq("field count", l.fields.length, f.fields.length);
        l.fields.forEach((fl, i) => {
          if (!f.fields[i]) return;
          eq(`${fl.name}.offset`, fl.offset, f.fields[i][0]);
          eq(`${fl.name}.size`, fl.size, f.fields[i][1]);
          eq(`${fl.name}.align`, fl.align, f.fields[i][2]);
        });
        if (f.optSize !== undefined) {
          reordered++;
          eq("optimalSize", l.optimalSize, f.optSize);
          eq("optimalPtrBytes", l.optimalPtrBytes, f.optPtrdata!);
        }
      }
    }
    assert.deepEqual(problems, [], `gosizes disagrees with the compiler:\n${problems.join("\n")}`);
    console.log(`# ${fixture}: ${checked} struct layouts (${reordered} suggested orders) agree with gc on ${ARCHS.join(", ")}`);
  });
}

test("gosizes: the Go layout facts from the stack notes", { skip: !haveGo() && "go not installed" }, () => {
  const out = runGosizes(join(FIXTURES, "layouts"), ["amd64", "386", "arm"]);
  const get = (name: string, arch: string) => (out.structs.find((s) => s.name === name)!.layouts as Record<string, StructLayout>)[arch];
  assert.equal(get("TrailingZero", "amd64").size, 8); // struct{ int32; struct{} }
  assert.equal(get("TrailingZeroArr", "386").size, 12); // struct{ int64; [2][0]int64 }
  assert.equal(get("OnlyZero", "amd64").size, 0);
  assert.equal(get("OnlyZero", "amd64").align, 8);
  assert.equal(get("OnlyZero", "386").align, 4);
  assert.equal(get("Int64AfterInt32", "386").size, 16); // atomic.Int64 is 8-aligned on 386
  assert.equal(get("Int64AfterInt32", "arm").size, 16);
  assert.equal(get("PlainInt64AfterInt32", "386").size, 12);
  assert.equal(get("Complex", "amd64").fields[1].offset, 4); // complex64 aligns to 4
  assert.equal(get("Padded", "amd64").padding, 14);
  assert.equal(get("Padded", "amd64").trailingPadding, 7);
  assert.deepEqual(get("Padded", "amd64").optimalOrder, ["b", "a", "c"]);
  assert.equal(get("Big", "amd64").sizeClass, 40960);
  assert.equal(get("Medium", "amd64").sizeClass, 1024);
  assert.equal(get("OnlyZero", "amd64").sizeClass, 0);
});
