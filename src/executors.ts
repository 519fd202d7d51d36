// How a step runs: the one place that schedules the work, chosen once when the optimizer
// is created. Two executors, one interface:
//
//   kernel     one kernel on the calling thread, one call per unit: a wasm build, or the
//              Math.fround reference behind the same ABI (backend "js")
//   threaded   each step on the process's thread pool as one region, or alone on the
//              caller as the kernel executor, as the choice decides (src/threaded-executor.ts)
//
// Each one checks grads for NaN/±∞ first when asked, and then writes nothing at all if it
// found one: it returns the first bad index, or −1 when the step was applied. With norm
// clipping, the scan that finds bad gradients is the one that sums their squares (a sum is
// finite exactly when every term is), and the factors go into the jobs before they run.
// The optimizer (src/rmsprop.ts) keeps the state and the views and applies the policy.
import { clipFactors, firstBadScaled, withClipFactor, type NormUnit } from "./clip-norms.ts";
import type { StepUnit } from "./groups.ts";
import { checkGuard } from "./guard.ts";
import {
  KernelFlag, NORM_BLOCK, writeRoundingCounter, writeStepArgs, type ArrayOffsets, type KernelExports, type Q8Offsets, type StepScalars,
} from "./kernel-abi.ts";
import type { Layout } from "./layout.ts";
import { STATE_ARRAYS } from "./state-arrays.ts";
import type { Segment } from "./state-storage.ts";

/** A unit ready to run: its plan, its StepArgs block and the byte offsets of its arrays. */
export interface UnitRuntime {
  unit: StepUnit;
  args: number;
  offsets: ArrayOffsets & Q8Offsets;
  /** KernelFlag.q8 where the unit's group keeps its state in 8 bits, else 0. */
  q8: number;
}

/** The memory as it is now (an external memory may have grown since the last step). */
export interface Heap {
  u32: Uint32Array;
  f32: Float32Array;
  f64: Float64Array;
}

/**
 * One unit's job for this step: its scalars and flags, before any clipping factor, and the
 * step's clipping bounds (each may change per step): the unit's own clipNorm and the global
 * one, null where off.
 */
export interface UnitJob {
  scalars: StepScalars;
  flags: number;
  /** What the step's 8-bit rounding draws from: the step count t, as a u32. */
  roundingSeed: number;
  clipNorm: number | null;
  globalClipNorm: number | null;
}

export interface StepExecutor {
  /**
   * One step of every unit with these per-unit jobs. An executor made with `check` (any
   * nonFinite policy but "ignore") scans grads first and writes nothing if any is NaN/±∞.
   * Returns that first bad index, or −1 when the step was applied; a Promise of it where
   * the calling thread may not block. With norms, the block sums stay in `normSums`.
   */
  run(heap: Heap, jobs: UnitJob[]): number | Promise<number>;
  /** Ends the executor's threads, if it has any. */
  dispose(): void;
}

/** An executor that runs on the calling thread: its result is never a Promise. */
export interface CallerExecutor extends StepExecutor {
  run(heap: Heap, jobs: UnitJob[]): number;
}

/** What every executor needs to know about the optimizer's memory and work. */
export interface Work {
  layout: Layout;
  units: readonly UnitRuntime[];
  /** Scan grads for NaN/±∞ before a step (any nonFinite policy but "ignore"). */
  check: boolean;
  /** Whether options.globalClipNorm is on (its value is each step's, in the jobs). */
  globalClipNorm: boolean;
  /** Whether a step computes norms (clipNorm or globalClipNorm somewhere): see needsNorm. */
  norm: boolean;
  /**
   * Where opt.grads is, when the step reads a snapshot of it at layout.grads instead: the
   * pool copies it there when step() is called, where the step is a Promise.
   */
  snapshotOf?: number;
}

/**
 * A unit's runtime: its block (one per unit) and its arrays' byte offsets in the layout:
 * where its segment of the storage (src/state-storage.ts) puts it, codes and block scales
 * for an array it keeps in 8 bits, and then the 8-bit step's scratch (one per call: the
 * threads' shares give theirs in copies of the block, src/step-task.ts).
 */
export function unitRuntime(unit: StepUnit, index: number, layout: Layout, segment: Segment): UnitRuntime {
  const offsets: Record<string, number> = {};
  const q8 = segment.bits === 8;
  for (const a of STATE_ARRAYS) {
    const parts = layout.parts[a.name];
    if (a.q8 && q8) {
      offsets[a.name] = parts.codes ? parts.codes + segment.at : 0;
      offsets[`${a.name}Scales`] = parts.codes ? parts.scales + 4 * segment.scalesAt : 0;
    } else {
      const at = a.q8 ? segment.at : unit.offset;
      offsets[a.name] = layout[a.name] ? layout[a.name] + 4 * at : 0;
    }
  }
  if (q8) offsets.scratch = layout.scratch;
  return { unit, args: layout.argsAt(index), offsets: offsets as unknown as ArrayOffsets & Q8Offsets, q8: q8 ? KernelFlag.q8 : 0 };
}

/** Each unit's block sums, for src/clip-norms.ts (the bounds are each step's: see applyFactors). */
export const normUnits = (work: Work): NormUnit[] =>
  work.units.map(({ unit }) => ({ firstBlock: unit.firstBlock, blocks: unit.blocks, clipNorm: null }));

/**
 * The step's clipping bounds where the pool's threads read them (layout.normLimits): each
 * unit's clipNorm, then globalClipNorm; NaN for none.
 */
export function writeLimits(heap: Heap, work: Work, jobs: readonly UnitJob[]): void {
  const at = work.layout.normLimits >>> 3;
  for (let u = 0; u < jobs.length; u++) heap.f64[at + u] = jobs[u].clipNorm ?? NaN;
  heap.f64[at + jobs.length] = jobs[0]?.globalClipNorm ?? NaN;
}

