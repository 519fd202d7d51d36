// Worker threads over one shared memory, the pthreadpool way: workers start once per
// optimizer, and each step is ONE parallel region. The caller bumps the region number
// once; the work is cut into a few shares per thread (SHARES_PER_THREAD), and every thread
// (the caller is thread 0) first scans shares of grads for NaN/±∞, meets the others at a
// barrier in memory, and, only if every share was finite, steps shares of every group. So
// "throw" and "skip" still change nothing when any gradient is bad, and a step costs one
// wake, not two.
//
// Shares are claimed, not owned: a thread runs its own range of shares first, then takes
// unclaimed shares of the others from the far end, where their owners come last. A worker
// still waking from its futex when the caller is done with its own range finds part of
// its range, or all of it, done by the caller. So a step is never much slower than on one
// thread, even when the workers slept through a long forward pass, and faster as soon as
// they wake. Which thread runs a share does not change its bits: the shares are fixed.
//
// Waiting threads spin for a bounded time (options.threadSpinMs) before they sleep on a futex
// (Atomics.wait): back-to-back steps find the workers awake, and an idle optimizer's
// workers are asleep within that time, costing no CPU (OpenMP's blocktime, XNNPACK's
// pthreadpool). No message crosses threads per step.
//
// Control block words (Int32, at layout.control, CONTROL_WORDS long):
//   REGION          the region number, bumped once per step; workers wait on it
//   SCANNED         shares scanned in this region: the barrier
//   STEPPED         shares stepped in this region: the end of the region
//   STOP            non-zero tells workers to exit
//   FIRST_BAD       the smallest non-finite index found in this region, or −1
//   SLEEPERS        workers asleep on REGION (or about to be): whether waking is a choice
//   EXITED          workers that saw STOP and left: each one's last write
//   SCAN_CLAIM + t  the last region whose scan of share t was claimed
//   STEP_CLAIM + t  the last region whose step of share t was claimed (or cancelled)
// A claim is a compare-exchange from an older region number to this one, so a worker that
// wakes late, still holding an old region number, can never claim work of a newer region.

/** How long dispose() waits at most for the workers to leave (ms). */
const EXIT_WAIT_MS = 100;

import { canBlock, isNode } from "./features.ts";
import { CONTROL_WORDS, MAX_SHARES } from "./pool-shape.ts";

export { CONTROL_WORDS, shareCount } from "./pool-shape.ts";

/**
 * The longest a browser window's main thread, which may not sleep, polls (ms) before it
 * yields to the event loop, whatever options.threadSpinMs says: a longer poll would be a
 * frozen page.
 */
export const SPIN_MS = 0.2;

/** A job: a kernel flags word and the byte offset of its StepArgs block. */
export type Job = readonly [flags: number, args: number];

/** A share of the scan: byte offset of its slice of grads, its length, its first index. */
export type ScanJob = readonly [ptr: number, n: number, base: number];

/** One share of every region: its slice of the scan and its step jobs (one per group). */
export interface ShareJobs {
  scan: ScanJob;
  steps: Job[];
}

/** The kernel exports a thread runs (each thread instantiates its own). */
interface Kernel {
  step(flags: number, args: number): void;
  first_nonfinite_f32(ptr: number, n: number): number;
}

/**
 * The region's code, written once and run by both sides: the caller calls it, and the
 * workers get its source text. So it must be self-contained (no outer names, which a
 * minifier would rename), use only syntax no bundler rewrites with helpers (no
 * destructuring, spread or `??` inside), and name no function (see `p`).
 * test/thread-pool.test.ts runs it through esbuild.
 */
