// Read the files a snapshot wants out of one repository archive (`GET /repos/{o}/{r}/tarball/{ref}`),
// streamed: gunzip + tar in memory, never on disk. The archive is untrusted input, so:
// - only regular-file entries are read; links (symbolic or hard) and everything else are skipped,
//   never followed;
// - a path is matched exactly against the tree listing after the single top-level folder
//   (`owner-repo-sha/`) is stripped; `..`, `.`, empty segments, absolute paths and entries outside
//   that folder are rejected, never normalised into a wanted path;
// - an entry is read into memory only when its path is wanted and its size equals the tree's, and
//   its content is kept only when its git blob SHA equals the tree's (so export-subst, LFS, or a
//   forged archive can only cause a fallback, never wrong text);
// - decompressed bytes are counted and the stream is aborted past a cap (decompression bombs), and
//   the whole read runs under a time budget;
// - any failure (corrupt gzip, bad tar header, truncated stream, HTTP error) ends the read with an
//   error string; the caller fetches whatever was not found blob by blob.
import type { GitHubClient } from "./client.ts";
import { createHash } from "node:crypto";
import { Readable, Transform, pipeline, type TransformCallback } from "node:stream";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";

export interface ArchiveWant {
  path: string;
  sha: string;
  size: number;
}

export interface ArchiveReadOptions {
  /** Abort once this many decompressed (tar) bytes have been read. */
  maxTarBytes: number;
  /** Abort after this many milliseconds. */
  timeoutMs: number;
  /** Aborts the read from outside (e.g. the HTTP request's own controller). */
  signal?: AbortSignal;
}

export interface ArchiveReadResult {
  /** Wanted files found with the right content (their SHA checked). */
  found: number;
  /** Wanted paths whose size or SHA differed from the tree's (left to the blob API). */
  mismatched: number;
  /** Entries rejected for their path: traversal, absolute, outside the top-level folder. */
  unsafePaths: number;
  /** Symbolic and hard links, skipped. */
  links: number;
  /** Entries of other kinds (devices, fifos, ...), skipped. */
  otherEntries: number;
  compressedBytes: number;
  tarBytes: number;
  /** All wanted files were found (the read stopped early when that happened). */
  complete: boolean;
  /** Why the read ended before the archive's end, if it did (then some files may be missing). */
  error?: string;
  ms: number;
}

/** The result of a download that failed before any entry was read. */
function failedRead(error: string, t0: number): ArchiveReadResult {
  return {
    found: 0,
    mismatched: 0,
    unsafePaths: 0,
    links: 0,
    otherEntries: 0,
    compressedBytes: 0,
    tarBytes: 0,
    complete: false,
    error,
    ms: performance.now() - t0,
  };
}

/** git's blob id: sha1("blob <len>\0" + content). */
export function gitBlobSha(buf: Buffer): string {
  return createHash("sha1").update(`blob ${buf.length}\0`).update(buf).digest("hex");
}

/** The tree path of an archive entry, or undefined when the name is unsafe or outside `top`. */
export function archivePath(name: string, top: { value?: string }): string | undefined {
  if (!name || name.includes("\0") || name.startsWith("/") || /^[A-Za-z]:/.test(name) || name.includes("\\")) return undefined;
  const parts = name.replace(/\/+$/, "").split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..")) return undefined;
  const [first, ...rest] = parts;
  top.value ??= first;
  if (first !== top.value) return undefined;
  return rest.length ? rest.join("/") : "";
}

/** Upper bound of the uncompressed tar size `git archive` writes for these files. */
export function estimateTarBytes(files: Iterable<{ path: string; size: number }>): number {
  const block = (n: number) => Math.ceil(n / 512) * 512;
  const dirs = new Set<string>();
  let total = 3 * 1024; // pax global header (commit id) + end-of-archive blocks
  for (const f of files) {
    // a header, the content, and a pax header for a long name (a header plus its records)
    total += 512 + block(f.size) + (f.path.length > 90 ? 1024 + block(f.path.length) : 0);
    for (let i = f.path.indexOf("/"); i >= 0; i = f.path.indexOf("/", i + 1)) dirs.add(f.path.slice(0, i));
  }
  for (const d of dirs) total += 512 + (d.length > 90 ? 1024 + block(d.length) : 0);
  // blocking: git pads the archive to a multiple of 10,240 bytes
  return Math.ceil((total + 512 * (dirs.size + 1)) / 10240) * 10240;
}

