// The executor of an optimizer with threads: before each step the choice (src/pool/choice.ts)
// says whether it runs alone on the caller, as the one-thread step (the kernel executor,
// same bits), or as one region on k threads of the process's pool (src/pool/caller.ts),
// from what each way has cost lately in the state the workers are in. Loaded only for
// threads > 1, with the pool's code: a page on one thread never downloads either.
//
// The step is cut into shares once, here, as plain data (a StepPlan) that the pool's
// threads run with their own kernel instances (src/step-task.ts): share s is slice s of
// all n gradients for the scan, and slice s of every unit for the step.
import { NORM_BLOCK, STEP_ARGS_BYTES, type KernelExports } from "./kernel-abi.ts";
import { QUANT_BLOCK, QUANT_SCRATCH_BYTES } from "./quant-sizes.ts";
import { kernelExecutor, normUnits, writeArgs, writeLimits, type CallerExecutor, type Heap, type StepExecutor, type UnitJob, type Work } from "./executors.ts";
import { ThreadChoice, type ThreadDecision, type ThreadEstimates } from "./pool/choice.ts";
import { startPoolJob, type PoolJob } from "./pool/caller.ts";
import { testing, threadsFixed } from "./pool/testing.ts";
import { trace, TRACE } from "./pool/trace.ts";
import { shareCount } from "./pool-shape.ts";
import { FAULT_EVERY, Streak, type Region } from "./streak.ts";
import type { NormPiece, StepPlan } from "./step-task.ts";

/**
 * Share s's slice [start, start + count) of `size` elements. Slices are cut on multiples
 * of `granule` elements: 4 (16 bytes), so every share runs the SIMD body on whole vectors
 * and only the last one has a scalar tail; for a unit with 8-bit state, its blocks of
 * QUANT_BLOCK, whose scale and rounding are the block's.
 */
export function shareSlice(size: number, shares: number, s: number, granule = 4): [start: number, count: number] {
  const chunk = Math.ceil(size / shares / granule) * granule;
  const start = Math.min(size, s * chunk);
  return [start, Math.min(size, start + chunk) - start];
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
    for (const { unit, args } of units) {
      const from = Math.max(first, unit.firstBlock), to = Math.min(end, unit.firstBlock + unit.blocks);
      if (from >= to) continue;
      const start = (from - unit.firstBlock) * NORM_BLOCK;
      const n = Math.min(unit.size, (to - unit.firstBlock) * NORM_BLOCK) - start;
      const base = unit.offset + start;
      shares[s].push([layout.grads + 4 * base, n, layout.normSums + 8 * from, args, base]);
    }
  }
  return shares;
}

/** The step of `work` cut into `shares` shares. */
export function stepPlan(work: Work, shares: number): StepPlan {
  const { layout } = work;
  const range = Array.from({ length: shares }, (_, s) => s);
  return {
    // With norms the scan always runs: it is where the sums are made.
    scan: work.norm ? "norm" : work.check ? "finite" : "none",
    check: work.check,
    finite: range.map((s) => {
      const [start, n] = shareSlice(layout.n, shares, s);
      return [layout.grads + 4 * start, n, start] as const;
    }),
    pieces: work.norm ? normPieces(work, shares) : [],
    normUnits: normUnits(work),
    sums: layout.normSums,
    limits: layout.normLimits,
    units: work.units.map((u) => ({
      args: u.args,
      q8: u.q8 !== 0,
      ranges: range.map((s) => shareSlice(u.unit.size, shares, s, u.q8 ? QUANT_BLOCK : 4)),
    })),
    // 8-bit units: each share steps a copy of the unit's block that names its own scratch.
    q8: layout.scratch ? range.map((s) => [layout.shareArgs + s * STEP_ARGS_BYTES, layout.scratch + s * QUANT_SCRATCH_BYTES] as const) : [],
  };
}

/** What the threaded executor tells the optimizer (opt.threading). */
export interface ThreadedExecutor extends StepExecutor {
  /** The last step's way (undefined before the first), and what each way has cost lately. */
  readonly decision: ThreadDecision | undefined;
  readonly estimates: ThreadEstimates;
}

/**
 * A step's StepArgs blocks written for a region on k threads (`argsFor`), and a region of a
 * streak's step (`region`: its shares need no step alone, `stepAlone` runs only at k = 1;
 * streaks run only where the caller blocks, so its result is a number).
 */
function regionsOf(job: PoolJob, work: Work, stepAlone: () => number) {
  const argsFor = (heap: Heap, jobs: UnitJob[], k: number) => {
    trace(0, TRACE.begin, k);
    if (work.norm) writeLimits(heap, work, jobs);
    writeArgs(heap, work.units, jobs);
  };
  const region: Region = (heap, jobs, k) => {
    argsFor(heap, jobs, k);
    const bad = job.run(k, stepAlone) as number;
    trace(0, TRACE.end);
    return bad;
  };
  return { argsFor, region };
}

/**
 * The step alone on this step's memory and jobs (`step`, set before each decided step: made
 * once, so that a step allocates nothing), timed: `step.ms` is what the choice charges a
 * decided step alone, alone.run and nothing else, as a lean step runs it. Charged from the
 * decision on, as a step on threads is, a step alone paid the decided path's cold
 * JavaScript (the pool's run, check and nap, the trace), which a lean step does not run:
 * in the full bench's training loop at 1e5 (20 ms passes) the choice's estimate of a step
 * alone read 0.106 ms against warm threads' 0.094, and it held threads that cost 1.07× the
 * one-thread optimizer's step; timed so, it read 0.100 in the same row.
 */
