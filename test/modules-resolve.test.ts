// Module resolution without a Go toolchain, checked against the Go toolchain on a fixture world:
// modules served from a file:// GOPROXY folder, resolved by `go mod tidy` into a module cache and a
// go.sum (Go computes the h1: hashes), then laid out by memcheck from that cache, from the proxy
// (zips verified against go.sum), through a workspace and from vendor/, and by a compiled probe.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { analyzeSnapshot } from "../src/engine.ts";
import { LocalDirSnapshot } from "../src/snapshot/local.ts";
import { localModules } from "../src/modules/local.ts";
import type { Analysis, StructLayout } from "../src/analysis/model.ts";
import { runProbe } from "./groundtruth-support.ts";
import { type FixtureModule, go, newestGo, tempDir, worldGoEnv, writeProxy, writeTree } from "./modules-support.ts";

const GO = newestGo();
const ARCHS = ["amd64", "386"] as const;

const MODULES: FixtureModule[] = [
  {
    path: "example.com/base",
    version: "v1.0.0",
    files: {
      "go.mod": "module example.com/base\n\ngo 1.18\n",
      "base.go": "package base\n\ntype Base struct {\n\tP *int\n\tQ uint8\n}\n\nconst Width = 3\n",
    },
  },
  {
    path: "example.com/dep",
    version: "v1.0.0",
    files: {
      "go.mod": "module example.com/dep\n\ngo 1.18\n\nrequire example.com/base v1.0.0\n",
      "dep.go":
        'package dep\n\nimport (\n\t"example.com/base"\n\t"example.com/dep/inner"\n)\n\nconst N = base.Width + 1\n\ntype Meta struct {\n\tinner.Inner\n\tName string\n\tID   int32\n\tB    base.Base\n}\n',
      "inner/inner.go": 'package inner\n\nimport "sync"\n\ntype Inner struct {\n\tA  int64\n\tB  byte\n\tmu sync.Mutex\n}\n',
      "dep_test.go": "package dep\n\ntype notBuilt struct{ x [1 << 20]byte }\n",
    },
  },
  {
    // A later version whose layout differs: the go.mod selects v1.1.0, so Meta has a map field.
    path: "example.com/dep",
    version: "v1.1.0",
    files: {
      "go.mod": "module example.com/dep\n\ngo 1.18\n\nrequire example.com/base v1.0.0\n",
      "dep.go":
        'package dep\n\nimport (\n\t"example.com/base"\n\t"example.com/dep/inner"\n)\n\nconst N = base.Width + 2\n\ntype Meta struct {\n\tinner.Inner\n\tName string\n\tExtra map[string]int\n\tID   int32\n\tB    base.Base\n}\n',
      "inner/inner.go": 'package inner\n\nimport "sync"\n\ntype Inner struct {\n\tA  int64\n\tB  byte\n\tmu sync.Mutex\n}\n',
    },
  },
  {
    path: "example.com/dep/v2",
    version: "v2.0.0",
    files: {
      "go.mod": "module example.com/dep/v2\n\ngo 1.18\n",
      "meta.go": "package dep\n\ntype Meta struct {\n\tX [3]int64\n\tY bool\n}\n",
    },
  },
  {
    path: "example.com/Upper/Mod",
    version: "v0.2.0-RC1",
    files: {
      "go.mod": "module example.com/Upper/Mod\n\ngo 1.18\n",
      "t.go": "package mod\n\ntype T struct {\n\tX uint16\n\tS []string\n}\n",
    },
  },
  {
    // Package v1 in a folder named v1: imported without a name, it is known as v1 (not "core").
    path: "example.com/kube/api",
    version: "v0.30.1",
    files: {
      "go.mod": "module example.com/kube/api\n\ngo 1.18\n",
      "core/v1/types.go":
        "package v1\n\ntype ObjectMeta struct {\n\tName      string\n\tLabels    map[string]string\n\tGeneration int64\n}\n\ntype TypeMeta struct {\n\tKind, APIVersion string\n}\n",
    },
  },
];

