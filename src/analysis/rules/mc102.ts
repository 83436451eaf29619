// MC102 unbounded decompression: io.ReadAll, io.Copy or bytes.Buffer.ReadFrom over a gzip,
// zlib, flate, bzip2, lzw or zstd reader, with no io.LimitReader / io.CopyN bound.
import type { Node } from "web-tree-sitter";
import type { PendingHit, Rule } from "./rule.ts";
import {
  type Ev,
  type FileFacts,
  assignSides,
  callArgs,
  callee,
  eventsByOuter,
  exprKey,
  findDecl,
  isIgnored,
  isPkgCall,
  unparen,
} from "./ast.ts";
import { isBufferExpr } from "./mc101.ts";

export const MC102 = "MC102";

/** Import path -> the constructors that return a decompressing reader. */
const DECOMPRESSORS: Record<string, string[]> = {
  "compress/gzip": ["NewReader"],
  "compress/zlib": ["NewReader", "NewReaderDict"],
  "compress/flate": ["NewReader", "NewReaderDict"],
  "compress/bzip2": ["NewReader"],
  "compress/lzw": ["NewReader"],
  "github.com/klauspost/compress/gzip": ["NewReader"],
  "github.com/klauspost/compress/zlib": ["NewReader", "NewReaderDict"],
  "github.com/klauspost/compress/flate": ["NewReader", "NewReaderDict"],
  "github.com/klauspost/compress/zstd": ["NewReader"],
  "github.com/klauspost/pgzip": ["NewReader", "NewReaderN"],
  "github.com/DataDog/zstd": ["NewReader", "NewReaderDict"],
  "github.com/valyala/gozstd": ["NewReader"],
};
/** Canonical types of decompressing readers, for parameters and `var x *gzip.Reader`. */
const DECOMPRESSOR_TYPES = new Set([
  "*compress/gzip.Reader",
  "*github.com/klauspost/compress/gzip.Reader",
  "*github.com/klauspost/compress/zstd.Decoder",
  "*github.com/klauspost/pgzip.Reader",
]);

function formatOf(importPath: string): string {
  const last = importPath.split("/").pop()!;
  return last === "pgzip" ? "gzip" : last;
}

/** If `n` constructs a decompressor over data that may be hostile, its format name. */
function constructs(facts: FileFacts, n: Node | null | undefined, outer: number, evs: Ev[]): string | undefined {
  n = unparen(n);
  if (!n || n.type !== "call_expression") return undefined;
  const c = callee(n);
  if (!c || !c.recv) return undefined;
  const p = facts.imports.get(c.recv);
  if (p && DECOMPRESSORS[p]?.includes(c.name)) return trusted(facts, callArgs(n)[0], outer, evs) ? undefined : formatOf(p);
  return undefined;
}

/**
 * Is `n` (an argument read from) a decompressing reader at its position? A direct constructor
 * call, or a variable whose latest binding before the read is one (parameters and typed vars
 * count too), including `d.IOReadCloser()` of a zstd decoder.
 */
const ZIP = ["archive/zip", "github.com/klauspost/compress/zip"];

/** Is `n` a zip archive reader: typed *zip.Reader / *zip.ReadCloser, or from zip.OpenReader / zip.NewReader? */
function isZipReader(facts: FileFacts, n: Node | null | undefined, outer: number, evs: Ev[], depth: number): boolean {
  n = unparen(n);
  if (!n || depth > 16) return false;
  if (n.type === "selector_expression" && n.childForFieldName("field")?.text === "Reader") {
    return isZipReader(facts, n.childForFieldName("operand"), outer, evs, depth + 1); // rc.Reader of a *zip.ReadCloser
  }
  if (n.type === "call_expression") {
    return isPkgCall(facts, n, ZIP, ["OpenReader", "NewReader"]) && !trusted(facts, callArgs(n)[0], outer, evs, depth + 1);
  }
  if (n.type !== "identifier") return false;
  const d = findDecl(facts, outer, n.text, n.startIndex, evs);
  if (!d) return false;
  if (d.value) return isZipReader(facts, d.value, outer, evs, depth + 1);
  return !!d.type && ZIP.some((z) => d.type === `*${z}.Reader` || d.type === `*${z}.ReadCloser`);
}

/** Is `n` a *zip.File: a parameter of that type, an entry of `r.File` (range or index) of a zip reader? */
function isZipFile(facts: FileFacts, n: Node, outer: number, evs: Ev[], depth: number): boolean {
  if (depth > 16) return false;
  if (n.type === "index_expression") {
    const op = unparen(n.childForFieldName("operand"));
    return (
      !!op &&
      op.type === "selector_expression" &&
      op.childForFieldName("field")?.text === "File" &&
      isZipReader(facts, op.childForFieldName("operand"), outer, evs, depth + 1)
    );
  }
  if (n.type !== "identifier") return false;
  const d = findDecl(facts, outer, n.text, n.startIndex, evs);
  if (!d) return false;
  if (d.type && ZIP.some((z) => d.type === `*${z}.File`)) return true;
  if (d.value) {
    const v = unparen(d.value);
    return !!v && isZipFile(facts, v, outer, evs, depth + 1);
  }
  if (d.ev?.kind !== "range") return false;
  const right = unparen(d.ev.node.childForFieldName("right"));
  if (!right || right.type !== "selector_expression" || right.childForFieldName("field")?.text !== "File") return false;
  return isZipReader(facts, right.childForFieldName("operand"), outer, evs, depth + 1);
}