function timedAlone(alone: CallerExecutor) {
  const step = { heap: undefined as unknown as Heap, jobs: [] as UnitJob[], ms: 0 };
  const run = (): number => {
    const t0 = performance.now();
    const bad = alone.run(step.heap, step.jobs);
    step.ms = performance.now() - t0;
    return bad;
  };
  return { step, run };
}

/** The executor for `threads` threads on `memory` (shared), its pool job registered. */
export async function threadedExecutor(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  /** The caller's kernel on `memory`: its part of every region, and the step alone. */
  kernel: KernelExports,
  work: Work,
  { threads, spinMs }: { threads: number; spinMs: number },
): Promise<ThreadedExecutor> {
  const shares = shareCount(threads);
  const job = await startPoolJob(module, memory, kernel, stepPlan(work, shares), { threads, shares, spinMs });
  return executorOn(job, kernelExecutor(kernel, work), work, threads);
}

/** The threaded executor's steps, on its pool job; `alone`, the one-thread step (the kernel executor on this thread). */
function executorOn(job: PoolJob, alone: CallerExecutor, work: Work, threads: number): ThreadedExecutor {
  const { snapshotOf } = work, choice = new ThreadChoice(threads);
  /** When the decided step's bookkeeping began, and its way, after the choice: what the choice charges it from. */
  let [entry, start] = [0, 0];
  let decision: ThreadDecision | undefined;
  const { step, run: stepAlone } = timedAlone(alone);
  const { argsFor, region } = regionsOf(job, work, stepAlone);
  const streak = new Streak(job, choice, alone, region, testing);
  const faultEvery = FAULT_EVERY; // in the closure the lean step reads anyway: no module binding
  /**
   * The streak's lean steps left (granted: Streak.lean), counted here so that a lean step
   * reads only this closure. A test that fixes the thread count ends the streak (`fixed`:
   * held by `hook`, which dispose reads, weakly by threadsFixed).
   */
  let lean = 0;
  const fixed = () => {
    if (lean === 0) return;
    streak.end(lean);
    lean = 0;
  };
  const hook = { fixed, ref: new WeakRef(fixed) };
  threadsFixed.add(hook.ref);
  /** Threads the decided step ran on, and whether the choice decided it (tests may fix the thread count instead). */
  let [ranOn, chosen] = [1, true];
  /**
   * The last decided step's bookkeeping after its way ended (ms): a try is charged a decided
   * step's both sides (choice.record; docs/threads.md, the tries).
   */
  let afterMs = 0;
  /** After a step: its cost for the choice (an applied one: a refused step stops after the scan), and the cadence. */
  const ended = (bad: number): number => {
    trace(0, TRACE.end);
    const now = performance.now();
    // A step alone is charged what a lean step runs, alone.run; the rest (the check, the
    // pool's nap) is the decided step's bookkeeping, as all before `start` is.
    const ms = ranOn === 1 ? step.ms : now - start;
    if (bad < 0 && chosen) choice.record(ms, now - entry - ms + afterMs);
    const wantsWarm = choice.wantsWarm;
    job.ended(now, wantsWarm);
    if (chosen && job.blocking) {
      streak.begin(choice.streak(), ranOn, wantsWarm);
      lean = streak.lean;
    }
    afterMs = performance.now() - now;
    return bad;
  };
  return {
    get decision() {
      return decision;
    },
    get estimates() {
      return choice.estimates;
    },
    run(heap, jobs) {
      // A lean step of a streak alone (src/streak.ts): the one-thread step, and the fault
      // read once in FAULT_EVERY, nothing else.
      if (lean > 0) {
        try {
          if (--lean % faultEvery === 0) job.check();
          return alone.run(heap, jobs);
        } catch (error) {
          // The step is not the streak's (as in Streak.step), and the streak ends.
          streak.end(lean + 1);
          lean = 0;
          throw error;
        }
      }
      // Another step of a streak, unless the workers are no longer as it found them.
      const inStreak = streak.step(heap, jobs);
      lean = streak.lean;
      if (inStreak !== undefined) return inStreak;
      job.check();
      // Where the step is a Promise: the gradients as they are now, which the scan and the
      // step read whenever they run (src/create.ts, the snapshot).
      if (snapshotOf !== undefined) heap.f32.copyWithin(work.layout.grads >>> 2, snapshotOf >>> 2, (snapshotOf >>> 2) + work.layout.n);
      entry = performance.now();
      job.started(entry);
      const awake = job.awake();
      const forced = testing.threads;
      chosen = forced === undefined;
      decision = forced === undefined ? choice.decide(awake) : { threads: forced, woke: forced > 1 && awake < forced - 1, trying: false };
      const k = (ranOn = Math.min(decision.threads, threads));
      // Either way is charged from here: the bookkeeping above is every decided step's
      // (cold in a training loop: 0.03–0.2 ms at 1e5), and the steps of a streak skip it.
      start = performance.now();
      if (k === 1) job.aloneFor(start, choice.aloneMs);
      if (k > 1) argsFor(heap, jobs, k);
      step.heap = heap;
      step.jobs = jobs;
      const result = job.run(k, stepAlone);
      return typeof result === "number" ? ended(result) : result.then(ended);
    },
    dispose() {
      threadsFixed.delete(hook.ref);
      alone.dispose();
      job.dispose();
    },
  };
}
