// A streak: steps the threaded executor runs the way the choice last decided without asking
// it again (ThreadChoice.streak), as long as the workers stay in the state the decision
// found them in. In a training loop every line a step reads is cold (docs/threads.md), and
// the choice's and the cadence's bookkeeping is a fixed cost of every decided step: at 1e5
// about as much again as a step alone, at 8e5 some 7% of a threaded one.
//
// - Alone (the workers asleep): the one-thread step and nothing else. Of the pool a step
//   reads only the workers' sleep words, where the cadence may have woken one (which ends
//   the streak: the choice decides), and the fault word once in FAULT_EVERY steps. Where
//   the cadence is kept (a "timed" streak), every step gives it its gap: a window learnt
//   from the decided steps alone stayed where the first, JIT-slowed steps had put it.
// - On k threads (the workers awake): one region a step, which reads the fault word as any
//   region does; every step gives the cadence its gap and publishes its end for the
//   workers' next wake. Nothing is decided; a step that finds fewer than k − 1 workers
//   awake ends the streak.
//
// The last step is timed, a sample of its way for the choice; on threads every step is,
// their mean is the sample, and their moving average ends the streak where a step alone
// would win.
import type { CallerExecutor, Heap, UnitJob } from "./executors.ts";
import type { PoolJob } from "./pool/caller.ts";
import { ThreadChoice } from "./pool/choice.ts";

/**
 * Lean steps of a streak alone between two reads of the pool's fault word (the other steps
 * read it each): a read is a few cold lines (the job, the pool, the control block), some
 * 1% of a step alone at 1e5 in a training loop.
 */
export const FAULT_EVERY = 64;

/** One region on `threads` threads for this step's memory and jobs (blocking): its first bad index, or −1. */
export type Region = (heap: Heap, jobs: UnitJob[], threads: number) => number;

export class Streak {
  /** Steps left to run without asking the choice, those run so far, and on how many threads. */
  #left = 0;
  #ran = 0;
  #threads = 1;
  /**
   * Whether the steps keep the cadence (they give it their gaps): on threads always, alone
   * where warm workers are wanted (they wake for the steps, and the choice sees them awake);
   * and whether the window is wanted, as the decided step said.
   */
  #timed = false;
  #wanted = false;
  /** Alone: the last step's time (ms). */
  #lastMs = Number.NaN;
  /** On threads: the moving average of the steps' times, their sum and count (each capped). */
  #avgMs = Number.NaN;
  /**
   * On threads: what the last step's bookkeeping took after its sample was taken (the
   * averages, the counts, the next grant), added to the next step's sample. Timed from
   * the cadence's start to its end, warm steps at 1e5 in a training loop (20 ms passes)
   * read 78–81 µs where 11–17 µs more of the streak's own code ran around them (3.5–6 on
   * its way in, 7–10 after its sample), which a lean step does not run: in a process
   * warmed by the bench's patterns, the choice held threads that cost 1.05–1.16×.
   */
  #tailMs = 0;
  #sumMs = 0;
  #timedSteps = 0;
  /**
   * Lean steps the executor may run next: alone, untimed, not the streak's last. The
   * executor runs them as the fault read and the step alone, with no call into the streak,
   * and calls step() only once it has run them all; end(left) where it stops with some left.
   * In a training loop every line a step runs is cold, and each level of calls between the
   * optimizer and the kernel cost 1–2 µs at 1e5 (5 ms between steps), where the step alone
   * takes about 120 µs. They count as the streak's at its next step or its end.
   *
   * A lean step reads the fault word where the executor's count of them left, decremented,
   * is a multiple of FAULT_EVERY (the grant's last lean step among them). That read was a
   * full step of the streak once, and cost it 1.1–1.8× a step alone at 1e5 (20 ms passes):
   * code run that rarely stays cold and unoptimized, where the lean path's is hot.
   */
  get lean(): number {
    return this.#granted;
  }
  #granted = 0;

  constructor(
    readonly job: PoolJob,
    readonly choice: ThreadChoice,
    readonly alone: CallerExecutor,
    readonly region: Region,
    /** The test hooks (src/pool/testing.ts): a fixed thread count ends the streak. */
    readonly testing: { readonly threads: number | undefined },
  ) {}

