// Worker threads over one shared memory, the pthreadpool way: workers start once per
// optimizer, and each step is ONE parallel region. The caller bumps a sequence number
// once; every thread (the caller is thread 0) scans its slice of grads for NaN/±∞, meets
// the others at a barrier in memory, and, only if no slice had a bad value, steps its
// slices of every group. So "throw" and "skip" still change nothing when any gradient is
// bad, and a step costs one wake, not two.
//
// Waiting threads spin for a bounded time (SPIN_MS) before they sleep on a futex
// (Atomics.wait): back-to-back steps find the workers awake, and an idle optimizer's
// workers are asleep within SPIN_MS, costing no CPU (OpenMP's blocktime, XNNPACK's
// pthreadpool). No message crosses threads per step.
//
// Control block words (Int32, at layout.control, CONTROL_WORDS long):
//   SEQ         bumped once per region; workers wait on it
//   ARRIVED     threads past the scan: the barrier between scan and step
//   DONE        workers finished with the region
//   STOP        non-zero tells workers to exit
//   CHECK       1: scan, barrier, then step; 0: step only (nonFinite "ignore")
//   RESULT + t  thread t's scan result: first non-finite index in its slice, or −1

/** Words in the control block: 16 fixed, then one scan result per thread (≤ 64 threads). */
export const CONTROL_WORDS = 16 + 64;

/**
 * How long a waiting thread polls before it sleeps (ms). Longer than the gap between two
 * back-to-back steps (a few µs of the caller's own code), far shorter than anything a
 * user would call idle. A browser window's main thread, which may not sleep, polls this
 * long before it yields to the event loop.
 */
export const SPIN_MS = 0.2;

/** A job: a kernel flags word and the byte offset of its StepArgs block. */
export type Job = readonly [flags: number, args: number];

/** A thread's share of the scan: byte offset of its slice of grads, its length, its first index. */
export type ScanJob = readonly [ptr: number, n: number, base: number];

/** A thread's work in every region: its scan slice and its step jobs (one per group). */
export interface ThreadJobs {
  scan: ScanJob;
  steps: Job[];
}

/** The kernel exports a thread runs (each thread instantiates its own). */
interface Kernel {
  step(flags: number, args: number): void;
  first_nonfinite_f32(ptr: number, n: number): number;
}

/**
 * One region as a thread runs it, written once and run by both sides: the caller calls it,
 * and the workers get its source text. So it must be self-contained (no outer names, which
 * a minifier would rename) and use only syntax no bundler rewrites with helpers (no
 * destructuring, spread or `??` inside).
 */
