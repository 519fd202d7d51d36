// Where everything lives in an optimizer's memory. The one place that decides offsets,
// alignment and the largest n; nothing else computes a byte offset.
//
//   0              control block: the i32 words the threads synchronise on
//   64             StepArgs blocks, one per (group, share) job, 72 bytes each
//   arraysStart    params | grads | sqAvg | momentumBuffer? | gradAvg?
//
// Every array starts on a 64-byte boundary: a cache line, and a multiple of the 16 bytes
// that keep the kernel's v128 loads aligned.
import { STEP_ARGS_BYTES, type ArrayOffsets } from "./kernel-abi.ts";
import { CONTROL_WORDS } from "./thread-pool.ts";

export const ARRAY_ALIGN = 64;
/** The thread pool's control block. */
export const CONTROL_BYTES = CONTROL_WORDS * 4;
export const WASM_PAGE_BYTES = 65536;
/** wasm32 addresses 4 GiB: 65536 pages of 64 KiB. */
export const MAX_PAGES = 65536;
export const MAX_BYTES = MAX_PAGES * WASM_PAGE_BYTES;

export interface Layout extends ArrayOffsets {
  n: number;
  /** Byte offset of the control block. */
  control: number;
  /** Byte offset of the StepArgs block of a (group, share) job. */
  argsAt(group: number, share: number): number;
  /** Bytes the memory must hold: the end of the last array. */
  bytes: number;
  /** Those bytes in wasm pages. */
  pages: number;
  /** Bytes before the first array: control block, StepArgs blocks and alignment. */
  headerBytes: number;
}

const alignUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/** Which optional arrays a layout includes. */
export interface ArraySet {
  momentumBuffer: boolean;
  gradAvg: boolean;
}

/** How the work is split: StepArgs blocks are needed for every (group, share) pair. */
export interface Jobs {
  groups: number;
  /** Shares of each group: 1 on one thread, a few per thread with threads (src/thread-pool.ts). */
  shares: number;
}

export function arrayCount(set: ArraySet): number {
  return 3 + Number(set.momentumBuffer) + Number(set.gradAvg);
}

function headerBytes(jobs: Jobs): number {
  return alignUp(CONTROL_BYTES + jobs.groups * jobs.shares * STEP_ARGS_BYTES, ARRAY_ALIGN);
}

/** The largest n whose layout fits in wasm32 memory with these arrays and jobs, from `base` on. */
export function maxParams(set: ArraySet, jobs: Jobs, base = 0): number {
  const count = arrayCount(set);
  // Each array is rounded up to ARRAY_ALIGN, which costs at most ARRAY_ALIGN − 4 bytes.
  const room = MAX_BYTES - base - headerBytes(jobs) - count * (ARRAY_ALIGN - 4);
  return Math.max(0, Math.floor(room / (4 * count)));
}

/**
 * Lays out n parameters from byte `base` on (0 in a memory of the optimizer's own, or
 * options.offset in someone else's); n must already be validated against maxParams.
 */
export function computeLayout(n: number, set: ArraySet, jobs: Jobs, base = 0): Layout {
  const arrayBytes = alignUp(n * 4, ARRAY_ALIGN);
  const header = headerBytes(jobs);
  let at = base + header;
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
    control: base,
    argsAt: (group, share) => base + CONTROL_BYTES + (group * jobs.shares + share) * STEP_ARGS_BYTES,
    params,
    grads,
    sqAvg,
    momentumBuffer,
    gradAvg,
    bytes: at,
    pages: Math.ceil(at / WASM_PAGE_BYTES),
    headerBytes: header,
  };
}
