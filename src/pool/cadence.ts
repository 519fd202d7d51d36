// The cadence of the opener's steps, so that sleeping workers can be awake when a step
// comes instead of being woken by it. In a training loop the forward and backward pass
// between two steps takes about as long each time, far longer than threadSpinMs, so the
// workers are asleep at every step, and waking them costs the caller a system call (tens
// of microseconds on a virtual machine, about a fifth of a step at n = 1e5) and the
// sleeper a wake-up. The opener measures the gap from the end of one step to the start of
// the next and publishes it; a sleeping worker then sets a timer for LEAD before the next
// step is due and polls from there for at most 2·LEAD, and sleeps on if nothing came.
//
// The lead is what three steps in four deviate from the mean gap by at most (a running
// estimate of that quantile: one step's GC pause moves it a little, a lasting change of
// pace soon), at least MIN_LEAD_US, so most steps come inside the window; where steps are
// less regular than that allows, the window is the most a worker may poll, and fewer steps
// come inside it, but none comes later for it. A worker polls at most BUDGET of the gap and
// MAX_WINDOW_US per step, so it sleeps through most of the gap; and the caller turns the
// cadence off when the threads would not be used even awake.
import { CTRL } from "./control-block.ts";

/** The earliest a timed wait is trusted to end (µs): Linux lets a timer run up to 50 µs late. */
export const MIN_LEAD_US = 100;
/** The most of the gap between steps a worker spends polling for the next step. */
export const BUDGET = 0.1;
/** The most a worker polls for one step (µs). */
export const MAX_WINDOW_US = 2000;
/** The share of steps whose deviation from the mean gap the lead covers. */
const COVERED = 0.75;
/** Gaps shorter than this (µs) find the workers still polling from the last step. */
const MIN_GAP_US = 1000;
/** Gaps longer than this (µs) are pauses, not a cadence. */
const MAX_GAP_US = 1_000_000;

/** Microseconds on the pool's clock: since `epoch` (ms, on the performance.timeOrigin scale), wrapping at 2^31. */
export function clockUs(epoch: number): number {
  return Math.round((performance.timeOrigin + performance.now() - epoch) * 1000) | 0;
}

/** An epoch for a new pool's clock. */
export const newEpoch = (): number => performance.timeOrigin + performance.now();

/** The opener's side: measures the gaps between its steps and publishes the cadence. */
export class Cadence {
  #gap = Number.NaN;
  #dev = 0;
  #endedAt = Number.NaN;
  #lead = 0;

  constructor(
    readonly ctrl: Int32Array,
    readonly epoch: number,
  ) {}

  /** A step starts now (performance.now()): the gap since the last one ended is a sample. */
  started(now: number): void {
    if (Number.isNaN(this.#endedAt)) return;
    const gap = (now - this.#endedAt) * 1000;
    if (gap > MAX_GAP_US) return;
    if (Number.isNaN(this.#gap)) {
      this.#gap = gap;
      return;
    }
    const dev = Math.abs(gap - this.#gap);
    // The COVERED quantile q of the deviations, by stochastic approximation: up by q of a
    // step when a deviation is above it, down by 1 − q below, so it rests where a share
    // 1 − q of them is above. The step is half the estimate (at least 4 µs): it follows a
    // change within a few steps.
    const step = Math.max(4, this.#dev / 2);
    this.#dev = Math.max(0, this.#dev + (dev > this.#dev ? COVERED : COVERED - 1) * step);
    // The mean gap follows a lasting change within a few steps, and forgets one odd gap.
    this.#gap = 0.875 * this.#gap + 0.125 * Math.min(gap, 2 * this.#gap);
  }

  /**
   * A step ended now; `wanted`: whether the next step would use warm workers. Publishes
   * when it ended and, where the cadence is regular and wanted, when to wake for the next.
   */
  ended(now: number, wanted: boolean): void {
    this.#endedAt = now;
    const gap = this.#gap;
    const lead = Math.min(Math.max(MIN_LEAD_US, this.#dev), (BUDGET * gap) / 2, MAX_WINDOW_US / 2);
    const ok = wanted && gap >= MIN_GAP_US && lead >= MIN_LEAD_US;
    const published = ok ? Math.round(lead) : 0;
    // The workers read END and GAP only while a cadence is published: without one, a step
    // writes nothing here.
    if (ok) {
      Atomics.store(this.ctrl, CTRL.END, Math.round((performance.timeOrigin + now - this.epoch) * 1000) | 0);
      Atomics.store(this.ctrl, CTRL.GAP, Math.round(gap));
    }
    if (published !== this.#lead) {
      this.#lead = published;
      Atomics.store(this.ctrl, CTRL.LEAD, published);
    }
  }

  /** Steps will run without telling the cadence (a streak alone): the next gap is unknown. */
  forget(): void {
    this.#endedAt = Number.NaN;
  }

  /** The lead in force (µs; 0: none), for tests and opt.threading. */
  get lead(): number {
    return this.#lead;
  }

  /** The mean gap between steps (µs), NaN until measured. */
  get gap(): number {
    return this.#gap;
  }
}

/**
 * A worker's side: how long to sleep before polling for the next step, and how long to poll,
 * or undefined when there is no cadence to follow (sleep until woken). `ranUntil`: when
 * this worker last saw a region of the opener end (µs on the pool clock), if it has.
 */
export function prewake(ctrl: Int32Array, epoch: number, ranUntil?: number): { sleepMs: number; windowMs: number } | undefined {
  const lead = Atomics.load(ctrl, CTRL.LEAD);
  if (lead <= 0) return undefined;
  // The last step ended at END, or later if this worker ran in it and the opener has not
  // published its end yet (it writes END after the region; the worker may sleep before).
  const published = Atomics.load(ctrl, CTRL.END);
  const end = ranUntil !== undefined && ((ranUntil - published) | 0) > 0 ? ranUntil : published;
  const due = (end + Atomics.load(ctrl, CTRL.GAP)) | 0;
  const opens = (due - lead - clockUs(epoch)) | 0; // µs from now to the window's start
  const closes = opens + 2 * lead;
  if (closes <= 0) return undefined; // the step is overdue: it will wake us
  return { sleepMs: Math.max(0, opens) / 1000, windowMs: (closes - Math.max(0, opens)) / 1000 };
}
