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
//                  and S always, then the optional ones some group needs; each as the
//                  parts its row stores at each stateBits some group has (f32 values;
//                  8-bit codes, then the f32 scales of their blocks), src/state-storage.ts
//   gradsSnapshot  a copy of g that the step reads, where the step is a Promise (a
//                  browser window's main thread with threads; src/executors.ts)
//   shareArgs      with 8-bit state and threads: a StepArgs block per share, which a
//                  share's call copies its unit's into (its scratch differs)
//   scratch        with 8-bit state: QUANT_SCRATCH_BYTES per concurrent kernel call (one
//                  per share, or one), which the 8-bit step decodes a block into
//
// Every part starts on a 64-byte boundary: a cache line, and a multiple of the 16 bytes
// that keep the kernel's v128 loads aligned.
import { STEP_ARGS_BYTES, type ArrayOffsets } from "./kernel-abi.ts";
import type { StateBits } from "./state-bits.ts";
import { QUANT_BLOCK, QUANT_SCRATCH_BYTES } from "./quant-sizes.ts";
import { STATE_ARRAYS, type ArrayName, type StoredPart } from "./state-arrays.ts";
import { blocksOf, elementsOf, type StoragePlan } from "./state-storage.ts";
import { CONTROL_WORDS } from "./pool-shape.ts";

export const ARRAY_ALIGN = 64;
/** The words every block reserves at its start (src/guard.ts). */
export const CONTROL_BYTES = CONTROL_WORDS * 4;
export const WASM_PAGE_BYTES = 65536;
/** wasm32 addresses 4 GiB: 65536 pages of 64 KiB. */
export const MAX_PAGES = 65536;
export const MAX_BYTES = MAX_PAGES * WASM_PAGE_BYTES;

/** Byte offsets of one array's parts (0: the array has no such part). */
export type PartOffsets = Record<StoredPart["kind"], number>;

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
  /**
   * Each array's parts: its f32 values (what `layout[name]` also gives), and, for an array
   * some group keeps in 8 bits, its codes and block scales.
   */
  parts: Record<ArrayName, PartOffsets>;
  /** Byte offset of the first of `scratches` 8-bit scratches, QUANT_SCRATCH_BYTES each (0: none). */
  scratch: number;
  scratches: number;
  /** Byte offset of the first share's StepArgs block (8-bit state on threads; 0: none). */
  shareArgs: number;
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
  /** Kernel calls that may run at once: the shares of a step on threads, else 1. */
  calls?: number;
}

/** How many elements the quantizable arrays keep at each stateBits, and their block scales. */
export type StorageShape = Pick<StoragePlan, "n" | "elements" | "blocks">;

