// stepSync(): step()'s result without a Promise wherever the thread can block, which in
// Node is every thread. (A browser window's main thread with threads, where it refuses, is
// checked in real Chromium by test/browser/browser.test.ts.)
import { afterAll, describe, expect, it } from "vitest";
import { createRmsprop, referenceStep, stepScalars, defaultOptions, kernelFlags } from "../src/index.ts";
import { bitReport, uniformFloats } from "./helpers/data.ts";
import { machineOverride } from "../src/machine.ts";

// Some tests here assert 2 threads: the core count is fixed, whatever this machine has.
machineOverride.threads = 2;
afterAll(() => {
  machineOverride.threads = undefined;
});

describe("stepSync", () => {
  it.each([1, 2])("with %i thread(s): a StepResult, not a Promise, and the reference's bits with a per-step lr", async (threads) => {
    const n = 4099;
    const opt = await createRmsprop(n, { threads, minParamsPerThread: 1, momentum: 0.9 });
    expect(opt.threads).toBe(threads);
    opt.params.set(uniformFloats(n, 1));
    const want = { params: opt.params.slice(), grads: new Float32Array(n), sqAvg: new Float32Array(n), momentumBuffer: new Float32Array(n) };
    const options = { ...defaultOptions, momentum: 0.9 };
    for (let t = 1; t <= 3; t++) {
      opt.grads.set(uniformFloats(n, 10 + t));
      want.grads.set(opt.grads);
      const lr = 0.01 * t;
      const result = opt.stepSync({ lr });
      expect(result).not.toBeInstanceOf(Promise);
      expect(result).toEqual({ applied: true, nonFiniteIndex: -1, stepCount: t });
      referenceStep(kernelFlags(options), stepScalars(options, t, lr), want);
    }
    expect(bitReport("params", opt.params, want.params)).toBe("");
    expect(bitReport("momentumBuffer", opt.state.momentumBuffer!, want.momentumBuffer)).toBe("");
    opt.dispose();
  });

  it("applies the nonFinite policy like step(): a skip result, or a RangeError with nothing written", async () => {
    const skip = await createRmsprop(8, { nonFinite: "skip" });
    skip.grads[5] = NaN;
    expect(skip.stepSync()).toEqual({ applied: false, nonFiniteIndex: 5, stepCount: 0 });
    const strict = await createRmsprop(8);
    strict.params.fill(2);
    strict.grads[3] = Infinity;
    expect(() => strict.stepSync()).toThrow(RangeError);
    expect(strict.params).toEqual(new Float32Array(8).fill(2));
    expect(strict.stepCount).toBe(0);
  });

  it("throws the disposed error after dispose()", async () => {
    const opt = await createRmsprop(4);
    opt.dispose();
    expect(() => opt.stepSync()).toThrow(/this rmsprop-wasm optimizer was disposed/);
  });
});