const embedCache = new WeakMap<FileFacts, Set<string>>();

/** Variables of this file that `//go:embed` fills: data built into the binary. */
function embeddedVars(facts: FileFacts): Set<string> {
  let s = embedCache.get(facts);
  if (s) return s;
  s = new Set();
  for (const m of facts.text.matchAll(/^[ \t]*\/\/go:embed[^\n]*\n(?:[ \t]*\/\/[^\n]*\n)*[ \t]*(?:var[ \t]+)?([A-Za-z_]\w*)/gm))
    s.add(m[1]);
  embedCache.set(facts, s);
  return s;
}

/**
 * Is `n` data the program itself owns: embedded in the binary (`//go:embed`, an embed.FS), or a
 * buffer this function compressed into? Decompressing that is not a hostile input.
 */
function trusted(facts: FileFacts, n: Node | null | undefined, outer: number, evs: Ev[], depth = 0): boolean {
  n = unparen(n);
  if (!n || depth > 16) return false;
  if (n.type === "unary_expression" && n.childForFieldName("operator")?.text === "&") {
    return trusted(facts, n.childForFieldName("operand"), outer, evs, depth + 1);
  }
  if (n.type === "slice_expression") return trusted(facts, n.childForFieldName("operand"), outer, evs, depth + 1);
  if (n.type === "call_expression") {
    const c = callee(n);
    const args = callArgs(n);
    if (!c) return false;
    if (c.recv && /^(bytes|strings)$/.test(facts.imports.get(c.recv) ?? "") && /^New(Reader|Buffer|BufferString)$/.test(c.name)) {
      return trusted(facts, args[0], outer, evs, depth + 1);
    }
    const f = unparen(n.childForFieldName("function"));
    if (f && (f.type === "slice_type" || f.type === "parenthesized_type") && args.length === 1)
      return trusted(facts, args[0], outer, evs, depth + 1);
    // embedFS.Open / embedFS.ReadFile, fs.ReadFile(embedFS, ...), fs.Sub(embedFS, ...)
    if (c.recvNode && (c.name === "Open" || c.name === "ReadFile") && trusted(facts, c.recvNode, outer, evs, depth + 1)) return true;
    if (c.recv && facts.imports.get(c.recv) === "io/fs" && /^(ReadFile|Sub)$/.test(c.name))
      return trusted(facts, args[0], outer, evs, depth + 1);
    return false;
  }
  if (n.type !== "identifier") return false;
  if (embeddedVars(facts).has(n.text)) return true;
  const d = findDecl(facts, outer, n.text, n.startIndex, evs);
  if (!d) return false;
  if (d.type && /^\*?(embed\.FS|io\/fs\.FS)$/.test(d.type)) return true;
  if (d.value && trusted(facts, d.value, outer, evs, depth + 1)) return true;
  // A buffer this function wrote compressed data into (gzip.NewWriter(&buf), ...).
  if (
    (d.type && /^\*?bytes\.Buffer$/.test(d.type)) ||
    (d.value && /^(new\(bytes\.Buffer\)|bytes\.Buffer\{\}|&bytes\.Buffer\{\})$/.test(d.value.text))
  ) {
    for (const ev of evs) {
      if (ev.kind !== "call" || ev.start < d.start || ev.start >= n.startIndex) continue;
      const c = callee(ev.node);
      const a0 = callArgs(ev.node)[0];
      if (!c || !c.recv || !/^NewWriter/.test(c.name) || !/compress|zstd|gzip|zlib/.test(facts.imports.get(c.recv) ?? "")) continue;
      const k = a0 ? exprKey(unparen(a0)?.type === "unary_expression" ? unparen(a0)!.childForFieldName("operand") : a0) : undefined;
      if (k === n.text) return true;
    }
  }
  return false;
}