/** The shape of n elements all at `bits`, in `units` units (for limits, before the groups are laid out). */
export function uniformShape(n: number, bits: StateBits, units = 1): StorageShape {
  return { n, elements: { 32: bits === 32 ? n : 0, 8: bits === 8 ? n : 0 }, blocks: bits === 8 ? blocksOf(n) + units - 1 : 0 };
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

/** Bytes of every part of the present arrays, each aligned, in layout order (a snapshot of g after them). */
function partSizes(set: ArraySet, jobs: Jobs, shape: StorageShape): { row: ArrayName; kind: StoredPart["kind"]; bytes: number }[] {
  const sizes: { row: ArrayName; kind: StoredPart["kind"]; bytes: number }[] = [];
  for (const row of present(set)) {
    for (const bits of [32, 8] as const) {
      const elements = elementsOf(row, shape, bits);
      if (elements === 0) continue;
      for (const part of row.parts[bits]) {
        sizes.push({ row: row.name, kind: part.kind, bytes: alignUp(part.bytes * part.length(elements, shape.blocks), ARRAY_ALIGN) });
      }
    }
  }
  if (jobs.snapshot) sizes.push({ row: "grads", kind: "values", bytes: alignUp(4 * shape.n, ARRAY_ALIGN) });
  return sizes;
}

/** Bytes after the arrays: with 8-bit state, a StepArgs block per share and a scratch per concurrent call. */
function q8Bytes(jobs: Jobs, shape: StorageShape): number {
  if (shape.elements[8] === 0) return 0;
  const calls = jobs.calls ?? 1;
  return alignUp((calls > 1 ? calls * STEP_ARGS_BYTES : 0), ARRAY_ALIGN) + alignUp(calls * QUANT_SCRATCH_BYTES, ARRAY_ALIGN);
}

/**
 * The largest n whose layout fits in wasm32 memory with these arrays and jobs, from `base`
 * on, with every group's state at `bits` (or, for `bits` "both", some at each: a bound that
 * holds for any split). A part of L bytes an element takes at most L·n bytes and one
 * alignment, and the scales one block per 512 elements and one per unit, so the bound is
 * the room left after those, divided by the bytes per element.
 */
export function maxParams(set: ArraySet, jobs: Jobs, base = 0, bits: StateBits | "both" = 32): number {
  let perElement = 0;
  let fixed = headerBytes(jobs);
  const q8 = bits !== 32;
  for (const row of present(set)) {
    // A row without a code map keeps every element in f32, whatever the groups' stateBits.
    const kept: readonly StateBits[] = !row.q8 ? [32] : bits === "both" ? [32, 8] : [bits];
    for (const at of kept) {
      for (const part of row.parts[at]) {
        const scales = part.length(0, 1) === 1;
        perElement += scales ? part.bytes / QUANT_BLOCK : part.bytes;
        fixed += ARRAY_ALIGN - part.bytes + (scales ? part.bytes * jobs.units : 0);
      }
    }
  }
  if (jobs.snapshot) {
    perElement += 4;
    fixed += ARRAY_ALIGN - 4;
  }
  if (q8) fixed += q8Bytes(jobs, { n: 1, elements: { 32: 0, 8: 1 }, blocks: 1 });
  return Math.max(0, Math.floor((MAX_BYTES - base - fixed) / perElement));
}

/**
 * Lays out n parameters from byte `base` on (0 in a memory of the optimizer's own, or
 * options.offset in someone else's); n must already be validated against maxParams. The
 * quantizable arrays are stored as `shape` says (all f32 when not given).
 */
export function computeLayout(n: number, set: ArraySet, jobs: Jobs, base = 0, shape: StorageShape = uniformShape(n, 32)): Layout {
  const header = headerBytes(jobs);
  const offsets = Object.fromEntries(STATE_ARRAYS.map((a) => [a.name, 0])) as unknown as Required<ArrayOffsets>;
  const parts = Object.fromEntries(STATE_ARRAYS.map((a) => [a.name, { values: 0, codes: 0, scales: 0 }])) as Record<ArrayName, PartOffsets>;
  let at = base + header;
  const sizes = partSizes(set, jobs, shape);
  if (jobs.snapshot) sizes.pop();
  for (const { row, kind, bytes } of sizes) {
    parts[row][kind] = at;
    at += bytes;
  }
  for (const a of STATE_ARRAYS) offsets[a.name] = parts[a.name].values;
  const gradsSnapshot = jobs.snapshot ? at : 0;
  if (jobs.snapshot) at += alignUp(4 * n, ARRAY_ALIGN);
  const calls = jobs.calls ?? 1;
  const q8 = shape.elements[8] > 0;
  const shareArgs = q8 && calls > 1 ? at : 0;
  if (shareArgs) at += alignUp(calls * STEP_ARGS_BYTES, ARRAY_ALIGN);
  const scratch = q8 ? at : 0;
  if (q8) at += alignUp(calls * QUANT_SCRATCH_BYTES, ARRAY_ALIGN);
  const argsStart = base + CONTROL_BYTES;
  const normSums = jobs.normBlocks ? alignUp(argsStart + jobs.units * STEP_ARGS_BYTES, 8) : 0;
  return {
    n,
    control: base,
    argsAt: (unit) => argsStart + unit * STEP_ARGS_BYTES,
    normSums,
    normLimits: jobs.normBlocks ? normSums + 8 * jobs.normBlocks : 0,
    ...offsets,
    parts,
    scratch,
    scratches: q8 ? calls : 0,
    shareArgs,
    bytes: at,
    pages: Math.ceil(at / WASM_PAGE_BYTES),
    headerBytes: header,
    gradsSnapshot,
  };
}
