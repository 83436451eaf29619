// The GOPROXY client over https (nock, no network): list semantics ("," falls through on 404/410
// only, "|" on any error), credentials from the URL or a netrc, checksum refusal, and one fetch per
// module version however many packages of it are read.
import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import nock from "nock";
import { join } from "node:path";
import { ModuleLoader, ModuleFetchError } from "../src/modules/loader.ts";
import { parseGoProxy, type ModuleSettings } from "../src/modules/settings.ts";
import { hash1 } from "../src/modules/dirhash.ts";
import { analyzeSnapshot } from "../src/engine.ts";
import { LocalDirSnapshot } from "../src/snapshot/local.ts";
import { localModules } from "../src/modules/local.ts";
import { makeZip, tempDir, writeTree } from "./modules-support.ts";

const MOD = "github.com/Acme/lib";
const VER = "v1.2.0";
const FILES: Record<string, string> = {
  "go.mod": `module ${MOD}\n\ngo 1.21\n`,
  "lib.go": "package lib\n\ntype Item struct {\n\tID   int64\n\tName string\n\tok   bool\n}\n",
  "sub/sub.go": "package sub\n\ntype Pair struct {\n\tA, B int32\n}\n",
};
const entries = Object.entries(FILES).map(([n, d]) => ({ name: `${MOD}@${VER}/${n}`, data: d }));
const ZIP = makeZip(entries);
const H1 = hash1(entries);
const ZIP_PATH = "/github.com/!acme/lib/@v/v1.2.0.zip";
const goSum = new Map([[`${MOD} ${VER}`, H1]]);
const target = (sub: string) => ({
  importPath: sub ? `${MOD}/${sub}` : MOD,
  module: MOD,
  origin: { kind: "module" as const, path: MOD, version: VER },
  sub,
});

function settings(goproxy: string, extra: Partial<ModuleSettings> = {}): ModuleSettings {
  return {
    modCache: ["/nonexistent-modcache"],
    proxies: parseGoProxy(goproxy),
    noProxy: "",
    noSumDb: "",
    sumDbOff: false,
    netrc: new Map(),
    ...extra,
  };
}

afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

test("a 404 falls through a ',' list; the zip is fetched once for two packages and verified", async () => {
  nock.disableNetConnect();
  nock("https://first.test").get(ZIP_PATH).reply(404);
  const second = nock("https://second.test").get(ZIP_PATH).once().reply(200, ZIP);
  const loader = new ModuleLoader(settings("https://first.test,https://second.test"));
  const root = await loader.loadPackage(target(""), goSum);
  const sub = await loader.loadPackage(target("sub"), goSum);
  assert.deepEqual(
    root.files.map((f) => f.path),
    [`@mod/${MOD}@${VER}/lib.go`],
  );
  assert.deepEqual(
    sub.files.map((f) => f.path),
    [`@mod/${MOD}@${VER}/sub/sub.go`],
  );
  assert.equal(root.key, `${MOD}@${VER}/`);
  assert.equal(loader.fetches, 1);
  assert.ok(second.isDone());
});

test("a 500 stops a ',' list but falls through a '|' list", async () => {
  nock.disableNetConnect();
  nock("https://first.test").get(ZIP_PATH).reply(500);
  await assert.rejects(
    new ModuleLoader(settings("https://first.test,https://second.test")).loadPackage(target(""), goSum),
    /first\.test: HTTP 500/,
  );
  nock("https://first.test").get(ZIP_PATH).reply(502);
  nock("https://second.test").get(ZIP_PATH).reply(200, ZIP);
  const ok = await new ModuleLoader(settings("https://first.test|https://second.test")).loadPackage(target(""), goSum);
  assert.equal(ok.files.length, 1);
});

test("credentials from the proxy URL or a netrc go in a Basic header, never in the note", async () => {
  nock.disableNetConnect();
  nock("https://private.test", { reqheaders: { authorization: `Basic ${Buffer.from("bob:s3cret").toString("base64")}` } })
    .get(ZIP_PATH)
    .twice()
    .reply(200, ZIP);
  await new ModuleLoader(settings("https://bob:s3cret@private.test")).loadPackage(target(""), goSum);
  await new ModuleLoader(
    settings("https://private.test", { netrc: new Map([["private.test", { login: "bob", password: "s3cret" }]]) }),
  ).loadPackage(target(""), goSum);
  nock("https://private.test").get(ZIP_PATH).reply(403);
  const err = await new ModuleLoader(settings("https://bob:s3cret@private.test")).loadPackage(target(""), goSum).catch((e: Error) => e);
  assert.ok(err instanceof ModuleFetchError);
  assert.doesNotMatch(err.message, /s3cret/);
  assert.match(err.message, /HTTP 403/);
});

test("a zip that does not match go.sum is refused; without a line it is refused unless GONOSUMDB covers it", async () => {
  nock.disableNetConnect();
  const other = makeZip(entries.map((e) => (e.name.endsWith("lib.go") ? { ...e, data: `${e.data}// changed\n` } : e)));
  nock("https://p.test").get(ZIP_PATH).reply(200, other);
  await assert.rejects(
    new ModuleLoader(settings("https://p.test")).loadPackage(target(""), goSum),
    /checksum mismatch for github\.com\/Acme\/lib@v1\.2\.0: go\.sum has h1:/,
  );
  nock("https://p.test").get(ZIP_PATH).reply(200, ZIP);
  await assert.rejects(
    new ModuleLoader(settings("https://p.test")).loadPackage(target(""), new Map()),
    /go\.sum has no line for github\.com\/Acme\/lib@v1\.2\.0/,
  );
  nock("https://p.test").get(ZIP_PATH).reply(200, ZIP);
  const ok = await new ModuleLoader(settings("https://p.test", { noSumDb: "github.com/acme,github.com/Acme" })).loadPackage(
    target(""),
    new Map(),
  );
  assert.equal(ok.files.length, 1);
});

test("end to end over https: a struct embedding the dependency's type is laid out; the proxy is asked once", async () => {
  nock.disableNetConnect();
  const scope = nock("https://proxy.test").get(ZIP_PATH).once().reply(200, ZIP);
  const dir = tempDir("memcheck-https-");
  writeTree(dir, {
    "go.mod": `module example.com/app\n\ngo 1.21\n\nrequire ${MOD} ${VER}\n`,
    "go.sum": `${MOD} ${VER} ${H1}\n${MOD} ${VER}/go.mod ${hash1([{ name: "go.mod", data: FILES["go.mod"] }])}\n`,
    "app.go": `package app\n\nimport (\n\t"${MOD}"\n\t"${MOD}/sub"\n)\n\ntype Row struct {\n\tlib.Item\n\tp    sub.Pair\n\tflag bool\n}\n`,
  });
  const a = await analyzeSnapshot(new LocalDirSnapshot(dir), {
    archs: ["amd64", "386"],
    threads: 1,
    modules: localModules(dir, { HOME: dir, GOMODCACHE: join(dir, "no-cache"), GOPROXY: "https://proxy.test" }),
  });
  const row = a.structs.find((s) => s.name === "Row");
  assert.ok(row?.resolved, JSON.stringify(row?.unresolved));
  // Item: 8 + 16 + 1 -> 32 (amd64); Pair 8 at 32; flag at 40 -> 48. On 386: 4-aligned int64: 4+8... Item 8+8+1 -> 20, Pair at 20, flag 28 -> 32.
  assert.equal(row.layouts.amd64?.size, 48);
  assert.equal(row.layouts["386"]?.size, 32);
  assert.ok(scope.isDone());
});
