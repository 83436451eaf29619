// Build constraints, constants, resolution across packages, generics, and hostile input.
// Expected layouts were checked with the Go compiler (unsafe.Sizeof on go1.19.8) where noted;
// the differential test (groundtruth-differential) re-checks the fixtures against the toolchain.
import { test } from "node:test";
import assert from "node:assert/strict";
import { analyzeFiles } from "../src/analysis/index.ts";
import { evalGoBuild, evalPlusBuild, fileNameSatisfied, readBuildConstraint } from "../src/analysis/buildtags.ts";
import type { Analysis, AnalyzeOptions, SourceFile, StructReport } from "../src/analysis/model.ts";

const linuxAmd64 = { goos: "linux", goarch: "amd64" };

async function analyze(files: Record<string, string>, options: AnalyzeOptions = {}): Promise<Analysis> {
  const sources: SourceFile[] = Object.entries(files).map(([path, text]) => ({ path, text }));
  return analyzeFiles(sources, options);
}

function struct(a: Analysis, name: string): StructReport {
  const s = a.structs.find((x) => x.name === name);
  assert.ok(s, `${name} listed`);
  return s;
}

test("//go:build expressions", () => {
  assert.equal(evalGoBuild("linux && amd64", linuxAmd64), true);
  assert.equal(evalGoBuild("linux && !amd64", linuxAmd64), false);
  assert.equal(evalGoBuild("(darwin || linux) && (amd64 || arm64)", linuxAmd64), true);
  assert.equal(evalGoBuild("unix", linuxAmd64), true);
  assert.equal(evalGoBuild("windows || ignore", linuxAmd64), false);
  assert.equal(evalGoBuild("go1.18", linuxAmd64), true);
  assert.equal(evalGoBuild("cgo", linuxAmd64), false);
  assert.equal(evalGoBuild("linux &&", linuxAmd64), undefined, "malformed");
  assert.equal(evalGoBuild("(".repeat(5000), linuxAmd64), undefined, "hostile nesting is bounded");
});

test("legacy // +build lines: spaces OR, commas AND, lines AND", () => {
  assert.equal(evalPlusBuild(["linux,amd64 darwin"], linuxAmd64), true);
  assert.equal(evalPlusBuild(["linux,386 darwin"], linuxAmd64), false);
  assert.equal(evalPlusBuild(["linux", "!amd64"], linuxAmd64), false);
  assert.deepEqual(readBuildConstraint("// +build linux\n\npackage p\n"), { plusBuild: ["linux"] });
  assert.equal(readBuildConstraint("package p\n//go:build ignore\n").goBuild, undefined, "only before the package clause");
});

test("file-name suffixes and _test.go", () => {
  assert.equal(fileNameSatisfied("x_linux.go", linuxAmd64, false), true);
  assert.equal(fileNameSatisfied("x_windows.go", linuxAmd64, false), false);
  assert.equal(fileNameSatisfied("x_386.go", linuxAmd64, false), false);
  assert.equal(fileNameSatisfied("x_linux_arm64.go", linuxAmd64, false), false);
  assert.equal(fileNameSatisfied("x_linux_amd64.go", linuxAmd64, false), true);
  assert.equal(fileNameSatisfied("linux.go", linuxAmd64, false), true, "a bare GOOS name is not a suffix");
  assert.equal(fileNameSatisfied("x_test.go", linuxAmd64, false), false);
  assert.equal(fileNameSatisfied("x_test.go", linuxAmd64, true), true);
  assert.equal(fileNameSatisfied("_x.go", linuxAmd64, false), false);
});

test("the same type gets a different declaration per arch through build tags", async () => {
  const a = await analyze(
    {
      "go.mod": "module example.com/m\n",
      "t_amd64.go": "package p\ntype T struct{ a [8]byte }\n",
      "t_other.go": "//go:build !amd64\n\npackage p\ntype T struct{ a [4]byte; b int32 }\n",
    },
    { archs: ["amd64", "386"] },
  );
  const ts = a.structs.filter((s) => s.name === "T");
  assert.equal(ts.length, 2);
  const amd = ts.find((s) => s.file === "t_amd64.go")!;
  const other = ts.find((s) => s.file === "t_other.go")!;
  assert.deepEqual(Object.keys(amd.layouts), ["amd64"]);
  assert.deepEqual(Object.keys(other.layouts), ["386"]);
  assert.equal(other.layouts["386"]!.size, 8);
});

