// The threaded executor's streaks (src/streak.ts), against a pool job that records what
// the executor asks of it. Alone: a step of a streak reads the fault word once in
// FAULT_EVERY steps, reads the workers' sleep words only while the cadence is kept, and
// gives the cadence its gap then (the job's regions cost a millisecond, so that the choice
// prefers the caller alone, as in a training loop at a small n). On threads: while the
// workers are awake, a step is a region and the end published, without the choice. The
// bits are those of one thread either way. Time is a fake clock that moves 1 µs at every
// read (and by what the fake job spends), so that every run takes the same decisions on
// any machine.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Heap } from "../src/executors.ts";
import type { PoolJob } from "../src/pool/caller.ts";
import type { ThreadChoice } from "../src/pool/choice.ts";
import { FAULT_EVERY } from "../src/streak.ts";
import type { Rmsprop } from "../src/index.ts";

/** What the executor asked of the job in one step. */
interface StepLog {
  check: number;
  awake: number;
  started: number;
  ended: number;
  untimed: number;
  threads: number;
  /** Regions asked for: 1 for a decided step, 0 for a step of a streak. */
  runs: number;
}

const log = vi.hoisted(() => ({
  steps: [] as StepLog[],
  /** What a decided step's bookkeeping before the choice costs (ms; the fake job's awake()), and after its way (ended()). */
  bookkeepingMs: 0,
  endedMs: 0,
  /** Whether the pool has failed: check() throws. */
  failed: false,
  /** Workers the fake job reports awake (0: asleep, the cadence never catches a step). */
  awake: 0,
  /** What a step alone costs (ms, spent in the kernel executor: see below), and a region (ms). */
  aloneMs: 0,
  regionMs: 1,
  /** What a decided step alone costs in the job's run, around the step alone (the real one's check and nap). */
  decidedAloneMs: 0,
  /** Whether the fake job's region is running the step alone for its bits. */
  inRegion: false,
  clock: 0,
}));

/** `ms` of the fake clock passing. */
const spend = (ms: number) => void (log.clock += ms);

vi.mock("../src/pool/caller.ts", async (importOriginal) => {
  const original = await importOriginal<typeof import("../src/pool/caller.ts")>();
  const current = (): StepLog => log.steps[log.steps.length - 1];
  const check = () => {
    current().check++;
    if (log.failed) throw new Error("rmsprop-wasm worker 1 failed (a test's fault)");
  };
  const fake = async (): Promise<PoolJob> => ({
    threads: 2,
    blocking: true,
    awake: () => {
      current().awake++;
      spend(log.bookkeepingMs);
      return log.awake;
    },
    check,
    started: () => void current().started++,
    ended: () => {
      current().ended++;
      spend(log.endedMs);
    },
    untimed: () => void current().untimed++,
    aloneFor: () => {},
    run(k, alone) {
      check(); // a region reads the fault word first, as the real job does
      current().threads = k;
      current().runs++;
      if (k === 1) {
        spend(log.decidedAloneMs);
        return alone();
      }
      // A region's bits are the step alone's; its cost is the region's, not a step alone's.
      spend(log.regionMs);
      log.inRegion = true;
      try {
        return alone();
      } finally {
        log.inRegion = false;
      }
    },
    dispose: () => {},
  });
  return { ...original, startPoolJob: fake };
});

// A step alone costs log.aloneMs in the kernel executor: where the real one spends it, and
// what the choice charges a decided step alone (alone.run, as a lean step runs it).
vi.mock("../src/executors.ts", async (importOriginal) => {
  const original = await importOriginal<typeof import("../src/executors.ts")>();
  const kernelExecutor: typeof original.kernelExecutor = (kernel, work) => {
    const inner = original.kernelExecutor(kernel, work);
    return {
      run: (heap, jobs) => {
        if (!log.inRegion) spend(log.aloneMs);
        return inner.run(heap, jobs);
      },
      dispose: () => inner.dispose(),
    };
  };
  return { ...original, kernelExecutor };
});

