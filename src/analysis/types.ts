// The type model and its resolution: type expressions -> resolved types with gc's size, alignment
// and ptrdata for one word size. Scopes are per package; imports resolve to packages of the same
// module, the stdlib table, or nothing (and then the struct is unresolved: we never guess).
import {
  printable,
  type ConstExpr,
  type ConstSpecDecl,
  type FileDecls,
  type TypeExpr,
  type TypeSpecDecl,
  type VarSpecDecl,
} from "./parse.ts";
import { ConstError, evalConst, type ConstScope, type ConstValue } from "./consts.ts";
import { isStdlibPath, stdlibConst, stdlibType } from "./stdlib.ts";
import { alignUp } from "./sizes.ts";
import type { Arch } from "./model.ts";
import { defaultImportName } from "./gopath.ts";

export type Kind =
  | "basic"
  | "string"
  | "unsafe.Pointer"
  | "ptr"
  | "slice"
  | "map"
  | "chan"
  | "func"
  | "iface"
  | "array"
  | "struct"
  | "opaque";

/** A pointer-like hop to another type, followed lazily (pointers may point back at their holder). */
export interface Hop {
  label: string;
  target: () => RType | undefined;
}

export interface RField {
  name: string;
  typeText: string;
  embedded: boolean;
  type: RType;
  offset: number;
}

export interface RType {
  kind: Kind;
  size: number;
  align: number;
  /** gc's ptrdata: the length of the prefix that holds pointers. */
  ptr: number;
  /** Short label used in pointer chains ("Customer", "int", "struct{...}"). */
  label: string;
  /** Set on named types: the canonical key "importpath.Name[args]". */
  named?: string;
  fields?: RField[];
  elem?: RType;
  len?: number;
  hops?: Hop[];
  /** The stdlib kind for opaque types ("struct", "interface", ...). */
  opaqueKind?: string;
}

/** Thrown when a type cannot be laid out; carries the names of what is missing (made printable). */
export class Unresolved extends Error {
  public names: string[];
  constructor(names: string[]) {
    const safe = names.map(printable);
    super(`unresolved: ${safe.join(", ")}`);
    this.names = safe;
  }
}

export interface PackageInfo {
  dir: string;
  importPath: string;
  name: string;
  files: FileDecls[];
  types: Map<string, { spec: TypeSpecDecl; file: FileDecls }>;
  consts: Map<string, { spec: ConstSpecDecl; file: FileDecls }>;
  vars: Map<string, { spec: VarSpecDecl; file: FileDecls }>;
}

export function buildPackageInfo(dir: string, importPath: string, files: FileDecls[]): PackageInfo {
  const info: PackageInfo = {
    dir,
    importPath,
    name: files[0]?.packageName ?? "",
    files,
    types: new Map(),
    consts: new Map(),
    vars: new Map(),
  };
  for (const f of files) {
    for (const t of f.types) if (t.name !== "_" && !info.types.has(t.name)) info.types.set(t.name, { spec: t, file: f });
    for (const c of f.consts) if (c.name !== "_" && !info.consts.has(c.name)) info.consts.set(c.name, { spec: c, file: f });
    for (const v of f.vars) if (v.name !== "_" && !info.vars.has(v.name)) info.vars.set(v.name, { spec: v, file: f });
  }
  return info;
}

/** Where packages come from, for one build configuration (GOOS/GOARCH). */
export interface PackageSource {
  /** The package at an import path, if it is part of the analysed tree. */
  packageByPath(importPath: string): PackageInfo | undefined;
  /**
   * Told when a layout needs a package that is neither in the tree nor in the standard library
   * (the engine then loads it from its module and analyses again). Returns why it cannot be had,
   * when that is already known, for the unresolved note.
   */
  missing?(importPath: string): string | undefined;
}

/** A type argument: its canonical key now, its layout only when a value of it is laid out. */
interface TypeArg {
  key: string;
  label: string;
  get: () => RType;
}
type Env = Map<string, TypeArg>;
interface Ctx {
  pkg: PackageInfo;
  file: FileDecls;
  env?: Env;
}

