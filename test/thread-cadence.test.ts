// The cadence the opener publishes for the workers' pre-wake (src/pool/cadence.ts), on
// synthetic step times: the median gap, a window where nine steps in ten start, the budget
// that bounds a worker's polling, and the worker's reading of it.
import { describe, expect, it } from "vitest";
import { BUDGET, Cadence, clockUs, MAX_WINDOW_US, MIN_WINDOW_US, prewake } from "../src/pool/cadence.ts";
import { CONTROL_BLOCK_WORDS, CTRL } from "../src/pool/control-block.ts";
import { rng } from "./helpers/data.ts";

const newCtrl = () => new Int32Array(new SharedArrayBuffer(4 * CONTROL_BLOCK_WORDS));

/** Runs `steps` steps of `stepMs` each, the gap before each from `gap(i)` (ms); returns the cadence. */
function run(ctrl: Int32Array, steps: number, stepMs: number, gap: (i: number) => number, wanted = true): Cadence {
  const cadence = new Cadence(ctrl, 0);
  let now = 1000;
  for (let i = 0; i < steps; i++) {
    now += gap(i);
    cadence.started(now);
    now += stepMs;
    cadence.ended(now, wanted);
  }
  return cadence;
}

describe("the cadence", () => {
  it("learns a training loop's gap, and a window where nine steps in ten start", () => {
    const random = rng(5);
    // 10 ms passes that run up to 0.4 ms over, never under (a pass is skewed): the window
    // should start near 10 ms and end near 10.36 ms.
    const ctrl = newCtrl();
    const gaps: number[] = [];
    const cadence = run(ctrl, 600, 0.1, () => {
      const gap = 10 + 0.4 * random();
      gaps.push(gap);
      return gap;
    });
    expect(cadence.gap / 1000).toBeCloseTo(10.2, 1);
    const early = Atomics.load(ctrl, CTRL.EARLY), late = Atomics.load(ctrl, CTRL.LATE);
    expect(early).toBeGreaterThan(9_900);
    expect(early).toBeLessThan(10_100);
    expect(late).toBeGreaterThan(10_300);
    expect(late).toBeLessThan(10_500);
    // Nine in ten of the last 200 gaps fall in it (give or take the estimate's wander).
    const inside = gaps.slice(-200).filter((g) => g * 1000 >= early && g * 1000 <= late).length;
    expect(inside).toBeGreaterThan(160);
  });

  it("bounds a worker's polling: at most BUDGET of the gap and MAX_WINDOW_US a step, however irregular the steps", () => {
    const random = rng(7);
    for (const gapMs of [2, 20, 200]) {
      const ctrl = newCtrl();
      const cadence = run(ctrl, 400, 0.5, () => gapMs * (0.5 + random()));
      const window = Atomics.load(ctrl, CTRL.LATE) - Atomics.load(ctrl, CTRL.EARLY);
      expect(window).toBeGreaterThanOrEqual(MIN_WINDOW_US);
      expect(window).toBeLessThanOrEqual(Math.min(BUDGET * cadence.gap, MAX_WINDOW_US) + 1);
    }
  });

  it("publishes no cadence for back-to-back steps, for pauses, or when warm threads would not be used", () => {
    const back = newCtrl();
    run(back, 200, 0.5, () => 0.05); // 50 µs between steps: the workers still poll
    expect(Atomics.load(back, CTRL.EARLY)).toBe(0);
    const unwanted = newCtrl();
    run(unwanted, 200, 0.5, () => 10, false);
    expect(Atomics.load(unwanted, CTRL.EARLY)).toBe(0);
    expect(Atomics.load(unwanted, CTRL.END)).toBe(0); // nothing written either
  });

  it("tells a sleeping worker how long to sleep and how long to poll, from the last step's end", () => {
    const ctrl = newCtrl();
    const epoch = performance.timeOrigin + performance.now();
    const now = clockUs(epoch);
    Atomics.store(ctrl, CTRL.END, now);
    Atomics.store(ctrl, CTRL.LATE, 10_300);
    Atomics.store(ctrl, CTRL.EARLY, 9_800);
    const plan = prewake(ctrl, epoch)!;
    // prewake read the clock between `now` and this read (on a busy machine, maybe long after).
    const elapsedUs = clockUs(epoch) - now;
    // The window opens 9.8 ms after the step's end, less the time since, and lasts 0.5 ms
    // (what is left of it, had the machine stalled past its opening).
    expect(plan.sleepMs).toBeGreaterThanOrEqual(Math.max(0, 9_800 - elapsedUs) / 1000);
    expect(plan.sleepMs).toBeLessThanOrEqual(9.8);
    if (elapsedUs < 9_800) expect(plan.windowMs).toBe(0.5);
    else expect(plan.windowMs).toBeLessThanOrEqual(0.5);
    // A step long overdue wakes its workers itself; no cadence, no plan.
    Atomics.store(ctrl, CTRL.END, now - 1_000_000);
    expect(prewake(ctrl, epoch)).toBeUndefined();
    Atomics.store(ctrl, CTRL.END, now);
    Atomics.store(ctrl, CTRL.EARLY, 0);
    expect(prewake(ctrl, epoch)).toBeUndefined();
  });
});
