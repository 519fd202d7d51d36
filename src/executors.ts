// How a step runs: the one place that schedules the work, chosen once when the optimizer
// is created. Three executors, one interface:
//
//   reference   the Math.fround JS reference (backend "js")
//   kernel      the wasm kernel on the calling thread, one call per group
//   pool        one parallel region on the thread pool (threads > 1)
//
// Each one checks grads for NaN/±∞ first when asked, and then writes nothing at all if it
// found one: it returns the first bad index, or −1 when the step was applied. The
// optimizer (src/rmsprop.ts) keeps the state and the views and applies the policy.
import type { GroupPlan } from "./groups.ts";
import { checkGuard } from "./guard.ts";
import { writeStepArgs, type ArrayOffsets, type KernelExports, type StepScalars } from "./kernel-abi.ts";
import type { Layout } from "./layout.ts";
import { referenceFirstNonFinite, referenceStep, type StepArrays } from "./reference.ts";
import { startThreadPool, type PoolSettings, type ShareJobs } from "./thread-pool.ts";

/** One share of a group: where its StepArgs block is, its arrays and its length. */
export interface Slice {
  args: number;
  offsets: ArrayOffsets;
  n: number;
}

/** A group ready to run: its plan, one slice per share, and its views. */
export interface GroupRuntime {
  plan: GroupPlan;
  slices: Slice[];
  views: StepArrays;
}

/** The memory as it is now (an external memory may have grown since the last step). */
export interface Heap {
  u32: Uint32Array;
  f32: Float32Array;
  grads: Float32Array;
  groups: readonly GroupRuntime[];
}

export interface StepExecutor {
  /**
   * One step of every group with these per-group scalars. An executor made with `check`
   * (any nonFinite policy but "ignore") scans grads first and writes nothing if any is
   * NaN/±∞. Returns that first bad index, or −1 when the step was applied; a Promise of it
   * where the calling thread may not block.
   */
  run(heap: Heap, scalars: readonly StepScalars[]): number | Promise<number>;
  /** Ends the executor's threads, if it has any. */
  dispose(): void;
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

/** A group's slices, one per share, with byte offsets into the layout. */
export function groupSlices(plan: GroupPlan, index: number, layout: Layout, shares: number): Slice[] {
  return Array.from({ length: shares }, (_, t) => {
    const [start, n] = shareSlice(plan.size, shares, t);
    const skip = 4 * (plan.offset + start);
    const at = (base: number) => (base ? base + skip : 0);
    const offsets = {
      params: at(layout.params),
      grads: at(layout.grads),
      sqAvg: at(layout.sqAvg),
      momentumBuffer: at(layout.momentumBuffer),
      gradAvg: at(layout.gradAvg),
    };
    return { args: layout.argsAt(index, t), offsets, n };
  });
}

/** Every share's StepArgs blocks, written before the kernel (or the workers) read them. */
function writeArgs(heap: Heap, scalars: readonly StepScalars[]): void {
  heap.groups.forEach((g, i) => {
    for (const slice of g.slices) writeStepArgs(heap.u32, heap.f32, slice.args, slice.offsets, slice.n, scalars[i]);
  });
}

/** The Math.fround reference (backend "js"). */
export function referenceExecutor(check: boolean): StepExecutor {
  return {
    run(heap, scalars) {
      const bad = check ? referenceFirstNonFinite(heap.grads) : -1;
      if (bad >= 0) return bad;
      heap.groups.forEach((g, i) => referenceStep(g.plan.flags, scalars[i], g.views));
      return -1;
    },
    dispose() {},
  };
}

/** The kernel on the calling thread; `grads` is the byte offset of all n gradients. */
export function kernelExecutor(kernel: KernelExports, grads: number, n: number, check: boolean): StepExecutor {
  // Dropped at dispose(): the kernel's instance pins the memory.
  let k: KernelExports | undefined = kernel;
  return {
    run(heap, scalars) {
      if (!k) throw disposed();
      const bad = check ? k.first_nonfinite_f32(grads, n) : -1;
      if (bad >= 0) return bad;
      writeArgs(heap, scalars);
      for (const g of heap.groups) k.step(g.plan.flags, g.slices[0].args);
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
    run(heap, scalars) {
      if (!executor) throw disposed();
      checkGuard(heap.u32, control);
      return executor.run(heap, scalars);
    },
    dispose() {
      const e = executor;
      executor = undefined;
      e?.dispose();
    },
  };
}

/**
 * The thread pool: share s is slice s of all n gradients (the scan) and slice s of every
 * group (the step), run by `threads` threads in one region per step (src/thread-pool.ts).
 */
export async function poolExecutor(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  layout: Layout,
  slices: readonly Slice[][],
  plans: readonly GroupPlan[],
  settings: PoolSettings,
): Promise<StepExecutor> {
  const count = slices[0].length;
  const shares = Array.from({ length: count }, (_, s): ShareJobs => {
    const [start, length] = shareSlice(layout.n, count, s);
    return {
      scan: [layout.grads + 4 * start, length, start],
      steps: plans.map((plan, g) => [plan.flags, slices[g][s].args] as const),
    };
  });
  const pool = await startThreadPool(module, memory, layout.control, shares, settings);
  return {
    run(heap, scalars) {
      writeArgs(heap, scalars);
      return pool.run();
    },
    dispose: () => pool.dispose(),
  };
}