/**
 * Every unit's StepArgs block, written before the kernel (or the threads) read it; an 8-bit
 * unit's with its rounding counter: its first element's index and the step's seed.
 */
export function writeArgs(heap: Heap, units: readonly UnitRuntime[], jobs: readonly UnitJob[]): void {
  for (let i = 0; i < units.length; i++) {
    const u = units[i];
    writeStepArgs(heap.u32, heap.f32, u.args, u.offsets, u.unit.size, jobs[i].scalars, jobs[i].flags | u.q8);
    if (u.q8) writeRoundingCounter(heap.u32, u.args, { firstIndex: u.unit.offset, roundingSeed: jobs[i].roundingSeed });
  }
}

/** The gradient scale a unit's norm is taken after: |gSign|, the f32 gradScale. */
const scaleOf = (job: UnitJob) => Math.abs(job.scalars.gSign);

/**
 * The norm scan on the calling thread: each unit's block sums of squared, scaled
 * gradients into normSums. Returns the first index whose scaled gradient is NaN/±∞ when
 * `check`, else −1.
 */
function scanNorms(kernel: KernelExports, heap: Heap, work: Work, jobs: readonly UnitJob[]): number {
  const { layout } = work;
  for (let i = 0; i < work.units.length; i++) {
    const { unit } = work.units[i];
    const scale = scaleOf(jobs[i]);
    const bad = kernel.sum_squares_f32(layout.grads + 4 * unit.offset, unit.size, scale, layout.normSums + 8 * unit.firstBlock);
    if (bad >= 0 && work.check) {
      const from = bad * NORM_BLOCK;
      const k = firstBadScaled(heap.f32, (layout.grads >>> 2) + unit.offset + from, Math.min(NORM_BLOCK, unit.size - from), scale);
      if (k >= 0) return unit.offset + from + k;
    }
  }
  return -1;
}

/** The joint L2 norm of every unit's gradients from the block sums: units in order, blocks in order. */
export function jointNorm(heap: Heap, work: Work): number {
  return clipFactors(heap.f64, work.layout.normSums >>> 3, normUnits(work), null).gradNorm;
}

/** Puts each unit's clipping factor into its job: the global one, or its own norm's. */
function applyFactors(heap: Heap, work: Work, jobs: UnitJob[]): void {
  // This step's bounds (each may be a schedule): every unit's own clipNorm, and the global one.
  const units = work.units.map(({ unit }, i) => ({ firstBlock: unit.firstBlock, blocks: unit.blocks, clipNorm: jobs[i].clipNorm }));
  const { factors } = clipFactors(heap.f64, work.layout.normSums >>> 3, units, jobs[0].globalClipNorm);
  jobs.forEach((job, i) => (job.flags = withClipFactor(job.flags, job.scalars, factors[i])));
}

/** The scan before a step on the calling thread: norms (and factors) or the non-finite check. */
function prepare(kernel: KernelExports, heap: Heap, work: Work, jobs: UnitJob[]): number {
  if (work.norm) {
    const bad = scanNorms(kernel, heap, work, jobs);
    if (bad >= 0) return bad;
    applyFactors(heap, work, jobs);
    return -1;
  }
  return work.check ? firstNonFinite(kernel, work, jobs) : -1;
}

/**
 * The first gradient that is NaN/±∞ as the step uses it, times its unit's gradScale: a
 * finite gradient that a gradScale above 1 overflows is ±∞ in the step. With every scale
 * ≤ 1 (the common case) no product can overflow, and one scan of all n suffices.
 */
function firstNonFinite(kernel: KernelExports, work: Work, jobs: readonly UnitJob[]): number {
  const { grads, n } = work.layout;
  let u = 0;
  while (u < jobs.length && scaleOf(jobs[u]) <= 1) u++;
  if (u === jobs.length) return kernel.first_nonfinite_f32(grads, n);
  for (let i = 0; i < work.units.length; i++) {
    const { unit } = work.units[i];
    const scale = scaleOf(jobs[i]);
    const at = grads + 4 * unit.offset;
    const bad = scale > 1 ? kernel.first_nonfinite_scaled_f32(at, unit.size, scale) : kernel.first_nonfinite_f32(at, unit.size);
    if (bad >= 0) return unit.offset + bad;
  }
  return -1;
}

/** A kernel (wasm, or the reference behind the same ABI) on the calling thread. */
export function kernelExecutor(kernel: KernelExports, work: Work): CallerExecutor {
  // Dropped at dispose(): the kernel's instance pins the memory.
  let k: KernelExports | undefined = kernel;
  return {
    run(heap, jobs) {
      if (!k) throw disposed();
      const bad = prepare(k, heap, work, jobs);
      if (bad >= 0) return bad;
      writeArgs(heap, work.units, jobs);
      for (let u = 0; u < work.units.length; u++) k.step(KernelFlag.flagsInArgs, work.units[u].args);
      return -1;
    },
    dispose() {
      k = undefined;
    },
  };
}

export function disposed(): Error {
  return new Error("this rmsprop-wasm optimizer was disposed; create a new one with createRmsprop()");
}

/**
 * Checks the guard at byte `control` (src/guard.ts) before every step of `inner`, and
 * drops `inner` at dispose(), so that a disposed optimizer pins nothing.
 */
export function guardedExecutor(inner: StepExecutor, control: number): StepExecutor {
  let executor: StepExecutor | undefined = inner;
  return {
    run(heap, jobs) {
      if (!executor) throw disposed();
      checkGuard(heap.u32, control);
      return executor.run(heap, jobs);
    },
    dispose() {
      const e = executor;
      executor = undefined;
      e?.dispose();
    },
  };
}
