// The caller's side of one optimizer's job on the process's pool: registering it with the
// workers it uses, opening its regions and taking part in them as thread 0, waiting for
// the others (blocking where this thread may block, awaiting on a browser window's main
// thread: one region body, two ways to wait), and turning any failure into the error every
// later step repeats. Which steps run here, and on how many threads, is decided by the
// executor (src/executors.ts, with src/pool/choice.ts); this file only runs what it asks.
import { canBlock } from "../features.ts";
import type { KernelExports } from "../kernel-abi.ts";
import { createStepTask, type StepPlan } from "../step-task.ts";
import { CTRL, WORKER_WORDS } from "./control-block.ts";
import { bystanderError, callerError, disposedPoolError, faultError, stallError } from "./errors.ts";
import { poolLimits, sharedPool, SPIN_MS, type ProcessPool } from "./process-pool.ts";
import {
  cancelSteps,
  claimOrder,
  describe,
  heldShare,
  NAP_SLOT,
  newThreadState,
  open,
  readFault,
  runPhase,
  spin,
  wakeWorkers,
  type ShareTask,
} from "./region.ts";
import { testing } from "./testing.ts";
import { trace, TRACE } from "./trace.ts";
import { REGION_SPIN_MS } from "./worker-loop.ts";

/** How an optimizer's job runs on the pool. */
export interface JobSettings {
  /** Threads per region, the caller included. */
  threads: number;
  /** Shares the step is cut into (src/pool-shape.ts). */
  shares: number;
  /** options.threadSpinMs. */
  spinMs: number;
}

/** An optimizer's job on the pool, as its executor drives it. */
export interface PoolJob {
  readonly threads: number;
  /** Workers of this job awake now (polling, not asleep on the futex). */
  awake(): number;
  /**
   * One step as a region on `k` threads (waking k − 1 workers if they sleep), the StepArgs
   * blocks already written; or, for k = 1, `alone()` on this thread. Returns the first
   * non-finite index (nothing was written) or −1; a Promise of it where this thread may
   * not block, whichever way the step ran (one return type per thread kind, as step()
   * documents). Throws (or rejects) when a thread failed or stalled, and on every later call.
   */
  run(k: number, alone: () => number): number | Promise<number>;
  /** Before a step alone that starts at `now` and should take `ms`: see Cadence.aloneUntil. */
  aloneFor(now: number, ms: number): void;
  /** Throws this job's failure, or the pool's, if there is one (before a step of any kind). */
  check(): void;
  /** Every step of this job, threaded or alone, starts and ends here (the cadence), at `now` (performance.now()). */
  started(now: number): void;
  ended(now: number, wantWarm: boolean): void;
  /** Steps will run alone without started()/ended() for a while: the next gap is not a sample. */
  untimed(): void;
  /** Whether this thread may block (steps return numbers, not Promises). */
  readonly blocking: boolean;
  /** Leaves the pool: the workers drop this job. Returns at once. */
  dispose(): void;
}

/**
 * Starts the workers this many threads need (the caller is one), before the optimizer
 * allocates its memory: under an address-space limit the allocation then fails with a
 * RangeError, rather than a new isolate's reservation, which V8 cannot survive.
 */
export async function prepareThreads(threads: number): Promise<void> {
  await sharedPool().grow(threads - 1);
}

/** Registers an optimizer's job (its kernel instance here, its plan and memory) with the pool. */
export async function startPoolJob(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  kernel: KernelExports,
  plan: StepPlan,
  { threads, shares, spinMs }: JobSettings,
): Promise<PoolJob> {
  const pool = sharedPool();
  await pool.grow(threads - 1);
  const slot = pool.takeSlot();
  const helpers = Array.from({ length: threads - 1 }, (_, i) => i + 1);
  try {
    for (const k of helpers) {
      pool.post(k, { type: "register", slot, module, memory, plan, shares, threads, spinMs, ...(testing.fault && { fault: testing.fault }) });
    }
    await pool.acked(helpers);
  } catch (error) {
    pool.freeSlot(slot);
    throw error;
  }
  return new CallerJob(pool, slot, helpers, createStepTask(kernel, memory, plan), plan.scan !== "none", { threads, shares, spinMs });
}

class CallerJob implements PoolJob {
  readonly threads: number;
  readonly #st = newThreadState();
  readonly #order: number[];
  readonly blocking = canBlock();
  /** How long the caller polls in a region before it sleeps (ms). */
  readonly #spinMs: number;
  #broken: Error | undefined;
  #left = false;
  /** The caller's task; dropped at dispose(): its kernel instance pins the memory. */
  #task: ShareTask | undefined;