let restore: () => void = () => {};
beforeEach(async () => {
  const { machineOverride } = await import("../src/machine.ts");
  machineOverride.threads = 64; // 2 threads even on a 1-core machine
  log.steps = [];
  log.bookkeepingMs = 0;
  log.endedMs = 0;
  log.failed = false;
  log.awake = 0;
  log.aloneMs = 0;
  log.decidedAloneMs = 0;
  log.regionMs = 1;
  const now = vi.spyOn(performance, "now").mockImplementation(() => (log.clock += 0.001));
  restore = () => {
    now.mockRestore();
    machineOverride.threads = undefined;
  };
});
afterEach(() => restore());

/** One step of `opt` (and of `one`, the one-thread twin), logged. */
function step(t: number, ...opts: Rmsprop[]): void {
  log.steps.push({ check: 0, awake: 0, started: 0, ended: 0, untimed: 0, threads: 1, runs: 0 });
  for (const o of opts) {
    o.grads.fill(Math.sin(t));
    o.step();
  }
}

/** Threads win: a step alone costs a millisecond more, a region nothing, and the workers are always awake (the cadence catches every step). */
function threadsWin(): void {
  log.awake = 1;
  log.aloneMs = 1;
  log.regionMs = 0;
}

/** Threads win (threadsWin) for a threaded optimizer of 64 parameters; `decide` spies on the choice. */
async function threadedWhereThreadsWin() {
  const { createRmsprop } = await import("../src/index.ts");
  const { ThreadChoice } = await import("../src/pool/choice.ts");
  const decide = vi.spyOn(ThreadChoice.prototype, "decide");
  threadsWin();
  const opt = await createRmsprop(64, { threads: 2, minParamsPerThread: 1 });
  return { createRmsprop, decide, opt };
}

/** Steps of a streak run so far: the logged steps since the last decided one. */
const streakSoFar = () => log.steps.length - 1 - log.steps.findLastIndex((s) => s.runs > 0);