const MAX_ARRAY_BYTES = 2 ** 50;
const MAX_DEPTH = 300;

/**
 * Resolves types for one arch. Results are memoised per named type (and instantiation), so each
 * is laid out once per configuration.
 */
export class Resolver {
  readonly word: number;
  private named = new Map<string, RType | Unresolved>();
  private inProgress = new Set<string>();
  private constMemo = new Map<string, ConstValue | ConstError>();
  private constInProgress = new Set<string>();
  private depth = 0;

  constructor(
    readonly arch: Arch,
    word: number,
    private source: PackageSource,
    /** The Go release whose standard-library table is used ("1.27"); the base table when absent. */
    readonly go?: string,
  ) {
    this.word = word;
  }

  // ---- basic types ----

  private basic(name: string): RType | undefined {
    const w = this.word;
    const b = (size: number, align = size, kind: Kind = "basic", ptr = 0): RType => ({
      kind,
      size,
      align: Math.min(align, w),
      ptr,
      label: name,
    });
    switch (name) {
      case "bool":
      case "int8":
      case "uint8":
      case "byte":
        return b(1);
      case "int16":
      case "uint16":
        return b(2);
      case "int32":
      case "uint32":
      case "rune":
      case "float32":
        return b(4);
      case "int64":
      case "uint64":
      case "float64":
        return b(8);
      case "complex64":
        return b(8, 4);
      case "complex128":
        return b(16, 8);
      case "int":
      case "uint":
      case "uintptr":
        return b(w);
      case "string":
        return b(2 * w, w, "string", w);
      case "error":
      case "any":
        return { kind: "iface", size: 2 * w, align: w, ptr: 2 * w, label: name };
    }
    return undefined;
  }

  private importPathOf(ctx: Ctx, local: string): string | undefined {
    for (const imp of ctx.file.imports) {
      if (imp.name === local) return imp.path;
      if (imp.name === undefined && defaultImportName(imp.path, this.source) === local) return imp.path;
    }
    // No import is known by that name: a package not loaded yet may declare it (k8s.io/api/core/v1
    // is package v1), so each unnamed import outside the tree and std is wanted.
    for (const imp of ctx.file.imports) {
      if (imp.name === undefined && !isStdlibPath(imp.path) && !this.source.packageByPath(imp.path)) this.source.missing?.(imp.path);
    }
    return undefined;
  }

  /** The unresolved name for a missing package's type, with the reason it is missing when known. */
  private missingName(path: string, name: string): string {
    const why = isStdlibPath(path) ? undefined : this.source.missing?.(path);
    return why ? `${path}.${name} (${why})` : `${path}.${name}`;
  }

  // ---- type expressions ----

  resolve(t: TypeExpr, ctx: Ctx): RType {
    if (++this.depth > MAX_DEPTH) {
      this.depth--;
      throw new Unresolved(["type nested too deeply"]);
    }
    try {
      return this.resolveInner(t, ctx);
    } finally {
      this.depth--;
    }
  }