  constructor(
    readonly pool: ProcessPool,
    readonly slot: number,
    readonly helpers: readonly number[],
    task: ShareTask,
    readonly scans: boolean,
    readonly settings: JobSettings,
  ) {
    this.#task = task;
    this.threads = settings.threads;
    const order = claimOrder(0, settings.threads, settings.shares);
    this.#order = testing.ownSharesOnly ? order.slice(0, Math.ceil(settings.shares / settings.threads)) : order;
    this.#spinMs = this.blocking ? Math.max(settings.spinMs, REGION_SPIN_MS) : SPIN_MS;
    this.#st.job = slot;
  }

  awake(): number {
    // Plain loads, not Atomics: a hint for the choice (a stale answer only makes it choose
    // as for the state a moment ago), read before every step, where a call into the
    // runtime's Atomics costs microseconds in code that runs too rarely to be compiled.
    const { ctrl } = this.pool;
    const helpers = this.helpers;
    let awake = 0;
    for (let i = 0; i < helpers.length; i++) if (ctrl[WORKER_WORDS.asleep[helpers[i]]] === 0) awake++;
    return awake;
  }

  /** Sends polling workers to sleep at once, so they leave the cores to the caller. */
  nap(): void {
    // Not while another optimizer's region is in flight (an awaiting caller): a bump would
    // end its workers' help.
    if (this.awake() > 0 && this.pool.inFlight === 0) open(this.pool.ctrl, NAP_SLOT);
  }

  check(): void {
    // The common case in a few loads: nothing failed, nothing published. FAULT by a plain
    // load: a fault published a moment ago is read at the next step or wait (every wait in a
    // region reads it with Atomics), and a step alone does not need the pool.
    if (!this.#left && !this.#broken && !this.pool.broken && this.pool.ctrl[CTRL.FAULT] === 0) return;
    const refused = this.#refusal();
    if (refused) throw this.#fail(refused);
  }

  started(now: number): void {
    this.pool.cadence.started(now);
  }

  ended(now: number, wantWarm: boolean): void {
    // A window where none was (warm threads wanted again, a try of them due): the workers
    // that went to sleep without one sleep until woken, and would meet the next step cold.
    if (this.pool.cadence.ended(now, wantWarm, this.slot)) wakeWorkers(this.pool.ctrl, this.helpers.length);
  }

  untimed(): void {
    this.pool.cadence.forget();
  }

  aloneFor(now: number, ms: number): void {
    this.pool.cadence.aloneUntil(now, ms);
  }

  run(k: number, alone: () => number): number | Promise<number> {
    this.check();
    if (this.blocking) return k === 1 ? this.#alone(alone) : (this.#drive((word, ticket) => this.#block(word, ticket), k) as number);
    // The result is always a Promise here, even when the workers finished within the
    // polling or the step ran alone. An awaiting caller's steps run one after the other.
    const run = this.pool.queue.then(() => {
      this.check();
      return k === 1 ? this.#alone(alone) : this.#drive((word, ticket) => this.#settle(word, ticket), k);
    });
    this.pool.queue = run.catch(() => undefined);
    return run;
  }

  /** A step alone on this thread, after sending polling workers to sleep. */
  #alone(alone: () => number): number {
    this.nap();
    return alone();
  }

