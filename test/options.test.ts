// Bad input is refused before anything is allocated, with an error that names the
// argument, the rule and the value.
import { describe, expect, it } from "vitest";
import { createRmsprop, defaultOptions } from "../src/index.ts";
import { maxParams } from "../src/layout.ts";

const one = { units: 1 };

describe("n", () => {
  it.each([
    [0, RangeError, /n must be an integer in \[1, \d+\].*got 0/],
    [-3, RangeError, /got -3/],
    [1.5, RangeError, /got 1.5/],
    [NaN, RangeError, /got NaN/],
    [Infinity, RangeError, /got Infinity/],
    [2 ** 32, RangeError, /4 GiB/],
    ["10", TypeError, /n must be a number.*got string/],
    [10n, TypeError, /got bigint/],
    [undefined, TypeError, /got undefined/],
  ])("createRmsprop(%s) throws", async (n, type, message) => {
    const err = await createRmsprop(n as number).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    expect((err as Error).message).toMatch(message);
  });

  it("the limit follows the arrays in use", () => {
    const three = maxParams({ momentumBuffer: false, gradAvg: false }, one);
    const five = maxParams({ momentumBuffer: true, gradAvg: true }, one);
    // The limits the README and docs/scaling.md quote.
    expect(three).toBe(357_913_867);
    expect(five).toBe(214_748_314);
    expect(three * 12).toBeLessThanOrEqual(2 ** 32);
    expect(five * 20).toBeLessThanOrEqual(2 ** 32);
  });

  it("n one past the limit with momentum and centered is refused", async () => {
    const limit = maxParams({ momentumBuffer: true, gradAvg: true }, one);
    await expect(createRmsprop(limit + 1, { momentum: 0.9, centered: true })).rejects.toThrow(
      new RegExp(`\\[1, ${limit}\\].*5 f32 arrays`),
    );
  });
});

describe("options", () => {
  it.each([
    [{ lr: -1 }, RangeError, /options.lr must be a finite number ≥ 0 that f32 can hold .*; got -1/],
    [{ lr: Infinity }, RangeError, /options.lr.*got Infinity/],
    [{ lr: "0.1" }, TypeError, /options.lr must be a number or a schedule \(see schedules\); got "0.1"/],
    [{ beta: 1 }, RangeError, /options.beta must be a finite number in \[0, 1\); got 1/],
    [{ beta: -0.1 }, RangeError, /options.beta.*got -0.1/],
    [{ beta: NaN }, RangeError, /options.beta.*got NaN/],
    [{ eps: -1e-8 }, RangeError, /options.eps/],
    [{ momentum: -0.5 }, RangeError, /options.momentum/],
    [{ weightDecay: -1 }, RangeError, /options.weightDecay/],
    [{ initialScale: -1 }, RangeError, /options.initialScale/],
    [{ epsInSqrt: 1 }, TypeError, /options.epsInSqrt must be true or false; got 1/],
    [{ backend: "gpu" }, TypeError, /options.backend must be one of "auto", "simd", "scalar", "js"; got "gpu"/],
    [{ nonFinite: "drop" }, TypeError, /options.nonFinite must be one of/],
    [{ threads: 0 }, RangeError, /options.threads must be an integer in \[1, 64\]/],
    [{ threads: 1.5 }, RangeError, /options.threads/],
    [{ threadSpinMs: -1 }, RangeError, /options.threadSpinMs .*got -1/],
    [{ threadSpinMs: 1001 }, RangeError, /options.threadSpinMs .*got 1001/],
    [{ threadSpinMs: "5" }, TypeError, /options.threadSpinMs must be a number; got "5"/],
    [{ nesterov: true }, RangeError, /options.nesterov needs options.momentum > 0/],
    [{ lr: 1e39 }, RangeError, /options.lr must be a finite number ≥ 0 that f32 can hold \(≤ 3.4028234663852886e\+38\); got 1e\+39/],
    [{ initialScale: 4e38 }, RangeError, /options.initialScale .* f32 can hold/],
    [{ lr: 1e20, weightDecay: 1e20 }, RangeError, /step constant lrWd of group "default" overflows f32 to Infinity/],
    [{ threads: null }, TypeError, /options.threads must be a number; got null/],
    [{ backend: null }, TypeError, /options.backend must be one of .*; got null/],
    [{ nonFinite: null }, TypeError, /options.nonFinite must be one of/],
    [{ learningRate: 0.1 }, TypeError, /unknown key "learningRate" \(did you mean "lr"\?\)/],
    [{ rho: 0.9 }, TypeError, /unknown key "rho" \(did you mean "beta"\?\)/],
    [{ foo: 1 }, TypeError, /unknown key "foo"; known keys: lr, beta/],
    [null, TypeError, /options must be an object or undefined; got null/],
    [[1], TypeError, /options must be an object or undefined; got an array/],
  ])("%j is refused", async (options, type, message) => {
    const err = await createRmsprop(4, options as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    expect((err as Error).message).toMatch(message);
  });

  it("fills in the documented defaults, and undefined means default", async () => {
    const opt = await createRmsprop(4, { lr: undefined });
    expect(opt.options).toEqual(defaultOptions);
    expect(defaultOptions).toMatchObject({ lr: 0.01, beta: 0.9, eps: 1e-8, epsInSqrt: true, momentum: 0 });
  });

  it("a step whose constants overflow f32 is refused and changes nothing", async () => {
    const opt = await createRmsprop(2, { backend: "scalar", weightDecay: 10 });
    opt.params.set([1, 2]);
    opt.grads.set([1, 1]);
    expect(() => opt.step({ lr: 3e38 })).toThrow(/step constant lrWd of group "default" overflows f32 to Infinity .* nothing was applied/);
    expect([...opt.params, ...opt.state.sqAvg, opt.stepCount]).toEqual([1, 2, 0, 0, 0]);
  });

  it("step overrides are validated before the step runs", async () => {
    const opt = await createRmsprop(4, { backend: "js" });
    opt.params.set([1, 2, 3, 4]);
    opt.grads.set([1, 1, 1, 1]);
    expect(() => opt.step({ lr: -1 })).toThrow(/step overrides.lr must be a finite number ≥ 0 .*; got -1/);
    expect(() => opt.step({ rho: 0.5 } as never)).toThrow(/step overrides has an unknown key "rho" \(did you mean "beta"\?\)/);
    expect(() => opt.step({ beta: 1 })).toThrow(/step overrides.beta must be a finite number in \[0, 1\); got 1/);
    expect(() => opt.step({ clipNorm: 1 })).toThrow(/step overrides.clipNorm reaches no group: clipNorm is off \(null\)/);
    expect([...opt.params]).toEqual([1, 2, 3, 4]);
    expect(opt.stepCount).toBe(0);
  });
});