function threadProgram(spinMs: number, maxShares: number) {
  const REGION = 0, SCANNED = 1, STEPPED = 2, STOP = 3, FIRST_BAD = 4, SLEEPERS = 5, EXITED = 6, SCAN_CLAIM = 16, STEP_CLAIM = 16 + maxShares;

  // One object literal of methods, not named functions: esbuild's keepNames follows every
  // named function with a call to the bundle's `__name` helper, which the workers' copy of
  // this source does not have; a method's name is its key and needs none. Methods call
  // each other through `p`.
  const p = {
    SCANNED,
    STEPPED,
    STOP,
    FIRST_BAD,
    EXITED,

    /**
     * The order in which thread `self` of `threads` tries the shares: its own range first,
     * then everyone else's from the last share down, so a thief starts where the owner of a
     * range will come last, and the two meet in the middle.
     */
    claimOrder(self: number, threads: number, count: number): number[] {
      const per = count / threads;
      const order: number[] = [];
      for (let s = self * per; s < (self + 1) * per; s++) order.push(s);
      for (let s = count - 1; s >= 0; s--) if (s < self * per || s >= (self + 1) * per) order.push(s);
      return order;
    },

    /** Polls `done` for at most spinMs; its last answer. */
    spin(done: () => boolean): boolean {
      // The clock is read every 64 polls: an atomic load costs about a nanosecond, a clock
      // read tens of them.
      let deadline = -1;
      for (let i = 1; ; i++) {
        if (done()) return true;
        if ((i & 63) === 0) {
          const now = performance.now();
          if (deadline < 0) deadline = now + spinMs;
          else if (now > deadline) return done();
        }
      }
    },

    /** Blocks until ctrl[index] === target: spin first, then sleep on the futex. */
    waitUntil(ctrl: Int32Array, index: number, target: number): void {
      for (let v = Atomics.load(ctrl, index); v !== target; v = Atomics.load(ctrl, index)) {
        if (!p.spin(() => Atomics.load(ctrl, index) !== v)) Atomics.wait(ctrl, index, v);
      }
    },

    /** Claims a share's scan or step for `region`; false if someone already did. */
    claim(ctrl: Int32Array, word: number, region: number): boolean {
      for (;;) {
        const last = Atomics.load(ctrl, word);
        if (((region - last) | 0) <= 0) return false; // region numbers wrap: compare the difference
        if (Atomics.compareExchange(ctrl, word, last, region) === last) return true;
      }
    },

    /** Lowers FIRST_BAD to `index` if it is smaller. */
    recordBad(ctrl: Int32Array, index: number): void {
      for (;;) {
        const first = Atomics.load(ctrl, FIRST_BAD);
        if (first >= 0 && first <= index) return;
        if (Atomics.compareExchange(ctrl, FIRST_BAD, first, index) === first) return;
      }
    },

    /** Scans what this thread can claim, in its order; the last scan opens the barrier. */
    scanShares(kernel: Kernel, ctrl: Int32Array, order: readonly number[], shares: readonly ShareJobs[], region: number): void {
      const count = shares.length;
      for (let i = 0; i < count; i++) {
        const t = order[i];
        if (!p.claim(ctrl, SCAN_CLAIM + t, region)) continue;
        const scan = shares[t].scan;
        const bad = kernel.first_nonfinite_f32(scan[0], scan[1]);
        if (bad >= 0) p.recordBad(ctrl, scan[2] + bad);
        if (Atomics.add(ctrl, SCANNED, 1) + 1 === count) Atomics.notify(ctrl, SCANNED);
      }
    },

    /** Steps what this thread can claim, in its order; the last step ends the region. */
    stepShares(kernel: Kernel, ctrl: Int32Array, order: readonly number[], shares: readonly ShareJobs[], region: number): void {
      const count = shares.length;
      for (let i = 0; i < count; i++) {
        const t = order[i];
        if (!p.claim(ctrl, STEP_CLAIM + t, region)) continue;
        const steps = shares[t].steps;
        for (let j = 0; j < steps.length; j++) kernel.step(steps[j][0], steps[j][1]);
        if (Atomics.add(ctrl, STEPPED, 1) + 1 === count) Atomics.notify(ctrl, STEPPED);
      }
    },

    /** After a bad scan: claims every step for the region, so no late worker can run one. */
    cancelSteps(ctrl: Int32Array, count: number, region: number): void {
      for (let t = 0; t < count; t++) p.claim(ctrl, STEP_CLAIM + t, region);
    },

    /**
     * Resets the counters and opens the next region to the workers that are awake (spinning
     * ones see it at once). Returns the region number. Waking sleeping ones is the caller's
     * choice (see `wake`): it costs the caller a system call.
     */
    open(ctrl: Int32Array): number {
      Atomics.store(ctrl, SCANNED, 0);
      Atomics.store(ctrl, STEPPED, 0);
      Atomics.store(ctrl, FIRST_BAD, -1);
      return (Atomics.add(ctrl, REGION, 1) + 1) | 0;
    },

    /**
     * Whether a worker sleeps on the futex. Read after `open`: a worker counts itself before
     * it sleeps on the old region number, so one missed here finds the number changed and
     * does not sleep (every access is sequentially consistent).
     */
    sleeping(ctrl: Int32Array): boolean {
      return Atomics.load(ctrl, SLEEPERS) > 0;
    },

    wake(ctrl: Int32Array): void {
      Atomics.notify(ctrl, REGION);
    },

    /** Tells the workers to exit, and wakes anyone waiting so that they see it. */
    stop(ctrl: Int32Array): void {
      Atomics.store(ctrl, STOP, 1);
      Atomics.add(ctrl, REGION, 1);
      Atomics.notify(ctrl, REGION);
      Atomics.notify(ctrl, SCANNED);
      Atomics.notify(ctrl, STEPPED);
    },

    /** A worker's life after it instantiated the kernel: its part of every region. */
    workerMain(
      kernel: Kernel,
      ctrl: Int32Array,
      self: number,
      threads: number,
      shares: readonly ShareJobs[],
      check: boolean,
      ready: () => void,
    ): void {
      const count = shares.length;
      const order = p.claimOrder(self, threads, count);
      let seen = Atomics.load(ctrl, REGION);
      ready();
      for (;;) {
        if (!p.spin(() => Atomics.load(ctrl, REGION) !== seen)) {
          Atomics.add(ctrl, SLEEPERS, 1);
          Atomics.wait(ctrl, REGION, seen);
          Atomics.sub(ctrl, SLEEPERS, 1);
        }
        // REGION before STOP: stop() sets STOP before it bumps REGION, so a number read here
        // with STOP still 0 is one that open() gave out. The other way round, a worker delayed
        // between the two loads could take stop()'s bump for a region and claim its shares
        // (their words hold the last real region, an older one): without `check`, it would
        // step every share once more after dispose(), in a memory that may be the user's.
        const region = Atomics.load(ctrl, REGION);
        if (Atomics.load(ctrl, STOP) !== 0) {
          // The last write: stop() waits for it, so that no worker touches the control
          // block once dispose() has returned (it may be the user's memory, soon reused).
          Atomics.add(ctrl, EXITED, 1);
          Atomics.notify(ctrl, EXITED);
          return;
        }
        if (region === seen) continue;
        seen = region;
        if (check) {
          p.scanShares(kernel, ctrl, order, shares, region);
          // The barrier; a worker that finds the region already over leaves it.
          let scanned = Atomics.load(ctrl, SCANNED);
          while (scanned !== count && Atomics.load(ctrl, REGION) === region) {
            const v = scanned;
            if (!p.spin(() => Atomics.load(ctrl, SCANNED) !== v || Atomics.load(ctrl, REGION) !== region)) {
              Atomics.wait(ctrl, SCANNED, v);
            }
            scanned = Atomics.load(ctrl, SCANNED);
          }
          if (Atomics.load(ctrl, REGION) !== region || Atomics.load(ctrl, FIRST_BAD) >= 0) continue;
        }
        p.stepShares(kernel, ctrl, order, shares, region);
      }
    },
  };
  return p;
}

