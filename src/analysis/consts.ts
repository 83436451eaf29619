// Constant evaluation for array lengths: literals, iota, arithmetic, len, conversions and
// unsafe.Sizeof/Alignof/Offsetof. Values are exact (bigint); anything else is "cannot evaluate".
import type { ConstExpr, TypeExpr } from "./parse.ts";

export type ConstValue = bigint | string | boolean;

/** What the evaluator needs from the type resolver; kept narrow so this file stays pure. */
export interface ConstScope {
  /** Value of a named constant visible from here (package or imported package). */
  constant(name: string, pkg?: string): ConstValue | undefined;
  /** True when `name` (or pkg.name) denotes a type, so `name(x)` is a conversion. */
  isType(name: string, pkg?: string): boolean;
  /** Size, alignment, and (for a selector) field offset, of an expression's type. */
  sizeofExpr(x: ConstExpr): number;
  alignofExpr(x: ConstExpr): number;
  offsetofExpr(x: ConstExpr): number;
  /** Length of an array-typed expression (a variable or a composite literal). */
  arrayLen(x: ConstExpr): number | undefined;
  /** Width in bits of a named integer type, for ^x on unsigned types; undefined if untyped. */
  unsignedBits?(t: TypeExpr): number | undefined;
}

export class ConstError extends Error {}

const LIMIT = 1n << 512n;

function int(v: ConstValue | undefined, what: string): bigint {
  if (typeof v !== "bigint") throw new ConstError(`${what} is not an integer constant`);
  return v;
}

function bounded(v: bigint): bigint {
  if (v > LIMIT || v < -LIMIT) throw new ConstError("constant overflow");
  return v;
}

/**
 * Evaluations active on the call stack, across constants that refer to other constants (and
 * types whose array lengths do). `depth` bounds one expression; this bounds the whole chain, so
 * `C1 = C0 + 1; ...; C5000 = C4999 + 1` ends in an error instead of a stack overflow.
 */
let active = 0;
const MAX_ACTIVE = 400;

export function evalConst(e: ConstExpr, iota: number, scope: ConstScope, depth = 0): ConstValue {
  if (depth > 200 || active >= MAX_ACTIVE) throw new ConstError("constant expression nested too deeply");
  const sub = (x: ConstExpr) => evalConst(x, iota, scope, depth + 1);
  active++;
  try {
    switch (e.k) {
      case "int":
        return e.v;
      case "str":
        return e.v;
      case "bool":
        return e.v;
      case "iota":
        return BigInt(iota);
      case "ident": {
        if (e.name === "true") return true;
        if (e.name === "false") return false;
        const v = scope.constant(e.name);
        if (v === undefined) throw new ConstError(`constant ${e.name} is not known`);
        return v;
      }
      case "qual": {
        const v = scope.constant(e.name, e.pkg);
        if (v === undefined) throw new ConstError(`constant ${e.pkg}.${e.name} is not known`);
        return v;
      }
      case "unary": {
        const x = sub(e.x);
        switch (e.op) {
          case "-":
            return bounded(-int(x, "operand"));
          case "+":
            return int(x, "operand");
          case "^": {
            // On an unsigned typed operand (^uint(0)), ^ flips exactly that many bits.
            const bits = e.x.k === "call" && e.x.fnType ? scope.unsignedBits?.(e.x.fnType) : undefined;
            const v = int(x, "operand");
            return bits === undefined ? -v - 1n : ((1n << BigInt(bits)) - 1n) ^ v;
          }
          case "!":
            if (typeof x !== "boolean") throw new ConstError("! needs a boolean");
            return !x;
        }
        throw new ConstError(`operator ${e.op} is not constant`);
      }
      case "binary":
        return binary(e.op, sub(e.x), sub(e.y));
      case "call":
        return call(e, iota, scope, depth);
      case "selector":
      case "composite":
      case "bad":
        throw new ConstError(e.k === "bad" ? e.why : "not a constant expression");
    }
  } finally {
    active--;
  }
}

function binary(op: string, x: ConstValue, y: ConstValue): ConstValue {
  if (typeof x === "string" && typeof y === "string") {
    if (op === "+") return x + y;
    if (op === "==") return x === y;
    if (op === "!=") return x !== y;
    throw new ConstError(`operator ${op} on strings`);
  }
  if (typeof x === "boolean" && typeof y === "boolean") {
    if (op === "&&") return x && y;
    if (op === "||") return x || y;
    if (op === "==") return x === y;
    if (op === "!=") return x !== y;
    throw new ConstError(`operator ${op} on booleans`);
  }
  const a = int(x, "left operand");
  const b = int(y, "right operand");
  switch (op) {
    case "+":
      return bounded(a + b);
    case "-":
      return bounded(a - b);
    case "*":
      return bounded(a * b);
    case "/":
      if (b === 0n) throw new ConstError("division by zero");
      return a / b;
    case "%":
      if (b === 0n) throw new ConstError("division by zero");
      return a % b;
    case "<<":
      if (b < 0n || b > 1024n) throw new ConstError("shift count out of range");
      return bounded(a << b);
    case ">>":
      if (b < 0n) throw new ConstError("negative shift count");
      return b > 1024n ? (a < 0n ? -1n : 0n) : a >> b;
    case "&":
      return a & b;
    case "|":
      return a | b;
    case "^":
      return a ^ b;
    case "&^":
      return a & ~b;
    case "==":
      return a === b;
    case "!=":
      return a !== b;
    case "<":
      return a < b;
    case "<=":
      return a <= b;
    case ">":
      return a > b;
    case ">=":
      return a >= b;
  }
  throw new ConstError(`operator ${op} is not constant`);
}

function call(e: Extract<ConstExpr, { k: "call" }>, iota: number, scope: ConstScope, depth: number): ConstValue {
  const fn = e.fn;
  const arg = e.args[0];
  if (fn.k === "qual" && fn.pkg === "unsafe" && arg) {
    if (fn.name === "Sizeof") return BigInt(scope.sizeofExpr(arg));
    if (fn.name === "Alignof") return BigInt(scope.alignofExpr(arg));
    if (fn.name === "Offsetof") return BigInt(scope.offsetofExpr(arg));
  }
  if (fn.k === "ident" && (fn.name === "len" || fn.name === "cap") && arg) {
    const n = scope.arrayLen(arg);
    if (n !== undefined) return BigInt(n);
    const v = evalConst(arg, iota, scope, depth + 1);
    if (typeof v === "string" && fn.name === "len") return BigInt(Buffer.byteLength(v, "utf8"));
    throw new ConstError(`${fn.name} of a non-constant`);
  }
  // A conversion T(x) keeps the value; the type only matters for ^ on unsigned types.
  const isConversion = (fn.k === "ident" && scope.isType(fn.name)) || (fn.k === "qual" && scope.isType(fn.name, fn.pkg)) || fn.k === "bad";
  if (isConversion && e.args.length === 1) {
    const v = evalConst(arg!, iota, scope, depth + 1);
    if (typeof v === "bigint" && e.fnType && scope.unsignedBits) {
      const bits = scope.unsignedBits(e.fnType);
      if (bits !== undefined) {
        if (v < 0n || v >= 1n << BigInt(bits)) throw new ConstError("constant overflows its type");
      }
    }
    return v;
  }
  throw new ConstError("call is not a constant expression");
}
