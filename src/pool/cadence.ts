// The cadence of the opener's steps, so that sleeping workers can be awake when a step
// comes instead of being woken by it. In a training loop the forward and backward pass
// between two steps takes about as long each time, far longer than threadSpinMs, so the
// workers are asleep at every step, and waking them costs the caller a system call (tens
// of microseconds on a virtual machine, a fifth of a step at n = 1e5) and the sleeper a
// wake-up (50–150 µs here, the step's whole length at n = 1e5).
//
// The opener measures the gap from the end of each step to the start of the next, and
// keeps running estimates of three of its quantiles: the 10th (EARLY), the median and the
// 90th (LATE). It publishes when the last step ended and the window [EARLY, LATE] after it
// where nine steps in ten should start; a sleeping worker sets a timer for the window's
// opening (less its own timer's lateness) and polls through it, and sleeps on if nothing
// came. Steps are skewed (a pass is never much shorter than usual, sometimes much longer),
// so the window is too.
//
// The window is published while any job of the pool wants warm workers for its next step
// (each says so at its steps' ends) and some job said so within MAX_GAP_US: kept by
// whichever step ended last, an optimizer running alone closed the window another had
// opened, and the other's next step reopened it with a notify per sleeping worker
// (docs/threads.md); kept for a job that stopped stepping (frozen, or kept after its
// training), the window would wake the workers for another's steps alone, and their
// choice, finding them awake, would decide every step. The gaps are the pool's, between any
// two steps that tell the cadence (a streak alone does not).
//
// Only where it is cheap: a window longer than BUDGET of the median gap, or MAX_WINDOW_US,
// is cut to that length around the median, so a worker polls for at most that share of a
// core and sleeps through the rest of the gap; gaps under MIN_GAP_US find the workers still
// polling from the last step; and the caller publishes no cadence when threads would not be
// used even awake.
import { CTRL } from "./control-block.ts";
import { MAX_JOBS } from "./region.ts";

/** The most of the median gap between steps a worker spends polling for the next step. */
export const BUDGET = 0.1;
/** The most a worker polls for one step (µs). */
export const MAX_WINDOW_US = 2000;
/** The shortest window worth waking for (µs): a timer runs up to 50 µs late on Linux. */
export const MIN_WINDOW_US = 100;
/** Gaps shorter than this (µs) find the workers still polling from the last step. */
const MIN_GAP_US = 1000;
/** Gaps longer than this (µs) are pauses, not a cadence. */
const MAX_GAP_US = 1_000_000;
/**
 * Gaps in a row on one side of [EARLY, LATE] after which the estimates start again from the
 * last one: the cadence changed. Four in a row below the 10th percentile (or above the
 * 90th) come once in 10,000 steps of a steady loop.
 */
export const JUMP_AFTER = 4;

/** Microseconds on the pool's clock: since `epoch` (ms, on the performance.timeOrigin scale), wrapping at 2^31. */
export function clockUs(epoch: number): number {
  return Math.round((performance.timeOrigin + performance.now() - epoch) * 1000) | 0;
}

/** An epoch for a new pool's clock. */
export const newEpoch = (): number => performance.timeOrigin + performance.now();

/**
 * A running estimate of quantile q of a stream, by stochastic approximation: up by q of a
 * step when a sample is above it, down by 1 − q below, so it rests where a share 1 − q of
 * the samples is above; a sample equal to it leaves it. The step follows a change within a
 * few samples.
 */
function track(estimate: number, sample: number, q: number, step: number): number {
  return estimate + (sample > estimate ? q : sample < estimate ? q - 1 : 0) * step;
}

/** The opener's side: measures the gaps between its steps and publishes the cadence. */
export class Cadence {
  #early = Number.NaN;
  #median = Number.NaN;
  #late = Number.NaN;
  #endedAt = Number.NaN;
  /** Gaps in a row below EARLY (negative) or above LATE (positive). */
  #outside = 0;
  /** The window published now (µs after END), or none (EARLY 0); reused: a step allocates nothing. */
  readonly #published = { early: 0, late: 0 };
  /** Per job slot, whether its last step wanted warm workers next (1), and how many do. */
  readonly #wants = new Uint8Array(MAX_JOBS + 1);
  #wanting = 0;
  /** When a step that wanted warm workers last ended (performance.now()). */
  #wantedAt = Number.NaN;

  constructor(
    readonly ctrl: Int32Array,
    readonly epoch: number,
  ) {}