test("constants: literal forms, iota with repetition, typed, other files, len, unsafe", async () => {
  const a = await analyze({
    "go.mod": "module example.com/m\n",
    "a.go": `package p
import "unsafe"
const (
	A = iota * 2
	B
	C
)
const Str = "héllo"
type Probe struct { a int32; b int16; c int64 }
type T struct {
	hex [0x1_0]byte
	oct [0o17]byte
	old [017]byte
	bin [0b101]byte
	run ['a' - 'a' + 3]byte
	iot [C]byte
	shf [1 << 10 >> 4]byte
	bit [0xFF &^ 0xF0]byte
	str [len(Str)]byte
	oth [Other * 2]byte
	siz [unsafe.Sizeof(Probe{})]byte
	off [unsafe.Offsetof(Probe{}.c)]byte
	aln [unsafe.Alignof(Probe{}.c)]byte
	flt [1e1]byte
	arr [len(arr)]byte
}
var arr = [...]int{1, 2, 3}
`,
    "b.go": "package p\nconst Other uint8 = 5\n",
  });
  const t = struct(a, "T");
  assert.deepEqual(t.unresolved, []);
  const sizes = Object.fromEntries(t.layouts.amd64!.fields.map((f) => [f.name, f.size]));
  assert.deepEqual(sizes, {
    hex: 16,
    oct: 15,
    old: 15,
    bin: 5,
    run: 3,
    iot: 4,
    shf: 64,
    bit: 15,
    str: 6,
    oth: 10,
    siz: 16,
    off: 8,
    aln: 8,
    flt: 10,
    arr: 3,
  });
});

test("types from other packages of the module, the stdlib table, and outside", async () => {
  const a = await analyze({
    "go.mod": "module example.com/m\n",
    "a.go": `package p
import (
	"sync"
	"time"
	inner "example.com/m/sub"
	"github.com/elsewhere/x"
)
type UsesInner struct { v inner.Value; ok bool }
type UsesStd struct { mu sync.Mutex; at time.Time }
type PointsOut struct { p *x.Thing; s []x.Thing; m map[string]x.Thing }
type HoldsOut struct { t x.Thing; u x.Other }
`,
    "sub/sub.go": "package sub\ntype Value struct{ a, b int64 }\n",
  });
  assert.equal(struct(a, "UsesInner").layouts.amd64!.size, 24);
  // sync.Mutex 8 + time.Time 24 on amd64 (checked with unsafe.Sizeof).
  assert.equal(struct(a, "UsesStd").layouts.amd64!.size, 32);
  // A pointer, slice or map is one or three words whatever it points at: no guess needed.
  assert.equal(struct(a, "PointsOut").layouts.amd64!.size, 40);
  const out = struct(a, "HoldsOut");
  assert.equal(out.resolved, false);
  assert.deepEqual(out.layouts, {});
  assert.deepEqual(out.unresolved, ["github.com/elsewhere/x.Thing", "github.com/elsewhere/x.Other"]);
});

test("generics: the generic struct has no layout; an instantiation is laid out", async () => {
  const a = await analyze({
    "go.mod": "module example.com/m\n",
    "a.go": `package p
import "sync/atomic"
type Pair[K comparable, V any] struct { k K; v V }
type Uses struct { a Pair[int8, int64]; b Pair[string, bool]; next atomic.Pointer[Uses] }
`,
  });
  const pair = struct(a, "Pair");
  assert.equal(pair.generic, true);
  assert.deepEqual(pair.layouts, {});
  const uses = struct(a, "Uses").layouts.amd64!;
  assert.deepEqual(
    uses.fields.map((f) => [f.offset, f.size]),
    [
      [0, 16],
      [16, 24],
      [40, 8],
    ],
  );
});

test("aliases, type definitions and embedded fields", async () => {
  const a = await analyze({
    "go.mod": "module example.com/m\n",
    "a.go": `package p
type Base struct { a int64; b bool }
type Alias = Base
type Def Base
type Emb struct { *Base; Alias; Def; _ int8 }
`,
  });
  assert.equal(a.structs.filter((s) => s.name === "Alias").length, 0, "aliases are not listed twice");
  assert.equal(struct(a, "Def").layouts.amd64!.size, 16);
  // An embedded field is named by the type name as written, alias names included (Go spec).
  const emb = struct(a, "Emb").layouts.amd64!;
  assert.deepEqual(
    emb.fields.map((f) => [f.name, f.offset, !!f.embedded]),
    [
      ["Base", 0, true],
      ["Alias", 8, true],
      ["Def", 24, true],
      ["_", 40, false],
    ],
  );
  assert.equal(emb.size, 48);
});

test("pointer cycles are reported with their path", async () => {
  const a = await analyze({
    "go.mod": "module example.com/m\n",
    "a.go": `package p
type Node struct { next *Node; v int }
type A struct { b *B }
type B struct { c []C }
type C struct { a map[string]*A }
type Deep struct { x *L1 }
type L1 struct { x *L2 }
type L2 struct { x *L3 }
type L3 struct { x *L4 }
type L4 struct { x *int }
`,
  });
  const node = struct(a, "Node").layouts.amd64!;
  assert.equal(node.cyclic, true);
  assert.deepEqual(node.pointerChain, ["Node", "*Node"]);
  const ab = struct(a, "A").layouts.amd64!;
  assert.equal(ab.cyclic, true);
  assert.deepEqual(ab.pointerChain, ["A", "*B", "[]C", "map[string]*A", "*A"]);
  const deep = struct(a, "Deep").layouts.amd64!;
  assert.equal(deep.cyclic, false);
  // The last hop, to an int, is marked but never scanned by the GC: it ends the chain uncounted.
  assert.equal(deep.pointerDepth, 4);
  assert.deepEqual(deep.pointerChain, ["Deep", "*L1", "*L2", "*L3", "*L4"]);
  // Cycle members tell a self-recursive list from a cycle through several types.
  assert.deepEqual(node.cycle, ["example.com/m.Node"]);
  assert.deepEqual([...(ab.cycle ?? [])].sort(), ["example.com/m.A", "example.com/m.B", "example.com/m.C"]);
});