  /** After a decided step: the next `left` steps run on `threads` threads (1: alone); `wantsWarm`, the choice's. */
  begin(left: number, threads: number, wantsWarm: boolean): void {
    this.#left = left;
    this.#threads = threads;
    this.#timed = threads > 1 || wantsWarm;
    this.#wanted = wantsWarm;
    if (left > 0 && !this.#timed) this.job.untimed();
    this.#avgMs = threads > 1 ? this.choice.warmMs(threads) : Number.NaN;
    this.#grant();
  }

  /**
   * The next step, where the executor ran no lean one (see lean), if it belongs to a streak:
   * its first bad index or −1; undefined where no streak runs, or the workers are no longer
   * as it found them, or a test fixes the thread count (the streak ended: the choice decides).
   */
  step(heap: Heap, jobs: UnitJob[]): number | undefined {
    // On threads a step is timed from here to the end of its bookkeeping (see below). Not
    // alone: a lean step is alone.run and nothing else.
    const entered = this.#threads > 1 ? performance.now() : 0;
    this.#settle();
    if (this.#left === 0) return undefined;
    if (this.testing.threads !== undefined) return this.#stop();
    const { job } = this;
    const threads = this.#threads;
    const timed = this.#timed;
    if (threads > 1 ? job.awake() < threads - 1 : timed && job.awake() !== 0) return this.#stop();
    const sample = timed || this.#left === 1;
    let t0 = 0;
    let bad: number;
    try {
      // A fault (the fault word, read here alone and at a region's start, or a worker lost
      // in a region) refuses the step and ends the streak, as at a decided step.
      if (threads === 1) job.check();
      if (sample) t0 = performance.now();
      if (timed) job.started(t0);
      bad = threads === 1 ? this.alone.run(heap, jobs) : this.region(heap, jobs, threads);
    } catch (error) {
      this.end();
      throw error;
    }
    let slower = false;
    let t1 = 0;
    let sampled = 0;
    if (sample) {
      t1 = performance.now();
      // The end of the step: the cadence's gap, and the workers' next wake.
      if (timed) job.ended(t1, this.#wanted);
      if (bad < 0 && threads > 1) {
        // On threads every step is timed, with what the streak does around its region each
        // step (its own code on the way in and after the sample, the workers' sleep words,
        // the cadence's start and end): what a step on threads costs beyond a lean step
        // alone, which is alone.run and nothing else.
        // Timed by the region alone, warm threads at 1e5 in a training loop measured
        // 0.085–0.097 ms where their steps took 5–15 µs more than the caller's alone, and
        // the choice kept them. Their moving average, from the choice's warm
        // estimate on (one slow step counting at most OUTLIER times it, as in the choice),
        // ends the streak where a step alone would win by the choice's margin (SWITCH): a
        // core taken by other work (another process, a neighbour on a virtual machine) made
        // warm steps at 8e5 1.1–1.4× a step alone for dozens of steps, which a streak ran
        // blind to its end. The choice's sample is the mean of the streak's steps (capped as
        // the average is): the average where it crossed would hand it only slow news.
        sampled = performance.now();
        const ms = sampled - entered + this.#tailMs;
        this.#sumMs += ThreadChoice.capped(this.#avgMs, ms);
        this.#avgMs = ThreadChoice.average(this.#avgMs, ms);
        this.#timedSteps++;
        slower = (1 - ThreadChoice.SWITCH) * this.#avgMs > this.choice.aloneMs;
      } else if (bad < 0) {
        this.#lastMs = t1 - t0;
      }
    }
    this.#ran++;
    if (--this.#left === 0 || slower) {
      this.end();
      // An untimed streak alone ends where the choice decides next: where a try of threads
      // is due then, the cadence learns this step's end and publishes the window, so that
      // the workers are awake for the try (the streak ran up to it: ThreadChoice.streak).
      if (!timed && threads === 1 && this.choice.wantsWarm) job.ended(t1, true);
    } else {
      this.#grant();
      // What this step's bookkeeping took after its sample: the next sample's.
      if (sampled > 0) this.#tailMs = performance.now() - sampled;
    }
    return bad;
  }

  /**
   * Ends the streak: the choice counts its steps, and learns from its last (on threads, from
   * their mean). `left`: lean steps granted that did not run (a lean step that threw is one).
   */
  end(left = 0): void {
    this.#settle(left);
    const ran = this.#ran;
    const alone = this.#threads === 1;
    // NaN where no step was timed: the choice learns nothing.
    const sample = alone ? this.#lastMs : this.#sumMs / this.#timedSteps;
    this.choice.skipped(ran, this.#threads, alone && this.#timed ? ran : 0, sample);
    this.#left = this.#ran = this.#sumMs = this.#timedSteps = 0;
    this.#lastMs = Number.NaN;
  }

  /** The lean steps that can run from here: all but the last. */
  #grant(): void {
    if (this.#threads > 1 || this.#timed) return;
    this.#granted = Math.max(0, this.#left - 1);
  }

  /** Counts the lean steps run since the last grant (all but `left` of them) as the streak's. */
  #settle(left = 0): void {
    const ran = this.#granted - left;
    this.#ran += ran;
    this.#left -= ran;
    this.#granted = 0;
  }

  #stop(): undefined {
    this.end();
    return undefined;
  }
}
