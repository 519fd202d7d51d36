// The work of one share of an optimizer's step, as the pool runs it (src/pool/region.ts):
// the scan of its slice of grads, the join that puts the clipping factors into the blocks,
// and the step of its range of every unit. Made on each thread from the same plain-data
// plan (the workers get it by postMessage) and that thread's own kernel instance, so the
// pool itself never names a kernel argument.
//
// One StepArgs block per unit, written by the caller before the region: each share steps
// its range of the unit with step_range, and the join patches each block once, after the
// last scan and before any step (the scans read gSign as the gradient scale; nothing
// changes it until every scan is done).
import { blockScale, clipFactors, firstBadScaled, patchClipFactor, type NormUnit } from "./clip-norms.ts";
import { argsOffset, KernelFlag, NORM_BLOCK, STEP_ARGS_BYTES, type KernelExports } from "./kernel-abi.ts";
import type { ShareTask } from "./pool/region.ts";

/**
 * A piece of a share's norm scan: `n` gradients at byte `ptr` (whole blocks of one unit),
 * their block sums to byte `out`, the unit's StepArgs block (its gSign is the gradient
 * scale this step), and the index of the first gradient.
 */
export type NormPiece = readonly [ptr: number, n: number, out: number, args: number, base: number];

/** A step cut into shares, as plain data. */
export interface StepPlan {
  /**
   * How grads are scanned before the step: not at all (nonFinite "ignore" without norms),
   * for the first NaN/±∞, or for the norms' block sums (which find bad values too).
   */
  scan: "none" | "finite" | "norm";
  /** With norms: whether a non-finite sum stops the step (any nonFinite policy but "ignore"). */
  check: boolean;
  /** Per share, the gradients its finite scan reads: byte offset, count, index of the first. */
  finite: (readonly [ptr: number, n: number, base: number])[];
  /** Per share, its norm pieces. */
  pieces: (readonly NormPiece[])[];
  /** Each unit's block sums (their clipNorm is the step's, read from `limits`). */
  normUnits: readonly NormUnit[];
  /** Byte offset of the f64 block sums. */
  sums: number;
  /** Byte offset of this step's f64 clipping bounds: unit u's clipNorm at u, then globalClipNorm (NaN: none). */
  limits: number;
  /**
   * Per unit: its StepArgs block, whether it keeps its state in 8 bits, and per share the
   * range [start, count] of the unit's elements (on block boundaries where 8-bit).
   */
  units: readonly { args: number; q8: boolean; ranges: readonly (readonly [start: number, count: number])[] }[];
  /**
   * Per share, where its 8-bit calls run: a StepArgs block it copies the unit's into, and
   * the scratch it names there (concurrent 8-bit calls each need their own). Empty
   * without 8-bit state.
   */
  q8: readonly (readonly [args: number, scratch: number])[];
}

/** The word of a StepArgs block that holds the byte offset of g (the unit's first element). */
const GRADS_WORD = argsOffset("grads") >>> 2;
/** The word of the 8-bit step's scratch, and the words of a block. */
const SCRATCH_WORD = argsOffset("scratch") >>> 2;
const BLOCK_WORDS = STEP_ARGS_BYTES >>> 2;

/** Typed views of a memory, made again only when its buffer changes (an external memory that grew). */
function viewsOf(memory: WebAssembly.Memory) {
  let buffer: ArrayBufferLike | undefined;
  let views = { u32: new Uint32Array(0), f32: new Float32Array(0), f64: new Float64Array(0) };
  return () => {
    if (memory.buffer !== buffer) {
      buffer = memory.buffer;
      views = { u32: new Uint32Array(buffer), f32: new Float32Array(buffer), f64: new Float64Array(buffer, 0, buffer.byteLength >>> 3) };
    }
    return views;
  };
}

