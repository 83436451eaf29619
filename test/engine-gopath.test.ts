// One go.mod parser, one import-name rule, one dirOf: the analysis and the GitHub snapshot agree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { defaultImportName, dirOf, parseGoMod } from "../src/analysis/gopath.ts";
import { modulePath } from "../src/github/snapshot.ts";
import { analyzeFiles } from "../src/analysis/index.ts";

test("parseGoMod: comments, quotes, blocks, and a // after the path", () => {
  const cases: [string, string | undefined][] = [
    ["module example.com/x\n", "example.com/x"],
    ["module example.com/x // note\n", "example.com/x"],
    ["module example.com/x// note\n", "example.com/x"],
    ["// leading comment\n\nmodule   example.com/x\t\ngo 1.22\n", "example.com/x"],
    ['module "example.com/q" // quoted\n', "example.com/q"],
    ["module `example.com/raw`\n", "example.com/raw"],
    ["\uFEFFmodule example.com/bom\n", "example.com/bom"],
    ["module (\n\t// c\n\texample.com/block\n)\n", "example.com/block"],
    ["module (example.com/inline)\n", "example.com/inline"],
    ["// module example.com/commented\ngo 1.22\n", undefined],
    ["modulex example.com/no\n", undefined],
    ["go 1.22\n", undefined],
  ];
  for (const [text, want] of cases) {
    assert.equal(parseGoMod(text), want, JSON.stringify(text));
    // The GitHub snapshot reads go.mod through the same parser.
    assert.equal(modulePath(text), want, `snapshot: ${JSON.stringify(text)}`);
  }
});

test("defaultImportName follows Go tooling, and the package clause wins when the package is known", () => {
  const cases: [string, string][] = [
    ["fmt", "fmt"],
    ["example.com/bar-baz", "bar"],
    ["github.com/mattn/go-sqlite3", "sqlite3"],
    ["github.com/kelseyhightower/envconfig-go", "envconfig"],
    ["gopkg.in/yaml.v3", "yaml"],
    ["github.com/labstack/echo/v4", "echo"],
    ["github.com/jackc/pgx/v5", "pgx"],
    ["example.com/v2", "example"],
    ["github.com/go-chi/chi/v5", "chi"],
    ["example.com/héllo", "héllo"],
  ];
  for (const [p, want] of cases) assert.equal(defaultImportName(p), want, p);
  const source = { packageByPath: (p: string) => (p === "example.com/bar-baz" ? { name: "barbaz" } : undefined) };
  assert.equal(defaultImportName("example.com/bar-baz", source), "barbaz");
  assert.equal(defaultImportName("example.com/other-pkg", source), "other");
});

test("dirOf is the package directory, '.' at the root", () => {
  assert.equal(dirOf("a/b/c.go"), "a/b");
  assert.equal(dirOf("c.go"), ".");
  assert.equal(dirOf("go.mod"), ".");
});

test("a go.mod whose module line ends in a comment still names the packages", async () => {
  const a = await analyzeFiles([
    { path: "go.mod", text: "module example.com/x // the shop\n\ngo 1.22\n" },
    { path: "p/t.go", text: "package p\n\ntype T struct {\n\tA int64\n\tB bool\n}\n" },
  ]);
  assert.equal(a.structs[0].package, "example.com/x/p");
});

test("an unnamed import of a dashed path resolves by its assumed name", async () => {
  const a = await analyzeFiles([
    { path: "go.mod", text: "module example.com/m\n" },
    { path: "bar-baz/b.go", text: "package bar\n\ntype Item struct {\n\tA, B int64\n}\n" },
    { path: "use/u.go", text: 'package use\n\nimport "example.com/m/bar-baz"\n\ntype T struct {\n\tI bar.Item\n\tOk bool\n}\n' },
  ]);
  const t = a.structs.find((s) => s.name === "T")!;
  assert.equal(t.resolved, true, JSON.stringify(t.unresolved));
  assert.equal(t.layouts.amd64?.size, 24);
});