/**
 * The worker's source, so that it runs from a Blob URL in browsers and from `eval` in
 * Node, Deno and Bun: no file for the package to ship or a server to serve.
 */
const workerSource = `
"use strict";
const threadProgram = ${threadProgram.toString()};
// Node, Deno and Bun run this through node:worker_threads, browsers as a Web Worker. The
// source may be evaluated as a script or, when the parent was itself eval'd ESM (node
// --input-type=module -e), as a module without require: a dynamic import works in both.
const node = typeof process === "object" && typeof process.versions?.node === "string";
(node ? import("node:worker_threads").then((m) => m.parentPort) : Promise.resolve(self)).then((port) => {
  const start = ({ module, memory, control, self: index, threads, shares, check, spinMs }) => {
    const program = threadProgram(spinMs, ${MAX_SHARES});
    const kernel = new WebAssembly.Instance(module, { env: { memory } }).exports;
    const ctrl = new Int32Array(memory.buffer, control, ${CONTROL_WORDS});
    program.workerMain(kernel, ctrl, index, threads, shares, check, () => port.postMessage("ready"));
    // Stopped. The parent terminates the worker; a browser worker may also close itself
    // (Node's parentPort.close() is not in Deno's, and is not needed).
    if (!node) self.close();
  };
  if (node) port.once("message", start);
  else self.onmessage = (e) => start(e.data);
});
`;