  private resolveInner(t: TypeExpr, ctx: Ctx): RType {
    const w = this.word;
    switch (t.k) {
      case "name": {
        const param = ctx.env?.get(t.name);
        if (param) return param.get();
        const local = ctx.pkg.types.get(t.name);
        if (local) return this.resolveNamed(ctx.pkg, local.spec, local.file, []);
        const b = this.basic(t.name);
        if (b) return b;
        for (const imp of ctx.file.imports) {
          if (imp.name !== ".") continue;
          const dot = this.source.packageByPath(imp.path);
          const spec = dot?.types.get(t.name);
          if (dot && spec) return this.resolveNamed(dot, spec.spec, spec.file, []);
          if (!dot && !isStdlibPath(imp.path)) this.source.missing?.(imp.path);
        }
        throw new Unresolved([t.name]);
      }
      case "qual":
        return this.resolveQualified(t.pkg, t.name, [], ctx);
      case "generic": {
        const args = t.args.map((a) => this.typeArg(a, ctx));
        if (t.base.k === "name") {
          const local = ctx.pkg.types.get(t.base.name);
          if (!local) throw new Unresolved([t.base.name]);
          return this.resolveNamed(ctx.pkg, local.spec, local.file, args);
        }
        if (t.base.k === "qual") return this.resolveQualified(t.base.pkg, t.base.name, args, ctx);
        throw new Unresolved(["generic type"]);
      }
      case "ptr":
        return { kind: "ptr", size: w, align: w, ptr: w, label: "*", hops: [this.hop("*", t.elem, ctx)] };
      case "slice":
        return { kind: "slice", size: 3 * w, align: w, ptr: w, label: "[]", hops: [this.hop("[]", t.elem, ctx)] };
      case "map": {
        const label = `map[${typeLabel(t.key, ctx.env)}]`;
        return {
          kind: "map",
          size: w,
          align: w,
          ptr: w,
          label: "map",
          hops: [this.hop(label, t.key, ctx, typeLabel(t.value, ctx.env)), this.hop(label, t.value, ctx)],
        };
      }
      case "chan":
        return { kind: "chan", size: w, align: w, ptr: w, label: "chan", hops: [this.hop("chan ", t.elem, ctx)] };
      case "func":
        return { kind: "func", size: w, align: w, ptr: w, label: "func" };
      case "iface":
        return { kind: "iface", size: 2 * w, align: w, ptr: 2 * w, label: t.empty ? "any" : "interface" };
      case "array": {
        const elem = this.resolve(t.elem, ctx);
        const n = this.arrayLength(t.len, ctx);
        const size = n * elem.size;
        if (size > MAX_ARRAY_BYTES) throw new Unresolved([`array too large (${n} elements)`]);
        const ptr = n === 0 || elem.ptr === 0 ? 0 : (n - 1) * elem.size + elem.ptr;
        return { kind: "array", size, align: elem.align, ptr, label: `[${n}]${elem.label}`, elem, len: n };
      }
      case "struct":
        return this.layoutStruct(t.fields, ctx);
      case "bad":
        throw new Unresolved([t.why]);
    }
  }

  /** A pointer-like hop: its size never depends on the target, which is resolved only when asked. */
  private hop(prefix: string, elem: TypeExpr, ctx: Ctx, suffix = ""): Hop {
    let memo: RType | undefined | null = null;
    return {
      label: suffix ? prefix + suffix : prefix + typeLabel(elem, ctx.env),
      target: () => {
        if (memo === null) {
          try {
            memo = this.resolve(elem, { ...ctx });
          } catch (err) {
            if (!(err instanceof Unresolved)) throw err;
            memo = undefined;
          }
        }
        return memo;
      },
    };
  }

  /** Type arguments resolve lazily: `atomic.Pointer[T]` or `List[T]` may refer to the type being laid out. */
  private typeArg(t: TypeExpr, ctx: Ctx): TypeArg {
    let memo: RType | undefined;
    return { key: this.exprKey(t, ctx), label: typeLabel(t, ctx.env), get: () => (memo ??= this.resolve(t, ctx)) };
  }

  /** A canonical key for a type expression, without laying it out. */
  private exprKey(t: TypeExpr, ctx: Ctx): string {
    switch (t.k) {
      case "name":
        return ctx.env?.get(t.name)?.key ?? (ctx.pkg.types.has(t.name) ? `${ctx.pkg.importPath}.${t.name}` : t.name);
      case "qual":
        return `${this.importPathOf(ctx, t.pkg) ?? t.pkg}.${t.name}`;
      case "ptr":
        return `*${this.exprKey(t.elem, ctx)}`;
      case "slice":
        return `[]${this.exprKey(t.elem, ctx)}`;
      case "array":
        return `[${JSON.stringify(t.len, (_, v) => (typeof v === "bigint" ? v.toString() : v))}]${this.exprKey(t.elem, ctx)}`;
      case "map":
        return `map[${this.exprKey(t.key, ctx)}]${this.exprKey(t.value, ctx)}`;
      case "chan":
        return `chan ${this.exprKey(t.elem, ctx)}`;
      case "generic":
        return `${this.exprKey(t.base, ctx)}[${t.args.map((a) => this.exprKey(a, ctx)).join(",")}]`;
      case "struct":
        return `struct{${t.fields.map((f) => `${f.name} ${this.exprKey(f.type, ctx)} ${f.tag ?? ""}`).join(";")}}`;
      default:
        return typeLabel(t);
    }
  }