function threadProgram(spinMs: number) {
  const SEQ = 0, ARRIVED = 1, DONE = 2, STOP = 3, CHECK = 4, RESULT = 16;

  /** Spins while ctrl[index] === value for at most spinMs; true if it changed meanwhile. */
  function spinWhile(ctrl: Int32Array, index: number, value: number): boolean {
    // The clock is read every 64 polls: an atomic load costs about a nanosecond, a clock
    // read tens of them.
    let deadline = -1;
    for (let i = 1; ; i++) {
      if (Atomics.load(ctrl, index) !== value) return true;
      if ((i & 63) === 0) {
        const now = performance.now();
        if (deadline < 0) deadline = now + spinMs;
        else if (now > deadline) return false;
      }
    }
  }

  /** Blocks until ctrl[index] === target: spin first, then sleep on the futex. */
  function waitUntil(ctrl: Int32Array, index: number, target: number): void {
    for (let v = Atomics.load(ctrl, index); v !== target; v = Atomics.load(ctrl, index)) {
      if (!spinWhile(ctrl, index, v)) Atomics.wait(ctrl, index, v);
    }
  }

  /** Scans thread `index`'s slice of grads and records the result for the others. */
  function scanShare(kernel: Kernel, ctrl: Int32Array, index: number, scan: ScanJob): void {
    const bad = kernel.first_nonfinite_f32(scan[0], scan[1]);
    Atomics.store(ctrl, RESULT + index, bad < 0 ? -1 : scan[2] + bad);
  }

  /** Arrives at the barrier; true when this was the last thread to arrive. */
  function arrive(ctrl: Int32Array, threads: number): boolean {
    const arrived = Atomics.add(ctrl, ARRIVED, 1) + 1;
    if (arrived === threads) Atomics.notify(ctrl, ARRIVED);
    return arrived === threads;
  }

  /** The smallest non-finite index any thread found, or −1 (valid after the barrier). */
  function firstBad(ctrl: Int32Array, threads: number): number {
    let first = -1;
    for (let t = 0; t < threads; t++) {
      const bad = Atomics.load(ctrl, RESULT + t);
      if (bad >= 0 && (first < 0 || bad < first)) first = bad;
    }
    return first;
  }

  function stepShare(kernel: Kernel, steps: readonly Job[]): void {
    for (let j = 0; j < steps.length; j++) kernel.step(steps[j][0], steps[j][1]);
  }

  /** Resets the region's counters and wakes the workers: the one wake of a step. */
  function open(ctrl: Int32Array, check: boolean): void {
    Atomics.store(ctrl, CHECK, check ? 1 : 0);
    Atomics.store(ctrl, ARRIVED, 0);
    Atomics.store(ctrl, DONE, 0);
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
  }

  /** Tells the workers to exit, and wakes anyone waiting so that they see it. */
  function stop(ctrl: Int32Array): void {
    Atomics.store(ctrl, STOP, 1);
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
    Atomics.notify(ctrl, ARRIVED);
    Atomics.notify(ctrl, DONE);
  }

  /** A worker's whole life after it instantiated the kernel: one region per SEQ bump. */
  function workerMain(kernel: Kernel, ctrl: Int32Array, index: number, threads: number, jobs: ThreadJobs, ready: () => void): void {
    let seen = Atomics.load(ctrl, SEQ);
    ready();
    for (;;) {
      if (!spinWhile(ctrl, SEQ, seen)) Atomics.wait(ctrl, SEQ, seen);
      if (Atomics.load(ctrl, STOP) !== 0) return;
      const now = Atomics.load(ctrl, SEQ);
      if (now === seen) continue;
      seen = now;
      let clean = true;
      if (Atomics.load(ctrl, CHECK) !== 0) {
        scanShare(kernel, ctrl, index, jobs.scan);
        if (!arrive(ctrl, threads)) waitUntil(ctrl, ARRIVED, threads);
        clean = firstBad(ctrl, threads) < 0;
      }
      if (clean) stepShare(kernel, jobs.steps);
      if (Atomics.add(ctrl, DONE, 1) + 1 === threads - 1) Atomics.notify(ctrl, DONE);
    }
  }

  return { ARRIVED, DONE, STOP, spinWhile, waitUntil, scanShare, arrive, firstBad, stepShare, open, stop, workerMain };
}

const program = threadProgram(SPIN_MS);
const { ARRIVED, DONE, STOP } = program;

/**
 * The worker's source, so that it runs from a Blob URL in browsers and from `eval` in
 * Node, Deno and Bun: no file for the package to ship or a server to serve.
 */