const APP: Record<string, string> = {
  "go.mod":
    "module example.com/app\n\ngo 1.19\n\nrequire (\n\texample.com/Upper/Mod v0.2.0-RC1\n\texample.com/dep v1.1.0\n\texample.com/dep/v2 v2.0.0\n\texample.com/kube/api v0.30.1\n\texample.com/local v0.0.0\n)\n\nrequire example.com/base v1.0.0 // indirect\n\nreplace example.com/local => ../local\n",
  "app.go": `package app

import (
	upper "example.com/Upper/Mod"
	"example.com/dep"
	depv2 "example.com/dep/v2"
	"example.com/kube/api/core/v1"
	"example.com/local"
)

type Resource struct {
	v1.TypeMeta
	Meta v1.ObjectMeta
	on   bool
}

type Holder struct {
	dep.Meta
	u    upper.T
	m2   depv2.Meta
	l    local.L
	arr  [dep.N]int16
	flag bool
}

type ByPointer struct {
	m *dep.Meta
	x int8
}
`,
  "probe/main.go": `package main

import (
	"encoding/json"
	"os"
	"reflect"
	"unsafe"

	"example.com/app"
)

func ptrdata(t reflect.Type) uintptr {
	type eface struct{ typ, data unsafe.Pointer }
	e := (*eface)(unsafe.Pointer(&t))
	return (*[2]uintptr)(e.data)[1]
}

func main() {
	out := map[string]interface{}{}
	for name, t := range map[string]reflect.Type{
		"Resource": reflect.TypeOf(app.Resource{}), "Holder": reflect.TypeOf(app.Holder{}), "ByPointer": reflect.TypeOf(app.ByPointer{}),
	} {
		offs := []uintptr{}
		for i := 0; i < t.NumField(); i++ {
			offs = append(offs, t.Field(i).Offset)
		}
		out[name] = map[string]interface{}{"size": t.Size(), "align": t.Align(), "ptrdata": ptrdata(t), "offsets": offs}
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
`,
};

const LOCAL: Record<string, string> = {
  "go.mod": "module example.com/local\n\ngo 1.18\n",
  "l.go": "package local\n\ntype L struct {\n\tS []int\n\tB bool\n}\n",
};

interface World {
  root: string;
  app: string;
  proxy: string;
  modCache: string;
  goSum: string;
}

let world: World | undefined;

/** Builds the world once: proxy folder, app + local replacement, `go mod tidy` for go.sum and the cache. */
function buildWorld(): World {
  if (world) return world;
  const root = tempDir("memcheck-modules-");
  const proxy = writeProxy(join(root, "proxy"), MODULES);
  const app = join(root, "app");
  writeTree(app, APP);
  writeTree(join(root, "local"), LOCAL);
  const modCache = join(root, "modcache");
  if (GO) go(["mod", "tidy"], app, worldGoEnv(proxy, modCache), GO);
  const goSum = existsSync(join(app, "go.sum")) ? readFileSync(join(app, "go.sum"), "utf8") : "";
  world = { root, app, proxy, modCache, goSum };
  return world;
}

type Probe = Record<string, { size: number; align: number; ptrdata: number; offsets: number[] }>;

function probe(w: World, arch: string): Probe {
  const bin = join(w.root, `probe-${arch}`);
  go(["build", "-o", bin, "./probe"], w.app, worldGoEnv(w.proxy, w.modCache, { GOARCH: arch }), GO);
  return JSON.parse(runProbe(bin, arch)) as Probe;
}

async function layout(dir: string, env: NodeJS.ProcessEnv): Promise<Analysis> {
  return analyzeSnapshot(new LocalDirSnapshot(dir), { archs: [...ARCHS], threads: 1, modules: localModules(dir, env) });
}

function struct(a: Analysis, name: string) {
  const s = a.structs.find((x) => x.name === name && x.package === "example.com/app");
  assert.ok(s, `no struct ${name}`);
  return s;
}

