// Pure pieces of module resolution: go.mod / go.work / go.sum / modules.txt parsing, the build
// list, version order, GOPROXY and GOPRIVATE semantics, Hash1, and the module zip reader's refusals.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { escapeModulePath, parseGoModFile, parseGoSum, parseGoWork, parseModulesTxt } from "../src/analysis/gopath.ts";
import { BuildList, compareVersions } from "../src/analysis/buildlist.ts";
import { matchPrefixPatterns, modFlagOf, parseGoProxy, parseNetrc } from "../src/modules/settings.ts";
import { hash1, hashGoMod } from "../src/modules/dirhash.ts";
import { readModuleZip, ZipError } from "../src/modules/zip.ts";
import { makeZip } from "./modules-support.ts";

const GOMOD = `// a comment
module github.com/acme/svc

go 1.22.3

toolchain go1.23.1

require (
	github.com/prometheus/client_golang v1.19.0
	k8s.io/api v0.30.1 // indirect
	"github.com/quoted/mod" v1.0.0
)

require github.com/single/line v0.1.0

exclude github.com/bad/mod v1.2.3

replace (
	github.com/prometheus/client_golang v1.19.0 => github.com/fork/client_golang v1.19.1-fork
	k8s.io/api => ../api
)
replace github.com/single/line => ./third_party/line
`;

test("parseGoModFile: module, go, toolchain, require blocks and lines, exclude, replace (versioned, wildcard, local)", () => {
  const f = parseGoModFile(GOMOD);
  assert.equal(f.module, "github.com/acme/svc");
  assert.equal(f.go, "1.22.3");
  assert.equal(f.toolchain, "go1.23.1");
  assert.deepEqual(
    f.require.map((r) => `${r.path}@${r.version}`),
    ["github.com/prometheus/client_golang@v1.19.0", "k8s.io/api@v0.30.1", "github.com/quoted/mod@v1.0.0", "github.com/single/line@v0.1.0"],
  );
  assert.deepEqual(f.exclude, [{ path: "github.com/bad/mod", version: "v1.2.3" }]);
  assert.deepEqual(f.replace, [
    {
      old: { path: "github.com/prometheus/client_golang", version: "v1.19.0" },
      new: { path: "github.com/fork/client_golang", version: "v1.19.1-fork" },
      local: false,
    },
    { old: { path: "k8s.io/api", version: "" }, new: { path: "../api", version: "" }, local: true },
    { old: { path: "github.com/single/line", version: "" }, new: { path: "./third_party/line", version: "" }, local: true },
  ]);
});

test("parseGoWork, parseGoSum, parseModulesTxt", () => {
  const w = parseGoWork("go 1.22\n\nuse ./a\nuse (\n\t./b // b\n\t../c\n)\nreplace x.io/y => ./y\n");
  assert.deepEqual(w.use, ["./a", "./b", "../c"]);
  assert.equal(w.replace[0].new.path, "./y");
  const sum = parseGoSum("a.io/b v1.0.0 h1:AAA=\na.io/b v1.0.0/go.mod h1:BBB=\nbroken line\n");
  assert.equal(sum.get("a.io/b v1.0.0"), "h1:AAA=");
  assert.equal(sum.get("a.io/b v1.0.0/go.mod"), "h1:BBB=");
  assert.equal(sum.size, 2);
  const mt = parseModulesTxt("# a.io/b v1.0.0\n## explicit; go 1.18\na.io/b\na.io/b/c\n# x.io/y v0.1.0 => ./y\nx.io/y\n");
  assert.deepEqual(mt, [
    { path: "a.io/b", version: "v1.0.0", packages: ["a.io/b", "a.io/b/c"] },
    { path: "x.io/y", version: "v0.1.0", packages: ["x.io/y"] },
  ]);
});

