// Extends the compiler proof to every gc arch without running foreign binaries: for each valid
// fixture and arch, the dumper's size, alignment and field offsets become compile-time
// assertions (`var _ [N]byte = [unsafe.Sizeof(v)]byte{}`), and `go build` for that GOARCH must
// accept them. A wrong number is a type mismatch the compiler reports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALL_ARCHS, type StructLayout, type StructReport } from "../src/analysis/model.ts";
import { FIXTURES, VALID_FIXTURES, goEnv, haveGo, modFlag, runGosizes } from "./groundtruth-support.ts";

// Every arch gc supports: the compiler itself checks each one below.
const ARCHS: string[] = [...ALL_ARCHS];

function packageName(file: string): string {
  return /^package\s+(\w+)/m.exec(readFileSync(file, "utf8").replace(/^\uFEFF/, ""))![1];
}

function assertions(structs: StructReport[], arch: string, root: string): string {
  const out: string[] = [];
  structs.forEach((s, i) => {
    const l = (s.layouts as Record<string, StructLayout>)[arch];
    // `type X other.T` has other.T's fields: its unexported ones are out of reach here.
    const line = readFileSync(join(root, s.file), "utf8").split("\n")[s.line - 1] ?? "";
    const literal = new RegExp(`\\b${s.name}\\s+struct\\b`).test(line);
    const v = `gosizesV${i}`;
    out.push(`var ${v} ${s.name}`);
    out.push(`var _ [${l.size}]byte = [unsafe.Sizeof(${v})]byte{} // ${s.name} size`);
    out.push(`var _ [${l.align}]byte = [unsafe.Alignof(${v})]byte{} // ${s.name} align`);
    for (const f of l.fields) {
      if (f.name === "_" || (!literal && !/^[A-Z]/.test(f.name))) continue;
      out.push(`var _ [${f.offset}]byte = [unsafe.Offsetof(${v}.${f.name})]byte{} // ${s.name}.${f.name} offset`);
    }
  });
  return out.join("\n");
}

for (const fixture of VALID_FIXTURES) {
  test(`gosizes layouts of ${fixture} compile as assertions on all 14 archs`, { skip: !haveGo() && "go not installed" }, () => {
    const oracle = runGosizes(join(FIXTURES, fixture), ARCHS);
    const failures: string[] = [];
    let n = 0;
    for (const arch of ARCHS) {
      const structs = oracle.structs.filter((s) => (s.layouts as Record<string, StructLayout>)[arch]);
      const work = mkdtempSync(join(tmpdir(), `gt-x-${fixture}-${arch}-`));
      try {
        cpSync(join(FIXTURES, fixture), work, { recursive: true });
        const byDir = new Map<string, StructReport[]>();
        for (const s of structs) byDir.set(s.dir, [...(byDir.get(s.dir) ?? []), s]);
        for (const [dir, list] of byDir) {
          const pkg = packageName(join(work, list[0].file));
          writeFileSync(join(work, dir, "zz_gosizes_assert.go"), `package ${pkg}\n\nimport "unsafe"\n\n${assertions(list, arch, work)}\n`);
          n += list.length;
        }
        const goos = arch === "wasm" ? "js" : "linux";
        const r = spawnSync("go", ["build", "-gcflags=-e", "./..."], {
          cwd: work,
          env: goEnv({ GOARCH: arch, GOOS: goos, GOFLAGS: modFlag(work) }),
          encoding: "utf8",
        });
        if (r.status !== 0) failures.push(`${arch}:\n${r.stderr}`);
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    }
    assert.deepEqual(failures, [], failures.join("\n"));
    console.log(`# ${fixture}: ${n} struct layouts checked by the compiler across ${ARCHS.length} archs`);
  });
}
