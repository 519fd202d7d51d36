// Never a catastrophic step: an element whose 8-bit S reads back as nothing while its
// gradient is not must not move by η·g/√ε. The step works on S_new = β·S + (1 − β)·g², which
// is at least (1 − β)·g² whatever S was, and u8e5m3 has no zero (S reads back as at least
// 2^-31 of its block's scale). Centered, what is stored is V = S − G², so S ≥ G² holds after
// decoding; stored apart, S and G round each their own way, S − G² vanishes where it should
// not, and the step blows up: the last test shows that it does.
import { describe, expect, it } from "vitest";
import { defaultOptions, type ResolvedOptions } from "../src/options.ts";
import { dequantizeBlockwise, QUANT_BLOCK, quantizeBlockwise, type Quantized } from "../src/quantization.ts";
import { valuesAt } from "../src/per-step.ts";
import { referenceStep } from "../src/reference.ts";
import { kernelFlags, stepScalars } from "../src/step-scalars.ts";
import { rng } from "./helpers/data.ts";
import { createQ8Harness } from "./helpers/q8-harness.ts";

const n = QUANT_BLOCK;

describe("8-bit step: no catastrophic step", () => {
  it.each([
    { epsInSqrt: true },
    { epsInSqrt: false },
    { epsInSqrt: true, momentum: 0.9 },
    { epsInSqrt: false, momentum: 0.9, biasCorrection: true },
  ])("an S far below its block's range, then a gradient: %j", async (options) => {
    const lr = 0.01, beta = 0.9, eps = 1e-8, mu = options.momentum ?? 0;
    const h = await createQ8Harness(n, { lr, beta, eps, ...options }, "simd");
    // Element 0 sets the block's scale at about 1e5; the others' S stays near 1e-18, 23
    // binades under the range's bottom, and reads back as the bottom.
    const grads = (t: number) => Float32Array.from({ length: n }, (_, i) => (i === 0 ? (t === 0 ? 1e3 : 0) : t < 20 ? 1e-9 : (i % 2 ? 1 : -1) * 1e-3 * (1 + i / n)));
    // u = g/d is at most 1/√(1 − β) (S_new ≥ (1 − β)·g²; bias correction divides S by
    // 1 − β^t < 1, which only lowers it); k steps of it through the buffer move θ by at most
    // η·u·(1 − μ^k)/(1 − μ). The catastrophic step, η·|g|/√ε = 10η, is three times that at k = 1.
    const uMax = 1 / Math.sqrt(1 - beta);
    const bound = (t: number) => {
      const k = t < 20 ? Infinity : t - 19;
      return lr * uMax * ((1 - mu ** k) / (1 - mu)) * (1 + 1e-5) + (t < 20 ? 0 : lr * 1e-4);
    };
    for (let t = 0; t < 25; t++) {
      h.grads.set(grads(t));
      const before = h.params.slice();
      h.step();
      for (let i = 1; i < n; i++) {
        const moved = Math.abs(h.params[i] - before[i]);
        expect(moved, `element ${i}, step ${t + 1}`).toBeLessThanOrEqual(bound(t));
        if (t === 20) expect(moved).toBeLessThan((lr * Math.abs(h.grads[i])) / Math.sqrt(eps) / 3);
      }
    }
    const s = h.decoded("sqAvg");
    expect(Math.min(...s.subarray(1))).toBeGreaterThan(0);
  });
});

/** Centered RMSProp in f64 on one element stream: the step θ takes at each step. */
function centeredSteps(g: Float32Array[], i: number, o: ResolvedOptions): number[] {
  const { beta, lr, eps } = valuesAt(o, {}, 0, {}, "options");
  let S = 0, G = 0;
  return g.map((gt) => {
    S = beta * S + (1 - beta) * gt[i] * gt[i];
    G = beta * G + (1 - beta) * gt[i];
    return (lr * gt[i]) / Math.sqrt(Math.max(S - G * G, 0) + eps);
  });
}

/** Centered steps with S and G stored apart in 8 bits (the design this module avoids). */
function storedApart(g: Float32Array[], o: ResolvedOptions): number[][] {
  const params = new Float32Array(n), grads = new Float32Array(n);
  const sq: Quantized = { codes: new Uint8Array(n), scales: new Float32Array(1) };
  const ga: Quantized = { codes: new Uint8Array(n), scales: new Float32Array(1) };
  const s = new Float32Array(n), gAvg = new Float32Array(n);
  quantizeBlockwise("u8e5m3", s, sq);
  quantizeBlockwise("s8e4m3", gAvg, ga);
  return g.map((gt, t) => {
    grads.set(gt);
    dequantizeBlockwise("u8e5m3", sq, s);
    dequantizeBlockwise("s8e4m3", ga, gAvg);
    const before = params.slice();
    referenceStep(kernelFlags(o), stepScalars(o, t + 1), { params, grads, sqAvg: s, gradAvg: gAvg });
    quantizeBlockwise("u8e5m3", s, sq, { index: 0, seed: 2 * t });
    quantizeBlockwise("s8e4m3", gAvg, ga, { index: 0, seed: 2 * t + 1 });
    return Array.from(params, (p, i) => before[i] - p);
  });
}

describe("8-bit centered step", () => {
  it("keeps the step near the f64 one where the gradient barely varies (high signal to noise)", async () => {
    const o: ResolvedOptions = { ...defaultOptions, centered: true, lr: 1e-3 };
    const r = rng(17);
    // Means over three decades, noise 1% of the mean: S − G² is 10⁻⁴ of S.
    const means = Float32Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1) * 10 ** (-3 * r()));
    const steps = 200;
    const g = Array.from({ length: steps }, () => means.map((m) => m * (1 + 0.01 * (2 * r() - 1) * Math.sqrt(3))));
    const exact = Array.from({ length: n }, (_, i) => centeredSteps(g, i, o));
    const h = await createQ8Harness(n, { centered: true, lr: 1e-3 }, "simd");
    const apart = storedApart(g, o);
    let worst = 0, worstApart = 0;
    for (let t = 0; t < steps; t++) {
      h.grads.set(g[t]);
      const before = h.params.slice();
      h.step();
      if (t < 20) continue; // the first steps' S − G² is (1 − β^t)·β^t·g², not yet the noise
      for (let i = 0; i < n; i++) {
        worst = Math.max(worst, Math.abs(before[i] - h.params[i]) / Math.abs(exact[i][t]));
        worstApart = Math.max(worstApart, Math.abs(apart[t][i]) / Math.abs(exact[i][t]));
      }
    }
    // Measured: 1.4 and 1400.
    expect(worst).toBeLessThan(3);
    expect(worstApart).toBeGreaterThan(30);
  });
});
