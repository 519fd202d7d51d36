// The SIMD kernel, its scalar build and the Math.fround reference must agree bit for bit:
// on every length around the vector width, on awkward values, over several steps, for
// every kernel variant.
import { describe, expect, it } from "vitest";
import type { Rmsprop, RmspropOptions } from "../src/index.ts";
import { awkwardFloats, bitReport } from "./helpers/data.ts";
import { everyKernelVariant, sideBySide } from "./helpers/optimizers.ts";

/** Runs `steps` steps with fresh seeded grads each time and compares every array. */
async function expectIdentical(n: number, options: RmspropOptions, steps: number, seed: number) {
  const opts = await sideBySide(
    n,
    { nonFinite: "ignore", ...options },
    { params: awkwardFloats(n, seed), grads: awkwardFloats(n, seed + 1) },
  );
  const [simd, scalar, ref] = opts as [Rmsprop, Rmsprop, Rmsprop];
  for (let t = 0; t < steps; t++) {
    if (t > 0) {
      const grads = awkwardFloats(n, seed + 100 + t);
      for (const opt of opts) opt.grads.set(grads);
    }
    for (const opt of opts) opt.step(t % 2 ? { lr: 0.003 } : undefined);
  }
  for (const [name, opt] of [["simd", simd], ["scalar", scalar]] as const) {
    const report = [
      bitReport(`${name} params`, opt.params, ref.params),
      bitReport(`${name} sqAvg`, opt.state.sqAvg, ref.state.sqAvg),
      ref.state.momentumBuffer
        ? bitReport(`${name} momentumBuffer`, opt.state.momentumBuffer!, ref.state.momentumBuffer)
        : "",
      ref.state.gradAvg ? bitReport(`${name} gradAvg`, opt.state.gradAvg!, ref.state.gradAvg) : "",
    ].filter(Boolean);
    expect(report, JSON.stringify(options)).toEqual([]);
  }
  for (const opt of opts) opt.dispose();
}

const sizes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 1023, 1025, 65537];

describe("SIMD, scalar and reference are bit-identical", () => {
  it.each(sizes)("default options, n = %i, 4 steps", async (n) => {
    await expectIdentical(n, {}, 4, n);
  });

  it("n = 1e6 + 3, default options, 3 steps", async () => {
    await expectIdentical(1e6 + 3, {}, 3, 7);
  });

  const settings: RmspropOptions[] = [
    { epsInSqrt: false },
    { lr: 1e-3, beta: 0.99, eps: 1e-10 },
    { lr: 0.5, beta: 0, eps: 0 },
    { lr: 0, beta: 0.5 },
    { beta: 0.999999, eps: 1e-3, initialScale: 1 },
    { maximize: true, biasCorrection: true },
    { centered: true, clampVariance: false },
    { momentum: 0.9, lrInMomentum: true, biasCorrection: true },
  ];
  it.each(settings)("hyperparameters %j on odd sizes", async (options) => {
    for (const n of [1, 3, 5, 7, 9, 1025]) await expectIdentical(n, options, 4, 1000 + n);
  });

  it.each(everyKernelVariant())("kernel variant %j on n = 1..9 and 1023", async (options) => {
    for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 1023]) await expectIdentical(n, options, 3, 2000 + n);
  });
});
