// The pool's error texts, as pure functions of what happened, so that every path that
// reports a failure says the same thing and tests can check the wording once. Each names
// the thread and the share where known, and says what the user can do: whether the
// optimizer's params and state are intact (nothing of the step was written) or may be
// half-written.
import type { Fault } from "./region.ts";

/** After a failure in a step's writes (the step phase of this optimizer's region). */
export const RECOVER =
  "; this optimizer is unusable: the step may have been half-written. Restore a checkpoint into a new optimizer " +
  "(restoreRmsprop(bytes)), or create a new one";

/** After a failure before any of this optimizer's writes (a scan, another optimizer's step, between steps). */
export const RECOVER_INTACT =
  "; this optimizer is unusable, but its params and state are intact (nothing of this step was written): " +
  "save() it and restore the checkpoint into a new optimizer (restoreRmsprop(bytes))";

const phaseName = (phase: number) => (phase === 0 ? "scanned" : "stepped");

/** A thread's published fault, as the optimizer of job `slot` reports it. */
export function faultError(fault: Fault, slot: number): Error {
  const { thread, share, phase, text, job } = fault;
  if (share < 0) return new Error(`rmsprop-wasm worker ${thread} failed: ${text}${RECOVER_INTACT}`);
  if (job !== slot) {
    // Another optimizer's region: nothing of this one's state was touched.
    return new Error(`rmsprop-wasm worker ${thread} failed in another optimizer's step: ${text}; the thread pool is stopped${RECOVER_INTACT}`);
  }
  return new Error(`rmsprop-wasm worker ${thread} failed while it ${phaseName(phase)} share ${share}: ${text}${phase === 0 ? RECOVER_INTACT : RECOVER}`);
}

/** A share held past the stall bound in this optimizer's region. */
export function stallError(held: [share: number, thread: number] | undefined, phase: number, stallMs: number): Error {
  const what = held ? `worker ${held[1]} has held share ${held[0]}` : "a share has been held";
  return new Error(
    `rmsprop-wasm ${what} of this step for over ${stallMs} ms without finishing it (a stalled or dead thread)` +
      (phase === 0 ? RECOVER_INTACT : RECOVER),
  );
}

/**
 * The pool was stopped by a failure outside this optimizer's region (a bystander: another
 * optimizer's stall, a worker that died between steps): its state is intact.
 */
export function bystanderError(cause: Error | undefined): Error {
  if (!cause) return new Error(`rmsprop-wasm: the thread pool was stopped${RECOVER_INTACT}`);
  const why = cause.message.replace(/; this optimizer is unusable.*$/, "");
  return new Error(`${why.startsWith("rmsprop-wasm") ? why : `rmsprop-wasm: ${why}`}; the thread pool is stopped${RECOVER_INTACT}`, { cause });
}

/** A worker that died while no step ran (its error or exit event). */
export function lostError(worker: number, why: string): Error {
  return new Error(`rmsprop-wasm worker ${worker} ${why} between steps${RECOVER_INTACT}`);
}

/** The calling thread itself failed inside a region. */
export function callerError(described: string, cause: unknown): Error {
  return new Error(`rmsprop-wasm thread 0 (the caller) failed: ${described}${RECOVER}`, { cause });
}

/** A worker that never read its mail (it did not start, or hangs). */
export function unansweredError(worker: number, ms: number): Error {
  return new Error(`rmsprop-wasm worker ${worker} did not answer within ${ms} ms`);
}

/** A step of an optimizer that was disposed. */
export const disposedPoolError = (): Error => new Error("the thread pool was stopped (the optimizer was disposed)");

/** More threaded optimizers alive at once than a pool has job slots. */
export function tooManyJobsError(max: number): Error {
  return new RangeError(`options.threads: at most ${max} threaded optimizers can be alive at once in one thread; dispose() some first`);
}

