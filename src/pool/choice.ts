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
// when the load that made it slow has gone; an outlier (over OUTLIER times the average)
// only joins the average, as any slow step does, and the try's loss is charged as that.

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
  static readonly TRY_SHARE = 0.01;
  static readonly OUTLIER = 2;
  static readonly STALE = 256;
  /**
   * How far the horizon of staleness grows: doubled from STALE at each re-measure of a stale
   * way and each time the cadence gives up, back to STALE when the held way changes. In a
   * training loop where threads lose (n = 1e5) each re-measure, the cadence's wakes for it
   * included, cost some 3% of the time once in STALE steps. The tries on the budget
   * (TRY_SHARE) go on as before.
   */
  static readonly STALE_MOST = 4096; // 16 × STALE
  static readonly UNREACHED = 32;
  /**
   * Steps a try lasts: the first steps on threads after steps alone move half the arrays to
   * another core's cache, so a one-step try measures the move, not the steady state
   * (back-to-back at 5e4 it looked 1.5× slower than alone where threads are 1.7× faster).
   * The same holds the other way: the first steps alone after threaded ones fetch the
   * workers' half back, and decided steps run cold bookkeeping that a streak's do not. Each
   * step of the try replaces the estimate (unless it is an outlier: #add), so its last
   * stands. A try of threads that finds its workers asleep ends at once (a training loop's).
   */
  static readonly TRY_RUN = 4;
  /** How much cheaper per step another way must be than the one the steps run on to take over. */
  static readonly SWITCH = 0.1;
  /** What the moving average of p (how often workers are found awake after a threaded step) keeps of itself per step. */
  static readonly AWAKE_KEEP = 0.875;
  /**
   * The longest streak of steps run without asking (streak). Each decided step
   * costs the executor's and the choice's bookkeeping, cold in a training loop: at n = 1e5
   * 0.7–1.1 steps more than the step: once in 64 steps, some 1–2% of the time.
   */
  static readonly STREAK = 256;

  /**
   * A step's time into a moving average of them: one slow step (a GC pause, a preempted
   * worker) counts at most OUTLIER times the average; an average not yet made (NaN) or of 0
   * (a coarse clock) is replaced by it. Also the streak's average on threads.
   */
  static average(avg: number, ms: number): number {
    return avg > 0 ? 0.75 * avg + 0.25 * ThreadChoice.capped(avg, ms) : ms;
  }

  /** A step's time as the average counts it: at most OUTLIER times the average (where there is one). */
  static capped(avg: number, ms: number): number {
    return avg > 0 ? Math.min(ms, ThreadChoice.OUTLIER * avg) : ms;
  }

  /** The thread counts it chooses among: 1 and powers of two up to the pool's threads, and the pool's threads. */
  readonly counts: readonly number[];
  readonly #alone = unknown();
  readonly #warm: Cost[];
  readonly #cold: Cost[];
  /**
   * How often a step after a threaded one finds its workers awake (p, a moving average that
   * keeps AWAKE_KEEP of itself at each step), and the last step's thread count if it was threaded.
   */
  #awakeAfter = { p: 0, samples: 0, threads: 0 };
  /** Decisions so far: the clock of each cost's `at`. */
  #decisions = 0;
  /** Steps in a row that found the workers asleep though wanted awake, and when the cadence last gave up. */
  #misses = 0;
  #unreached = -Infinity;
  #untilTry = 2;
  #tryEvery = 2;
  #waitMs = 0;
  /** The last decision, one object reused (opt.threading copies it). */
  readonly #last: { threads: number; woke: boolean; trying: boolean } = { threads: 1, woke: false, trying: false };
  /** Workers awake when the last step was decided. */
  #awake = 0;
  /** The way (index in counts) the steps run on: the last one decided that was not a try. */
  #held = 0;
  /** Decisions after which a cost is stale (STALE to STALE_MOST). */
  #staleAfter = ThreadChoice.STALE;
  /** Steps left in the current try of threads (see TRY_RUN), and what its steps lost so far (ms). */
  #tryLeft = 0;
  #tryLoss = 0;
  /** What a decided step's bookkeeping costs lately (ms, a moving average): charged to each try. */
  #decidedMs = 0;

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

  /** What a step alone costs lately (ms; NaN until measured). */
  get aloneMs(): number {
    return this.#alone.ms;
  }

  /** What a step on `threads` threads with the workers awake costs lately (ms; NaN until measured). */
  warmMs(threads: number): number {
    return this.#costOf(threads).ms;
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
    // Allocation-free, as the whole step path: in a training loop every step runs with
    // the caches cold, and each object or line of code it touches costs a miss.
    this.#decisions++;
    this.#missed(awake);
    const after = this.#awakeAfter;
    if (after.threads > 1) {
      const hit = awake >= after.threads - 1 ? 1 : 0;
      after.p = after.samples++ === 0 ? hit : ThreadChoice.AWAKE_KEEP * after.p + (1 - ThreadChoice.AWAKE_KEEP) * hit;
    }
    const last = this.#last;
    if (this.#tryLeft > 0 && last.trying && (last.threads === 1 || awake >= last.threads - 1)) {
      // The try goes on (on threads, warm): the same way, as a try.
      this.#tryLeft--;
      this.#awake = awake;
      last.woke = false;
      return last;
    }
    this.#tryLeft = 0;
    const ways = this.counts.length;
    // A way never measured in this state, or not for #staleAfter decisions, is taken first, the
    // most threads first (a stale one once: its fresh sample replaces the old average,
    // unless it is an outlier: #add).
    let pick = -1;
    let stale = false;
    for (let i = ways - 1; i >= 0 && pick < 0; i--) {
      const cost = this.#sample(i, awake);
      if (cost.samples < 2) pick = i;
      else if (this.#decisions - cost.at > this.#staleAfter) (pick = i), (stale = true);
    }
    if (stale) this.#staleAfter = Math.min(2 * this.#staleAfter, ThreadChoice.STALE_MOST);
    let trying = stale;
    if (pick < 0) {
      pick = 0;
      for (let i = 1; i < ways; i++) if (this.#cost(i, awake) < this.#cost(pick, awake)) pick = i;
      // Another way than the one the steps run on must win by SWITCH: a change moves the
      // arrays between the cores' caches, and ways within the noise of each other would
      // take turns, each paying it.
      const held = this.#held;
      if (pick !== held && !(this.#cost(pick, awake) < (1 - ThreadChoice.SWITCH) * this.#cost(held, awake))) pick = held;
      if (--this.#untilTry <= 0 && this.#waitMs <= 0) {
        // A try of the way measured least recently among the others.
        let stalest = -1;
        for (let i = 0; i < ways; i++) {
          if (i !== pick && (stalest < 0 || this.#sample(i, awake).at < this.#sample(stalest, awake).at)) stalest = i;
        }
        if (stalest >= 0) {
          pick = stalest;
          trying = true;
        }
        this.#tryEvery = Math.min(2 * this.#tryEvery, ThreadChoice.EXPLORE);
        this.#untilTry = this.#tryEvery;
      }
    }
    const k = this.counts[pick];
    if (!trying && pick !== this.#held) this.#hold(pick);
    this.#awake = awake;
    if (trying) this.#tryLeft = ThreadChoice.TRY_RUN - 1;
    this.#tryLoss = 0;
    last.threads = k;
    last.woke = k > 1 && awake < k - 1;
    last.trying = trying;
    return last;
  }

  /**
   * The steps run on way `pick` from now: its horizon of staleness starts again, and so does
   * the cadence, if it was given up. It gave up on steps that found their workers asleep
   * (steps alone, say, at a window not yet learnt), and whether the workers wake for the new
   * way's steps is a new question: after 32 steps alone that gave the cadence up, woken
   * threads won at 8e5 (5 ms passes) and ran cold at every step for the 256 decisions the
   * give-up lasted, at 0.8–0.9× one thread where warm ones run at 0.65×. Should the workers
   * still sleep through the window, the cadence gives up again after UNREACHED steps.
   *
   * The wait for a try starts again too: it paid for tries of the way that lost then, and
   * the way just left is the one to try now. At 8e5 in a training loop threaded steps ran
   * at 0.75–0.8 ms for some 30 steps where they take 0.42 (a step alone 0.66; another load
   * on the workers' core, most likely); the choice went alone, but the wait that a try of a
   * step alone had set at the start (charged the cold JIT's bookkeeping, milliseconds a
   * decided step) held off every try of threads: alone for the rest of the row, 1.0× one
   * thread.
   */
  #hold(pick: number): void {
    this.#held = pick;
    this.#waitMs = 0;
    this.#staleAfter = ThreadChoice.STALE;
    this.#unreached = -Infinity;
    this.#misses = 0;
  }

  /**
   * After a decision that was not a try, with the workers as the way wants them (asleep
   * for a step alone, awake for threads): how many of the next steps would be decided the
   * same with no try due, as long as they find the workers so. The executor runs them
   * without asking (in a training loop a step runs once in many milliseconds, its
   * bookkeeping never gets compiled, and every line of it costs), and tells the choice with
   * `skipped`. A streak on threads may end sooner, where its steps turn slower than a step
   * alone (src/streak.ts).
   */
  streak(): number {
    const last = this.#last;
    const k = last.threads;
    if (last.trying || (k === 1 ? this.#awake > 0 : this.#awake < k - 1)) return 0;
    // While warm workers are wanted, the steps alone may find them asleep: the cadence
    // gives up after UNREACHED such steps, which the choice counts at the streak's end.
    const most = k === 1 && this.wantsWarm ? ThreadChoice.UNREACHED : ThreadChoice.STREAK;
    // A try is due once both counts have run out: the later of the two, at most `most`
    // steps on (the state is looked at again then). The try is the decision after the
    // streak: it counts untilTry down first, so the streak ends one step short of that
    // count, but the wait must be over when it decides (it was one step short, and that
    // step was decided too: once per try, 1.7–2.5× a step alone at 1e5 in a training loop).
    const ms = this.#costOf(k).ms;
    const waiting = this.#waitMs > 0 && ms > 0 ? Math.ceil(this.#waitMs / ms) : 0;
    // Nor past the step where another way goes stale and is re-measured: that is the
    // decision after the streak (it counts itself first, as the try's does).
    let fresh = Number.POSITIVE_INFINITY;
    for (let i = 0; i < this.counts.length; i++) {
      if (this.counts[i] !== k) fresh = Math.min(fresh, this.#staleAfter - (this.#decisions - this.#sample(i, this.#awake).at));
    }
    return Math.max(0, Math.min(most, fresh, Math.max(this.#untilTry - 1, waiting)));
  }

  /**
   * `steps` steps ran on `threads` threads in a streak (see streak), as the last decision
   * did; `asleep` of them (alone) found the workers asleep while they were wanted awake,
   * and `lastMs` (NaN: not timed) is a sample of its way: alone, the last step's time; on
   * threads, the mean of the streak's steps.
   */
  skipped(steps: number, threads: number, asleep = 0, lastMs = Number.NaN): void {
    const cost = this.#costOf(threads);
    this.#decisions += steps;
    for (let k = 0; k < asleep; k++) this.#missed(0);
    this.#untilTry -= steps;
    // NaN where the way was not measured yet (its first steps refused by the scan).
    if (cost.ms > 0) this.#waitMs -= steps * cost.ms;
    // Every step of a threaded streak found its workers awake: `steps` hits at once.
    const after = this.#awakeAfter;
    if (threads > 1 && steps > 0) {
      after.p = after.samples === 0 ? 1 : 1 - (1 - after.p) * ThreadChoice.AWAKE_KEEP ** steps;
      after.samples += steps;
    }
    if (lastMs >= 0) this.#add(cost, lastMs, false);
  }

  /** The cost of running on `threads` threads in the state a streak keeps: alone, or warm. */
  #costOf(threads: number): Cost {
    return threads === 1 ? this.#alone : this.#warm[this.counts.indexOf(threads)];
  }

  /**
   * Whether warm threads would beat the caller alone, are not measured yet, or were
   * measured long ago (#staleAfter decisions): worth having the workers awake for the next step
   * (the cadence), so that warm steps happen and are measured at all.
   */
  get wantsWarm(): boolean {
    // Where the workers were wanted awake for UNREACHED decisions and never were (steps too
    // irregular for the cadence), leave them be for #staleAfter decisions.
    if (this.#decisions - this.#unreached < this.#staleAfter) return false;
    // A try of threads is due at the next decision: warm, as the cadence keeps the workers
    // for threads that win. A woken try measures the wake, and an idle core's wake on a
    // virtual machine took up to 0.5 ms at 8e5 (1.2–1.7× a step alone), so woken tries kept
    // losing to a warm estimate the JIT's first steps had made, and never measured it again.
    if (this.#held === 0 && this.#untilTry <= 1 && this.#waitMs <= 0) return true;
    // While the steps run alone, warm threads must win by SWITCH to take over (decide()):
    // a worker woken for less would be sent back to sleep by a step alone every time.
    const bar = (this.#held === 0 ? 1 - ThreadChoice.SWITCH : 1) * this.#alone.ms;
    for (let i = 1; i < this.counts.length; i++) {
      const warm = this.#warm[i];
      if (warm.samples < 2 || !(warm.ms >= bar) || this.#decisions - warm.at > this.#staleAfter) return true;
    }
    return false;
  }

  /**
   * A step found the workers asleep while they were wanted awake: after UNREACHED such
   * steps in a row, the cadence gives up on them for #staleAfter decisions (doubled each time).
   */
  #missed(awake: number): void {
    if (awake > 0 || !this.wantsWarm) {
      this.#misses = 0;
      return;
    }
    if (++this.#misses >= ThreadChoice.UNREACHED) {
      this.#unreached = this.#decisions;
      this.#staleAfter = Math.min(2 * this.#staleAfter, ThreadChoice.STALE_MOST);
      this.#misses = 0;
    }
  }

  /**
   * The step decided last took `ms`, and a decided step's bookkeeping `overheadMs` (the
   * executor's and the choice's, before its way began and after the last one's ended: not
   * charged to the way, but to the tries).
   */
  record(ms: number, overheadMs = 0): void {
    const { threads, woke, trying } = this.#last;
    if (overheadMs >= 0) this.#decidedMs = 0.75 * this.#decidedMs + 0.25 * overheadMs;
    const i = this.counts.indexOf(threads);
    const best = this.#bestCost(this.#awake);
    this.#waitMs -= ms;
    const cost = threads === 1 ? this.#alone : woke ? this.#cold[i] : this.#warm[i];
    this.#add(cost, ms, trying);
    if (threads > 1 && woke) {
      // Awake, the same step could only have been faster (once awake steps have been seen:
      // until then warm is unknown, and worth finding out).
      if (this.#warm[i].samples > 0 && this.#warm[i].ms > cost.ms) this.#warm[i].ms = cost.ms;
    } else if (threads > 1 && this.#cold[i].ms < cost.ms) {
      this.#cold[i].ms = cost.ms;
    }
    // The wait after a try pays for all its steps' losses, each what the way is estimated to
    // cost after it: the step itself, unless it was an outlier (#add).
    // A try is also charged, once, the bookkeeping of the decided steps it brings: it breaks
    // a streak, and the try and the step after it are decided (in a training loop at 1e5,
    // 0.03–0.2 ms each, cold). Warm tries there lose only 0.2 of a step: charged that alone,
    // they came every 20 steps, and their decided steps cost more than they lost.
    if (trying && Number.isFinite(best)) {
      if (this.#tryLoss === 0) this.#tryLoss = 2 * this.#decidedMs;
      this.#waitMs = (this.#tryLoss += Math.max(0, cost.ms - best)) / ThreadChoice.TRY_SHARE;
    }
    this.#awakeAfter.threads = threads;
  }

  /**
   * A sample of a way. A fresh one (a try) replaces the average, so one try brings back a
   * way that lost under a load now gone, unless it is an outlier, over OUTLIER times the
   * average: one step that met a GC pause or a compile is not the way's cost. A try that
   * met a 3 ms pause at 8e5 (where threads take 0.5 ms) stood as the way's cost, and the
   * wait for its loss kept a training loop alone for 250 steps.
   */
  #add(cost: Cost, ms: number, fresh: boolean): void {
    const n = ++cost.samples;
    cost.at = this.#decisions;
    // Of a way's first two samples the lower stands: either may pay for a cold JIT (the
    // caller's first step; on threads, the workers' code still tiering up). The second
    // replaced the first once, and at 8e5 in a training loop (20 ms passes) two fresh
    // optimizers in twenty met a second warm step of 4.5 ms where warm ones take 0.45: it
    // stood as their cost, the try after it lost 1.6 ms, and the wait for that kept the
    // loop alone for some 230 steps, 1.0× one thread where threads give 0.7×.
    // An average of 0 (a coarse clock, a tiny step) caps nothing: the sample replaces it.
    if (n === 2) cost.ms = Math.min(cost.ms, ms);
    else if (n === 1 || (fresh && ms <= ThreadChoice.OUTLIER * cost.ms)) cost.ms = ms;
    else cost.ms = ThreadChoice.average(cost.ms, ms);
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
