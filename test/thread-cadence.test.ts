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

  it("follows a change of cadence within a few steps: the first gaps, slowed by the JIT, do not hold the window", () => {
    // Traced at 8e5 with 1 ms passes: the first gaps took 4.5–4.8 ms, the rest 2.7–3.0, and
    // the window stood after the steps for 20 steps, long enough for the choice to give the
    // cadence up (32 steps that found the workers asleep).
    const random = rng(9);
    const ctrl = newCtrl();
    const cadence = new Cadence(ctrl, 0);
    let now = 1000;
    const caught: boolean[] = [];
    for (let i = 0; i < 60; i++) {
      const gap = i < 5 ? 4.8 : 2.7 + 0.3 * random();
      const [early, late] = [Atomics.load(ctrl, CTRL.EARLY), Atomics.load(ctrl, CTRL.LATE)];
      caught.push(early > 0 && gap * 1000 >= early && gap * 1000 <= late);
      now += gap;
      cadence.started(now);
      now += 0.7;
      cadence.ended(now, true);
    }
    // Caught from the tenth step on, most of the time: the old trackers caught 4 of steps 10–29.
    expect(caught.slice(10, 30).filter(Boolean).length).toBeGreaterThanOrEqual(15);
    expect(caught.slice(30).filter(Boolean).length).toBeGreaterThanOrEqual(24);
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

  it("says when it publishes a window where none was: workers asleep without one must be woken to read it", () => {
    const cadence = new Cadence(newCtrl(), 0);
    const opened: boolean[] = [];
    let now = 1000;
    for (let i = 0; i < 8; i++) {
      now += 10;
      cadence.started(now);
      now += 0.5;
      // Wanted at steps 2, 3 and 6.
      opened.push(cadence.ended(now, i === 2 || i === 3 || i === 6));
    }
    expect(opened).toEqual([false, false, true, false, false, false, true, false]);
    // A pause of over a second with the window standing: the workers sleep until woken.
    for (const reopened of [true, false]) {
      now += 10;
      cadence.started(now);
      expect(cadence.ended((now += 0.5), true)).toBe(reopened);
    }
    now += 1500;
    cadence.started(now);
    expect(cadence.ended((now += 0.5), true)).toBe(true);
  });

  it("keeps the window while any job wants warm workers: two optimizers taking turns, one alone, do not close and reopen it at every step", () => {
    const ctrl = newCtrl();
    const cadence = new Cadence(ctrl, 0);
    const opened: boolean[] = [];
    const early: number[] = [];
    let now = 1000;
    for (let i = 0; i < 40; i++) {
      // Job 1 (threads win) and job 2 (alone) take turns, a 5 ms pass before each step.
      const job = 1 + (i % 2);
      now += 5;
      cadence.started(now);
      now += 0.3;
      opened.push(cadence.ended(now, job === 1, job));
      early.push(Atomics.load(ctrl, CTRL.EARLY));
    }
    // Published from the first steps on (the cadence learns the gap at the second), and
    // never closed: one opening, where each of job 2's steps closed it before.
    expect(opened.filter(Boolean)).toHaveLength(1);
    expect(early.slice(2).every((e) => e > 4000 && e < 5000)).toBe(true);
    // Job 1 leaves the pool: nobody wants the window, and it closes.
    cadence.drop(1);
    expect(Atomics.load(ctrl, CTRL.EARLY)).toBe(0);
    // Job 2 alone wants nothing: it stays closed.
    cadence.started((now += 5));
    expect(cadence.ended((now += 0.3), false, 2)).toBe(false);
    expect(Atomics.load(ctrl, CTRL.EARLY)).toBe(0);
  });

  it("lets a job's want lapse once it has not stepped for a second: one that stopped, not disposed, does not keep the window for another's steps alone", () => {
    const ctrl = newCtrl();
    const cadence = new Cadence(ctrl, 0);
    let now = 1000;
    const turn = (job: number, wanted: boolean) => {
      now += 5;
      cadence.started(now);
      cadence.ended((now += 0.3), wanted, job);
    };
    for (let i = 0; i < 20; i++) turn(1 + (i % 2), i % 2 === 0);
    expect(Atomics.load(ctrl, CTRL.EARLY)).toBeGreaterThan(0);
    // Job 1 stops (a frozen model, an optimizer kept after its training); job 2 goes on alone.
    const open: boolean[] = [];
    for (let i = 0; i < 400; i++) {
      turn(2, false);
      open.push(Atomics.load(ctrl, CTRL.EARLY) > 0);
    }
    // 5.3 ms a step: the window stands for job 1's last second, then closes for good.
    const closedAt = open.indexOf(false);
    expect(closedAt).toBeGreaterThan(150);
    expect(closedAt).toBeLessThan(200);
    expect(open.slice(closedAt).every((o) => !o)).toBe(true);
    // Job 1 steps again: its want counts at once.
    turn(1, true);
    expect(Atomics.load(ctrl, CTRL.EARLY)).toBeGreaterThan(0);
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
    // A step overdue: no window, a look again after a gap (LATE), or after as long again as
    // it has been overdue, since a step alone publishes its end but wakes no one.
    Atomics.store(ctrl, CTRL.END, now - 12_000);
    const again = prewake(ctrl, epoch)!;
    expect(again.windowMs).toBe(0);
    expect(again.sleepMs).toBeGreaterThanOrEqual(10.3);
    expect(again.sleepMs).toBeLessThanOrEqual(Math.max(10.3, (1_700 + clockUs(epoch) - now) / 1000));
    Atomics.store(ctrl, CTRL.END, now - 40_000);
    const later = prewake(ctrl, epoch)!;
    expect(later.windowMs).toBe(0);
    expect(later.sleepMs).toBeGreaterThanOrEqual(29.7);
    expect(later.sleepMs).toBeLessThan(29.7 + (clockUs(epoch) - now) / 1000 + 0.001);
    // Overdue for over a second: a pause, not a cadence; sleep until woken. No cadence, no plan.
    Atomics.store(ctrl, CTRL.END, now - 1_100_000);
    expect(prewake(ctrl, epoch)).toBeUndefined();
    Atomics.store(ctrl, CTRL.END, now);
    Atomics.store(ctrl, CTRL.EARLY, 0);
    expect(prewake(ctrl, epoch)).toBeUndefined();
  });
});
