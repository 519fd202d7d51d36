// What happens when something goes wrong around the threads: a worker that throws, exits,
// traps or stalls while it holds a share, a stray write through opt.params.buffer, two
// optimizers placed over each other, dispose() in the middle of a step. Each one ends in a
// clear Error within a bounded time, never a hang, and dispose() always returns.
import { afterEach, describe, expect, it } from "vitest";
import { createRmsprop, restoreRmsprop, type Rmsprop, type RmspropOptions } from "../src/index.ts";
import { machineOverride } from "../src/machine.ts";
import { poolLimits } from "../src/pool/process-pool.ts";
import { exitWorkerForTests, poolWorkers, testing, type InjectedFault } from "../src/pool/testing.ts";
import { awkwardFloats } from "./helpers/data.ts";

const limits = { ...poolLimits };
machineOverride.threads = 64; // 2 threads even on a 1-core machine
testing.threads = 2; // every step on the threads: the faults are in the workers' shares
afterEach(() => {
  testing.fault = undefined;
  Object.assign(poolLimits, limits);
});

/**
 * An optimizer whose worker 1 carries `fault`. Its caller leaves worker 1's shares to it,
 * so the fault comes at the region it is due.
 */
async function faulty(fault: InjectedFault, options?: RmspropOptions): Promise<Rmsprop> {
  testing.fault = fault;
  testing.ownSharesOnly = true;
  try {
    return await createRmsprop(1_000_000, { threads: 2, minParamsPerThread: 1, threadSpinMs: 100, nonFinite: "skip", ...options });
  } finally {
    testing.fault = undefined;
    testing.ownSharesOnly = false;
  }
}

/** Steps until one throws (at most `limit` steps); the error and how many steps were applied. */
function stepUntilThrow(opt: Rmsprop, limit = 200): [error: Error | undefined, applied: number] {
  opt.grads.set(awkwardFloats(opt.n, 3));
  for (let t = 0; t < limit; t++) {
    try {
      opt.step();
    } catch (error) {
      return [error as Error, t];
    }
  }
  return [undefined, limit];
}

