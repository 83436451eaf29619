// gc's word size and maximum alignment per architecture, and the allocator's size classes.
import type { Arch } from "./model.ts";

/** Word size in bytes. gc's maximum alignment equals the word size on every arch it supports. */
export function wordSize(arch: Arch): 4 | 8 {
  return arch === "386" || arch === "arm" || arch === "mips" || arch === "mipsle" ? 4 : 8;
}

// runtime/sizeclasses.go (Go 1.19 – 1.24): the object sizes of the small-object allocator.
const SIZE_CLASSES = [
  8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448, 480, 512, 576, 640, 704,
  768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472,
  9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672, 32768,
];
const PAGE_SIZE = 8192;

/** The number of bytes `new(T)` takes for a type of this size (0 for zero-size types). */
export function sizeClass(size: number): number {
  if (size <= 0) return 0;
  if (size > 32768) return Math.ceil(size / PAGE_SIZE) * PAGE_SIZE;
  let lo = 0;
  let hi = SIZE_CLASSES.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (SIZE_CLASSES[mid] >= size) hi = mid;
    else lo = mid + 1;
  }
  return SIZE_CLASSES[lo];
}

export function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