function assertMatchesGo(a: Analysis, truth: Record<string, Probe>): void {
  for (const name of ["Resource", "Holder", "ByPointer"]) {
    const s = struct(a, name);
    assert.deepEqual(s.unresolved, [], `${name} unresolved: ${s.unresolved.join("; ")}`);
    for (const arch of ARCHS) {
      const l = (s.layouts as Record<string, StructLayout>)[arch];
      const t = truth[arch][name];
      assert.deepEqual(
        { size: l.size, align: l.align, ptr: l.ptrBytes, offsets: l.fields.map((f) => f.offset) },
        { size: t.size, align: t.align, ptr: t.ptrdata, offsets: t.offsets },
        `${name} on ${arch}`,
      );
    }
  }
}

const env = (w: World, extra: Record<string, string>): NodeJS.ProcessEnv => ({
  HOME: w.root,
  GOMODCACHE: join(w.root, "empty-cache"),
  GOWORK: "off",
  ...extra,
});

let truth: Record<string, Probe> | undefined;
function groundTruth(w: World): Record<string, Probe> {
  truth ??= Object.fromEntries(ARCHS.map((a) => [a, probe(w, a)]));
  return truth;
}

test("from the module cache (GOMODCACHE, case-escaped paths, replace, major versions) as the compiler lays it out", {
  skip: !GO && "no Go toolchain",
}, async () => {
  const w = buildWorld();
  assert.ok(existsSync(join(w.modCache, "example.com", "!upper", "!mod@v0.2.0-!r!c1")), "go extracted the case-escaped module");
  const a = await layout(w.app, env(w, { GOMODCACHE: w.modCache }));
  assertMatchesGo(a, groundTruth(w));
  // Lazily: dep/v2 and kube are read for their types, but nothing reached only through a pointer is.
  assert.ok((a.stats.modules?.packages ?? 0) >= 6, JSON.stringify(a.stats.modules));
});

test("from a file:// GOPROXY: zips verified against the h1: hashes go wrote to go.sum", { skip: !GO && "no Go toolchain" }, async () => {
  const w = buildWorld();
  const a = await layout(w.app, env(w, { GOPROXY: `file://${w.proxy}` }));
  assertMatchesGo(a, groundTruth(w));
});