describe("a streak of steps alone", () => {
  it("reads the fault word once in 64 steps, the sleep words and the cadence only while the cadence is kept", async () => {
    const { createRmsprop } = await import("../src/index.ts");
    const { ThreadChoice } = await import("../src/pool/choice.ts");
    const { Streak } = await import("../src/streak.ts");
    const decide = vi.spyOn(ThreadChoice.prototype, "decide");
    const skipped = vi.spyOn(ThreadChoice.prototype, "skipped");
    const streakCalls = vi.spyOn(Streak.prototype, "step");
    const opt = await createRmsprop(64, { threads: 2, minParamsPerThread: 1 });
    const one = await createRmsprop(64);
    /** Per step: whether the executor asked the streak (a lean step does not). */
    const askedAt: boolean[] = [];
    for (let t = 0; t < 600; t++) {
      const before = streakCalls.mock.calls.length;
      step(t, opt, one);
      askedAt.push(streakCalls.mock.calls.length > before);
    }
    expect(opt.params).toEqual(one.params);
    // The choice counts every step: decided, or in a streak (the lean steps, which run with
    // no call into the streak, at the streak's next step or its end). A thread count fixed
    // by a test ends the streak running now, and its step is not the choice's.
    const { testing } = await import("../src/pool/testing.ts");
    // The executor asks the streak only at decided steps and at a streak's full steps: the
    // lean ones (most steps of an untimed streak) run without it.
    const asked = streakCalls.mock.calls.length;
    expect(asked).toBeLessThan(600 - log.steps.filter((s) => s.runs === 0 && s.awake === 0).length / 2);
    // The streak running now (the fake clock takes the same decisions every run) ends at
    // the fixed count, its lean steps counted.
    expect(streakSoFar()).toBeGreaterThan(0);
    const before = skipped.mock.calls.length;
    testing.threads = 1;
    try {
      step(600, opt, one);
    } finally {
      testing.threads = undefined;
    }
    expect(skipped.mock.calls.slice(before).some(([steps]) => steps > 0)).toBe(true);
    const counted = decide.mock.calls.length + skipped.mock.calls.reduce((sum, [steps]) => sum + steps, 0);
    expect(counted).toBe(600);
    decide.mockRestore();
    skipped.mockRestore();
    streakCalls.mockRestore();
    const streak = log.steps.filter((s) => s.runs === 0);
    // Most steps are steps of a streak: the choice runs alone, a region costs a millisecond.
    expect(streak.length).toBeGreaterThan(500);
    // No FAULT_EVERY steps in a row go unchecked (a lean step reads the fault word in the
    // executor), though a streak runs longer: each decided step costs its bookkeeping
    // (ThreadChoice.STREAK).
    let since = 0, streakSteps = 0, longest = 0;
    for (const s of log.steps) {
      since = s.check > 0 ? 0 : since + 1;
      expect(since).toBeLessThan(FAULT_EVERY);
      streakSteps = s.runs > 0 ? 0 : streakSteps + 1;
      longest = Math.max(longest, streakSteps);
    }
    expect(longest).toBeGreaterThan(2 * FAULT_EVERY);
    // Lean steps read it themselves: in an untimed streak the only full step is the last.
    const leanChecks = log.steps.filter((s, i) => s.runs === 0 && s.check > 0 && !askedAt[i]);
    expect(leanChecks.length).toBeGreaterThan(0);
    // The workers are never caught awake, so the cadence is kept (its steps read the sleep
    // words and give it their gap) until it gives up, and then not at all: untimed()
    // says so, and those streaks read nothing of the pool.
    const timed = streak.filter((s) => s.awake > 0);
    const untimed = streak.filter((s) => s.awake === 0);
    expect(timed.length).toBeGreaterThan(0);
    expect(untimed.length).toBeGreaterThan(0);
    for (const s of timed) expect([s.started, s.ended]).toEqual([1, 1]);
    for (const s of untimed) expect([s.started, s.ended, s.awake]).toEqual([0, 0, 0]);
    expect(log.steps.some((s) => s.untimed > 0)).toBe(true);
    opt.dispose();
    one.dispose();
  });

  it("refuses the step whose fault read finds the pool failed, the streak ended: nothing applied, and the next step refused too", async () => {
    const { createRmsprop } = await import("../src/index.ts");
    const opt = await createRmsprop(64, { threads: 2, minParamsPerThread: 1 });
    let t = 0;
    // Into a streak, whose lean steps read the fault word once in FAULT_EVERY, before their kernel call.
    while (streakSoFar() !== 2) {
      step(t++, opt);
      expect(t).toBeLessThan(5000);
    }
    log.failed = true;
    let [params, count] = [opt.params.slice(), opt.stepCount];
    for (let applied = 0; ; applied++) {
      expect(applied).toBeLessThan(FAULT_EVERY);
      [params, count] = [opt.params.slice(), opt.stepCount];
      try {
        step(t++, opt);
      } catch (error) {
        expect(String(error)).toMatch(/worker 1 failed/);
        break;
      }
      expect(streakSoFar()).toBeGreaterThan(2); // still the streak's steps, lean ones
    }
    const refused = log.steps[log.steps.length - 1];
    expect([refused.check, refused.runs]).toEqual([1, 0]);
    expect(opt.stepCount).toBe(count);
    expect(opt.params).toEqual(params);
    // The streak ended: the next step is a decided one, whose own read refuses it; once
    // the pool is mended (here, by the test), the step after is decided too (it asks for a
    // region), where a streak that went on would run alone.
    expect(() => step(t++, opt)).toThrow(/worker 1 failed/);
    expect(opt.stepCount).toBe(count);
    log.failed = false;
    step(t++, opt);
    expect(log.steps[log.steps.length - 1].runs).toBe(1);
    opt.dispose();
  });
});