/** The pool's task for a step made by `plan`, on this thread's kernel instance. */
export function createStepTask(kernel: KernelExports, memory: WebAssembly.Memory, plan: StepPlan): ShareTask {
  const views = viewsOf(memory);
  return {
    scan(t) {
      if (plan.scan === "finite") {
        const v = views();
        // A gradScale above 1 can overflow a finite gradient: then each unit's range is
        // scanned with its scale instead (scales ≤ 1, the common case, cannot overflow).
        if (plan.units.some((unit) => blockScale(v.f32, unit.args) > 1)) return scaledBad(kernel, v, plan, t);
        const [ptr, n, base] = plan.finite[t];
        const bad = kernel.first_nonfinite_f32(ptr, n);
        return bad < 0 ? -1 : base + bad;
      }
      if (plan.scan === "norm") return scanNorm(kernel, views().f32, plan, plan.pieces[t]);
      return -1;
    },
    join() {
      if (plan.scan !== "norm") return;
      const { u32, f32, f64 } = views();
      // This step's bounds, written by the caller before the region (a bound may be a schedule).
      const at = plan.limits >>> 3;
      const bound = (x: number) => (Number.isNaN(x) ? null : x);
      const units = plan.normUnits.map((u, i) => ({ ...u, clipNorm: bound(f64[at + i]) }));
      const { factors } = clipFactors(f64, plan.sums >>> 3, units, bound(f64[at + units.length]));
      for (let u = 0; u < plan.units.length; u++) patchClipFactor(u32, f32, plan.units[u].args, factors[u]);
    },
    step(t) {
      for (let u = 0; u < plan.units.length; u++) {
        const unit = plan.units[u];
        const [start, count] = unit.ranges[t];
        if (count === 0) continue;
        if (!unit.q8) {
          kernel.step_range(KernelFlag.flagsInArgs, unit.args, start, count);
          continue;
        }
        // The unit's block as the join left it, with this share's scratch.
        const [args, scratch] = plan.q8[t];
        const { u32 } = views();
        u32.copyWithin(args >>> 2, unit.args >>> 2, (unit.args >>> 2) + BLOCK_WORDS);
        u32[(args >>> 2) + SCRATCH_WORD] = scratch;
        kernel.step_range(KernelFlag.flagsInArgs, args, start, count);
      }
    },
  };
}

/**
 * Share t's scan when some unit's gradScale (|gSign| of its block) is above 1: its range of
 * every unit, scaled as the kernel multiplies where the scale is above 1, plain elsewhere.
 * The first bad index over the units, which lie in index order.
 */
function scaledBad(kernel: KernelExports, { u32, f32 }: { u32: Uint32Array; f32: Float32Array }, plan: StepPlan, t: number): number {
  const [ptr, , base] = plan.finite[t];
  // opt.grads' element 0, from this share's slice: the index of a gradient is its distance from it.
  const grads = ptr - 4 * base;
  let bad = -1;
  for (const unit of plan.units) {
    const [start, count] = unit.ranges[t];
    if (count === 0) continue;
    const scale = blockScale(f32, unit.args);
    const at = u32[(unit.args >>> 2) + GRADS_WORD] + 4 * start;
    const k = scale > 1 ? kernel.first_nonfinite_scaled_f32(at, count, scale) : kernel.first_nonfinite_f32(at, count);
    const index = k < 0 ? -1 : (at - grads) / 4 + k;
    if (index >= 0 && (bad < 0 || index < bad)) bad = index;
  }
  return bad;
}

/** A share's norm pieces: their block sums, and the first bad gradient when `check`. */
function scanNorm(kernel: KernelExports, f32: Float32Array, plan: StepPlan, pieces: readonly NormPiece[]): number {
  for (const [ptr, n, out, args, base] of pieces) {
    const scale = blockScale(f32, args);
    const block = kernel.sum_squares_f32(ptr, n, scale, out);
    if (block < 0 || !plan.check) continue;
    const from = block * NORM_BLOCK;
    const k = firstBadScaled(f32, (ptr >>> 2) + from, Math.min(NORM_BLOCK, n - from), scale);
    if (k >= 0) return base + from + k;
  }
  return -1;
}
