// A module zip is hostile input: this reader checks everything before inflating a byte. Limits are
// Go's own for module zips (golang.org/x/mod/zip: 500 MiB uncompressed, go.mod 16 MiB) plus a file
// count; names must sit under "module@version/", with no "..", no absolute or backslash paths, no
// duplicates and no symlinks; each entry inflates with its declared size as a hard cap and must
// match its CRC-32.
import { crc32, deflateRawSync, inflateRawSync } from "node:zlib";

export const ZIP_LIMITS = {
  /** Compressed size of the whole archive. */
  maxZipBytes: 500 << 20,
  /** Sum of the uncompressed sizes of the entries. */
  maxTotalBytes: 500 << 20,
  maxFiles: 50_000,
  maxGoModBytes: 16 << 20,
};

export class ZipError extends Error {}

export interface ZipEntry {
  name: string;
  data: Buffer;
}

const EOCD = 0x06054b50;
const CEN = 0x02014b50;
const LOC = 0x04034b50;

/**
 * Every entry of a module zip, checked; throws ZipError on anything a module zip may not hold.
 * A repository archive (GitHub's zipball) has directory entries and may hold symlinks: `lenient`
 * skips those instead of refusing the archive.
 */
export function readModuleZip(zip: Buffer, prefix: string, limits = ZIP_LIMITS, lenient = false): ZipEntry[] {
  if (zip.length > limits.maxZipBytes) throw new ZipError(`zip is ${zip.length} bytes, over the ${limits.maxZipBytes}-byte limit`);
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError("not a zip file (no end of central directory)");
  const count = zip.readUInt16LE(eocd + 10);
  const cdSize = zip.readUInt32LE(eocd + 12);
  const cdOffset = zip.readUInt32LE(eocd + 16);
  if (count === 0xffff || cdOffset === 0xffffffff) throw new ZipError("zip64 archives are not supported");
  if (count > limits.maxFiles) throw new ZipError(`zip holds ${count} files, over the limit of ${limits.maxFiles}`);
  if (cdOffset + cdSize > eocd) throw new ZipError("corrupt zip: central directory out of range");
  const out: ZipEntry[] = [];
  const names = new Set<string>();
  let total = 0;
  let p = cdOffset;
  for (let n = 0; n < count; n++) {
    if (p + 46 > eocd || zip.readUInt32LE(p) !== CEN) throw new ZipError("corrupt zip: bad central directory entry");
    const flags = zip.readUInt16LE(p + 8);
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const csize = zip.readUInt32LE(p + 20);
    const usize = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const madeBy = zip.readUInt16LE(p + 4) >> 8;
    const ext = zip.readUInt32LE(p + 38);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.toString("utf8", p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    if (flags & 1) throw new ZipError(`${name}: encrypted entries are not allowed`);
    const link = madeBy === 3 && ((ext >>> 16) & 0xf000) === 0xa000;
    if (lenient && (link || name.endsWith("/"))) continue;
    if (link) throw new ZipError(`${name}: symlinks are not allowed`);
    checkName(name, prefix);
    if (names.has(name.toLowerCase())) throw new ZipError(`${name}: duplicate file name`);
    names.add(name.toLowerCase());
    if (name.endsWith("/")) throw new ZipError(`${name}: directory entries are not allowed in a module zip`);
    total += usize;
    if (total > limits.maxTotalBytes) throw new ZipError(`zip expands to over ${limits.maxTotalBytes} bytes`);
    if (name === `${prefix}go.mod` && usize > limits.maxGoModBytes) throw new ZipError("go.mod is over 16 MiB");
    if (local + 30 > zip.length || zip.readUInt32LE(local) !== LOC) throw new ZipError(`${name}: bad local header`);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    if (start + csize > zip.length) throw new ZipError(`${name}: data out of range`);
    const raw = zip.subarray(start, start + csize);
    let data: Buffer;
    if (method === 0) {
      if (csize !== usize) throw new ZipError(`${name}: stored size mismatch`);
      data = Buffer.from(raw);
    } else if (method === 8) {
      try {
        data = inflateRawSync(raw, { maxOutputLength: Math.max(usize, 1) });
      } catch (err) {
        throw new ZipError(`${name}: cannot inflate (${(err as Error).message})`);
      }
      if (data.length !== usize) throw new ZipError(`${name}: size differs from the declared ${usize} bytes`);
    } else {
      throw new ZipError(`${name}: compression method ${method} is not supported`);
    }
    if (crc32(data) >>> 0 !== crc) throw new ZipError(`${name}: CRC-32 mismatch`);
    out.push({ name, data });
  }
  return out;
}

function checkName(name: string, prefix: string): void {
  if (!name.startsWith(prefix)) throw new ZipError(`${JSON.stringify(name)} is outside ${prefix}`);
  const rest = name.slice(prefix.length);
  if (
    rest === "" ||
    name.includes("\\") ||
    name.includes("\u0000") ||
    name.includes("\n") ||
    rest.startsWith("/") ||
    rest.split("/").some((s) => s === ".." || s === ".")
  ) {
    throw new ZipError(`${JSON.stringify(name)}: file names may not escape the module folder`);
  }
}

/** A zip of these entries (deflated), as Go's module zips are written. */
export function writeZip(entries: { name: string; data: Buffer | string }[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = Buffer.from(e.data);
    const body = deflateRawSync(data);
    const name = Buffer.from(e.name);
    const crc = crc32(data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOC, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const cen = Buffer.alloc(46);
    cen.writeUInt32LE(CEN, 0);
    cen.writeUInt16LE(20, 4);
    cen.writeUInt16LE(20, 6);
    cen.writeUInt16LE(0x800, 8);
    cen.writeUInt16LE(8, 10);
    cen.writeUInt32LE(crc, 16);
    cen.writeUInt32LE(body.length, 20);
    cen.writeUInt32LE(data.length, 24);
    cen.writeUInt16LE(name.length, 28);
    cen.writeUInt32LE(offset, 42);
    parts.push(local, name, body);
    central.push(cen, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(EOCD, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}