  private resolveQualified(pkgName: string, name: string, args: TypeArg[], ctx: Ctx): RType {
    if (pkgName === "unsafe" && name === "Pointer") {
      return { kind: "unsafe.Pointer", size: this.word, align: this.word, ptr: this.word, label: "unsafe.Pointer" };
    }
    const path = this.importPathOf(ctx, pkgName);
    if (!path) throw new Unresolved([`${pkgName}.${name}`]);
    const pkg = this.source.packageByPath(path);
    if (pkg) {
      const spec = pkg.types.get(name);
      if (!spec) throw new Unresolved([`${path}.${name}`]);
      return this.resolveNamed(pkg, spec.spec, spec.file, args);
    }
    if (isStdlibPath(path)) {
      const st = stdlibType(path, name, this.go);
      const layout = st?.layouts[this.arch];
      if (st && layout && (args.length === 0 || st.generic)) {
        if (st.kind === "struct" && st.fields && layout.fields?.length === st.fields.length) {
          // Fields from the table let `type T time.Time` be laid out like the compiler does.
          const fields: RField[] = st.fields.map((f, i) => {
            const [offset, size, align, ptr] = layout.fields![i];
            return { name: f.name, typeText: f.type, embedded: false, offset, type: { kind: "opaque", size, align, ptr, label: f.type } };
          });
          return {
            kind: "struct",
            size: layout.size,
            align: layout.align,
            ptr: layout.ptrBytes,
            label: `${pkgName}.${name}`,
            named: `${path}.${name}`,
            fields,
          };
        }
        return {
          kind: "opaque",
          size: layout.size,
          align: layout.align,
          ptr: layout.ptrBytes,
          label: `${pkgName}.${name}`,
          named: `${path}.${name}`,
          opaqueKind: st.kind,
        };
      }
    }
    throw new Unresolved([this.missingName(path, name)]);
  }

  /** A package-level named type, instantiated with args when generic. */
  resolveNamed(pkg: PackageInfo, spec: TypeSpecDecl, file: FileDecls, args: TypeArg[]): RType {
    const key = `${pkg.importPath}.${spec.name}${args.length ? `[${args.map((a) => a.key).join(",")}]` : ""}`;
    const memo = this.named.get(key);
    if (memo instanceof Unresolved) throw memo;
    if (memo) return memo;
    if (this.inProgress.has(key)) {
      throw new Unresolved([spec.alias ? `alias cycle through ${spec.name}` : `invalid recursive type ${spec.name}`]);
    }
    if (spec.typeParams.length !== args.length) {
      const err = new Unresolved([
        spec.typeParams.length ? `generic type ${spec.name} needs type arguments` : `${spec.name} is not generic`,
      ]);
      throw err;
    }
    this.inProgress.add(key);
    try {
      const env: Env | undefined = spec.typeParams.length ? new Map(spec.typeParams.map((p, i) => [p, args[i]])) : undefined;
      const under = this.resolve(spec.type, { pkg, file, env });
      const result: RType = spec.alias
        ? under
        : { ...under, named: key, label: args.length ? `${spec.name}[${args.map((a) => a.label).join(",")}]` : spec.name };
      this.named.set(key, result);
      return result;
    } catch (err) {
      if (err instanceof Unresolved) this.named.set(key, err);
      throw err;
    } finally {
      this.inProgress.delete(key);
    }
  }

  /** gc's struct layout: align each field in turn; a trailing zero-size field at offset > 0 takes a byte. */
  layoutStruct(decls: { name: string; typeText: string; embedded: boolean; type: TypeExpr }[], ctx: Ctx): RType {
    const missing: string[] = [];
    const resolved: { d: (typeof decls)[number]; t: RType }[] = [];
    for (const d of decls) {
      try {
        resolved.push({ d, t: this.resolve(d.type, ctx) });
      } catch (err) {
        if (!(err instanceof Unresolved)) throw err;
        for (const n of err.names) if (!missing.includes(n)) missing.push(n);
      }
    }
    if (missing.length) throw new Unresolved(missing);
    const fields = resolved.map(({ d, t }) => ({ name: d.name, typeText: d.typeText, embedded: d.embedded, type: t, offset: 0 }));
    const { size, align, ptr } = structFigures(fields);
    return { kind: "struct", size, align, ptr, label: "struct{...}", fields };
  }