class ByteCounter extends Transform {
  bytes = 0;
  constructor(
    private max: number,
    private what: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
    this.bytes += chunk.length;
    if (this.bytes > this.max) cb(new Error(`${this.what} exceeded ${this.max} bytes`));
    else cb(null, chunk);
  }
}

type Body = WebReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Readable;

/**
 * A fetch body as a Node stream that reads one chunk per request and cancels only between reads.
 * (Readable.fromWeb reads ahead, and cancelling a body while a read is pending makes Node 20's
 * fetch throw an uncaught "ReadableStream is already closed" for bodies built from iterables.)
 */
function webSource(body: WebReadableStream<Uint8Array>): Readable {
  const reader = body.getReader();
  let pending: Promise<unknown> | undefined;
  return new Readable({
    read() {
      pending = reader.read().then(
        ({ done, value }) => {
          pending = undefined;
          if (done) this.push(null);
          else this.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
        },
        (err: unknown) => {
          pending = undefined;
          this.destroy(err instanceof Error ? err : new Error(String(err)));
        },
      );
    },
    destroy(err, cb) {
      const cancel = () => void reader.cancel().catch(() => {});
      if (pending) pending.then(cancel, cancel);
      else cancel();
      cb(err);
    },
  });
}

/**
 * Read `wants` (tree path -> entry) out of a gzipped tar stream. `onFile` gets each verified file
 * once per SHA. Never throws: failures end up in `error`.
 */
export async function readArchive(
  body: Body,
  wants: Map<string, ArchiveWant>,
  onFile: (w: ArchiveWant, content: Buffer) => void,
  o: ArchiveReadOptions,
): Promise<ArchiveReadResult> {
  const t0 = performance.now();
  const r: ArchiveReadResult = {
    found: 0,
    mismatched: 0,
    unsafePaths: 0,
    links: 0,
    otherEntries: 0,
    compressedBytes: 0,
    tarBytes: 0,
    complete: false,
    ms: 0,
  };
  const pendingShas = new Set([...wants.values()].map((w) => w.sha));
  if (pendingShas.size === 0) {
    r.complete = true;
    return r;
  }
  let source: Readable;
  try {
    source = body instanceof Readable ? body : "getReader" in body ? webSource(body) : Readable.from(body);
  } catch (e) {
    return { ...r, error: `archive body: ${String((e as Error)?.message ?? e)}`, ms: performance.now() - t0 };
  }
  // gzip never grows data by more than a few bytes per block: a longer compressed stream (e.g. empty
  // gzip members without end) is not an archive of this tree
  const compressed = new ByteCounter(o.maxTarBytes + 2 ** 20, "compressed archive");
  const decompressed = new ByteCounter(o.maxTarBytes, "decompressed archive");
  const extract = tar.extract();
  let failure: string | undefined;
  const fail = (why: string) => {
    failure ??= why;
    decompressed.destroy(new Error(why)); // pipeline() then destroys every stage, and the request
    extract.destroy(new Error(why));
  };
  pipeline(source, compressed, createGunzip(), decompressed, (err) => {
    if (err && !failure && r.complete === false) fail(String(err.message ?? err));
  });
  decompressed.pipe(extract);
  const timer = setTimeout(() => fail(`time budget (${o.timeoutMs} ms) exceeded`), o.timeoutMs);
  const onAbort = () => fail("aborted");
  o.signal?.addEventListener("abort", onAbort, { once: true });
  const top: { value?: string } = {};
  try {
    for await (const entry of extract) {
      const h = entry.header;
      let want: ArchiveWant | undefined;
      if (h.type === "symlink" || h.type === "link") r.links++;
      else if (h.type !== "file" && h.type !== "directory") r.otherEntries++;
      else {
        const path = archivePath(h.name, top);
        if (path === undefined) r.unsafePaths++;
        else if (h.type === "file" && path) {
          want = wants.get(path);
          if (want && !pendingShas.has(want.sha)) want = undefined; // already found under another path
          if (want && h.size !== want.size) {
            r.mismatched++;
            want = undefined;
          }
        }
      }
      if (!want) {
        for await (const _ of entry) {
          /* drain: the counter sees these bytes */
        }
        continue;
      }
      const chunks: Buffer[] = [];
      let len = 0;
      for await (const c of entry) {
        len += (c as Buffer).length;
        if (len > want.size) break; // cannot happen with a sane parser; never buffer past the tree's size
        chunks.push(c as Buffer);
      }
      const content = Buffer.concat(chunks);
      if (content.length !== want.size || gitBlobSha(content) !== want.sha) {
        r.mismatched++;
        continue;
      }
      pendingShas.delete(want.sha);
      r.found++;
      onFile(want, content);
      if (pendingShas.size === 0) {
        r.complete = true;
        break; // the rest of the archive is not needed: stop downloading
      }
    }
  } catch (e) {
    failure ??= String((e as Error)?.message ?? e);
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", onAbort);
    r.compressedBytes = compressed.bytes;
    r.tarBytes = decompressed.bytes;
    if (!decompressed.destroyed) decompressed.destroy();
    if (!source.destroyed) source.destroy();
  }
  if (!r.complete && failure) r.error = failure;
  r.ms = performance.now() - t0;
  return r;
}

