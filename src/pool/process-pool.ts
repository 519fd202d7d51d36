// The process's thread pool (pthreadpool's and ONNX Runtime's model: one pool that every
// operator shares): one control block and up to a worker per core but the caller's,
// started when an optimizer first needs them and kept, asleep, for the next. Each threaded
// optimizer registers a job (its kernel, memory and plan) with the workers it uses, in a
// slot of the pool; each of its steps is a region of that job. A failure of any thread
// stops the pool: every optimizer on it refuses further steps, and the next one created
// starts a new pool. A worker that drops a job collects at once (src/pool/worker.ts,
// collectSoon), so nothing of a disposed optimizer stays in a sleeping worker's heap.
import { canBlock } from "../features.ts";
import { Cadence, newEpoch } from "./cadence.ts";
import { CONTROL_BLOCK_WORDS, CTRL, WORKER_WORDS } from "./control-block.ts";
import { lostError, tooManyJobsError, unansweredError } from "./errors.ts";
import { MAX_JOBS, readFault, stopAll, wakeAll, nextTicket } from "./region.ts";
import { watchWorker, withViolations, workerWays, type AnyWorker } from "./spawn.ts";
import type { WorkerMessage } from "./worker.ts";

/**
 * Limits of the pool, in ms: how long a share may be held before its thread is reported as
 * stalled; how long a worker may take to start or to read its mail (a new isolate on a
 * loaded machine can take seconds); how long stop() waits at most for the workers to
 * leave. Tests lower the first.
 */
export const poolLimits = { stallMs: 5000, answerMs: 30_000, exitWaitMs: 100 };

/**
 * The longest a browser window's main thread, which may not sleep, polls (ms) before it
 * yields to the event loop, whatever options.threadSpinMs says: a longer poll would be a
 * frozen page.
 */
export const SPIN_MS = 0.2;

/**
 * The memory of the control block: a SharedArrayBuffer of a few KiB, or, where the engine
 * hides that constructor (WebKit does, even where a shared wasm memory works), the buffer of
 * a one-page shared WebAssembly.Memory. Not a wasm memory by choice: V8 reserves about
 * 10 GiB of address space for each.
 */
function controlBuffer(): SharedArrayBuffer {
  const Shared = (globalThis as { SharedArrayBuffer?: typeof SharedArrayBuffer }).SharedArrayBuffer;
  if (typeof Shared === "function") return new Shared(4 * CONTROL_BLOCK_WORDS);
  return new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer as unknown as SharedArrayBuffer;
}

const sleepMs = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Workers could not be started: why, for each way tried. */
export class WorkerStartError extends Error {
  constructor(readonly causes: readonly string[]) {
    super(`rmsprop-wasm could not start a worker thread: ${causes.join("; ")}`);
  }
}

export class ProcessPool {
  readonly buffer = controlBuffer();
  readonly ctrl = new Int32Array(this.buffer, 0, CONTROL_BLOCK_WORDS);
  /** The opener's steps, measured and published for the workers' pre-wake. */
  readonly cadence = new Cadence(this.ctrl, newEpoch());
  /** Worker k is workers[k − 1] (thread 0 is the caller). */
  readonly workers: AnyWorker[] = [];
  /** Workers being started: concurrent creations share them. */
  #growing: Promise<void> = Promise.resolve();
  broken: Error | undefined;
  stopped = false;
  /** Job slots in use. */
  readonly #slots = new Set<number>();
  /** Regions of an awaiting caller run one at a time (a browser window's main thread). */
  queue: Promise<unknown> = Promise.resolve();
  /** Regions open now: one at most while blocking; an awaiting caller's may be pending. */
  inFlight = 0;

  /** A free job slot. */
  takeSlot(): number {
    for (let slot = 1; slot <= MAX_JOBS; slot++) {
      if (!this.#slots.has(slot)) {
        this.#slots.add(slot);
        return slot;
      }
    }
    throw tooManyJobsError(MAX_JOBS);
  }

  /** Gives a slot back. */
  freeSlot(slot: number): void {
    this.#slots.delete(slot);
  }