  // ---- constants ----

  private arrayLength(len: ConstExpr, ctx: Ctx): number {
    let v: ConstValue;
    try {
      v = evalConst(len, 0, this.constScope(ctx));
    } catch (err) {
      if (err instanceof ConstError) throw new Unresolved([`array length: ${err.message}`]);
      throw err;
    }
    if (typeof v !== "bigint" || v < 0n) throw new Unresolved(["array length is not a non-negative integer"]);
    if (v > BigInt(MAX_ARRAY_BYTES)) throw new Unresolved([`array too large (${v} elements)`]);
    return Number(v);
  }

  constValue(pkg: PackageInfo, name: string): ConstValue | undefined {
    const entry = pkg.consts.get(name);
    if (!entry) return undefined;
    const key = `${pkg.importPath}.${name}`;
    const memo = this.constMemo.get(key);
    if (memo instanceof ConstError) throw memo;
    if (memo !== undefined) return memo;
    if (this.constInProgress.has(key)) throw new ConstError(`constant ${name} refers to itself`);
    this.constInProgress.add(key);
    try {
      const v = evalConst(entry.spec.value, entry.spec.iota, this.constScope({ pkg, file: entry.file }));
      this.constMemo.set(key, v);
      return v;
    } catch (err) {
      if (err instanceof ConstError) this.constMemo.set(key, err);
      throw err;
    } finally {
      this.constInProgress.delete(key);
    }
  }

  constScope(ctx: Ctx): ConstScope {
    const typeOfExpr = (x: ConstExpr): RType => {
      if (x.k === "composite") return this.resolve(x.type, ctx);
      if (x.k === "ident") {
        const v = ctx.pkg.vars.get(x.name);
        if (v) return this.resolve(v.spec.type, { pkg: ctx.pkg, file: v.file });
        const c = ctx.pkg.consts.get(x.name);
        if (c) {
          if (c.spec.type) return this.resolve(c.spec.type, { pkg: ctx.pkg, file: c.file });
          // An untyped constant takes its default type.
          const value = this.constValue(ctx.pkg, x.name);
          const basic = this.basic(typeof value === "string" ? "string" : typeof value === "boolean" ? "bool" : "int");
          if (basic) return basic;
        }
      }
      if (x.k === "call" && x.fnType && x.args.length === 1) return this.resolve(x.fnType, ctx);
      if (x.k === "selector") {
        const holder = typeOfExpr(x.x);
        const f = findField(holder, x.field);
        if (f) return f.type;
      }
      if (x.k === "qual") {
        const holder = ctx.pkg.vars.get(x.pkg);
        if (holder) {
          const f = findField(this.resolve(holder.spec.type, { pkg: ctx.pkg, file: holder.file }), x.name);
          if (f) return f.type;
        }
      }
      throw new ConstError("cannot type this expression");
    };
    const wrap = <T>(f: () => T): T => {
      try {
        return f();
      } catch (err) {
        if (err instanceof Unresolved) throw new ConstError(err.names.join(", "));
        throw err;
      }
    };
    return {
      constant: (name, pkgName) => {
        if (pkgName === undefined) {
          if (ctx.pkg.consts.has(name)) return this.constValue(ctx.pkg, name);
          for (const imp of ctx.file.imports) {
            const dot = imp.name === "." ? this.source.packageByPath(imp.path) : undefined;
            if (dot?.consts.has(name)) return this.constValue(dot, name);
          }
          return undefined;
        }
        const path = this.importPathOf(ctx, pkgName);
        if (!path) return undefined;
        const pkg = this.source.packageByPath(path);
        if (pkg) return this.constValue(pkg, name);
        if (!isStdlibPath(path)) this.source.missing?.(path);
        return stdlibConst(path, name, this.arch, this.go);
      },
      isType: (name, pkgName) => {
        if (pkgName !== undefined) return true;
        return this.basic(name) !== undefined || ctx.pkg.types.has(name);
      },
      sizeofExpr: (x) => wrap(() => typeOfExpr(x).size),
      alignofExpr: (x) => wrap(() => typeOfExpr(x).align),
      offsetofExpr: (x) =>
        wrap(() => {
          const sel =
            x.k === "selector"
              ? { holder: x.x, field: x.field }
              : x.k === "qual"
                ? { holder: { k: "ident", name: x.pkg } as ConstExpr, field: x.name }
                : undefined;
          if (!sel) throw new ConstError("Offsetof needs a selector");
          const f = findField(typeOfExpr(sel.holder), sel.field);
          if (!f) throw new ConstError(`no field ${sel.field}`);
          return f.offset;
        }),
      arrayLen: (x) => {
        try {
          const t = typeOfExpr(x);
          if (t.kind === "array") return t.len;
          // len(p) for p of type *[N]T is N as well.
          const target = t.kind === "ptr" ? t.hops?.[0]?.target() : undefined;
          return target?.kind === "array" ? target.len : undefined;
        } catch {
          return undefined;
        }
      },
      unsignedBits: (t) => {
        if (t.k !== "name") return undefined;
        const bits: Record<string, number> = { uint8: 8, byte: 8, uint16: 16, uint32: 32, uint64: 64 };
        return bits[t.name] ?? (t.name === "uint" || t.name === "uintptr" ? this.word * 8 : undefined);
      },
    };
  }
}

