// The cadence of the opener's steps, so that sleeping workers can be awake when a step
// comes instead of being woken by it. In a training loop the forward and backward pass
// between two steps takes about as long each time, far longer than threadSpinMs, so the
// workers are asleep at every step, and waking them costs the caller a system call (tens
// of microseconds on a virtual machine, about a fifth of a step at n = 1e5) and the
// sleeper a wake-up. The opener measures the gap from the end of one step to the start of
// the next and publishes it; a sleeping worker then sets a timer for LEAD before the next
// step is due and polls from there for at most 2·LEAD, and sleeps on if nothing came.
//
// Only where it is cheap: the gap must be regular enough that the polling window (twice
// the lead, itself three times the gap's mean deviation and at least MIN_LEAD_US) is at
// most BUDGET of the gap, so a worker polls for at most that share of a core; and the
// caller turns it off when the threads would not be used even awake.
import { CTRL } from "./control-block.ts";

/** The earliest a timed wait is trusted to end (µs): Linux lets a timer run up to 50 µs late. */
export const MIN_LEAD_US = 100;
/** The most of a core a worker spends polling for the next step (of the gap). */
export const BUDGET = 0.04;
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
    // Averages that follow a lasting change within a few steps, and forget one odd gap.
    this.#dev = 0.875 * this.#dev + 0.125 * dev;
    this.#gap = 0.875 * this.#gap + 0.125 * Math.min(gap, 2 * this.#gap);
  }

  /**
   * A step ended now; `wanted`: whether the next step would use warm workers. Publishes
   * when it ended and, where the cadence is regular and wanted, when to wake for the next.
   */
  ended(now: number, wanted: boolean): void {
    this.#endedAt = now;
    const gap = this.#gap;
    const lead = Math.max(MIN_LEAD_US, 3 * this.#dev);
    const ok = wanted && gap >= MIN_GAP_US && 2 * lead <= BUDGET * gap;
    const published = ok ? Math.round(lead) : 0;
    Atomics.store(this.ctrl, CTRL.END, clockUs(this.epoch));
    if (ok) Atomics.store(this.ctrl, CTRL.GAP, Math.round(gap));
    if (published !== this.#lead) {
      this.#lead = published;
      Atomics.store(this.ctrl, CTRL.LEAD, published);
    }
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
 * A worker's side: how long to sleep before polling for the next step. Returns ms until the
 * window opens, 0 when it is open now (poll until `windowEndsIn`), or −1 when there is no
 * cadence to follow (sleep until woken).
 */
export function prewake(ctrl: Int32Array, epoch: number): { sleepMs: number; windowMs: number } | undefined {
  const lead = Atomics.load(ctrl, CTRL.LEAD);
  if (lead <= 0) return undefined;
  const due = (Atomics.load(ctrl, CTRL.END) + Atomics.load(ctrl, CTRL.GAP)) | 0;
  const opens = (due - lead - clockUs(epoch)) | 0; // µs from now to the window's start
  const closes = opens + 2 * lead;
  if (closes <= 0) return undefined; // the step is overdue: it will wake us
  return { sleepMs: Math.max(0, opens) / 1000, windowMs: (closes - Math.max(0, opens)) / 1000 };
}
