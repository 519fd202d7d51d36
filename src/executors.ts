// How a step runs: the one place that schedules the work, chosen once when the optimizer
// is created. Two executors, one interface:
//
//   kernel   one kernel on the calling thread, one call per (unit, share) job: a wasm build,
//            or the Math.fround reference behind the same ABI (backend "js")
//   pool     one parallel region on the thread pool (threads > 1)
//
// Each one checks grads for NaN/±∞ first when asked, and then writes nothing at all if it
// found one: it returns the first bad index, or −1 when the step was applied. With norm
// clipping, the scan that finds bad gradients is the one that sums their squares (a sum is
// finite exactly when every term is), and the factors go into the jobs before they run.
// The optimizer (src/rmsprop.ts) keeps the state and the views and applies the policy.
import { type StepUnit, unitSquaredNorm } from "./groups.ts";
import { checkGuard } from "./guard.ts";
import { bindKernel, copyStepArgs, KernelFlag, NORM_BLOCK, writeStepArgs, type ArrayOffsets, type KernelExports, type StepScalars } from "./kernel-abi.ts";
import type { Layout } from "./layout.ts";
import { STATE_ARRAYS } from "./state-arrays.ts";
import { clipFactor, withClipFactor } from "./step-scalars.ts";
import type { NormJobs, NormPiece, PoolSettings, ShareJobs, StepWays } from "./thread-pool.ts";

/** One share of a unit: where its StepArgs block is, its arrays and its length. */
export interface Slice {
  args: number;
  offsets: ArrayOffsets;
  n: number;
}

/** A unit ready to run: its plan and one slice per share. */
export interface UnitRuntime {
  unit: StepUnit;
  slices: Slice[];
}

/** The memory as it is now (an external memory may have grown since the last step). */
export interface Heap {
  u32: Uint32Array;
  f32: Float32Array;
  f64: Float64Array;
}

/** One unit's job for this step: its scalars and flags, before any clipping factor. */
export interface UnitJob {
  scalars: StepScalars;
  flags: number;
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
  /** options.globalClipNorm, or null. */
  globalClipNorm: number | null;
  /** Whether a step computes norms (clipNorm or globalClipNorm somewhere): see needsNorm. */
  norm: boolean;
  /**
   * Where opt.grads is, when the step reads a snapshot of it at layout.grads instead: the
   * pool copies it there when step() is called, where the step is a Promise.
   */
  snapshotOf?: number;
}

/**
 * Share s's slice [start, start + count) of `size` elements. Slices are cut on multiples
 * of 4 elements (16 bytes), so every share runs the SIMD body on whole vectors and only
 * the last one has a scalar tail.
 */
export function shareSlice(size: number, shares: number, s: number): [start: number, count: number] {
  const chunk = Math.ceil(size / shares / 4) * 4;
  const start = Math.min(size, s * chunk);
  return [start, Math.min(size, start + chunk) - start];
}

/** A unit's slices, one per share, with byte offsets of every array of the layout. */
export function unitSlices(unit: StepUnit, index: number, layout: Layout, shares: number): Slice[] {
  return Array.from({ length: shares }, (_, t) => {
    const [start, n] = shareSlice(unit.size, shares, t);
    const skip = 4 * (unit.offset + start);
    const offsets = Object.fromEntries(
      STATE_ARRAYS.map((a) => [a.name, layout[a.name] ? layout[a.name] + skip : 0]),
    ) as unknown as ArrayOffsets;
    return { args: layout.argsAt(index, t), offsets, n };
  });
}

/** Every share's StepArgs blocks, written before the kernel (or the workers) read them. */
function writeArgs(heap: Heap, units: readonly UnitRuntime[], jobs: readonly UnitJob[]): void {
  units.forEach((u, i) => {
    const { scalars, flags } = jobs[i];
    const first = u.slices[0];
    writeStepArgs(heap.u32, heap.f32, first.args, first.offsets, first.n, scalars, flags);
    for (let s = 1; s < u.slices.length; s++) {
      const slice = u.slices[s];
      copyStepArgs(heap.u32, first.args, slice.args, slice.offsets, slice.n);
    }
  });
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
      // The first element of that block whose scaled value is not finite.
      const from = unit.offset + bad * NORM_BLOCK;
      const to = Math.min(unit.offset + unit.size, from + NORM_BLOCK);
      const grads = layout.grads >>> 2;
      for (let k = from; k < to; k++) if (!Number.isFinite(Math.fround(heap.f32[grads + k] * scale))) return k;
    }
  }
  return -1;
}

/** The joint L2 norm of every unit's gradients from the block sums: units in order, blocks in order. */
export function jointNorm(heap: Heap, work: Work): number {
  const at = work.layout.normSums >>> 3;
  let total = 0;
  for (const { unit } of work.units) total += unitSquaredNorm(heap.f64, at, unit);
  return Math.sqrt(total);
}

