// The threaded executor's streaks of steps alone (src/alone-streak.ts), against a pool
// job that records what the executor asks of it: a step of a streak reads the fault word
// once in FAULT_EVERY steps, reads the workers' sleep words only while the cadence is kept,
// and gives the cadence its gap then. The job's regions run the step alone after a
// millisecond, so that the choice prefers the caller alone, as in a training loop at a
// small n; the bits are those of one thread either way.
import { describe, expect, it, vi } from "vitest";
import type { PoolJob } from "../src/pool/caller.ts";
import { FAULT_EVERY } from "../src/alone-streak.ts";

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

const log = vi.hoisted(() => ({ steps: [] as StepLog[], bookkeepingMs: 0 }));

vi.mock("../src/pool/caller.ts", async (importOriginal) => {
  const original = await importOriginal<typeof import("../src/pool/caller.ts")>();
  const current = (): StepLog => log.steps[log.steps.length - 1];
  const fake = async (): Promise<PoolJob> => ({
    threads: 2,
    blocking: true,
    awake: () => (current().awake++, 0), // the workers are always asleep: the cadence never catches a step
    check: () => void current().check++,
    started: () => void current().started++,
    ended: () => void current().ended++,
    untimed: () => void current().untimed++,
    aloneFor: () => {
      // The decided step's own bookkeeping, between its start and the step (cold in a training loop).
      for (const until = performance.now() + log.bookkeepingMs; performance.now() < until; );
    },
    run(k, alone) {
      current().threads = k;
      current().runs++;
      if (k > 1) for (const until = performance.now() + 1; performance.now() < until; );
      return alone();
    },
    dispose: () => {},
  });
  return { ...original, startPoolJob: fake };
});

describe("a streak of steps alone", () => {
  it("reads the fault word once in 64 steps, the sleep words and the cadence only while the cadence is kept", async () => {
    const { createRmsprop } = await import("../src/index.ts");
    const { machineOverride } = await import("../src/machine.ts");
    machineOverride.threads = 64; // 2 threads even on a 1-core machine
    try {
      const opt = await createRmsprop(64, { threads: 2, minParamsPerThread: 1 });
      const one = await createRmsprop(64);
      for (let t = 0; t < 300; t++) {
        log.steps.push({ check: 0, awake: 0, started: 0, ended: 0, untimed: 0, threads: 1, runs: 0 });
        for (const o of [opt, one]) {
          o.grads.fill(Math.sin(t));
          o.step();
        }
      }
      expect(opt.params).toEqual(one.params);
      const streak = log.steps.filter((s) => s.check === 0);
      // Most steps are steps of a streak: the choice runs alone, a region costs a millisecond.
      expect(streak.length).toBeGreaterThan(200);
      // No step goes unchecked for more than FAULT_EVERY steps, though a streak runs longer:
      // each decided step costs its bookkeeping (ThreadChoice.STREAK).
      let since = 0, streakSteps = 0, longest = 0;
      for (const s of log.steps) {
        since = s.check > 0 ? 0 : since + 1;
        expect(since).toBeLessThanOrEqual(FAULT_EVERY);
        streakSteps = s.runs > 0 ? 0 : streakSteps + 1;
        longest = Math.max(longest, streakSteps);
      }
      expect(longest).toBeGreaterThan(FAULT_EVERY);
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
    } finally {
      machineOverride.threads = undefined;
    }
  });
});

describe("the choice's cost of a step alone", () => {
  it("is the step's, not the decided step's bookkeeping around it (cold in a training loop, where the steps of a streak skip it)", async () => {
    const { createRmsprop } = await import("../src/index.ts");
    const { machineOverride } = await import("../src/machine.ts");
    machineOverride.threads = 64; // 2 threads even on a 1-core machine
    // A clock that moves 1 µs at every read, so that the figures are the same on any machine.
    let clock = 0;
    const now = vi.spyOn(performance, "now").mockImplementation(() => (clock += 0.001));
    log.bookkeepingMs = 1;
    try {
      const opt = await createRmsprop(64, { threads: 2, minParamsPerThread: 1 });
      for (let t = 0; t < 600; t++) {
        log.steps.push({ check: 0, awake: 0, started: 0, ended: 0, untimed: 0, threads: 1, runs: 0 });
        opt.grads.fill(Math.sin(t));
        opt.step();
      }
      // Alone: a few reads of the clock; with the bookkeeping counted, over 1 ms.
      const { alone, threaded } = opt.threading!.estimates!;
      expect(alone).toBeLessThan(0.05);
      expect(threaded[0].cold).toBeGreaterThan(1);
      opt.dispose();
    } finally {
      now.mockRestore();
      log.bookkeepingMs = 0;
      machineOverride.threads = undefined;
    }
  });
});
