// How many threads a step runs on: alone on the caller (the one-thread step), or k threads
// of the pool, chosen before each step by what each way has cost per step lately, in the
// state the pool is in at that moment. The pthreadpool idea of one parallel region per
// operation, with the thread count OpenMP leaves to the user made by measurement.
//
// The state matters more than anything: a step that finds its workers awake (back-to-back
// steps, or a worker that woke for the step on the cadence) pays only the region, while one
// that must wake them pays a system call (tens of microseconds on a virtual machine) and
// the sleepers' wake-up. So each threaded way keeps two costs, warm (enough workers awake)
// and cold (some must be woken), and a cold step is judged with the warm steps it buys: if
// a step after a threaded one finds its workers awake with probability p (measured on
// every such step, whatever the choice was before), a wake buys R = p / (1 − p) warm steps
// on average, so waking costs (cold + R·warm) / (1 + R) per step against alone. A wake
// only adds to a step, so a cold cost bounds the warm one from above, and a warm one the
// cold one from below: a measurement of either keeps the other honest.
//
// Each cost is a moving average of single steps, one slow step (a GC pause, a preempted
// worker) counting at most OUTLIER times the average. The way not taken is tried again
// after 2, 4, 8 and then every EXPLORE choices, and a try that lost waits until the steps
// since have taken 1/TRY_SHARE times what it lost, so tries cost about TRY_SHARE of the
// time. A try's cost replaces its way's old average, so one good try brings a way back
// when the load that made it slow has gone.

/** What the choice knows of one way: its average ms per step, how many steps it has seen, and when it saw the last. */
interface Cost {
  ms: number;
  samples: number;
  at: number;
}

const unknown = (): Cost => ({ ms: Number.NaN, samples: 0, at: -1 });

/** Why the last step ran as it did, readable on the optimizer (opt.threading). */
export interface ThreadDecision {
  /** Threads the step ran on (1: alone on the caller). */
  readonly threads: number;
  /** Whether it woke sleeping workers. */
  readonly woke: boolean;
  /** Whether it was a try of a way that looked slower. */
  readonly trying: boolean;
}

/** The choice's estimates in ms per step, by way; NaN until measured. */
export interface ThreadEstimates {
  readonly alone: number;
  /** Per thread count k > 1: with the workers awake, and when they must be woken. */
  readonly threaded: readonly { readonly threads: number; readonly warm: number; readonly cold: number }[];
  /** Back-to-back threaded steps that follow a wake, on average. */
  readonly warmRun: number;
}

export class ThreadChoice {
  static readonly EXPLORE = 16;
  static readonly TRY_SHARE = 0.02;
  static readonly OUTLIER = 2;

  /** The thread counts it chooses among: 1 and powers of two up to the pool's threads, and the pool's threads. */
  readonly counts: readonly number[];
  readonly #alone = unknown();
  readonly #warm: Cost[];
  readonly #cold: Cost[];
  /** How often a step after a threaded one finds its workers awake (p), and the last step's thread count if it was threaded. */
  #awakeAfter = { p: 0, samples: 0, threads: 0 };
  /** Decisions so far: the clock of each cost's `at`. */
  #decisions = 0;
  #untilTry = 2;
  #tryEvery = 2;
  #waitMs = 0;
  #last: ThreadDecision = { threads: 1, woke: false, trying: false };
  /** Workers awake when the last step was decided. */
  #awake = 0;

  constructor(threads: number) {
    const counts = [1];
    for (let k = 2; k < threads; k *= 2) counts.push(k);
    if (threads > 1) counts.push(threads);
    this.counts = counts;
    this.#warm = counts.map(unknown);
    this.#cold = counts.map(unknown);
  }

  /** The last step's way. */
  get last(): ThreadDecision {
    return this.#last;
  }