describe("thread faults", () => {
  it.each([
    ["throw", "scan", /worker 1 failed while it scanned share \d+: Error: injected fault/],
    ["throw", "step", /worker 1 failed while it stepped share \d+: Error: injected fault/],
    ["exit", "scan", /worker 1 failed while it scanned share \d+: exited \(process\.exit\(3\)\)/],
    ["exit", "step", /worker 1 failed while it stepped share \d+: exited \(process\.exit\(3\)\)/],
    ["trap", "scan", /worker 1 failed while it scanned share \d+: RuntimeError: memory access out of bounds/],
    ["trap", "step", /worker 1 failed while it stepped share \d+: RuntimeError: memory access out of bounds/],
  ] as const)("a worker that fails (%s) in a share of the %s makes the step throw, and every later one", async (kind, phase, message) => {
    const opt = await faulty({ thread: 1, phase, region: 3, kind });
    const [error, applied] = stepUntilThrow(opt);
    expect(error?.message).toMatch(message);
    expect(error?.message).toMatch(
      phase === "step"
        ? /this optimizer is unusable: the step may have been half-written\. Restore a checkpoint/
        : /this optimizer is unusable, but its params and state are intact .*: save\(\) it and restore/,
    );
    expect(applied).toBeGreaterThanOrEqual(2); // regions 1 and 2 ran
    expect(opt.stepCount).toBe(applied);
    // Unusable from now on, with the same message; dispose() returns.
    expect(() => opt.step()).toThrow(error!.message);
    opt.dispose();
    expect(() => opt.step()).toThrow(/disposed/);
  });

  it("a worker that holds a share past the stall bound is reported, naming it and the share", async () => {
    poolLimits.stallMs = 200;
    const opt = await faulty({ thread: 1, phase: "step", region: 2, kind: "stall", ms: 3000 });
    const [error] = stepUntilThrow(opt);
    expect(error?.message).toMatch(/worker 1 has held share \d+ of this step for over 200 ms without finishing it/);
    expect(error?.message).toMatch(/Restore a checkpoint/);
    expect(() => opt.step()).toThrow(error!.message);
    opt.dispose(); // returns at once, with the stalled worker terminated
  });

  it("after a stall in one optimizer's step, another optimizer on the pool is told its state is intact, and it is", async () => {
    poolLimits.stallMs = 200;
    const bystander = await createRmsprop(4096, { threads: 2, minParamsPerThread: 1, momentum: 0.9 });
    const one = await createRmsprop(4096, { momentum: 0.9 });
    for (const o of [bystander, one]) {
      o.params.set(awkwardFloats(4096, 11));
      o.grads.set(awkwardFloats(4096, 12));
      o.step();
    }
    const opt = await faulty({ thread: 1, phase: "step", region: 2, kind: "stall", ms: 3000 });
    const [error] = stepUntilThrow(opt);
    expect(error?.message).toMatch(/worker 1 has held share \d+ of this step/);
    const refusal = /the thread pool is stopped; this optimizer is unusable, but its params and state are intact .*save\(\) it/;
    expect(() => bystander.step()).toThrow(refusal);
    expect(() => bystander.step()).not.toThrow(/half-written/);
    expect(bystander.params).toEqual(one.params);
    const restored = await restoreRmsprop(bystander.save());
    for (const o of [restored, one]) {
      o.grads.set(awkwardFloats(4096, 13)); // grads are not state: a checkpoint has none
      o.step();
    }
    expect(restored.params).toEqual(one.params);
    for (const o of [opt, bystander, restored, one]) o.dispose();
  });

  it("a worker that dies between steps makes the next step throw; the state is intact, saved and restored it continues", async () => {
    const opt = await createRmsprop(4096, { threads: 2, minParamsPerThread: 1, momentum: 0.9 });
    const one = await createRmsprop(4096, { momentum: 0.9 });
    for (const o of [opt, one]) {
      o.params.set(awkwardFloats(4096, 8));
      o.grads.set(awkwardFloats(4096, 9));
      o.step();
    }
    exitWorkerForTests(1);
    // The worker's exit event stops the pool: poll for it.
    while (poolWorkers() > 0) await new Promise((resolve) => setTimeout(resolve, 1));
    expect(() => opt.step()).toThrow(/rmsprop-wasm worker 1 (failed: exited \(process\.exit\(3\)\)|exited with code 3).*params and state are intact.*save\(\) it/);
    expect(opt.stepCount).toBe(1);
    const restored = await restoreRmsprop(opt.save(), { threads: 2, minParamsPerThread: 1 }); // on a new pool: threads are the caller's
    opt.dispose();
    for (const o of [restored, one]) {
      o.grads.set(awkwardFloats(4096, 10)); // grads are not state: a checkpoint has none
      o.step();
    }
    expect(restored.threads).toBe(2);
    expect(restored.params).toEqual(one.params);
    expect(restored.state.momentumBuffer).toEqual(one.state.momentumBuffer);
    restored.dispose();
    one.dispose();
  });

  it("with the choice deciding, a worker that dies between steps is reported at the latest after a streak alone, whose steps apply as one thread's", async () => {
    testing.threads = undefined; // the choice decides: at n = 4096 it runs streaks alone, which do not read the pool
    try {
      const opt = await createRmsprop(4096, { threads: 2, minParamsPerThread: 1 });
      const one = await createRmsprop(4096);
      for (const o of [opt, one]) o.params.set(awkwardFloats(4096, 14));
      const step = (t: number) => {
        for (const o of [opt, one]) o.grads.set(awkwardFloats(4096, 100 + t));
        opt.step();
        one.step();
      };
      for (let t = 0; t < 20; t++) step(t);
      exitWorkerForTests(1);
      while (poolWorkers() > 0) await new Promise((resolve) => setTimeout(resolve, 1));
      let error: Error | undefined;
      let applied = 0;
      while (applied < 200 && error === undefined) {
        try {
          step(20 + applied);
          applied++;
        } catch (caught) {
          error = caught as Error;
        }
      }
      // A streak reads the fault word once in FAULT_EVERY (64) steps (src/streak.ts).
      expect(applied).toBeLessThanOrEqual(64);
      expect(error?.message).toMatch(/rmsprop-wasm worker 1 (failed: exited \(process\.exit\(3\)\)|exited with code 3).*params and state are intact/);
      // The failing step reached neither optimizer (step() steps `one` after `opt`): every step applied, as one thread's.
      expect(opt.stepCount).toBe(20 + applied);
      expect(one.stepCount).toBe(opt.stepCount);
      expect(opt.params).toEqual(one.params);
      expect(opt.state.sqAvg).toEqual(one.state.sqAvg);
      for (const o of [opt, one]) o.dispose();
    } finally {
      testing.threads = 2;
    }
  });

  it.each([
    ["2 threads", { threads: 2, minParamsPerThread: 1 }],
    ["1 thread", {}],
    ["the js backend", { backend: "js" }],
  ] as const)("a write through opt.params.buffer makes the next step throw and say how to write params (%s)", async (_, options) => {
    const opt = await createRmsprop(1000, options as RmspropOptions);
    opt.grads.fill(0.5);
    opt.step();
    const weights = awkwardFloats(1000, 4);
    new Float32Array(opt.params.buffer).set(weights); // the mistake: params start at opt.params.byteOffset
    const before = opt.params.slice();
    const expected = /bytes 0–575 of opt\.params\.buffer, which belong to the optimizer, were overwritten.*opt\.params\.set\(weights\)/;
    expect(() => opt.step()).toThrow(expected);
    expect(() => opt.step()).toThrow(expected); // every later step too
    expect(opt.params).toEqual(before); // nothing stepped
    expect(opt.stepCount).toBe(1);
    opt.dispose();
  });

  it("a second optimizer placed over a live one on the same memory is refused, and the first is untouched", async () => {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
    const first = await createRmsprop(10_000, { memory, threads: 2, minParamsPerThread: 1 });
    first.params.set(awkwardFloats(10_000, 5));
    const params = first.params.slice();
    const end = first.params.byteOffset + 3 * 40_000; // params, grads, sqAvg of 10,000 f32 each
    await expect(createRmsprop(100, { memory, offset: 64 * 100 })).rejects.toThrow(
      new RegExp(`options\\.offset 6400: .* another live optimizer holds bytes 0–${end - 1}`),
    );
    expect(first.params).toEqual(params);
    // Past its end, or once it is disposed, the place is free.
    const beside = await createRmsprop(100, { memory, offset: Math.ceil(end / 64) * 64 });
    first.grads.fill(0.25);
    first.step();
    beside.dispose();
    first.dispose();
    const again = await createRmsprop(100, { memory, offset: 64 * 100 });
    again.dispose();
  });

  it.each([
    ["2 threads", { threads: 2, minParamsPerThread: 1 }],
    ["1 thread", {}],
  ] as const)("dispose() from an overrides getter stops that step before it writes anything (%s)", async (_, options) => {
    // In a memory of the test's own: dispose() retires the views of an optimizer's own memory.
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
    const opt = await createRmsprop(4096, { ...options, memory } as RmspropOptions);
    opt.params.set(awkwardFloats(4096, 6));
    opt.grads.fill(0.5);
    const params = opt.params;
    const before = params.slice();
    const overrides = {
      get lr() {
        opt.dispose();
        return 0.01;
      },
    };
    expect(() => opt.step(overrides)).toThrow(/disposed/);
    expect(params).toEqual(before);
  });
});
