// Where everything lives in an optimizer's memory: the one place that decides the offsets,
// alignment and largest n of the optimizer's block. (The executors add a slice's start to
// these offsets, and the tfjs adapter lays out its own slots in src/tfjs/slots.ts.)
//
//   0              control block: the i32 words the threads synchronise on
//   +CONTROL       StepArgs blocks, one per unit, STEP_ARGS_BYTES each (threads share a unit's
//                  block, each stepping a range of it)
//   normSums       f64 partial sums of squared gradients, one per NORM_BLOCK (norm clipping)
//   normLimits     f64 clipping bounds of this step: each unit's clipNorm, then globalClipNorm
//   arraysStart    the arrays of src/state-arrays.ts that exist, in table order: θ, g
//                  and S always, then the optional ones some group needs
//   gradsSnapshot  a copy of g that the step reads, where the step is a Promise (a
//                  browser window's main thread with threads; src/executors.ts)
//
// Every array starts on a 64-byte boundary: a cache line, and a multiple of the 16 bytes
// that keep the kernel's v128 loads aligned.
import { STEP_ARGS_BYTES, type ArrayOffsets } from "./kernel-abi.ts";
import { STATE_ARRAYS, type ArrayName } from "./state-arrays.ts";
import { CONTROL_WORDS } from "./pool-shape.ts";

export const ARRAY_ALIGN = 64;
/** The words every block reserves at its start (src/guard.ts). */
export const CONTROL_BYTES = CONTROL_WORDS * 4;
export const WASM_PAGE_BYTES = 65536;
/** wasm32 addresses 4 GiB: 65536 pages of 64 KiB. */
export const MAX_PAGES = 65536;
export const MAX_BYTES = MAX_PAGES * WASM_PAGE_BYTES;

export interface Layout extends Required<ArrayOffsets> {
  n: number;
  /** Byte offset of the control block. */
  control: number;
  /** Byte offset of a unit's StepArgs block. */
  argsAt(unit: number): number;
  /** Byte offset of the f64 block sums of the gradient norm (0 when there are none). */
  normSums: number;
  /**
   * Byte offset of this step's f64 clipping bounds, written before each step (a bound may be
   * a schedule): unit u's clipNorm at u (NaN where it has none), globalClipNorm after the
   * last unit (NaN for none). 0 when there are no norms.
   */
  normLimits: number;
  /** Bytes the memory must hold: the end of the last array. */
  bytes: number;
  /** Those bytes in wasm pages. */
  pages: number;
  /** Bytes before the first array: control block, StepArgs blocks, norm sums and alignment. */
  headerBytes: number;
  /** Byte offset of the copy of g a step that cannot block reads (0 when there is none). */
  gradsSnapshot: number;
}

const alignUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/** Which arrays a layout includes; θ, g and S always, the others where true. */
export type ArraySet = Partial<Record<ArrayName, boolean>>;

/** θ, g and S exist in every optimizer; the table's other arrays only where some group needs them. */
const ALWAYS: readonly ArrayName[] = ["params", "grads", "sqAvg"];
const present = (set: ArraySet) => STATE_ARRAYS.filter((a) => ALWAYS.includes(a.name) || set[a.name]);

/** How the work is split: a StepArgs block per unit, and the norm's block sums. */
export interface Jobs {
  /** Step units: the groups, or their tensors where clipNorm needs a factor per tensor. */
  units: number;
  /** f64 sums the gradient norm needs (one per NORM_BLOCK of each segment), or 0. */
  normBlocks?: number;
  /** A snapshot of g for steps that return a Promise (one more array of n). */
  snapshot?: boolean;
}

export function arrayCount(set: ArraySet): number {
  return present(set).length;
}

/** f64 words after the StepArgs blocks: the norm's block sums, then one bound per unit and the global one. */
const normWords = (jobs: Jobs): number => (jobs.normBlocks ? jobs.normBlocks + jobs.units + 1 : 0);

function headerBytes(jobs: Jobs): number {
  const args = alignUp(CONTROL_BYTES + jobs.units * STEP_ARGS_BYTES, 8);
  return alignUp(args + 8 * normWords(jobs), ARRAY_ALIGN);
}

/** The largest n whose layout fits in wasm32 memory with these arrays and jobs, from `base` on. */
export function maxParams(set: ArraySet, jobs: Jobs, base = 0): number {
  const count = arrayCount(set) + (jobs.snapshot ? 1 : 0);
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
  const offsets = Object.fromEntries(STATE_ARRAYS.map((a) => [a.name, 0])) as unknown as Required<ArrayOffsets>;
  let at = base + header;
  for (const a of present(set)) {
    offsets[a.name] = at;
    at += arrayBytes;
  }
  const gradsSnapshot = jobs.snapshot ? at : 0;
  if (jobs.snapshot) at += arrayBytes;
  const argsStart = base + CONTROL_BYTES;
  const normSums = jobs.normBlocks ? alignUp(argsStart + jobs.units * STEP_ARGS_BYTES, 8) : 0;
  return {
    n,
    control: base,
    argsAt: (unit) => argsStart + unit * STEP_ARGS_BYTES,
    normSums,
    normLimits: jobs.normBlocks ? normSums + 8 * jobs.normBlocks : 0,
    ...offsets,
    bytes: at,
    pages: Math.ceil(at / WASM_PAGE_BYTES),
    headerBytes: header,
    gradsSnapshot,
  };
}