/** The parts of a Node Worker or a Web Worker this pool uses. */
interface AnyWorker {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

/** The slice of node:worker_threads used here (typed locally: the browser build has no Node types). */
interface NodeWorker extends AnyWorker {
  unref(): void;
  once(event: "message" | "error", listener: (value: unknown) => void): void;
}
type NodeWorkerModule = { Worker: new (source: string, options: { eval: true }) => NodeWorker };



async function startWorker(init: unknown): Promise<AnyWorker> {
  if (isNode) {
    // A variable specifier keeps bundlers from resolving a Node built-in for the browser.
    const specifier = "node:worker_threads";
    const { Worker } = (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as NodeWorkerModule;
    const worker = new Worker(workerSource, { eval: true });
    worker.unref(); // a forgotten dispose() must not keep the process alive
    await new Promise<void>((resolve, reject) => {
      worker.once("message", () => resolve());
      worker.once("error", reject);
      worker.postMessage(init);
    });
    return worker;
  }
  const url = URL.createObjectURL(new Blob([workerSource], { type: "text/javascript" }));
  const worker = new Worker(url);
  URL.revokeObjectURL(url);
  await new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (e) => reject(new Error(`rmsprop-wasm worker failed to start: ${e.message}`));
    worker.postMessage(init);
  });
  return worker;
}

export interface ThreadPool {
  /** Threads per region, the caller included. */
  readonly threads: number;
  /**
   * Runs one step region. With the pool's `check`, every share is scanned first and no
   * share is stepped unless all are finite. Returns the first non-finite index (nothing
   * was written) or −1 (the step was applied); a Promise of it where this thread may not
   * block.
   */
  run(): number | Promise<number>;
  /** Stops and terminates the workers. */
  dispose(): void;
}

/** How a pool runs: its thread count, whether a region scans first, how long threads poll. */
export interface PoolSettings {
  threads: number;
  /** Scan grads before each step (any nonFinite policy but "ignore"). */
  check: boolean;
  /** options.threadSpinMs. */
  spinMs: number;
}

/**
 * Starts `threads − 1` workers, thread 0 being the caller, for `shareCount(threads)` shares.
 * The StepArgs blocks the shares point at must be written before each `run`.
 */