describe("a streak on threads", () => {
  it("while the workers are awake, runs a region a step without the choice, and ends when a step finds them asleep", async () => {
    const { createRmsprop, decide, opt } = await threadedWhereThreadsWin();
    const one = await createRmsprop(64);
    const decided: number[] = [];
    const logged = () => {
      const before = decide.mock.calls.length;
      return () => decided.push(decide.mock.calls.length - before);
    };
    for (let t = 0; t < 600; t++) {
      const done = logged();
      step(t, opt, one);
      done();
    }
    expect(opt.params).toEqual(one.params);
    // A step of a threaded streak: a region (which reads the fault word), the cadence's gap
    // and end, and no decision.
    const onStreak = log.steps.map((s, i) => s.threads === 2 && s.runs === 1 && decided[i] === 0);
    const streakSteps = log.steps.filter((_, i) => onStreak[i]);
    expect(streakSteps.length).toBeGreaterThan(500);
    for (const s of streakSteps) expect([s.check, s.awake, s.started, s.ended]).toEqual([1, 1, 1, 1]);
    // The workers found asleep while a streak runs: the step is a decided one.
    expect(onStreak[onStreak.length - 1]).toBe(true);
    log.awake = 0;
    const done = logged();
    step(600, opt, one);
    done();
    const asleep = log.steps[log.steps.length - 1];
    expect(decided[decided.length - 1]).toBe(1);
    expect(asleep.awake).toBe(2); // the streak's read, then the decided step's
    expect(opt.params).toEqual(one.params);
    decide.mockRestore();
    opt.dispose();
    one.dispose();
  });
});

describe("a streak on threads that turns slow", () => {
  it("ends where a step alone would win by the choice's margin against its steps' moving average, which the choice then counts, and goes alone where that lasts", async () => {
    const { ThreadChoice } = await import("../src/pool/choice.ts");
    const { decide, opt } = await threadedWhereThreadsWin();
    const grants = vi.spyOn(ThreadChoice.prototype, "streak");
    log.regionMs = 0.5; // a step alone costs a millisecond more than the kernel
    let t = 0;
    // Into a streak on threads: steps that ask for a region without a decision.
    const streakStep = () => {
      const before = decide.mock.calls.length;
      step(t++, opt);
      return decide.mock.calls.length === before && log.steps[log.steps.length - 1].threads === 2;
    };
    // Two steps into a streak of at least 20 (a try ends a streak where it is due): a
    // decided step that began one, then two of its steps.
    const longStreak = () => {
      const granted = grants.mock.results.length;
      step(t++, opt);
      const left = grants.mock.results.length > granted ? (grants.mock.results[grants.mock.results.length - 1].value as number) : 0;
      return left >= 20 && streakStep() && streakStep();
    };
    while (!longStreak()) expect(t).toBeLessThan(2000);
    grants.mockRestore();
    const estimates = () => opt.threading.estimates ?? expect.unreachable("a threaded optimizer has estimates");
    const { alone, threaded } = estimates();
    expect(threaded[0].warm).toBeLessThan(0.6 * alone);
    // Another process takes the workers' core: a region now costs twice a step alone. One
    // such step leaves the streak going; its average passes a step alone within a few.
    log.regionMs = 2 * alone;
    expect(streakStep()).toBe(true);
    let slow = 1;
    while (streakStep()) slow++;
    expect(slow).toBeGreaterThan(1);
    expect(slow).toBeLessThan(8);
    // The streak's average was the choice's sample of warm threads, and so is each step
    // that follows: soon the steps run alone.
    expect(estimates().threaded[0].warm).toBeGreaterThan(threaded[0].warm);
    const slowFrom = t;
    while (opt.threading.lastStep?.threads === 2) {
      step(t++, opt);
      expect(t - slowFrom).toBeLessThan(100);
    }
    decide.mockRestore();
    opt.dispose();
  });
});