  /** Runs one region, waiting with `wait`; a Promise as soon as a wait is one. */
  #drive(wait: (word: number, ticket: number) => void | Promise<void>, k: number): number | Promise<number> {
    const pool = this.pool;
    pool.inFlight++;
    let settled = true;
    try {
      const g = this.#region(k);
      for (let next = g.next(); ; next = g.next()) {
        if (next.done) return next.value;
        const waited = wait(next.value[0], next.value[1]);
        if (waited) {
          settled = false;
          return this.#finish(g, waited, wait);
        }
      }
    } catch (error) {
      throw this.#fail(error);
    } finally {
      if (settled) pool.inFlight--;
    }
  }

  /** The rest of a region once a wait was a Promise. */
  async #finish(g: Generator<[number, number], number, void>, waited: Promise<void>, wait: (word: number, ticket: number) => void | Promise<void>): Promise<number> {
    try {
      await waited;
      for (let next = g.next(); ; next = g.next()) {
        if (next.done) return next.value;
        await wait(next.value[0], next.value[1]);
      }
    } catch (error) {
      throw this.#fail(error);
    } finally {
      this.pool.inFlight--;
    }
  }

  /**
   * One region, as a generator: it yields [word, ticket] where the caller must wait until
   * ctrl[word] reaches the ticket. Returns the first bad index, or −1.
   */
  *#region(k: number): Generator<[word: number, ticket: number], number, void> {
    const { ctrl } = this.pool;
    const task = this.#task!;
    const ticket = open(ctrl, this.slot);
    trace(0, TRACE.opened);
    trace(0, TRACE.woken, wakeWorkers(ctrl, k - 1));
    if (this.scans) {
      runPhase(ctrl, this.#st, this.#order, this.settings.shares, ticket, 0, 0, task);
      trace(0, TRACE.wait, 0);
      yield [CTRL.SCANNED, ticket];
      trace(0, TRACE.met, 0);
      const bad = Atomics.load(ctrl, CTRL.FIRST_BAD);
      if (bad >= 0) {
        cancelSteps(ctrl, this.settings.shares, ticket);
        return bad;
      }
    }
    runPhase(ctrl, this.#st, this.#order, this.settings.shares, ticket, 0, 1, task);
    trace(0, TRACE.wait, 1);
    yield [CTRL.STEPPED, ticket];
    trace(0, TRACE.met, 1);
    return -1;
  }

  /** Blocks until ctrl[word] is `ticket`: polls, then sleeps in bounded slices, reading faults between them. */
  #block(word: number, ticket: number): void {
    const { ctrl } = this.pool;
    const since = performance.now();
    for (let v = Atomics.load(ctrl, word); v !== ticket; v = Atomics.load(ctrl, word)) {
      const why = this.#stuck(word, ticket, since);
      if (why) throw why;
      if (!spin(this.#spinMs, () => Atomics.load(ctrl, word) !== v || Atomics.load(ctrl, CTRL.FAULT) > 0)) {
        Atomics.wait(ctrl, word, v, poolLimits.stallMs / 4);
      }
    }
  }

  /** The same without blocking: polls for SPIN_MS, then awaits Atomics.waitAsync (or a timer where that is missing). */
  async #settle(word: number, ticket: number): Promise<void> {
    const { ctrl } = this.pool;
    const since = performance.now();
    for (let v = Atomics.load(ctrl, word); v !== ticket; v = Atomics.load(ctrl, word)) {
      const why = this.#stuck(word, ticket, since);
      if (why) throw why;
      if (spin(SPIN_MS, () => Atomics.load(ctrl, word) !== v)) continue;
      const wait = (Atomics as { waitAsync?: (a: Int32Array, i: number, v: number, t: number) => { value: unknown } }).waitAsync;
      if (wait) await wait(ctrl, word, v, poolLimits.stallMs / 4).value;
      else await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }

  /** Why the caller may not wait any longer for `word` to reach `ticket`, or undefined. */
  #stuck(word: number, ticket: number, since: number): Error | undefined {
    const refused = this.#published();
    if (refused) return refused;
    const { ctrl } = this.pool;
    if (Atomics.load(ctrl, CTRL.STOP) !== 0) return this.pool.broken ?? disposedPoolError();
    if (performance.now() - since < poolLimits.stallMs) return undefined;
    const phase = word === CTRL.SCANNED ? 0 : 1;
    return stallError(heldShare(ctrl, this.settings.shares, phase, ticket), phase, poolLimits.stallMs);
  }

  /** A fault a thread published, as this job reports it. */
  #published(): Error | undefined {
    const fault = readFault(this.pool.ctrl);
    return fault && faultError(fault, this.slot);
  }

  /** Before a step: this job's failure, a fault published since, or the pool's (as a bystander). */
  #refusal(): Error | undefined {
    if (this.#left) return disposedPoolError();
    return this.#broken ?? this.#published() ?? (this.pool.broken && bystanderError(this.pool.broken));
  }

  /** Records a failure: the pool is stopped (a failed thread poisons it for every optimizer). */
  #fail(error: unknown): Error {
    if (!this.#broken) {
      this.#broken = error instanceof Error && error.message.startsWith("rmsprop-wasm") ? error : callerError(describe(error), error);
      this.pool.broken ??= this.#broken;
      this.pool.stop();
    }
    return this.#broken;
  }

  dispose(): void {
    if (this.#left) return;
    this.#left = true;
    const { pool } = this;
    if (!pool.stopped) {
      for (const k of this.helpers) pool.post(k, { type: "unregister", slot: this.slot });
      // Delivered now (no region is in flight here: dispose() refuses while a step runs).
      pool.deliver();
    }
    this.#task = undefined;
    pool.cadence.drop(this.slot);
    pool.freeSlot(this.slot);
  }
}
