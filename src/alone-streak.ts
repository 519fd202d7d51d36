// A streak of steps alone: while the choice keeps running the step alone and the workers
// sleep, the threaded executor does not ask it (ThreadChoice.aloneStreak) and runs the
// one-thread step and nothing else. In a training loop every line a step reads is cold
// (docs/threads.md), so of the pool a streak step reads only the workers' sleep words, where
// the cadence may have woken one (which ends the streak: the choice decides), and the fault
// word once in FAULT_EVERY steps. Where the cadence is kept (a "timed" streak), every step
// gives it its gap: a window learnt from the decided steps alone stayed where the first,
// JIT-slowed steps had put it. The last step is timed, a sample of a step alone for the choice.
import type { CallerExecutor, Heap, UnitJob } from "./executors.ts";
import type { PoolJob } from "./pool/caller.ts";
import type { ThreadChoice } from "./pool/choice.ts";

/** Steps of a streak alone between two reads of the pool's fault word. */
export const FAULT_EVERY = 64;

export class AloneStreak {
  /** Steps left to run without asking the choice, and those run so far. */
  #left = 0;
  #ran = 0;
  /** Whether the steps keep the cadence (warm workers are wanted: they wake for the steps, and the choice sees them awake). */
  #timed = false;
  #lastMs = Number.NaN;

  constructor(
    readonly job: PoolJob,
    readonly choice: ThreadChoice,
    readonly alone: CallerExecutor,
  ) {}

  /** Whether the next step belongs to a streak. */
  get running(): boolean {
    return this.#left > 0;
  }

  /** After a decided step: the next `left` steps run alone, keeping the cadence if `timed`. */
  begin(left: number, timed: boolean): void {
    this.#left = left;
    this.#timed = timed;
    if (left > 0 && !timed) this.job.untimed();
  }

  /** The next step of the streak: its first bad index or −1, or undefined where a worker is awake (the streak ended: the choice decides). */
  step(heap: Heap, jobs: UnitJob[]): number | undefined {
    const { job } = this;
    const timed = this.#timed;
    if (timed && job.awake() !== 0) {
      this.end();
      return undefined;
    }
    if (this.#ran % FAULT_EVERY === FAULT_EVERY - 1) this.#check();
    const sample = timed || this.#left === 1;
    const t0 = sample ? performance.now() : 0;
    if (timed) job.started(t0);
    const bad = this.alone.run(heap, jobs);
    if (sample) {
      const t1 = performance.now();
      if (timed) job.ended(t1, true);
      this.#lastMs = t1 - t0;
    }
    this.#ran++;
    if (--this.#left === 0) this.end();
    return bad;
  }

  /** Ends the streak: the choice counts its steps, and learns from its last. */
  end(): void {
    const ran = this.#ran;
    this.choice.skipped(ran, ran * this.choice.aloneMs, this.#timed ? ran : 0, this.#lastMs);
    this.#left = this.#ran = 0;
    this.#lastMs = Number.NaN;
  }

  /** A fault ends the streak and refuses the step, as at a decided step. */
  #check(): void {
    try {
      this.job.check();
    } catch (error) {
      this.end();
      throw error;
    }
  }
}
