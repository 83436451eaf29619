// Layout numbers checked against the Go compiler. Every expected number below was printed by
// test/fixtures/compiler-truth (go1.19.8, `go run` for amd64 and GOARCH=386): unsafe.Sizeof,
// Alignof and Offsetof, and ptrdata read from the compiler-emitted runtime type descriptor.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { analyzeFiles } from "../src/analysis/index.ts";
import type { Analysis, Arch, StructLayout } from "../src/analysis/model.ts";
import { sizeClass } from "../src/analysis/sizes.ts";

const dir = "test/fixtures/compiler-truth";
let cached: Analysis | undefined;
async function truth(): Promise<Analysis> {
  cached ??= await analyzeFiles(
    ["go.mod", "main.go", "ptr.go"].map((f) => ({ path: f, text: readFileSync(`${dir}/${f}`, "utf8") })),
    // The numbers are go1.19.8's, so the layouts assume Go 1.19's standard library (sync.WaitGroup changed since).
    { archs: ["amd64", "386", "arm64"], go: "1.19" },
  );
  return cached;
}

async function layout(name: string, arch: Arch): Promise<StructLayout> {
  const s = (await truth()).structs.find((x) => x.name === name);
  assert.ok(s, `struct ${name} listed`);
  const l = s.layouts[arch];
  assert.ok(l, `${name} has a layout on ${arch}: ${s.unresolved.join(", ")}`);
  return l;
}

// [size, align, offsets of the fields the program prints (in field order), ptrdata]
const expected: Record<string, Record<"amd64" | "386", [number, number, number[], number?]>> = {
  Order: { amd64: [32, 8, [0, 8, 16, 24], 16], "386": [20, 4, [0, 4, 8, 16], 8] },
  TrailingZero: { amd64: [8, 4, [0, 4], 0], "386": [8, 4, [0, 4], 0] },
  ZeroArr: { amd64: [0, 8, [], 0], "386": [0, 4, [], 0] },
  TrailingZeroArr: { amd64: [16, 8, [8]], "386": [12, 4, [8]] },
  AtomicAfterInt32: { amd64: [16, 8, [8]], "386": [16, 8, [8]] },
  PlainInt64AfterInt32: { amd64: [16, 8, [8]], "386": [12, 4, [4]] },
  Complex64: { amd64: [12, 4, [4]], "386": [12, 4, [4]] },
  Complex128: { amd64: [24, 8, [8]], "386": [20, 4, [4]] },
  Kinds: { amd64: [104, 8, [8, 24, 48, 56, 64, 72, 88, 96], 96], "386": [52, 4, [4, 12, 24, 28, 32, 36, 44, 48], 48] },
  WithStd: { amd64: [56, 8, [8, 32, 40], 32], "386": [44, 4, [8, 28, 32], 28] },
  // The program prints Address and Customer; the blank [3]byte follows Customer.
  Embeds: { amd64: [40, 8, [0, 8, 32], 24], "386": [20, 4, [0, 4, 16], 12] },
  PtrArr: { amd64: [56, 8, [48], 40], "386": [40, 4, [36], 28] },
  PtrTail: { amd64: [72, 8, [], 8], "386": [68, 4, [], 4] },
  Customer: { amd64: [24, 8, [], 16], "386": [12, 4, [], 8] },
};

for (const [name, byArch] of Object.entries(expected)) {
  for (const arch of ["amd64", "386"] as const) {
    test(`${name} on ${arch} matches the compiler`, async () => {
      const [size, align, offsets, ptr] = byArch[arch];
      const l = await layout(name, arch);
      assert.equal(l.size, size, "size");
      assert.equal(l.align, align, "align");
      const got = l.fields.map((f) => f.offset);
      // The program prints every offset, or every offset but the first (which is always 0).
      const tail = got.slice(got.length - offsets.length);
      assert.deepEqual(tail, offsets, "field offsets");
      if (ptr !== undefined) assert.equal(l.ptrBytes, ptr, "ptrdata");
    });
  }
}

test("arm64 lays out like amd64 (both 8-byte words and max alignment)", async () => {
  for (const name of Object.keys(expected)) {
    const a = await layout(name, "amd64");
    const b = await layout(name, "arm64");
    assert.deepEqual([b.size, b.align, b.ptrBytes], [a.size, a.align, a.ptrBytes], name);
  }
});

test("padding, optimal order and size class of Order", async () => {
  const l = await layout("Order", "amd64");
  // bool(1)+7 pad, *Customer 8, int64 8, bool(1)+7 trailing: 14 bytes of padding.
  assert.equal(l.padding, 14);
  assert.equal(l.trailingPadding, 7);
  assert.deepEqual(l.optimalOrder, ["cust", "total", "paid", "open"]);
  assert.equal(l.optimalSize, 24);
  assert.equal(l.optimalPtrBytes, 8);
  assert.equal(l.sizeClass, 32);
  assert.equal(l.pointerFields, 1);
});

test("trailing zero-size field takes a byte that is not counted as padding", async () => {
  const l = await layout("TrailingZero", "amd64");
  assert.equal(l.size, 8);
  assert.equal(l.trailingPadding, 3);
  assert.equal(l.padding, 4);
});

test("pointer chain names each hop", async () => {
  const l = await layout("Order", "amd64");
  assert.equal(l.pointerDepth, 2);
  assert.equal(l.cyclic, false);
  assert.deepEqual(l.pointerChain, ["Order", "*Customer", "*Address"]);
});

test("size classes follow the runtime's table and round large objects to pages", () => {
  assert.equal(sizeClass(0), 0);
  assert.equal(sizeClass(1), 8);
  assert.equal(sizeClass(24), 24);
  assert.equal(sizeClass(25), 32);
  assert.equal(sizeClass(33), 48);
  assert.equal(sizeClass(3073), 3200);
  assert.equal(sizeClass(32768), 32768);
  assert.equal(sizeClass(32769), 40960);
});