test("a checksum mismatch or a missing go.sum line is refused with a note; GOFLAGS=-mod=mod accepts the unverified zip", {
  skip: !GO && "no Go toolchain",
}, async () => {
  const w = buildWorld();
  const copy = join(w.root, "app-tampered");
  cpSync(w.app, copy, { recursive: true });
  writeFileSync(
    join(copy, "go.sum"),
    w.goSum.replace(/^(example\.com\/dep v1\.1\.0 h1:)\S+/m, "$1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
  );
  writeFileSync(join(copy, "go.mod"), readFileSync(join(copy, "go.mod"), "utf8").replace("../local", "../local"));
  const bad = await layout(copy, env(w, { GOPROXY: `file://${w.proxy}` }));
  const holder = struct(bad, "Holder");
  assert.equal(holder.resolved, false);
  assert.match(
    holder.unresolved.join("\n"),
    /example\.com\/dep\.Meta \(checksum mismatch for example\.com\/dep@v1\.1\.0: go\.sum has h1:AAAA/,
  );
  // Structs that do not need dep still resolve.
  assert.equal(struct(bad, "Resource").resolved, true);

  writeFileSync(join(copy, "go.sum"), w.goSum.replace(/^example\.com\/dep v1\.1\.0 h1:.*\n/m, ""));
  const missing = await layout(copy, env(w, { GOPROXY: `file://${w.proxy}` }));
  assert.match(struct(missing, "Holder").unresolved.join("\n"), /go\.sum has no line for example\.com\/dep@v1\.1\.0/);
  const accepted = await layout(copy, env(w, { GOPROXY: `file://${w.proxy}`, GOFLAGS: "-mod=mod" }));
  assertMatchesGo(accepted, groundTruth(w));
});

test("GOPROXY list semantics: off, direct, and a 404 falling through to the next proxy", { skip: !GO && "no Go toolchain" }, async () => {
  const w = buildWorld();
  const off = await layout(w.app, env(w, { GOPROXY: "off" }));
  assert.match(struct(off, "Holder").unresolved.join("\n"), /disabled by GOPROXY=off/);
  const direct = await layout(w.app, env(w, { GOPROXY: "direct" }));
  assert.match(struct(direct, "Holder").unresolved.join("\n"), /"direct" \(fetching from version control\) is not supported/);
  const empty = join(w.root, "empty-proxy");
  mkdirSync(empty, { recursive: true });
  const fallthrough = await layout(w.app, env(w, { GOPROXY: `file://${empty},file://${w.proxy}` }));
  assertMatchesGo(fallthrough, groundTruth(w));
  const priv = await layout(w.app, env(w, { GOPROXY: `file://${w.proxy}`, GOPRIVATE: "example.com/dep" }));
  assert.match(struct(priv, "Holder").unresolved.join("\n"), /matches GONOPROXY\/GOPRIVATE/);
  assert.equal(struct(priv, "Resource").resolved, true);
});

test("-mod=vendor lays out from vendor/ and fetches nothing", { skip: !GO && "no Go toolchain" }, async () => {
  const w = buildWorld();
  const copy = join(w.root, "app-vendored");
  cpSync(w.app, copy, { recursive: true });
  go(["mod", "vendor"], copy, worldGoEnv(w.proxy, w.modCache), GO);
  const a = await layout(copy, env(w, {}));
  assertMatchesGo(a, groundTruth(w));
  assert.equal(a.stats.modules?.packages, 0);
});

test("a go.work workspace: used modules resolve from source, whichever folder the command starts in", {
  skip: !GO && "no Go toolchain",
}, async () => {
  const w = buildWorld();
  const ws = join(w.root, "ws");
  writeTree(ws, {
    "go.work": "go 1.19\n\nuse (\n\t./svc\n\t./lib\n)\n",
    "lib/go.mod": "module example.com/lib\n\ngo 1.19\n\nrequire example.com/dep v1.0.0\n\nrequire example.com/base v1.0.0 // indirect\n",
    "lib/lib.go": 'package lib\n\nimport "example.com/dep"\n\ntype Lib struct {\n\tdep.Meta\n\tok bool\n}\n',
    "svc/go.mod": "module example.com/svc\n\ngo 1.19\n\nrequire example.com/lib v0.0.0\n",
    "svc/svc.go": 'package svc\n\nimport "example.com/lib"\n\ntype Svc struct {\n\tL lib.Lib\n\tn int16\n}\n',
  });
  writeFileSync(join(ws, "lib", "go.sum"), w.goSum);
  // Started in svc/: the go.work above it brings lib in from source, and dep from the cache.
  const a = await analyzeSnapshot(new LocalDirSnapshot(join(ws, "svc")), {
    archs: ["amd64"],
    threads: 1,
    modules: localModules(join(ws, "svc"), { HOME: w.root, GOMODCACHE: w.modCache, GOPROXY: `file://${w.proxy}`, GOFLAGS: "-mod=mod" }),
  });
  const svc = a.structs.find((s) => s.name === "Svc");
  assert.ok(svc?.resolved, JSON.stringify(svc?.unresolved));
  // dep v1.0.0 (lib's requirement): Inner (A int64, B byte, sync.Mutex) = 24, Name 16, ID 4, Base 16 -> 64; Lib 72; Svc 80.
  assert.equal(svc.layouts.amd64?.size, 80);
  const off = await analyzeSnapshot(new LocalDirSnapshot(join(ws, "svc")), {
    archs: ["amd64"],
    threads: 1,
    modules: localModules(join(ws, "svc"), { HOME: w.root, GOMODCACHE: w.modCache, GOWORK: "off" }),
  });
  assert.equal(off.structs.find((s) => s.name === "Svc")?.resolved, false);
});