/** Size, alignment and ptrdata of a field list, setting each field's offset (gc's rules). */
export function structFigures(fields: { type: RType; offset: number }[]): { size: number; align: number; ptr: number } {
  let offset = 0;
  let align = 1;
  let ptr = 0;
  for (const f of fields) {
    offset = alignUp(offset, f.type.align);
    f.offset = offset;
    if (f.type.ptr > 0) ptr = offset + f.type.ptr;
    offset += f.type.size;
    align = Math.max(align, f.type.align);
  }
  if (fields.length === 0) return { size: 0, align: 1, ptr: 0 };
  const last = fields[fields.length - 1];
  let end = offset;
  if (last.offset > 0 && last.type.size === 0) end += 1;
  return { size: alignUp(end, align), align, ptr };
}

/**
 * A field by name, promoted through embedded structs (not through pointers), with its offset
 * from the start of t, as unsafe.Offsetof reports it. Depth-first, shallowest match wins.
 */
function findField(t: RType, name: string, depth = 0): RField | undefined {
  const direct = t.fields?.find((f) => f.name === name);
  if (direct || depth > 8) return direct;
  for (const f of t.fields ?? []) {
    if (!f.embedded || !f.type.fields) continue;
    const inner = findField(f.type, name, depth + 1);
    if (inner) return { ...inner, offset: f.offset + inner.offset };
  }
  return undefined;
}

/** A type as written, with type parameters replaced by the arguments of `env` (`OrderedMap[string,int]`). */
export function typeLabel(t: TypeExpr, env?: Env): string {
  switch (t.k) {
    case "name":
      return env?.get(t.name)?.label ?? t.name;
    case "qual":
      return `${t.pkg}.${t.name}`;
    case "ptr":
      return `*${typeLabel(t.elem, env)}`;
    case "slice":
      return `[]${typeLabel(t.elem, env)}`;
    case "array":
      return `[${t.len.k === "int" ? t.len.v : "N"}]${typeLabel(t.elem, env)}`;
    case "map":
      return `map[${typeLabel(t.key, env)}]${typeLabel(t.value, env)}`;
    case "chan":
      return `chan ${typeLabel(t.elem, env)}`;
    case "func":
      return "func";
    case "iface":
      return t.empty ? "any" : "interface";
    case "struct":
      return "struct{...}";
    case "generic":
      return `${typeLabel(t.base, env)}[${t.args.map((a) => typeLabel(a, env)).join(",")}]`;
    case "bad":
      return "?";
  }
}