  /** Grows the pool to `count` workers, each started and initialised. */
  grow(count: number): Promise<void> {
    // After the last growth, failed or not: a failure is its caller's, not the next one's.
    this.#growing = this.#growing.catch(() => undefined).then(async () => {
      while (this.workers.length < count && !this.broken && !this.stopped) await this.#startOne();
    });
    return this.#growing;
  }

  /** Starts worker k = workers.length + 1 by the first way that works here. */
  async #startOne(): Promise<void> {
    const k = this.workers.length + 1;
    const causes: string[] = [];
    for (const way of workerWays()) {
      const why = await withViolations(async (violations) => {
        let worker: AnyWorker;
        try {
          worker = await way.start();
        } catch (error) {
          return `${way.name} could not be created (${error instanceof Error ? `${error.name}: ${error.message}` : String(error)})`;
        }
        let lost: string | undefined;
        watchWorker(worker, (w) => {
          if (this.workers[k - 1] === worker) this.lose(k, w);
          else lost ??= w;
        });
        worker.postMessage({ type: "init", control: this.buffer, self: k, spinMs: SPIN_MS, epoch: this.cadence.epoch } satisfies WorkerMessage);
        Atomics.add(this.ctrl, WORKER_WORDS.mailPosted[k], 1);
        const answered = await this.#answer(k, () => lost);
        if (answered) {
          this.workers.push(worker);
          return undefined;
        }
        worker.terminate();
        Atomics.store(this.ctrl, WORKER_WORDS.mailPosted[k], 0);
        const csp = violations();
        if (csp.length > 0) return `${way.name} was refused: ${csp.join("; ")}`;
        return `${way.name} ${(lost && (await way.explain?.())) ?? lost ?? `did not answer within ${poolLimits.answerMs} ms`}`;
      });
      if (why === undefined) return;
      causes.push(why);
    }
    throw new WorkerStartError(causes);
  }

  /** Waits until worker k has read its init, or it failed (`lost` says why) or the stall bound passed. */
  async #answer(k: number, lost: () => string | undefined): Promise<boolean> {
    const since = performance.now();
    while (Atomics.load(this.ctrl, WORKER_WORDS.mailRead[k]) !== Atomics.load(this.ctrl, WORKER_WORDS.mailPosted[k])) {
      if (lost() !== undefined || performance.now() - since > poolLimits.answerMs) return false;
      await sleepMs(1);
    }
    return true;
  }

  /** A worker died outside a region (its events arrive only when no step runs). */
  lose(k: number, why: string): void {
    if (this.stopped) return;
    this.broken ??= lostError(k, why);
    this.stop();
  }

  /** Sends worker k a message; it reads it between regions (a mail bump, delivered by the next region or deliver()). */
  post(k: number, message: WorkerMessage): void {
    this.workers[k - 1].postMessage(message);
    Atomics.add(this.ctrl, WORKER_WORDS.mailPosted[k], 1);
  }

  /** Wakes the workers to read their mail, with a region of no job. */
  deliver(): void {
    // Not open(): a region of another optimizer may be in flight (an awaiting caller), and
    // its verdict must stay. It only loses the workers' help for the rest of it.
    Atomics.store(this.ctrl, CTRL.REGION, nextTicket(Atomics.load(this.ctrl, CTRL.REGION), 0));
    wakeAll(this.ctrl);
  }

  /** Waits until workers `ks` have read all their mail (bounded by stallMs). */
  async acked(ks: readonly number[]): Promise<void> {
    this.deliver();
    const since = performance.now();
    for (;;) {
      if (this.broken) throw this.broken;
      const waiting = ks.filter((k) => Atomics.load(this.ctrl, WORKER_WORDS.mailRead[k]) !== Atomics.load(this.ctrl, WORKER_WORDS.mailPosted[k]));
      if (waiting.length === 0) return;
      if (performance.now() - since > poolLimits.answerMs) throw unansweredError(waiting[0], poolLimits.answerMs);
      await sleepMs(1);
    }
  }

  /**
   * Ends the workers. After a failure it waits (bounded) for the live ones to leave, so a
   * stalled one is the only one terminated mid-work; idle ones leave at once.
   */
  stop(wait = true): void {
    if (this.stopped) return;
    this.stopped = true;
    const { ctrl } = this;
    stopAll(ctrl);
    const live = wait ? this.workers.length - (readFault(ctrl) ? 1 : 0) : 0;
    const deadline = performance.now() + (canBlock() ? poolLimits.exitWaitMs : SPIN_MS);
    for (let v = Atomics.load(ctrl, CTRL.EXITED); v < live; v = Atomics.load(ctrl, CTRL.EXITED)) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      if (canBlock()) Atomics.wait(ctrl, CTRL.EXITED, v, left);
    }
    for (const w of this.workers) w.terminate();
    if (processPool === this) processPool = undefined;
  }
}

let processPool: ProcessPool | undefined;

/** The process's pool, a new one if there is none or the last one failed or was retired. */
export function sharedPool(): ProcessPool {
  if (!processPool || processPool.broken || processPool.stopped) processPool = new ProcessPool();
  return processPool;
}

/** The pool as it is now, without starting one (tests and the choice). */
export const currentPool = (): ProcessPool | undefined => (processPool && !processPool.stopped ? processPool : undefined);