  /** A step starts now (performance.now()): the gap since the last one ended is a sample. */
  started(now: number): void {
    if (Number.isNaN(this.#endedAt)) return;
    const gap = (now - this.#endedAt) * 1000;
    if (gap > MAX_GAP_US) {
      this.#outside = 0;
      return;
    }
    // The first gap, or the cadence changed faster than the estimates follow (each moves
    // by a step of a few % of the gap): the first gaps, slowed by the JIT, took 4.5–4.8 ms
    // at 8e5 with 1 ms passes, the rest 2.7–3.0, and the window stood after the steps for
    // 20 steps, long enough for the choice to give the cadence up.
    const side = gap < this.#early ? -1 : gap > this.#late ? 1 : 0;
    this.#outside = side !== 0 && Math.sign(this.#outside) === side ? this.#outside + side : side;
    if (Number.isNaN(this.#median) || Math.abs(this.#outside) >= JUMP_AFTER) {
      this.#early = this.#median = this.#late = gap;
      this.#outside = 0;
      return;
    }
    // The step of all three: a quarter of the spread, and at least 2% of the median gap.
    const step = Math.max(0.02 * this.#median, (this.#late - this.#early) / 4, 4);
    this.#early = track(this.#early, gap, 0.1, step);
    this.#median = track(this.#median, gap, 0.5, step);
    this.#late = Math.max(this.#early, track(this.#late, gap, 0.9, step));
  }

  /**
   * A step of job `job` (its pool slot) ended now; `wanted`: whether that job's next step
   * would use warm workers. Publishes when it ended and, where the cadence is regular enough
   * and some job wants them, the window to wake for. True where that window is published
   * and none was, or after a pause: a worker that went to sleep with no window to follow
   * sleeps until woken, and must be woken to read it.
   */
  ended(now: number, wanted: boolean, job = 0): boolean {
    // After a pause (no step ended for MAX_GAP_US) the workers stopped looking for steps
    // and sleep until woken, though the window stands (see prewake).
    const paused = !((now - this.#endedAt) * 1000 <= MAX_GAP_US);
    this.#endedAt = now;
    this.#want(job, wanted);
    if (wanted) this.#wantedAt = now;
    const published = this.#published;
    // The window [early, late] (µs after this end), or early 0 for none.
    let early = 0, late = 0;
    const median = this.#median;
    if (this.#wanting > 0 && (now - this.#wantedAt) * 1000 <= MAX_GAP_US && median >= MIN_GAP_US) {
      early = this.#early - MIN_WINDOW_US / 2;
      late = this.#late + MIN_WINDOW_US / 2;
      const most = Math.min(BUDGET * median, MAX_WINDOW_US);
      if (late - early > most) {
        // Cut to the budget around the median, keeping the side of the longer tail.
        early = Math.max(early, median - most / 2);
        late = early + most;
      }
      early = Math.max(1, Math.round(early));
      late = Math.round(late);
    }
    const opened = early > 0 && (published.early === 0 || paused);
    if (early > 0) {
      Atomics.store(this.ctrl, CTRL.END, this.#clock(now));
      if (early !== published.early || late !== published.late) {
        Atomics.store(this.ctrl, CTRL.LATE, late);
        Atomics.store(this.ctrl, CTRL.EARLY, early);
      }
    } else if (published.early !== 0) {
      Atomics.store(this.ctrl, CTRL.EARLY, 0);
    }
    published.early = early;
    published.late = late;
    return opened;
  }

  /** Job `job` left the pool: it wants nothing more, and where no job wants the window, it closes. */
  drop(job: number): void {
    this.#want(job, false);
    if (this.#wanting === 0 && this.#published.early !== 0) {
      Atomics.store(this.ctrl, CTRL.EARLY, 0);
      this.#published.early = this.#published.late = 0;
    }
  }

  #want(job: number, wanted: boolean): void {
    const was = this.#wants[job] === 1;
    if (was === wanted) return;
    this.#wants[job] = wanted ? 1 : 0;
    this.#wanting += wanted ? 1 : -1;
  }

  #clock(now: number): number {
    return Math.round((performance.timeOrigin + now - this.epoch) * 1000) | 0;
  }

  /**
   * A step starts alone now and should take `ms`: while a cadence is published, its end is
   * published ahead, so that workers sent to sleep by its NAP plan from it.
   */
  aloneUntil(now: number, ms: number): void {
    if (this.#published.early > 0 && ms > 0) Atomics.store(this.ctrl, CTRL.END, this.#clock(now + ms));
  }

  /** Steps will run without telling the cadence (a streak alone): the next gap is unknown. */
  forget(): void {
    this.#endedAt = Number.NaN;
    this.#outside = 0;
  }

  /** The window published now (µs after a step's end; early 0: none), for tests and docs. */
  get window(): { readonly early: number; readonly late: number } {
    return this.#published;
  }

  /** The median gap between steps (µs), NaN until measured. */
  get gap(): number {
    return this.#median;
  }
}

/**
 * A worker's side: how long to sleep before polling for the next step, and how long to poll,
 * or undefined when there is no cadence to follow (sleep until woken). `ranUntil`: when
 * this worker last saw a region of the opener end (µs on the pool clock), if it has.
 *
 * A step overdue past its window gives no window (windowMs 0), only when to look again: a
 * threaded step wakes its workers, but a step alone wakes no one and only publishes its end,
 * from which the next window follows. So the worker looks again after a gap, then after as
 * long again as the step has been overdue (about ten looks per pause), and sleeps until woken
 * once the step is MAX_GAP_US overdue (a pause, not a cadence). Slept until woken at once, a
 * worker that met one window too late never woke for a window again while the steps ran
 * alone: traced at 8e5 with 1 ms passes, the choice found its workers asleep at 32 steps
 * alone in a row, gave the cadence up, and never measured warm threads.
 */
export function prewake(ctrl: Int32Array, epoch: number, ranUntil?: number): { sleepMs: number; windowMs: number } | undefined {
  const early = Atomics.load(ctrl, CTRL.EARLY);
  if (early <= 0) return undefined;
  const late = Atomics.load(ctrl, CTRL.LATE);
  // The last step ended at END, or later if this worker ran in it and the opener has not
  // published its end yet (it writes END after the region; the worker may sleep before).
  const published = Atomics.load(ctrl, CTRL.END);
  const end = ranUntil !== undefined && ((ranUntil - published) | 0) > 0 ? ranUntil : published;
  const now = clockUs(epoch);
  const opens = (end + early - now) | 0; // µs from now
  const closes = (end + late - now) | 0;
  if (closes <= 0) return -closes > MAX_GAP_US ? undefined : { sleepMs: Math.max(late, -closes) / 1000, windowMs: 0 };
  return { sleepMs: Math.max(0, opens) / 1000, windowMs: (closes - Math.max(0, opens)) / 1000 };
}
