// The entry of a pool worker thread. Browsers start it as a module worker from this file
// (new Worker(new URL("./worker.js", import.meta.url), { type: "module" }), which bundlers
// that know the pattern copy along), and everyone else from its bundled text
// (scripts/package-worker.mjs): Node, Deno and Bun with node:worker_threads and eval, a
// browser page whose bundler left this file behind with a Blob URL. Either way it is this
// module: messages in its event loop (the job registrations, between regions), regions in
// workerMain.
import { bindKernel } from "../kernel-abi.ts";
import { createStepTask, type StepPlan } from "../step-task.ts";
import { CONTROL_BLOCK_WORDS, CTRL, WORKER_WORDS } from "./control-block.ts";
import { claimOrder, publishFault, slotOf, type ShareTask } from "./region.ts";
import { startTrace } from "./trace.ts";
import { newWorkerState, workerMain, type WorkerJob, type WorkerState } from "./worker-loop.ts";

/** A failure a test asks a worker to inject (see InjectedFault in src/pool/testing.ts). */
export interface FaultSpec {
  thread: number;
  phase: "scan" | "step";
  /** The region of the job (counted among those this thread took part in, from 1) from which on it fails. */
  region: number;
  kind: "throw" | "exit" | "trap" | "stall";
  ms?: number;
}

/** The messages a worker reads. */
export type WorkerMessage =
  | { type: "init"; control: SharedArrayBuffer; self: number; spinMs: number; epoch: number; trace?: SharedArrayBuffer }
  | {
      type: "register";
      slot: number;
      module: WebAssembly.Module;
      memory: WebAssembly.Memory;
      plan: StepPlan;
      shares: number;
      threads: number;
      spinMs: number;
      fault?: FaultSpec;
    }
  | { type: "unregister"; slot: number }
  | { type: "exit" };

/** Where the worker's messages come from: node:worker_threads' parentPort, or the worker's global scope. */
interface Port {
  on(listener: (message: WorkerMessage) => void): void;
  /** Browsers: the worker may close itself. */
  close?(): void;
}

/** The slice of Node's process a worker uses (typed here: the browser build has no Node types). */
const nodeProcess = (globalThis as { process?: { versions?: { node?: string }; exit(code: number): never; on?(e: "exit", l: (code: number) => void): void } })
  .process;
const isNode = typeof nodeProcess?.versions?.node === "string";

async function port(): Promise<Port> {
  if (isNode) {
    // A variable specifier keeps bundlers from resolving a Node built-in for the browser.
    const specifier = "node:worker_threads";
    const { parentPort } = (await import(/* webpackIgnore: true */ /* @vite-ignore */ specifier)) as {
      parentPort: { on(e: "message", l: (m: WorkerMessage) => void): void };
    };
    return { on: (listener) => parentPort.on("message", listener) };
  }
  const scope = globalThis as unknown as { onmessage: ((e: { data: WorkerMessage }) => void) | null; close(): void };
  return { on: (listener) => (scope.onmessage = (e) => listener(e.data)), close: () => scope.close() };
}

/** Test hook: fails the first share of a phase claimed from the job's region on (see FaultSpec). */
function injectFault(task: ShareTask, fault: FaultSpec, slot: number, ctrl: Int32Array, kernel: { first_nonfinite_f32(p: number, n: number): number }, memory: WebAssembly.Memory): ShareTask {
  // The job's regions this thread took part in, counted by their tickets: REGION also moves
  // for other jobs' regions and for mail (deliver()), even during one of ours, which would
  // bring the fault early. Tickets of other slots are not ours.
  let region = 0;
  let ticket = -1;
  const wrap = (phase: FaultSpec["phase"], run: (t: number) => number | void) => (t: number) => {
    const now = Atomics.load(ctrl, CTRL.REGION);
    if (now !== ticket && slotOf(now) === slot) (ticket = now), region++;
    if (phase === fault.phase && region >= fault.region) {
      if (fault.kind === "throw") throw new Error("injected fault");
      if (fault.kind === "exit") nodeProcess!.exit(3);
      if (fault.kind === "trap") kernel.first_nonfinite_f32(memory.buffer.byteLength, 16);
      if (fault.kind === "stall") Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, fault.ms);
    }
    return run(t);
  };
  return { scan: wrap("scan", task.scan) as (t: number) => number, join: task.join, step: wrap("step", task.step) as (t: number) => void };
}

/**
 * Makes this isolate collect now what the job it just dropped held: its kernel instance,
 * which pins the optimizer's memory. V8 schedules a collection by the external memory of
 * ArrayBuffers but does not count a shared WebAssembly.Memory there, and the tasks of a
 * scheduled (incremental) collection never run in a worker that sleeps in Atomics.wait:
 * a pool serving one live optimizer kept every disposed one's memory (150 create/dispose
 * cycles of n = 1e6 beside it grew RSS to 1.8 GB). An ArrayBuffer past V8's external
 * allocation limit (64 MiB), dropped at once, makes V8 collect at once; its pages are
 * never touched, so they are never resident. Measured: the same 150 cycles stay near
 * 100 MB.
 */
function collectSoon(): void {
  try {
    new ArrayBuffer(128 * 2 ** 20);
  } catch {
    // no address space for the hint (ulimit -v): the memory is freed at the next collection
  }
}

void port().then((p) => {
  let ctrl: Int32Array = new Int32Array(0);
  let self = 0;
  let read = 0;
  let done = false;
  let st: WorkerState = newWorkerState(0, 0);
  const jobs = new Map<number, WorkerJob>();
  // Between messages the worker lives in workerMain; it comes back here for its mail.
  const loop = () => {
    if (done || read !== Atomics.load(ctrl, WORKER_WORDS.mailPosted[self])) return;
    const why = workerMain(ctrl, self, jobs, read, st);
    if (why === "stop" || why === "fault") {
      done = true;
      p.close?.(); // the parent terminates the worker too
    }
  };
  p.on((m) => {
    if (m.type === "init") {
      ctrl = new Int32Array(m.control, 0, CONTROL_BLOCK_WORDS);
      self = m.self;
      st = newWorkerState(m.spinMs, m.epoch);
      if (m.trace) startTrace(m.trace, m.epoch);
      // process.exit() in a worker ends the thread, not the process: report it first,
      // unless the pool was stopped (then it is the parent ending the worker).
      if (isNode && typeof nodeProcess?.on === "function") {
        nodeProcess.on("exit", (code) => {
          if (Atomics.load(ctrl, CTRL.STOP) === 0) publishFault(ctrl, self, st, `exited (process.exit(${code}))`);
        });
      }
    } else if (m.type === "register") {
      const kernel = bindKernel(m.module, m.memory);
      let task = createStepTask(kernel, m.memory, m.plan);
      if (m.fault && m.fault.thread === self) task = injectFault(task, m.fault, m.slot, ctrl, kernel, m.memory);
      jobs.set(m.slot, { slot: m.slot, task, order: claimOrder(self, m.threads, m.shares), scans: m.plan.scan !== "none", spinMs: m.spinMs });
    } else if (m.type === "unregister") {
      jobs.delete(m.slot);
      collectSoon();
    } else if (m.type === "exit") {
      nodeProcess?.exit(3); // test hook: a worker that dies between steps
    }
    read++;
    Atomics.store(ctrl, WORKER_WORDS.mailRead[self], read);
    Atomics.notify(ctrl, WORKER_WORDS.mailRead[self]);
    // Through the event loop, so that the collector's tasks run before the worker blocks.
    setTimeout(loop, 0);
  });
});
