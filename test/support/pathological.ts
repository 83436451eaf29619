// Pathological but valid Go, shared by the budget tests and the worker-memory benchmark.
import type { FakeGitHub } from "./fake-github.ts";
import { loadPullFromTrees } from "./fake-github.ts";

export const CHAIN_MODULE = "module example.com/chain\n\ngo 1.21\n";

/**
 * n struct types over `files` files, each pointing at the next, declared leaf first: every walk
 * reuses the next type's memoised chain, which used to be copied (O(n²) labels, GBs of heap).
 */
export function pointerChain(n: number, files = 5): Map<string, string> {
  const out = new Map<string, string>([["go.mod", CHAIN_MODULE]]);
  const per = Math.ceil(n / files);
  for (let f = 0; f < files; f++) {
    let text = "package chain\n\n";
    for (let i = f * per; i < Math.min(n, (f + 1) * per); i++) {
      const j = n - 1 - i;
      text += j + 1 < n ? `type T${j} struct { next *T${j + 1}; v int }\n` : `type T${j} struct { v int }\n`;
    }
    out.set(`chain/f${f}.go`, text);
  }
  return out;
}

/** A PR that adds `head`'s Go files to a module holding only go.mod (every file added in full). */
export function loadAddedFilesPull(
  gh: FakeGitHub,
  o: { owner: string; repo: string; number: number; baseSha: string; headSha: string; head: Map<string, string> },
): void {
  const toBuffers = (m: Map<string, string>) => new Map([...m].map(([p, t]) => [p, Buffer.from(t)]));
  const files = [...o.head.keys()]
    .filter((p) => p.endsWith(".go"))
    .map((filename) => {
      const lines = o.head.get(filename)!.split("\n").length;
      return { filename, status: "added", additions: lines, deletions: 0, changes: lines, patch: `@@ -0,0 +1,${lines} @@\n+package chain` };
    });
  loadPullFromTrees(gh, {
    owner: o.owner,
    repo: o.repo,
    number: o.number,
    baseSha: o.baseSha,
    headSha: o.headSha,
    before: toBuffers(new Map([["go.mod", o.head.get("go.mod") ?? CHAIN_MODULE]])),
    after: toBuffers(o.head),
    files,
  });
}