describe("what a streak on threads tells the choice", () => {
  it("times each step with the streak's bookkeeping around its region (the workers' sleep words, the cadence), which a lean step alone does not run", async () => {
    // Timed by the region alone, warm threads at 1e5 in a training loop measured 0.085–
    // 0.097 ms where their steps took 5–15 µs more than a step alone, and the choice kept
    // them. Here a region costs 0.2 ms and the cadence's end 0.3.
    const { decide, opt } = await threadedWhereThreadsWin();
    log.regionMs = 0.2;
    log.endedMs = 0.3;
    // The estimate is a moving average: each streak's mean (0.5 ms) joins it at the streak's
    // end, and so does the decided step after it, timed by its region (0.2: a decided step's
    // bookkeeping is charged to the tries), so it settles between the two.
    for (let t = 0; t < 2000; t++) step(t, opt);
    const onStreak = log.steps.filter((s) => s.threads === 2 && s.runs === 1 && s.ended === 1);
    expect(onStreak.length).toBeGreaterThan(1800);
    const { threaded } = opt.threading.estimates ?? expect.unreachable("a threaded optimizer has estimates");
    expect(threaded[0].warm).toBeGreaterThan(0.3); // 0.2 timed by the region alone
    expect(threaded[0].warm).toBeLessThan(0.5);
    decide.mockRestore();
    opt.dispose();
  });

  it("times each step with the streak's own code on its way in and after its sample (carried to the next sample), which a lean step alone does not run either", async () => {
    // Warm steps at 1e5 in a training loop ran 11–17 µs of the streak's code outside the
    // window from the cadence's start to its end (3.5–6 on the way in, 7–10 after the
    // sample), which a lean step does not run. Here the way in (reading the test hooks)
    // costs 0.2 ms, and the moving average after the sample 0.3.
    const { ThreadChoice } = await import("../src/pool/choice.ts");
    const { testing } = await import("../src/pool/testing.ts");
    const { decide, opt } = await threadedWhereThreadsWin();
    log.regionMs = 0.2;
    const average = ThreadChoice.average;
    const slowAverage = vi.spyOn(ThreadChoice, "average").mockImplementation((avg, ms) => {
      spend(0.3);
      return average(avg, ms);
    });
    const hooks = vi.spyOn(testing, "threads", "get").mockImplementation(() => {
      spend(0.2);
      return undefined;
    });
    const skipped = vi.spyOn(ThreadChoice.prototype, "skipped");
    for (let t = 0; t < 2000; t++) step(t, opt);
    slowAverage.mockRestore();
    hooks.mockRestore();
    // Each streak on threads hands the choice the mean of its steps: 0.7 ms (0.2 timed
    // from the cadence's start to its end). The first step of all has no tail before it.
    const means = skipped.mock.calls.filter(([steps, threads]) => threads === 2 && steps > 4).map((call) => call[3] ?? Number.NaN);
    skipped.mockRestore();
    expect(means.length).toBeGreaterThan(5);
    for (const ms of means.slice(1)) {
      expect(ms).toBeGreaterThan(0.69);
      expect(ms).toBeLessThan(0.75);
    }
    decide.mockRestore();
    opt.dispose();
  });
});

describe("a fault in a streak on threads", () => {
  it("refuses the step at its region's fault read and ends the streak: nothing applied, and the next step refused too", async () => {
    const { createRmsprop } = await import("../src/index.ts");
    threadsWin();
    const opt = await createRmsprop(64, { threads: 2, minParamsPerThread: 1 });
    for (let t = 0; t < 300; t++) step(t, opt);
    // The last step ran in a streak on threads: a region, one fault read, no decision's.
    const last = log.steps[log.steps.length - 1];
    expect([last.threads, last.runs, last.check]).toEqual([2, 1, 1]);
    const [params, count] = [opt.params.slice(), opt.stepCount];
    log.failed = true;
    expect(() => step(300, opt)).toThrow(/worker 1 failed/);
    const refused = log.steps[log.steps.length - 1];
    expect([refused.awake, refused.started, refused.check]).toEqual([1, 1, 1]); // the streak's step, refused in its region
    expect(opt.stepCount).toBe(count);
    expect(opt.params).toEqual(params);
    // The streak ended: the next step is a decided one, refused by the executor's own read
    // before the choice (a streak's step would read the sleep words first).
    expect(() => step(301, opt)).toThrow(/worker 1 failed/);
    const next = log.steps[log.steps.length - 1];
    expect([next.awake, next.started, next.check]).toEqual([0, 0, 1]);
    expect(opt.stepCount).toBe(count);
    log.failed = false;
    opt.dispose();
  });
});