  get estimates(): ThreadEstimates {
    return {
      alone: this.#alone.ms,
      threaded: this.counts.slice(1).map((threads, i) => ({ threads, warm: this.#warm[i + 1].ms, cold: this.#cold[i + 1].ms })),
      warmRun: this.#warmRun(),
    };
  }

  /**
   * Before a step, with `awake` of the pool's workers awake: the thread count to run it on
   * (1: alone), and whether that is a try.
   */
  decide(awake: number): ThreadDecision {
    this.#decisions++;
    const after = this.#awakeAfter;
    if (after.threads > 1) {
      const hit = awake >= after.threads - 1 ? 1 : 0;
      after.p = after.samples++ === 0 ? hit : 0.875 * after.p + 0.125 * hit;
    }
    const ways = this.counts.map((k, i) => ({ k, i, cost: this.#cost(i, awake) }));
    // A way never measured in this state is taken first, the most threads first.
    const untried = [...ways].reverse().find((w) => this.#sample(w.i, awake).samples < 2);
    let pick = untried ?? ways.reduce((a, b) => (b.cost < a.cost ? b : a));
    let trying = false;
    if (!untried && --this.#untilTry <= 0 && this.#waitMs <= 0) {
      // A try of the way measured least recently among the others.
      const others = ways.filter((w) => w.i !== pick.i);
      if (others.length > 0) {
        pick = others.reduce((a, b) => (this.#sample(b.i, awake).at < this.#sample(a.i, awake).at ? b : a));
        trying = true;
      }
      this.#tryEvery = Math.min(2 * this.#tryEvery, ThreadChoice.EXPLORE);
      this.#untilTry = this.#tryEvery;
    }
    this.#awake = awake;
    this.#last = { threads: pick.k, woke: pick.k > 1 && awake < pick.k - 1, trying };
    return this.#last;
  }

  /** The step decided last took `ms`. */
  record(ms: number): void {
    const { threads, woke, trying } = this.#last;
    const i = this.counts.indexOf(threads);
    const best = this.#bestCost(this.#awake);
    this.#waitMs -= ms;
    if (trying && Number.isFinite(best)) this.#waitMs = Math.max(0, ms - best) / ThreadChoice.TRY_SHARE;
    if (threads === 1) {
      this.#add(this.#alone, ms, trying);
    } else if (woke) {
      this.#add(this.#cold[i], ms, trying);
      // Awake, the same step could only have been faster.
      if (!(this.#warm[i].ms <= this.#cold[i].ms)) this.#warm[i].ms = this.#cold[i].ms;
    } else {
      this.#add(this.#warm[i], ms, trying);
      if (this.#cold[i].ms < this.#warm[i].ms) this.#cold[i].ms = this.#warm[i].ms;
    }
    this.#awakeAfter.threads = threads;
  }

  #add(cost: Cost, ms: number, fresh: boolean): void {
    const n = ++cost.samples;
    cost.at = this.#decisions;
    // The first sample of each way is replaced by the second: it pays for a cold JIT.
    if (n <= 2 || fresh || !Number.isFinite(cost.ms)) cost.ms = ms;
    else cost.ms = 0.75 * cost.ms + 0.25 * Math.min(ms, ThreadChoice.OUTLIER * cost.ms);
  }

  /** Warm steps a wake buys on average: p / (1 − p), at most 64. */
  #warmRun(): number {
    const p = this.#awakeAfter.p;
    return p >= 64 / 65 ? 64 : p / (1 - p);
  }

  #sample(i: number, awake: number): Cost {
    if (i === 0) return this.#alone;
    return awake >= this.counts[i] - 1 ? this.#warm[i] : this.#cold[i];
  }

  /** What way i costs per step when `awake` workers are awake now. */
  #cost(i: number, awake: number): number {
    if (i === 0) return this.#alone.ms;
    const warm = this.#warm[i].ms;
    if (awake >= this.counts[i] - 1) return warm;
    // A wake buys the warm steps after it.
    const r = this.#warmRun();
    return Number.isFinite(warm) ? (this.#cold[i].ms + r * warm) / (1 + r) : this.#cold[i].ms;
  }

  /** The lowest known cost with `awake` workers awake. */
  #bestCost(awake: number): number {
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.#cost(i, awake);
      if (c < best) best = c;
    }
    return best;
  }
}
