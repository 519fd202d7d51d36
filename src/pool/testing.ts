// Test hooks of the pool: a fault the next job's workers inject, a fixed thread count for
// every step instead of the choice's, and read-outs of the process's pool. Not part of the
// package's API: tests import them from here.
import { WORKER_WORDS } from "./control-block.ts";
import { currentPool } from "./process-pool.ts";
import type { FaultSpec } from "./worker.ts";

/** A failure to inject into a worker: thread `thread` fails in the first share of `phase` it claims in the job's `region`-th region or later. */
export type InjectedFault = FaultSpec;

/**
 * `fault`: carried by the next job registered. `threads`: every step on this many threads
 * (1: alone; more: a region waking that many minus one workers) instead of the choice's.
 * `ownSharesOnly`: the caller of the next job registered runs only its own range of shares
 * and waits for the workers to run theirs, so a worker's fault comes at the region it is
 * due (on a loaded machine the caller would otherwise often run every share itself).
 * `trace`: a buffer from traceBuffer() (src/pool/trace.ts), set before the pool starts:
 * every thread records its regions' events there.
 */
export const testing: { fault: InjectedFault | undefined; threads: number | undefined; ownSharesOnly: boolean; trace: SharedArrayBuffer | undefined } = {
  fault: undefined,
  get threads() {
    return fixedThreads;
  },
  set threads(k) {
    fixedThreads = k;
    for (const ref of threadsFixed) {
      const fixed = ref.deref();
      if (fixed) fixed();
      else threadsFixed.delete(ref);
    }
  },
  ownSharesOnly: false,
  trace: undefined,
};
let fixedThreads: number | undefined;

/**
 * Called whenever a test sets testing.threads: a threaded executor's lean steps read nothing
 * of this module (src/threaded-executor.ts), so where lean steps are left it ends their
 * streak here (otherwise the streak's next step does). Held weakly: the executor holds its
 * callback, and an optimizer never disposed must not be pinned by the test hooks.
 */
export const threadsFixed = new Set<WeakRef<() => void>>();

/** Worker threads the process's pool runs now. */
export function poolWorkers(): number {
  return currentPool()?.workers.length ?? 0;
}

/** Workers of the process's pool asleep on the futex, or about to be. */
export function sleepingWorkers(): number {
  const pool = currentPool();
  if (!pool) return 0;
  return pool.workers.filter((_, i) => Atomics.load(pool.ctrl, WORKER_WORDS.asleep[i + 1]) !== 0).length;
}

/** Worker k of the process's pool calls process.exit(3) between steps, as a crash would. */
export function exitWorkerForTests(k: number): void {
  const pool = currentPool();
  pool?.post(k, { type: "exit" });
  pool?.deliver();
}

/** The control block of the process's pool, or undefined when none runs. */
export function controlBlock(): Int32Array | undefined {
  return currentPool()?.ctrl;
}
