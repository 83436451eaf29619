// Build .tar.gz archives in memory with tar-stream's pack, shaped like GitHub's tarballs
// (`git archive`: a pax global header carrying the commit id, then `owner-repo-sha7/...`), and
// hostile ones (any entry type, any name) for the archive tests.
import { gzipSync } from "node:zlib";
import tar from "tar-stream";

export interface TarEntry {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "fifo" | "character-device";
  content?: Buffer | string;
  linkname?: string;
  mode?: number;
}

/** The uncompressed tar of these entries. `globalComment` adds a pax global header first. */
export async function buildTar(entries: TarEntry[], o: { globalComment?: string } = {}): Promise<Buffer> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) out.push(c as Buffer);
  })();
  const add = (h: Partial<tar.Header> & { name: string }, content?: Buffer) =>
    new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (content) pack.entry(h, content, cb);
      else pack.entry(h, cb);
    });
  if (o.globalComment) {
    // written as a file, then retyped 'g' (tar-stream packs no global header)
    await add({ name: "pax_global_header", type: "file", mode: 0o666, mtime: new Date(0) }, paxRecord("comment", o.globalComment));
  }
  for (const e of entries) {
    const content = e.content === undefined ? undefined : Buffer.from(e.content);
    const type = e.type ?? "file";
    await add(
      {
        name: e.name,
        type,
        mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
        ...(e.linkname ? { linkname: e.linkname } : {}),
        mtime: new Date(0),
      },
      type === "file" ? (content ?? Buffer.alloc(0)) : undefined,
    );
  }
  pack.finalize();
  await done;
  const buf = Buffer.concat(out);
  if (o.globalComment) retypeFirstHeader(buf, "g");
  return buf;
}

export async function buildTarGz(entries: TarEntry[], o: { globalComment?: string } = {}): Promise<Buffer> {
  return gzipSync(await buildTar(entries, o));
}

/** A repository tree as GitHub's tarball of `sha` holds it. */
export async function repoTarball(owner: string, repo: string, sha: string, files: Iterable<[string, Buffer | string]>): Promise<Buffer> {
  const top = `${owner}-${repo}-${sha.slice(0, 7)}`;
  const list = [...files].sort(([a], [b]) => (a < b ? -1 : 1));
  const dirs = new Set<string>();
  for (const [path] of list) for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) dirs.add(path.slice(0, i));
  const entries: TarEntry[] = [{ name: `${top}/`, type: "directory" }];
  const emitted = new Set<string>();
  for (const [path, content] of list) {
    // git archive writes a directory's entry before its first file
    for (let i = path.indexOf("/"); i >= 0; i = path.indexOf("/", i + 1)) {
      const d = path.slice(0, i);
      if (dirs.has(d) && !emitted.has(d)) {
        emitted.add(d);
        entries.push({ name: `${top}/${d}/`, type: "directory" });
      }
    }
    entries.push({ name: `${top}/${path}`, content });
  }
  return buildTarGz(entries, { globalComment: sha });
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`);
}

/** Change the first header's typeflag (tar-stream's pack cannot write a global header) and fix its checksum. */
function retypeFirstHeader(buf: Buffer, flag: string): void {
  buf[156] = flag.charCodeAt(0);
  buf.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += buf[i]!;
  buf.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "ascii");
}