function decompressorAt(facts: FileFacts, n: Node | null | undefined, outer: number, evs: Ev[], depth = 0): string | undefined {
  n = unparen(n);
  if (!n || depth > 16) return undefined;
  const direct = constructs(facts, n, outer, evs);
  if (direct) return direct;
  if (n.type === "call_expression") {
    const c = callee(n);
    if (c && c.name === "IOReadCloser" && c.recvNode && c.recvNode.type === "identifier") {
      return decompressorAt(facts, c.recvNode, outer, evs, depth + 1);
    }
    // A tar stream over a decompressor yields decompressed bytes.
    if (c && c.name === "NewReader" && isPkgCall(facts, n, ["archive/tar"], ["NewReader"])) {
      return decompressorAt(facts, callArgs(n)[0], outer, evs, depth + 1);
    }
    // (*zip.File).Open() and (*zip.Reader).Open(name) return a DEFLATE decompressor.
    if (c && c.name === "Open" && c.recvNode && callArgs(n).length === 0 && isZipFile(facts, c.recvNode, outer, evs, depth + 1)) {
      return "zip";
    }
    if (c && c.name === "Open" && c.recvNode && callArgs(n).length === 1 && isZipReader(facts, c.recvNode, outer, evs, depth + 1)) {
      return "zip";
    }
    return undefined;
  }
  if (n.type !== "identifier") return undefined;
  const name = n.text;
  const pos = n.startIndex;
  const d = findDecl(facts, outer, name, pos, evs);
  let kind: string | undefined;
  let from = -1;
  if (d) {
    from = d.start;
    if (d.value) kind = decompressorAt(facts, d.value, outer, evs, depth + 1);
    if (!kind && d.type && DECOMPRESSOR_TYPES.has(d.type)) kind = d.type.split("/").pop()!.split(".")[0];
  }
  // Later plain assignments rebind the variable: `zr, err = gzip.NewReader(..)` or
  // `zr = io.LimitReader(zr, n)`.
  for (const ev of evs) {
    if (ev.start >= pos) break;
    if (ev.kind !== "assign" || ev.start < from) continue;
    const { left, right } = assignSides(ev.node);
    const i = left.findIndex((l) => l.type === "identifier" && l.text === name);
    if (i < 0) continue;
    const v = right.length === left.length ? right[i] : right.length === 1 && i === 0 ? right[0] : undefined;
    kind = v ? decompressorAt(facts, v, outer, evs, depth + 1) : undefined;
    from = ev.start;
  }
  return kind;
}

function ratio(kind: string): string {
  if (kind === "gzip" || kind === "zlib" || kind === "flate" || kind === "zip") {
    return `${kind} (DEFLATE) expands up to 1032:1, so 10 MB of input can become about 10 GB`;
  }
  if (kind === "bzip2") return "bzip2 expands far more than DEFLATE on repeated data (its run-length stages stack)";
  if (kind === "zstd") return "zstd expands far more than DEFLATE on repeated data (long matches, repeated blocks)";
  return `${kind} output is not bounded by its input size`;
}

export function mc102(facts: FileFacts): PendingHit[] {
  const out: PendingHit[] = [];
  for (const [outer, evs] of eventsByOuter(facts)) {
    for (const ev of evs) {
      if (ev.kind !== "call") continue;
      const call = ev.node;
      const c = callee(call);
      if (!c) continue;
      const args = callArgs(call);
      let src: Node | undefined;
      let what = "";
      if (c.name === "ReadAll" && isPkgCall(facts, call, ["io", "io/ioutil"], ["ReadAll"])) {
        src = args[0];
        what = `${c.recv}.ReadAll`;
      } else if ((c.name === "Copy" || c.name === "CopyBuffer") && isPkgCall(facts, call, ["io"], ["Copy", "CopyBuffer"])) {
        const dst = exprKey(args[0]);
        if (dst && /^(io|ioutil)\.Discard$/.test(dst)) continue;
        src = args[1];
        what = `${c.recv}.${c.name}`;
      } else if (c.name === "ReadFrom" && c.recvNode && args.length === 1 && isBufferExpr(facts, c.recvNode, outer, evs)) {
        src = args[0];
        what = "bytes.Buffer.ReadFrom";
      } else {
        continue;
      }
      const kind = decompressorAt(facts, src, outer, evs);
      if (!kind) continue;
      // archive/zip fails a read past the entry's UncompressedSize64 (ErrFormat): a function that
      // checks that size before reading is bounded.
      if (kind === "zip") {
        const fn = facts.fns[outer];
        if (fn && /\.UncompressedSize(64)?\s*[<>]/.test(facts.text.slice(fn.start, ev.start))) continue;
      }
      const line = call.startPosition.row + 1;
      out.push({
        file: facts.path,
        line,
        message:
          `${what} over a ${kind} reader has no bound on the decompressed size: ${ratio(kind)}, ` +
          `so a small input from outside the program (an upload, a response, a file) can exhaust memory or disk. ` +
          `Bound the output: read through io.LimitReader(r, max+1) and fail when more than max bytes arrive, ` +
          `or use io.CopyN(dst, r, max).`,
      });
    }
  }
  return out.filter((f) => !isIgnored(facts, f.line, MC102));
}

export const rule = {
  id: MC102,
  title: "Unbounded decompression",
  defaultSeverity: "warning",
  docs: "docs/rules/MC102.md",
  thresholds: {},
  syntax: (facts) => mc102(facts),
} satisfies Rule;
