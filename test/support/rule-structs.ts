// Hand-built struct reports for the rule tests: a 24-byte amd64 layout with 14 bytes of padding
// that a reorder brings to 16 (so MC151 fires by default), and a report around a layout.
import type { StructLayout, StructReport } from "../../src/analysis/model.ts";

export function layout(over: Partial<StructLayout> = {}): StructLayout {
  return {
    size: 24,
    align: 8,
    padding: 14,
    trailingPadding: 7,
    ptrBytes: 0,
    sizeClass: 24,
    optimalSize: 16,
    optimalPtrBytes: 0,
    optimalOrder: ["b", "a", "c"],
    pointerDepth: 0,
    cyclic: false,
    pointerChain: [],
    pointerFields: 0,
    fields: [],
    ...over,
  };
}

export function report(name: string, l: StructLayout, over: Partial<StructReport> = {}): StructReport {
  return {
    package: "example.com/p",
    dir: "p",
    file: "p/x.go",
    line: 10,
    name,
    generic: false,
    resolved: true,
    unresolved: [],
    layouts: { amd64: l },
    ...over,
  };
}
