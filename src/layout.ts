// Where everything lives in an optimizer's memory. The one place that decides offsets,
// alignment and the largest n; nothing else computes a byte offset.
//
//   0                 StepArgs blocks, one per thread (72 bytes each)
//   arraysStart       params | grads | sqAvg | momentumBuffer? | gradAvg?
//
// Every array starts on a 64-byte boundary: a cache line, and a multiple of the 16 bytes
// that keep the kernel's v128 loads aligned.
import { STEP_ARGS_BYTES, type ArrayOffsets } from "./kernel-abi.ts";

export const ARRAY_ALIGN = 64;
export const WASM_PAGE_BYTES = 65536;
/** wasm32 addresses 4 GiB: 65536 pages of 64 KiB. */
export const MAX_PAGES = 65536;
export const MAX_BYTES = MAX_PAGES * WASM_PAGE_BYTES;

export interface Layout extends ArrayOffsets {
  n: number;
  /** Byte offset of thread k's StepArgs block is `argsAt + k * STEP_ARGS_BYTES`. */
  argsAt: number;
  /** Total bytes the memory must hold. */
  bytes: number;
  /** Those bytes in wasm pages. */
  pages: number;
  /** How many f32 arrays of length n the layout holds. */
  arrayCount: number;
}

const alignUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/** Which optional arrays a layout includes. */
export interface ArraySet {
  momentumBuffer: boolean;
  gradAvg: boolean;
}

function arrayCountOf(set: ArraySet): number {
  return 3 + Number(set.momentumBuffer) + Number(set.gradAvg);
}

function headerBytes(threads: number): number {
  return alignUp(threads * STEP_ARGS_BYTES, ARRAY_ALIGN);
}

/** The largest n whose layout fits in wasm32 memory with these arrays and threads. */
export function maxParams(set: ArraySet, threads: number): number {
  const count = arrayCountOf(set);
  // Each array is rounded up to ARRAY_ALIGN, which costs at most ARRAY_ALIGN − 4 bytes.
  const room = MAX_BYTES - headerBytes(threads) - count * (ARRAY_ALIGN - 4);
  return Math.floor(room / (4 * count));
}

/** Lays out n parameters; n must already be validated against maxParams. */
export function computeLayout(n: number, set: ArraySet, threads: number): Layout {
  const arrayBytes = alignUp(n * 4, ARRAY_ALIGN);
  let at = headerBytes(threads);
  const next = (): number => {
    const start = at;
    at += arrayBytes;
    return start;
  };
  const params = next();
  const grads = next();
  const sqAvg = next();
  const momentumBuffer = set.momentumBuffer ? next() : 0;
  const gradAvg = set.gradAvg ? next() : 0;
  return {
    n,
    argsAt: 0,
    params,
    grads,
    sqAvg,
    momentumBuffer,
    gradAvg,
    bytes: at,
    pages: Math.ceil(at / WASM_PAGE_BYTES),
    arrayCount: arrayCountOf(set),
  };
}
