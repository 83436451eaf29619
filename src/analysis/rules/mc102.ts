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

/** If `n` constructs a decompressor, its format name. */
function constructs(facts: FileFacts, n: Node | null | undefined): string | undefined {
  n = unparen(n);
  if (!n || n.type !== "call_expression") return undefined;
  const c = callee(n);
  if (!c || !c.recv) return undefined;
  const p = facts.imports.get(c.recv);
  if (p && DECOMPRESSORS[p]?.includes(c.name)) return formatOf(p);
  return undefined;
}

/**
 * Is `n` (an argument read from) a decompressing reader at its position? A direct constructor
 * call, or a variable whose latest binding before the read is one (parameters and typed vars
 * count too), including `d.IOReadCloser()` of a zstd decoder.
 */
const ZIP = ["archive/zip", "github.com/klauspost/compress/zip"];

/** Is `n` a *zip.File: a parameter of that type, or a range variable over `r.File` of a zip reader? */
function isZipFile(facts: FileFacts, n: Node, outer: number, evs: Ev[], depth: number): boolean {
  if (n.type !== "identifier" || depth > 16) return false;
  const d = findDecl(facts, outer, n.text, n.startIndex, evs);
  if (!d) return false;
  if (d.type && ZIP.some((z) => d.type === `*${z}.File`)) return true;
  if (d.ev?.kind !== "range") return false;
  const right = unparen(d.ev.node.childForFieldName("right"));
  if (!right || right.type !== "selector_expression" || right.childForFieldName("field")?.text !== "File") return false;
  const r = unparen(right.childForFieldName("operand"));
  if (!r || r.type !== "identifier") return false;
  const rd = findDecl(facts, outer, r.text, r.startIndex, evs);
  if (rd?.type && ZIP.some((z) => rd.type === `*${z}.Reader` || rd.type === `*${z}.ReadCloser`)) return true;
  const v = unparen(rd?.value);
  return !!v && v.type === "call_expression" && isPkgCall(facts, v, ZIP, ["OpenReader", "NewReader"]);
}

function decompressorAt(facts: FileFacts, n: Node | null | undefined, outer: number, evs: Ev[], depth = 0): string | undefined {
  n = unparen(n);
  if (!n || depth > 16) return undefined;
  const direct = constructs(facts, n);
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
    // (*zip.File).Open() returns a DEFLATE decompressor.
    if (c && c.name === "Open" && c.recvNode && callArgs(n).length === 0 && isZipFile(facts, c.recvNode, outer, evs, depth + 1)) {
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
      const line = call.startPosition.row + 1;
      out.push({
        file: facts.path,
        line,
        message:
          `${what} over a ${kind} reader has no bound on the decompressed size: ${ratio(kind)}, ` +
          `so a small hostile input can exhaust memory or disk. ` +
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
