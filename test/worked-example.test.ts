// The source text's worked example (L = θ²/2, θ0 = 2, η = 0.1, β = 0.9, ε = 1e-8, five
// steps) through the public API, against the same recurrence computed here in f64.
import { describe, expect, it } from "vitest";
import { createRmsprop } from "../src/index.ts";
// @ts-expect-error: a plain .mjs example without types
import { workedExample } from "../examples/worked-example.mjs";

interface Row { t: number; theta: number; grad: number; sqAvg: number; next: number }

/** The recurrence in f64, written from the equations, sharing no code with the package. */
function f64Table(steps: number): Row[] {
  const lr = 0.1, beta = 0.9, eps = 1e-8;
  let theta = 2, S = 0;
  const rows: Row[] = [];
  for (let t = 0; t < steps; t++) {
    const g = theta;
    S = beta * S + (1 - beta) * g * g;
    const next = theta - (lr / Math.sqrt(S + eps)) * g;
    rows.push({ t, theta, grad: g, sqAvg: S, next });
    theta = next;
  }
  return rows;
}

// The source text's table as printed there: θ_t, S_t (S before the step) and θ_{t+1}.
const sourceText = [
  { theta: 2.0, sqAvgBefore: 0, next: 1.683 },
  { theta: 1.683, sqAvgBefore: 0.4, next: 1.449 },
  { theta: 1.449, sqAvgBefore: 0.526, next: 1.292 },
  { theta: 1.292, sqAvgBefore: 0.612, next: 1.179 },
  { theta: 1.179, sqAvgBefore: 0.67, next: 1.095 },
];

describe("worked example", () => {
  it("the wasm kernel reproduces the f64 recurrence to f32 precision", async () => {
    const { backend, rows } = (await workedExample()) as { backend: string; rows: Row[] };
    expect(backend).toBe("simd");
    const want = f64Table(5);
    for (let t = 0; t < 5; t++) {
      for (const key of ["theta", "grad", "sqAvg", "next"] as const) {
        expect(Math.abs(rows[t][key] - want[t][key]) / Math.abs(want[t][key])).toBeLessThan(1e-6);
      }
    }
    // The correct values printed in docs/worked-example.md.
    expect(want[1].sqAvg).toBeCloseTo(0.643509, 6);
    expect(want[1].next).toBeCloseTo(1.473875, 6);
    expect(want[4].next).toBeCloseTo(1.048927, 6);
  });

  it("the source text is right for step 0 and wrong from step 1 on", () => {
    const want = f64Table(5);
    expect(want[0].sqAvg).toBeCloseTo(sourceText[1].sqAvgBefore, 6);
    // θ1 = 1.683772…: the text truncates it to 1.683 (rounded it is 1.684), a cosmetic slip.
    expect(Math.abs(want[0].next - sourceText[0].next)).toBeLessThan(1e-3);
    // S_2 = 0.9·0.4 + 0.1·1.683772² = 0.643509, not 0.526(6): the first wrong number.
    expect(Math.abs(want[1].sqAvg - sourceText[2].sqAvgBefore)).toBeGreaterThan(0.1);
    // Every later θ and S is off by far more than the rounding of its printed digits.
    for (let t = 1; t < 5; t++) {
      expect(Math.abs(want[t].next - sourceText[t].next)).toBeGreaterThan(0.005);
      if (t < 4) expect(Math.abs(want[t].sqAvg - sourceText[t + 1].sqAvgBefore)).toBeGreaterThan(0.05);
    }
  });

  it("with biasCorrection, the kernel gives the corrected table of docs/worked-example.md", async () => {
    // The recurrence in f64 with S/(1 − β^t), t from 1, written here from the equation.
    const want: number[] = [];
    let theta = 2, S = 0;
    for (let t = 1; t <= 5; t++) {
      S = 0.9 * S + 0.1 * theta * theta;
      theta -= (0.1 / Math.sqrt(S / (1 - 0.9 ** t) + 1e-8)) * theta;
      want.push(theta);
    }
    // The values docs/worked-example.md prints, to its six decimals.
    [1.9, 1.802464, 1.707378, 1.614729, 1.524513].forEach((x, i) => expect(want[i]).toBeCloseTo(x, 6));
    const opt = await createRmsprop(1, { lr: 0.1, beta: 0.9, eps: 1e-8, biasCorrection: true });
    opt.params[0] = 2;
    for (let t = 0; t < 5; t++) {
      opt.grads[0] = opt.params[0];
      opt.step();
      expect(Math.abs(opt.params[0] - want[t]) / want[t]).toBeLessThan(1e-6);
    }
    opt.dispose();
  });
});