const workerSource = `
"use strict";
const program = (${threadProgram.toString()})(${SPIN_MS});
// Node, Deno and Bun run this through node:worker_threads, browsers as a Web Worker. The
// source may be evaluated as a script or, when the parent was itself eval'd ESM (node
// --input-type=module -e), as a module without require: a dynamic import works in both.
const node = typeof process === "object" && typeof process.versions?.node === "string";
(node ? import("node:worker_threads").then((m) => m.parentPort) : Promise.resolve(self)).then((port) => {
  const start = ({ module, memory, control, index, threads, jobs }) => {
    const kernel = new WebAssembly.Instance(module, { env: { memory } }).exports;
    const ctrl = new Int32Array(memory.buffer, control, ${CONTROL_WORDS});
    program.workerMain(kernel, ctrl, index, threads, jobs, () => port.postMessage("ready"));
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

/**
 * Whether this thread may block in Atomics.wait: any Node thread (even with a DOM shim
 * such as jsdom installed), a worker, but not a browser window's main thread.
 */
function canBlock(): boolean {
  if (isNode) return true;
  const g = globalThis as { window?: unknown; document?: unknown };
  return g.window === undefined || g.document === undefined;
}

/** The slice of node:worker_threads used here (typed locally: the browser build has no Node types). */
interface NodeWorker extends AnyWorker {
  unref(): void;
  once(event: "message" | "error", listener: (value: unknown) => void): void;
}
type NodeWorkerModule = { Worker: new (source: string, options: { eval: true }) => NodeWorker };

const isNode = Boolean((globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node);

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
   * Runs one step region: with `check`, every thread scans its slice and no thread steps
   * unless all slices are finite. Returns the first non-finite index (nothing was written)
   * or −1 (the step was applied); a Promise of it where this thread may not block.
   */
  run(check: boolean): number | Promise<number>;
  /** Stops and terminates the workers. */
  dispose(): void;
}

/**
 * Starts `jobs.length − 1` workers; thread t does jobs[t] in every region, and thread 0 is
 * the caller. The StepArgs blocks the jobs point at must be written before each `run`.
 */
export async function startThreadPool(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  control: number,
  jobs: ThreadJobs[],
): Promise<ThreadPool> {
  const ctrl = new Int32Array(memory.buffer, control, CONTROL_WORDS);
  const threads = jobs.length;
  const workers = threads - 1;
  const own = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Kernel;
  const started = await Promise.allSettled(
    jobs.slice(1).map((j, k) => startWorker({ module, memory, control, index: k + 1, threads, jobs: j })),
  );
  const running = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  const { spinWhile, waitUntil, scanShare, arrive, firstBad, stepShare, open } = program;
  const stop = () => {
    program.stop(ctrl); // a caller waiting asynchronously wakes, sees STOP, and gives up
    for (const w of running) w.terminate();
  };
  if (failed) {
    stop();
    throw new Error(`rmsprop-wasm could not start its worker threads: ${String(failed.reason)}`, { cause: failed.reason });
  }
  const mine = jobs[0];

  if (canBlock()) {
    return {
      threads,
      run(check) {
        open(ctrl, check);
        let clean = true;
        if (check) {
          scanShare(own, ctrl, 0, mine.scan);
          if (!arrive(ctrl, threads)) waitUntil(ctrl, ARRIVED, threads);
          clean = firstBad(ctrl, threads) < 0;
        }
        if (clean) stepShare(own, mine.steps);
        waitUntil(ctrl, DONE, workers);
        return check ? firstBad(ctrl, threads) : -1;
      },
      dispose: stop,
    };
  }

  // A browser window's main thread must not block: it runs its share, polls for SPIN_MS,
  // and then awaits Atomics.waitAsync (or a timer where that is missing).
  const settle = async (index: number, target: number): Promise<void> => {
    for (let v = Atomics.load(ctrl, index); v !== target; v = Atomics.load(ctrl, index)) {
      if (Atomics.load(ctrl, STOP) !== 0) throw new Error("the thread pool was stopped (the optimizer was disposed)");
      if (spinWhile(ctrl, index, v)) continue;
      const wait = (Atomics as { waitAsync?: (a: Int32Array, i: number, v: number) => { value: unknown } }).waitAsync;
      if (wait) await wait(ctrl, index, v).value;
      else await new Promise((resolve) => setTimeout(resolve, 0));
    }
  };
  // The result is always a Promise here, even when the workers finished within the
  // polling: one return type per thread kind, as the optimizer's step() documents.
  return {
    threads,
    async run(check) {
      open(ctrl, check);
      if (check) {
        scanShare(own, ctrl, 0, mine.scan);
        if (!arrive(ctrl, threads)) await settle(ARRIVED, threads);
      }
      if (!check || firstBad(ctrl, threads) < 0) stepShare(own, mine.steps);
      await settle(DONE, workers);
      return check ? firstBad(ctrl, threads) : -1;
    },
    dispose: stop,
  };
}
