// Worker threads over one shared memory. Workers start once per optimizer and then sleep
// on a futex (Atomics.wait) in the memory's control block. A phase (the non-finite scan,
// or the step) bumps a sequence number, runs thread 0's share on the calling thread, and
// waits until every worker has reported done. No message crosses threads per step.
//
// Control block words (Int32, at layout.control, CONTROL_WORDS long):
//   SEQ     bumped once per phase; workers wake on it
//   DONE    workers finished in this phase
//   STOP    non-zero tells workers to exit
//   PHASE   SCAN or STEP
//   RESULT + k   worker k's scan result: first non-finite index in its slice, or −1

const SEQ = 0;
const DONE = 1;
const STOP = 2;
const PHASE = 3;
const RESULT = 16;
/** Words in the control block: 16 fixed, then one scan result per worker (≤ 63 workers). */
export const CONTROL_WORDS = RESULT + 64;

/** How long a thread that must not block polls for the workers before it yields (ms). */
const SPIN_MS = 0.25;

/** What the workers do when they wake. */
export const Phase = { scan: 0, step: 1 } as const;

/** A job: a kernel flags word and the byte offset of its StepArgs block. */
export type Job = readonly [flags: number, args: number];

/** A worker's share of the scan: byte offset of its slice of grads, its length, its first index. */
export type ScanJob = readonly [ptr: number, n: number, base: number];

/** A worker's work: its scan slice and its step jobs. */
export interface WorkerJobs {
  scan: ScanJob;
  steps: Job[];
}

/**
 * The worker's whole program, as source, so that it runs from a Blob URL in browsers and
 * from `eval` in Node: no file for the package to ship or a server to serve.
 */
const workerSource = `
"use strict";
// Node, Deno and Bun run this through node:worker_threads, browsers as a Web Worker. The
// source may be evaluated as a script or, when the parent was itself eval'd ESM (node
// --input-type=module -e), as a module without require: a dynamic import works in both.
const node = typeof process === "object" && typeof process.versions?.node === "string";
(node ? import("node:worker_threads").then((m) => m.parentPort) : Promise.resolve(self)).then((port) => {
const onMessage = (handler) => (node ? port.on("message", handler) : (self.onmessage = (e) => handler(e.data)));
onMessage(({ module, memory, control, index, scan, steps, workers }) => {
  const { step, first_nonfinite_f32 } = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const ctrl = new Int32Array(memory.buffer, control, ${CONTROL_WORDS});
  let seen = Atomics.load(ctrl, ${SEQ});
  port.postMessage("ready");
  for (;;) {
    Atomics.wait(ctrl, ${SEQ}, seen);
    if (Atomics.load(ctrl, ${STOP}) !== 0) break;
    const now = Atomics.load(ctrl, ${SEQ});
    if (now === seen) continue;
    seen = now;
    if (Atomics.load(ctrl, ${PHASE}) === ${Phase.scan}) {
      const bad = first_nonfinite_f32(scan[0], scan[1]);
      Atomics.store(ctrl, ${RESULT} + index, bad < 0 ? -1 : scan[2] + bad);
    } else {
      for (let j = 0; j < steps.length; j += 2) step(steps[j], steps[j + 1]);
    }
    if (Atomics.add(ctrl, ${DONE}, 1) + 1 === workers) Atomics.notify(ctrl, ${DONE});
  }
  // The parent terminates the worker right after STOP; a browser worker may close itself.
  // (Node's parentPort.close() is not in Deno's, and is not needed.)
  if (!node) self.close();
});
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
  /** Worker count (threads − 1: the calling thread is thread 0). */
  readonly workers: number;
  /**
   * Runs one phase: wakes the workers, runs `own` (thread 0's share) here, and waits for
   * the workers. Returns nothing where this thread may block, else a Promise.
   */
  run(phase: number, own: () => void): void | Promise<void>;
  /** The smallest non-finite index the workers found in the last scan, or −1. */
  scanResult(): number;
  /** Stops and terminates the workers. */
  dispose(): void;
}

/** Starts `jobs.length` workers, worker k doing jobs[k] in every phase. */
export async function startThreadPool(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  control: number,
  jobs: WorkerJobs[],
): Promise<ThreadPool> {
  const ctrl = new Int32Array(memory.buffer, control, CONTROL_WORDS);
  const count = jobs.length;
  const started = await Promise.allSettled(
    jobs.map((j, index) =>
      startWorker({ module, memory, control, index, scan: j.scan, steps: j.steps.flat(), workers: count }),
    ),
  );
  const workers = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === "rejected");
  const stop = () => {
    Atomics.store(ctrl, STOP, 1);
    Atomics.add(ctrl, SEQ, 1);
    Atomics.notify(ctrl, SEQ);
    Atomics.notify(ctrl, DONE); // a caller waiting asynchronously wakes, sees STOP, and gives up
    for (const w of workers) w.terminate();
  };
  if (failed) {
    stop();
    throw new Error(`rmsprop-wasm could not start its worker threads: ${String(failed.reason)}`, { cause: failed.reason });
  }
  const blocking = canBlock();
  return {
    workers: count,
    scanResult() {
      let first = -1;
      for (let k = 0; k < count; k++) {
        const bad = Atomics.load(ctrl, RESULT + k);
        if (bad >= 0 && (first < 0 || bad < first)) first = bad;
      }
      return first;
    },
    run(phase, own) {
      Atomics.store(ctrl, PHASE, phase);
      Atomics.store(ctrl, DONE, 0);
      Atomics.add(ctrl, SEQ, 1);
      Atomics.notify(ctrl, SEQ);
      own();
      if (blocking) {
        for (let d = Atomics.load(ctrl, DONE); d !== count; d = Atomics.load(ctrl, DONE)) Atomics.wait(ctrl, DONE, d);
        return;
      }
      // A thread that must not block may still poll for a moment: the workers usually
      // finish within a fraction of a millisecond of the caller's own share, and a trip
      // through the event loop (Atomics.waitAsync) costs more than that.
      const spinUntil = performance.now() + SPIN_MS;
      while (Atomics.load(ctrl, DONE) !== count && performance.now() < spinUntil);
      if (Atomics.load(ctrl, DONE) === count) return Promise.resolve();
      return (async () => {
        for (let d = Atomics.load(ctrl, DONE); d !== count; d = Atomics.load(ctrl, DONE)) {
          if (Atomics.load(ctrl, STOP) !== 0) throw new Error("the thread pool was stopped (the optimizer was disposed)");
          const wait = (Atomics as { waitAsync?: (a: Int32Array, i: number, v: number) => { value: unknown } }).waitAsync;
          if (wait) await wait(ctrl, DONE, d).value;
          else await new Promise((resolve) => setTimeout(resolve, 0));
        }
      })();
    },
    dispose: stop,
  };
}