test("compareVersions follows semver precedence, pseudo-versions and +incompatible included", () => {
  const sorted = [
    "v1.10.0",
    "v1.2.0",
    "v1.2.0-rc.1",
    "v1.2.0-rc.10",
    "v1.2.0-rc.2",
    "v0.0.0-20240101000000-abcdefabcdef",
    "v2.0.0+incompatible",
    "v1.2.0-alpha",
  ];
  sorted.sort(compareVersions);
  assert.deepEqual(sorted, [
    "v0.0.0-20240101000000-abcdefabcdef",
    "v1.2.0-alpha",
    "v1.2.0-rc.1",
    "v1.2.0-rc.2",
    "v1.2.0-rc.10",
    "v1.2.0",
    "v1.10.0",
    "v2.0.0+incompatible",
  ]);
});

test("BuildList: longest module first, versioned replace beats a wildcard, local replacements relative to their go.mod, highest require wins", () => {
  const b = new BuildList({
    goMods: [
      { dir: ".", text: GOMOD },
      {
        dir: "tools",
        text: "module github.com/acme/tools\nrequire github.com/single/line v0.3.0\nrequire github.com/prometheus/client_golang/sub v0.1.0\n",
      },
    ],
  });
  assert.equal(b.mode, "readonly");
  const c = b.candidates("github.com/prometheus/client_golang/sub/x");
  assert.deepEqual(
    c.map((t) => [t.module, t.origin, t.sub]),
    [
      [
        "github.com/prometheus/client_golang/sub",
        { kind: "module", path: "github.com/prometheus/client_golang/sub", version: "v0.1.0" },
        "x",
      ],
      ["github.com/prometheus/client_golang", { kind: "module", path: "github.com/fork/client_golang", version: "v1.19.1-fork" }, "sub/x"],
    ],
  );
  assert.deepEqual(b.candidates("k8s.io/api/core/v1")[0].origin, { kind: "dir", dir: "../api" });
  assert.deepEqual(b.candidates("github.com/single/line")[0].origin, { kind: "dir", dir: "third_party/line" });
  assert.equal(b.versions.get("github.com/single/line"), "v0.3.0");
  assert.deepEqual(b.candidates("github.com/unknown/x"), []);
});

test("BuildList: -mod=vendor by default with vendor/modules.txt and go >= 1.14; GOFLAGS wins; go.work replaces and uses", () => {
  const goMods = [{ dir: ".", text: "module a.io/m\n\ngo 1.21\n" }];
  assert.equal(new BuildList({ goMods, modulesTxt: "# x v1\n" }).mode, "vendor");
  assert.equal(new BuildList({ goMods: [{ dir: ".", text: "module a.io/m\n\ngo 1.13\n" }], modulesTxt: "" }).mode, "readonly");
  assert.equal(new BuildList({ goMods, modulesTxt: "", modFlag: "mod" }).mode, "mod");
  const ws = new BuildList({
    goMods: [
      { dir: "svc", text: "module a.io/svc\nrequire a.io/lib v0.0.0\nreplace a.io/lib => ../elsewhere\n" },
      { dir: "lib", text: "module a.io/lib\n" },
    ],
    goWork: { dir: ".", text: "use ./svc\nuse ./lib\nreplace x.io/y v1.0.0 => x.io/z v1.0.1\n" },
  });
  assert.deepEqual(ws.candidates("a.io/lib/p")[0], {
    importPath: "a.io/lib/p",
    module: "a.io/lib",
    origin: { kind: "dir", dir: "lib" },
    sub: "p",
  });
  assert.deepEqual(ws.candidates("x.io/y")[0].origin, { kind: "module", path: "x.io/z", version: "v1.0.1" });
});