/** Puts each unit's clipping factor into its job: the global one, or its own norm's. */
function applyFactors(heap: Heap, work: Work, jobs: UnitJob[]): void {
  const at = work.layout.normSums >>> 3;
  const global = work.globalClipNorm === null ? 1 : clipFactor(work.globalClipNorm, jointNorm(heap, work));
  work.units.forEach(({ unit }, i) => {
    const max = unit.plan.options.clipNorm;
    const factor = max === null ? global : clipFactor(max, Math.sqrt(unitSquaredNorm(heap.f64, at, unit)));
    jobs[i].flags = withClipFactor(jobs[i].flags, jobs[i].scalars, factor);
  });
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
      for (const u of work.units) k.step(KernelFlag.flagsInArgs, u.slices[0].args);
      return -1;
    },
    dispose() {
      k = undefined;
    },
  };
}

function disposed(): Error {
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

/**
 * The norm scan cut into `count` shares: every unit's blocks in order, share s taking a
 * contiguous run of them, so that no block is split and the sums do not depend on the
 * thread count.
 */
export function normPieces(work: Work, count: number): NormPiece[][] {
  const { layout, units } = work;
  const total = units.reduce((sum, u) => sum + u.unit.blocks, 0);
  const shares: NormPiece[][] = Array.from({ length: count }, () => []);
  for (let s = 0; s < count; s++) {
    const first = Math.floor((total * s) / count), end = Math.floor((total * (s + 1)) / count);
    for (const { unit, slices } of units) {
      const from = Math.max(first, unit.firstBlock), to = Math.min(end, unit.firstBlock + unit.blocks);
      if (from >= to) continue;
      const start = (from - unit.firstBlock) * NORM_BLOCK;
      const n = Math.min(unit.size, (to - unit.firstBlock) * NORM_BLOCK) - start;
      const base = unit.offset + start;
      // gSign, byte 40 of the unit's first block: ±gradScale until a factor joins it.
      shares[s].push([layout.grads + 4 * base, n, layout.normSums + 8 * from, slices[0].args + 40, base]);
    }
  }
  return shares;
}

/**
 * The thread pool: share s is slice s of all n gradients (the scan) and slice s of every
 * unit (the step), run by `threads` threads in one region per step (src/thread-pool.ts).
 * Every job takes its flags from its block (FLAGS_IN_ARGS), so the first EMA step and the
 * clipping variant need no new jobs. With norm clipping the scan sums the squares of share
 * s's blocks, and every thread derives the factors from the sums after the barrier.
 */
export async function poolExecutor(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  work: Work,
  settings: Omit<PoolSettings, "check">,
): Promise<StepExecutor> {
  const { layout, units } = work;
  const count = units[0].slices.length;
  const { norm } = work;
  const pieces = norm ? normPieces(work, count) : [];
  const normUnits = units.map(({ unit }) => [unit.firstBlock, unit.blocks, unit.plan.options.clipNorm] as const);
  const shares = Array.from({ length: count }, (_, s): ShareJobs => {
    const [start, length] = shareSlice(layout.n, count, s);
    const normJobs: NormJobs | undefined = norm
      ? { pieces: pieces[s], units: normUnits, sums: layout.normSums, globalClipNorm: work.globalClipNorm, check: work.check }
      : undefined;
    return {
      scan: [layout.grads + 4 * start, length, start],
      steps: units.map((u) => [KernelFlag.flagsInArgs, u.slices[s].args] as const),
      ...(normJobs && { norm: normJobs }),
    };
  });
  // Loaded here, not at the top: a page on one thread never downloads the pool's code.
  const { startThreadPool } = await import("./thread-pool.ts");
  // The caller's kernel: its part of every region, and the step alone.
  const kernel = bindKernel(module, memory);
  // With norms the scan always runs: it is where the sums are made.
  const pool = await startThreadPool(module, memory, kernel, layout.control, shares, { ...settings, check: work.check || norm });
  // The step alone (ThreadChoice): the one-thread step, each unit whole in its share-0
  // block, which the next threaded step writes again. Cut into shares, a cold step ran
  // up to a third slower than on one thread (a kernel call and claims per share).
  const solo = kernelExecutor(kernel, { ...work, units: units.map(({ unit }, i) => ({ unit, slices: unitSlices(unit, i, layout, 1) })) });
  // This step's memory and jobs, for the two ways (made once: a step allocates nothing).
  const step = { heap: undefined as unknown as Heap, jobs: [] as UnitJob[] };
  const ways: StepWays = {
    share: () => writeArgs(step.heap, units, step.jobs),
    alone: () => solo.run(step.heap, step.jobs),
  };
  const from = work.snapshotOf;
  return {
    run(heap, jobs) {
      // The gradients as they are now, which the scan and the step read whenever they run.
      if (from !== undefined) heap.f32.copyWithin(layout.grads >>> 2, from >>> 2, (from >>> 2) + layout.n);
      step.heap = heap;
      step.jobs = jobs;
      return pool.run(ways);
    },
    dispose: () => {
      solo.dispose();
      pool.dispose();
    },
  };
}