describe("the last step of a streak alone", () => {
  it("gives the cadence its end where the choice wants the workers awake next (a try of threads is due), and nothing otherwise", async () => {
    const { Streak } = await import("../src/streak.ts");
    for (const wantsWarm of [true, false]) {
      const ended: [number, boolean][] = [];
      const job = { untimed() {}, awake: () => 0, check() {}, ended: (now: number, wanted: boolean) => void ended.push([now, wanted]) };
      const choice = { wantsWarm, skipped() {}, aloneMs: 1 };
      const alone = { run: () => -1, dispose() {} };
      const streak = new Streak(job as unknown as PoolJob, choice as unknown as ThreadChoice, alone, () => -1, { threads: undefined });
      // Three steps alone, untimed (the cadence not kept): the executor runs the lean ones.
      streak.begin(3, 1, false);
      const heap = {} as Heap;
      let lean = streak.lean;
      for (let i = 0; i < 3; i++) {
        if (lean > 0) {
          lean--;
          alone.run();
        } else {
          expect(streak.step(heap, [])).toBe(-1);
          lean = streak.lean;
        }
      }
      // Without it, the try that follows the streak found its workers asleep in about half
      // the tries where the count of choices, not the wait, ended the streak.
      expect(ended).toEqual(wantsWarm ? [[expect.any(Number), true]] : []);
      expect(streak.step(heap, [])).toBeUndefined(); // the streak is over: the choice decides
    }
  });
});

describe("the choice's cost of a step alone", () => {
  it("leaves out the decided step's bookkeeping before the choice (cold in a training loop, where the steps of a streak skip it)", async () => {
    const { createRmsprop } = await import("../src/index.ts");
    log.bookkeepingMs = 1;
    const opt = await createRmsprop(64, { threads: 2, minParamsPerThread: 1 });
    // The first decided step alone sets the estimate (its first sample stands as it is).
    let first = Number.NaN;
    for (let t = 0; t < 600; t++) {
      step(t, opt);
      const { alone } = opt.threading!.estimates!;
      if (Number.isNaN(first) && alone >= 0) first = alone;
    }
    // A few reads of the clock; with the bookkeeping counted, over 1 ms.
    expect(first).toBeLessThan(0.05);
    const { alone, threaded } = opt.threading!.estimates!;
    expect(alone).toBeLessThan(0.05);
    expect(threaded[0].cold).toBeGreaterThan(1);
    opt.dispose();
  });

  it("is what a lean step runs (alone.run): the decided path around it (the pool's run, check and nap) is charged to the tries", async () => {
    const { createRmsprop } = await import("../src/index.ts");
    const { ThreadChoice } = await import("../src/pool/choice.ts");
    const record = vi.spyOn(ThreadChoice.prototype, "record");
    log.decidedAloneMs = 1;
    const opt = await createRmsprop(64, { threads: 2, minParamsPerThread: 1 });
    for (let t = 0; t < 300; t++) step(t, opt);
    const { alone } = opt.threading!.estimates!;
    opt.dispose();
    const calls = record.mock.calls.slice(1);
    record.mockRestore();
    // Threads lose here (a region costs 1 ms): most decided steps ran alone, each charged a
    // few reads of the clock, its decided path (1 ms) counted as the bookkeeping.
    const aloneCalls = calls.filter(([ms]) => ms < 1);
    expect(aloneCalls.length).toBeGreaterThan(calls.length / 2);
    for (const [ms, overheadMs] of aloneCalls) {
      expect(ms).toBeLessThan(0.05);
      expect(overheadMs).toBeGreaterThan(1);
    }
    expect(alone).toBeLessThan(0.05);
  });

  it("charges the tries with a decided step's bookkeeping after its way too (cold in a training loop, some 0.05–0.2 ms at 1e5)", async () => {
    const { createRmsprop } = await import("../src/index.ts");
    const { ThreadChoice } = await import("../src/pool/choice.ts");
    const record = vi.spyOn(ThreadChoice.prototype, "record");
    [log.endedMs, log.regionMs] = [1, 0.5];
    const opt = await createRmsprop(64, { threads: 2, minParamsPerThread: 1 });
    for (let t = 0; t < 300; t++) step(t, opt);
    opt.dispose();
    const calls = record.mock.calls.slice(1);
    record.mockRestore();
    // Each decided step's overhead holds the last one's after its way (ended() spends 1 ms
    // there); the way's own time does not.
    expect(calls.length).toBeGreaterThan(2);
    for (const [ms, overheadMs] of calls) {
      expect(overheadMs).toBeGreaterThan(1);
      expect(ms).toBeLessThan(1);
    }
  });
});