test("escapeModulePath, GOPROXY lists, GOPRIVATE globs, GOFLAGS -mod, netrc", () => {
  assert.equal(escapeModulePath("github.com/BurntSushi/TOML"), "github.com/!burnt!sushi/!t!o!m!l");
  assert.deepEqual(parseGoProxy("https://a.example/,file:///p|direct , off"), [
    { kind: "url", url: "https://a.example", anyError: false },
    { kind: "url", url: "file:///p", anyError: true },
    { kind: "direct", anyError: false },
    { kind: "off", anyError: false },
  ]);
  assert.deepEqual(parseGoProxy(""), []);
  assert.ok(matchPrefixPatterns("*.corp.example,github.com/acme", "git.corp.example/x/y"));
  assert.ok(matchPrefixPatterns("*.corp.example,github.com/acme", "github.com/acme/private/v2"));
  assert.ok(!matchPrefixPatterns("github.com/acme", "github.com/acmex/y"));
  assert.ok(matchPrefixPatterns("github.com/a?me/[p-r]*", "github.com/acme/private"));
  assert.equal(modFlagOf("-trimpath -mod=vendor"), "vendor");
  assert.equal(modFlagOf("--mod=mod"), "mod");
  assert.equal(modFlagOf(undefined), undefined);
  assert.deepEqual(parseNetrc("machine proxy.corp login bob password s3cret\ndefault login x password y").get("proxy.corp"), {
    login: "bob",
    password: "s3cret",
  });
});

test("hash1 is dirhash.Hash1: sorted names, sha256 lines, base64 of the summary's sha256", () => {
  // By the definition; modules-resolve.test.ts checks it against the hashes `go mod tidy` writes.
  const files = [
    { name: "b/x.go", data: "package x\n" },
    { name: "a/go.mod", data: "module a\n" },
  ];
  const summary = files
    .map((f) => f.name)
    .sort()
    .map((n) => `${require_sha(files.find((f) => f.name === n)!.data)}  ${n}\n`)
    .join("");
  assert.equal(hash1(files), `h1:${Buffer.from(require_sha(summary), "hex").toString("base64")}`);
  assert.equal(hashGoMod("module a\n"), hash1([{ name: "go.mod", data: "module a\n" }]));
  assert.throws(() => hash1([{ name: "a\nb", data: "" }]), /newlines/);
});

function require_sha(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

test("module zips: traversal, symlinks, foreign prefixes, duplicates, bombs and corruption are refused", () => {
  const p = "a.io/m@v1.0.0/";
  const ok = makeZip([
    { name: `${p}go.mod`, data: "module a.io/m\n" },
    { name: `${p}x/x.go`, data: "package x\n", stored: true },
  ]);
  assert.deepEqual(
    readModuleZip(ok, p).map((e) => e.name),
    [`${p}go.mod`, `${p}x/x.go`],
  );
  const refuse = (zip: Buffer, re: RegExp) =>
    assert.throws(
      () => readModuleZip(zip, p),
      (e: unknown) => e instanceof ZipError && re.test((e as Error).message),
    );
  refuse(makeZip([{ name: `${p}../evil.go`, data: "x" }]), /escape/);
  refuse(makeZip([{ name: "b.io/other@v1.0.0/x.go", data: "x" }]), /outside/);
  refuse(makeZip([{ name: `${p}link`, data: "/etc/passwd", mode: 0o120777 }]), /symlink/);
  refuse(
    makeZip([
      { name: `${p}a.go`, data: "x" },
      { name: `${p}A.go`, data: "y" },
    ]),
    /duplicate/,
  );
  refuse(Buffer.from("not a zip at all, just some bytes to scan"), /not a zip/);
  // A bomb: the entry inflates to far more than it declares.
  const bomb = makeZip([{ name: `${p}big.go`, data: Buffer.alloc(1 << 20) }]);
  const cd = bomb.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  bomb.writeUInt32LE(10, cd + 24);
  refuse(bomb, /inflate|size differs/);
  const corrupt = Buffer.from(ok);
  corrupt[corrupt.indexOf("package x")] ^= 0x01;
  refuse(corrupt, /CRC-32/);
  assert.throws(() => readModuleZip(ok, p, { maxZipBytes: 10, maxTotalBytes: 1e9, maxFiles: 10, maxGoModBytes: 1e6 }), /limit/);
  assert.throws(() => readModuleZip(ok, p, { maxZipBytes: 1e9, maxTotalBytes: 1e9, maxFiles: 1, maxGoModBytes: 1e6 }), /limit of 1/);
});