test("pointer depth counts what the GC scans; channels are named as hchan", async () => {
  const a = await analyze({
    "go.mod": "module example.com/m\n",
    "a.go": `package p
type Bytes struct { b []byte; p *int64; m map[int]int; c chan int }
type Msg struct { s string }
type Pipe struct { c chan *Msg }
`,
  });
  const bytes = struct(a, "Bytes").layouts.amd64!;
  assert.equal(bytes.pointerDepth, 0, "every target is pointer-free");
  const pipe = struct(a, "Pipe").layouts.amd64!;
  assert.equal(pipe.pointerDepth, 2);
  assert.deepEqual(pipe.pointerChain, ["Pipe", "chan *Msg (hchan)", "*Msg"]);
});

test("invalid code is reported, never thrown", async () => {
  const deep = "type Deep " + "[1]".repeat(10_000) + "int\ntype HoldsDeep struct{ d Deep }\n";
  const nested = "type Nest " + "struct{ a ".repeat(3000) + "int" + " }".repeat(3000) + "\n";
  const wide = "type Wide struct {\n" + Array.from({ length: 100_000 }, (_, i) => `\tf${i} int8\n`).join("") + "}\n";
  const a = await analyze({
    "go.mod": "module example.com/m\n",
    "a.go": `package p
type Rec struct { r Rec }
type X = Y
type Y = X
type UsesAlias struct { x X }
type Huge struct { b [1 << 62]byte }
type Broken struct { a int; b [}
type Fine struct { a int64 }
${deep}${nested}`,
    "wide.go": `package p\n${wide}`,
    "bin.go": "package p\u0000\u0001\u0002",
  });
  assert.ok(struct(a, "Rec").unresolved[0].includes("invalid recursive type Rec"));
  assert.ok(struct(a, "UsesAlias").unresolved[0].includes("cycle"));
  assert.ok(struct(a, "Huge").unresolved[0].includes("too large"));
  assert.equal(struct(a, "Fine").layouts.amd64!.size, 8, "what parsed around the error is kept");
  assert.ok(a.diagnostics.some((d) => d.file === "a.go" && d.message.includes("syntax error")));
  assert.ok(a.diagnostics.some((d) => d.file === "bin.go" && d.message.includes("binary")));
  assert.equal(struct(a, "HoldsDeep").resolved, false);
  assert.equal(struct(a, "Wide").layouts.amd64!.size, 100_000);
});

test("files over the size limit are skipped with a note", async () => {
  const a = await analyze({ "big.go": "package p\n" + "// x\n".repeat(1000) }, { maxFileBytes: 1000 });
  assert.equal(a.structs.length, 0);
  assert.match(a.diagnostics[0].message, /over the 1000-byte limit/);
});

test("struct source groups keep doc and line comments with their field, not the struct line's comment", async () => {
  const a = await analyze({
    "go.mod": "module example.com/m\n",
    "a.go":
      'package p\n\n// T is documented.\n//memcheck:keep-order\ntype T struct { // about T\n\t// doc a\n\ta, c bool `json:"a"` // trailing a\n\n\tb int64\n}\n',
  });
  const src = struct(a, "T").source!;
  assert.deepEqual(src.directives, ["keep-order"]);
  assert.deepEqual([src.line, src.openLine, src.closeLine], [5, 5, 10]);
  assert.deepEqual(
    src.fieldGroups.map((g) => [g.names, g.startLine, g.endLine]),
    [
      [["a", "c"], 6, 7],
      [["b"], 9, 9],
    ],
  );
  assert.equal(src.fieldGroups[0].text, '\t// doc a\n\ta, c bool `json:"a"` // trailing a');
});

test("stdlib types are per arch even between archs of one word size (syscall.Stat_t: amd64 144 B, arm64 128 B)", async () => {
  const a = await analyze(
    { "go.mod": "module example.com/m\n", "a.go": 'package p\nimport "syscall"\ntype S struct { st syscall.Stat_t; ok bool }\n' },
    { archs: ["amd64", "arm64"] },
  );
  const s = struct(a, "S");
  assert.equal(s.layouts.amd64!.size, 152);
  assert.equal(s.layouts.arm64!.size, 136);
});