export interface ArchiveRequest {
  owner: string;
  repo: string;
  /** A commit SHA: the archive of exactly the tree the snapshot listed. */
  ref: string;
}

/**
 * Download the tarball of `ref` (the API answers 302 to codeload; fetch follows it) and read `wants`
 * out of it as a stream. The time budget covers the request and the read. Never throws.
 */
export async function fetchArchive(
  octokit: GitHubClient,
  req: ArchiveRequest,
  wants: Map<string, ArchiveWant>,
  onFile: (w: ArchiveWant, content: Buffer) => void,
  o: Omit<ArchiveReadOptions, "signal">,
): Promise<ArchiveReadResult> {
  const t0 = performance.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), o.timeoutMs);
  try {
    let body: unknown;
    try {
      ({ data: body } = await octokit.rest.repos.downloadTarballArchive({
        owner: req.owner,
        repo: req.repo,
        ref: req.ref,
        // the body as a stream, not an ArrayBuffer of the whole archive
        request: { parseSuccessResponseBody: false, signal: controller.signal, retries: 0 },
      }));
    } catch (e) {
      const err = e as { status?: number; message?: string };
      const why = controller.signal.aborted
        ? `time budget (${o.timeoutMs} ms) exceeded`
        : `GET tarball: ${err?.status ?? ""} ${String(err?.message ?? e).split("\n")[0]}`.trim();
      return failedRead(why, t0);
    }
    if (!body || typeof body !== "object" || !("getReader" in body || Symbol.asyncIterator in body)) {
      controller.abort();
      return failedRead("GET tarball: no body stream", t0);
    }
    const left = Math.max(1, o.timeoutMs - (performance.now() - t0));
    const r = await readArchive(body as Body, wants, onFile, { ...o, timeoutMs: left, signal: controller.signal });
    if (r.error === "aborted") r.error = `time budget (${o.timeoutMs} ms) exceeded`;
    r.ms = performance.now() - t0;
    return r;
  } finally {
    // No abort() here: readArchive cancels the body stream, which ends the download. (Aborting a
    // cancelled body makes Node 20's fetch throw an uncaught "ReadableStream is already closed".)
    clearTimeout(timer);
  }
}
