// golang.org/x/mod/sumdb/dirhash's Hash1, the "h1:" hashes of go.sum: SHA-256 over a summary with
// one line per file, sorted by name (bytewise, as Go's sort.Strings), "<hex sha256 of the file>  <name>\n".
import { createHash } from "node:crypto";

export function hash1(files: { name: string; data: Buffer | string }[]): string {
  const sorted = [...files].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  const h = createHash("sha256");
  for (const f of sorted) {
    if (f.name.includes("\n")) throw new Error("dirhash: filenames with newlines are not supported");
    h.update(`${createHash("sha256").update(f.data).digest("hex")}  ${f.name}\n`);
  }
  return `h1:${h.digest("base64")}`;
}

/** The go.sum hash of a module's go.mod (`module version/go.mod h1:...`). */
export function hashGoMod(text: Buffer | string): string {
  return hash1([{ name: "go.mod", data: text }]);
}
