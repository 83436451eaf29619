// Module zips are hostile input: any corruption of a valid zip (flipped bytes, truncation, a
// patched central directory) must end in a ZipError or a checked result, never another exception,
// a hang, or an entry outside the module folder.
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { readModuleZip, writeZip, ZipError } from "../src/modules/zip.ts";

const PREFIX = "example.com/m@v1.0.0/";
const VALID = writeZip([
  { name: `${PREFIX}go.mod`, data: "module example.com/m\n" },
  { name: `${PREFIX}a.go`, data: "package m\n\ntype T struct{ A, B int }\n".repeat(20) },
  { name: `${PREFIX}sub/b.go`, data: "package sub\n" },
]);

function check(zip: Buffer): void {
  try {
    const entries = readModuleZip(zip, PREFIX, { maxZipBytes: 1 << 20, maxTotalBytes: 1 << 20, maxFiles: 100, maxGoModBytes: 1 << 16 });
    for (const e of entries) {
      assert.ok(e.name.startsWith(PREFIX) && !e.name.split("/").includes(".."), e.name);
    }
  } catch (err) {
    if (!(err instanceof ZipError)) throw err;
  }
}

test("flipped bytes and truncations of a module zip end in a ZipError or a checked result", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(VALID.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }),
      fc.nat(VALID.length),
      (flips, cut) => {
        const z = Buffer.from(VALID);
        for (const [i, x] of flips) z[i] ^= x;
        check(z);
        check(z.subarray(0, cut));
      },
    ),
    { numRuns: 2000 },
  );
});

test("a central directory claiming huge sizes, counts or offsets is refused without allocating them", () => {
  const cd = VALID.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
  for (const [off, value] of [
    [20, 0xffffffff], // compressed size
    [24, 0xffffffff], // uncompressed size
    [42, 0xfffffff0], // local header offset
  ] as const) {
    const z = Buffer.from(VALID);
    z.writeUInt32LE(value, cd + off);
    assert.throws(() => readModuleZip(z, PREFIX), ZipError);
  }
  const eocd = VALID.length - 22;
  const many = Buffer.from(VALID);
  many.writeUInt16LE(0xfffe, eocd + 10);
  assert.throws(() => readModuleZip(many, PREFIX), ZipError);
});