export async function startThreadPool(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  control: number,
  shares: ShareJobs[],
  { threads, check, spinMs }: PoolSettings,
): Promise<ThreadPool> {
  const ctrl = new Int32Array(memory.buffer, control, CONTROL_WORDS);
  const count = shares.length;
  const blocking = canBlock();
  const program = threadProgram(blocking ? spinMs : Math.min(spinMs, SPIN_MS), MAX_SHARES);
  const own = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernel;
  const started = await Promise.allSettled(
    Array.from({ length: threads - 1 }, (_, k) =>
      startWorker({ module, memory, control, self: k + 1, threads, shares, check, spinMs }),
    ),
  );
  const running = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  const { SCANNED, STEPPED, STOP, FIRST_BAD, spin, waitUntil, scanShares, stepShares, cancelSteps, open, sleeping, wake } = program;
  const order = program.claimOrder(0, threads, count);
  const stop = () => {
    program.stop(ctrl); // a caller waiting asynchronously wakes, sees STOP, and gives up
    // Wait until every worker has left its loop (they are awake within tens of µs), so
    // none writes the control block after dispose() returns. Bounded: a thread that may
    // block waits up to EXIT_WAIT_MS, a browser window's main thread polls for SPIN_MS.
    const deadline = performance.now() + (blocking ? EXIT_WAIT_MS : SPIN_MS);
    for (let v = Atomics.load(ctrl, program.EXITED); v < running.length; v = Atomics.load(ctrl, program.EXITED)) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      if (blocking) Atomics.wait(ctrl, program.EXITED, v, left);
    }
    for (const w of running) w.terminate();
  };
  if (failed) {
    stop();
    throw new Error(`rmsprop-wasm could not start its worker threads: ${String(failed.reason)}`, { cause: failed.reason });
  }
  const wakeChoice = new WakeChoice();
  /** Opens a region, wakes sleeping workers if that pays; the choice to time, or undefined. */
  const begin = (): [region: number, choice: boolean | undefined] => {
    const region = open(ctrl);
    if (!sleeping(ctrl)) return [region, undefined];
    const woke = wakeChoice.choose();
    if (woke) wake(ctrl);
    return [region, woke];
  };
  /** After the barrier: the first bad index (and no step may run), or −1. */
  const verdict = (region: number): number => {
    const bad = Atomics.load(ctrl, FIRST_BAD);
    if (bad >= 0) cancelSteps(ctrl, count, region);
    return bad;
  };

  if (blocking) {
    return {
      threads,
      run() {
        const started = performance.now();
        const [region, woke] = begin();
        if (check) {
          scanShares(own, ctrl, order, shares, region);
          waitUntil(ctrl, SCANNED, count);
          const bad = verdict(region);
          if (bad >= 0) return bad;
        }
        stepShares(own, ctrl, order, shares, region);
        waitUntil(ctrl, STEPPED, count);
        if (woke !== undefined) wakeChoice.record(woke, performance.now() - started);
        return -1;
      },
      dispose: stop,
    };
  }

  // A browser window's main thread must not block: it runs what it can claim, polls for
  // SPIN_MS, and then awaits Atomics.waitAsync (or a timer where that is missing).
  const settle = async (index: number, target: number): Promise<void> => {
    for (let v = Atomics.load(ctrl, index); v !== target; v = Atomics.load(ctrl, index)) {
      if (Atomics.load(ctrl, STOP) !== 0) throw new Error("the thread pool was stopped (the optimizer was disposed)");
      if (spin(() => Atomics.load(ctrl, index) !== v)) continue;
      const wait = (Atomics as { waitAsync?: (a: Int32Array, i: number, v: number) => { value: unknown } }).waitAsync;
      if (wait) await wait(ctrl, index, v).value;
      else await new Promise((resolve) => setTimeout(resolve, 0));
    }
  };
  // The result is always a Promise here, even when the workers finished within the
  // polling: one return type per thread kind, as the optimizer's step() documents.
  return {
    threads,
    async run() {
      const started = performance.now();
      const [region, woke] = begin();
      if (check) {
        scanShares(own, ctrl, order, shares, region);
        await settle(SCANNED, count);
        const bad = verdict(region);
        if (bad >= 0) return bad;
      }
      stepShares(own, ctrl, order, shares, region);
      await settle(STEPPED, count);
      if (woke !== undefined) wakeChoice.record(woke, performance.now() - started);
      return -1;
    },
    dispose: stop,
  };
}

/**
 * Whether to wake workers that sleep when a step comes, decided by measurement. Waking
 * one costs the caller a futex system call, tens of microseconds to a fraction of a
 * millisecond on a virtual machine, and the worker as long again before it runs: for a
 * small step the caller is faster alone (sleeping workers never block a step: shares are
 * claimed, and they take none). So the pool times the steps that found workers asleep,
 * with and without the wake, keeps a moving average of each, and takes the faster; every
 * EXPLORE-th such step tries the other, so the choice follows the machine's load. Steps
 * that find the workers awake (back-to-back) involve no choice.
 */
export class WakeChoice {
  static readonly EXPLORE = 16;
  /** A sample counts at most this many times the average it joins (a GC pause, say). */
  static readonly OUTLIER = 4;
  #ms: [alone: number, woken: number] = [-1, -1];
  #samples: [alone: number, woken: number] = [0, 0];
  #count = 0;

  /** True: wake them. Each way is tried first, twice (see `record`). */
  choose(): boolean {
    const [alone, woken] = this.#samples;
    if (woken < 2) return true;
    if (alone < 2) return false;
    const faster = this.#ms[1] <= this.#ms[0];
    return ++this.#count % WakeChoice.EXPLORE === 0 ? !faster : faster;
  }

  record(woke: boolean, ms: number): void {
    const i = woke ? 1 : 0;
    const n = ++this.#samples[i];
    // The first sample of each way is replaced by the second: it pays for a cold JIT.
    if (n <= 2) this.#ms[i] = ms;
    else this.#ms[i] = 0.75 * this.#ms[i] + 0.25 * Math.min(ms, WakeChoice.OUTLIER * this.#ms[i]);
  }
}
