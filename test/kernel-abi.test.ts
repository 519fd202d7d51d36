// The raw kernel through its ABI: the remainder loop at n = 0..9, offsets that are not
// 16-byte aligned, and no byte written outside the arrays it was given.
import { describe, expect, it } from "vitest";
import { kernelModule } from "../src/backend.ts";
import { bindKernel, KernelFlag, STEP_ARGS_V1_BYTES, writeStepArgs } from "../src/kernel-abi.ts";
import { referenceFirstNonFinite, referenceStep } from "../src/reference.ts";
import { defaultOptions } from "../src/options.ts";
import { stepScalars } from "../src/step-scalars.ts";
import { awkwardFloats, bitReport } from "./helpers/data.ts";

const CANARY = 0x7fa5a5a5; // a NaN pattern no step produces

describe.each(["simd", "scalar"] as const)("%s kernel ABI", (backend) => {
  it.each([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])(
    "n = %i at 4-byte aligned offsets touches only its arrays",
    async (n) => {
      const memory = new WebAssembly.Memory({ initial: 1 });
      const kernel = bindKernel(await kernelModule(backend), memory);
      const words = new Uint32Array(memory.buffer);
      words.fill(CANARY);
      // Arrays at offsets ≡ 4 (mod 16), separated by canary words.
      const params = 1028, grads = params + 4 * n + 8, sqAvg = grads + 4 * n + 8;
      const view = (at: number) => new Float32Array(memory.buffer, at, n);
      view(params).set(awkwardFloats(n, 1));
      view(grads).set(awkwardFloats(n, 2));
      view(sqAvg).fill(0);
      const want = { params: view(params).slice(), grads: view(grads).slice(), sqAvg: view(sqAvg).slice() };
      const s = stepScalars(defaultOptions, 1, 0.01);
      writeStepArgs(words, new Float32Array(memory.buffer), 0, { params, grads, sqAvg, momentumBuffer: 0, gradAvg: 0 }, n, s);
      const before = words.slice();
      kernel.step(KernelFlag.epsInSqrt, 0);
      referenceStep(KernelFlag.epsInSqrt, s, want);
      expect(bitReport("params", view(params), want.params)).toBe("");
      expect(bitReport("sqAvg", view(sqAvg), want.sqAvg)).toBe("");
      const inside = (w: number) =>
        (w >= params / 4 && w < params / 4 + n) || (w >= sqAvg / 4 && w < sqAvg / 4 + n);
      const changedOutside = [...words.keys()].filter((w) => words[w] !== before[w] && !inside(w));
      expect(changedOutside).toEqual([]);
      expect(STEP_ARGS_V1_BYTES).toBe(72);
    },
  );

  it("step_range steps exactly [start, start + count) of the block, clamped to n, with step's bits", async () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const kernel = bindKernel(await kernelModule(backend), memory);
    const words = new Uint32Array(memory.buffer);
    const f32 = new Float32Array(memory.buffer);
    const n = 23;
    const params = 1024, grads = 2048, sqAvg = 3072, momentumBuffer = 4096;
    const view = (at: number) => new Float32Array(memory.buffer, at, n);
    const s = stepScalars({ ...defaultOptions, momentum: 0.9 }, 1, 0.01);
    const flags = KernelFlag.epsInSqrt | KernelFlag.momHeavy;
    const fill = () => {
      view(params).set(awkwardFloats(n, 3));
      view(grads).set(awkwardFloats(n, 4));
      view(sqAvg).fill(0.5);
      view(momentumBuffer).fill(0.25);
      writeStepArgs(words, f32, 0, { params, grads, sqAvg, momentumBuffer, gradAvg: 0 }, n, s, flags);
    };
    fill();
    kernel.step(flags, 0);
    const whole = [view(params).slice(), view(sqAvg).slice(), view(momentumBuffer).slice()];
    // Any cut into ranges, aligned to 4 or not, gives the bits of one call.
    for (const cuts of [[0, 23], [0, 4, 8, 23], [0, 1, 2, 3, 22, 23], [0, 7, 13, 23]]) {
      fill();
      for (let i = 0; i + 1 < cuts.length; i++) kernel.step_range(flags, 0, cuts[i], cuts[i + 1] - cuts[i]);
      expect([view(params), view(sqAvg), view(momentumBuffer)].map((v, k) => bitReport(`cut ${cuts}`, v, whole[k]))).toEqual(["", "", ""]);
    }
    // Only the range changes, and a range past n is clamped to it.
    fill();
    const before = view(params).slice();
    kernel.step_range(flags, 0, 5, 3);
    for (let i = 0; i < n; i++) expect(Object.is(view(params)[i], i >= 5 && i < 8 ? whole[0][i] : before[i])).toBe(true);
    fill();
    const words0 = words.slice();
    kernel.step_range(flags, 0, 20, 1000);
    kernel.step_range(flags, 0, 1000, 5);
    const outside = [...words.keys()].filter((w) => words[w] !== words0[w] && ![params, sqAvg, momentumBuffer].some((a) => w >= a / 4 + 20 && w < a / 4 + n));
    expect(outside).toEqual([]);
  });

  it("first_nonfinite_f32 names the first NaN or ±∞ at every position", async () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const kernel = bindKernel(await kernelModule(backend), memory);
    // Sizes around the vector width and around the 64-element blocks of the SIMD scan.
    for (const n of [0, 1, 3, 4, 5, 8, 9, 33, 63, 64, 65, 130, 1000]) {
      const x = new Float32Array(memory.buffer, 64, n);
      x.set(awkwardFloats(n, n));
      expect(kernel.first_nonfinite_f32(64, n)).toBe(-1);
      for (let bad = 0; bad < n; bad += n > 200 ? 7 : 1) {
        for (const value of [NaN, Infinity, -Infinity]) {
          x.set(awkwardFloats(n, n));
          x[bad] = value;
          if (bad + 2 < n) x[bad + 2] = NaN; // a later one must not win
          expect(kernel.first_nonfinite_f32(64, n)).toBe(bad);
          expect(referenceFirstNonFinite(x)).toBe(bad);
        }
      }
    }
  });

  it("first_nonfinite_scaled_f32 names the first element whose f32 product with the scale is NaN or ±∞", async () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const kernel = bindKernel(await kernelModule(backend), memory);
    // With scale 3, the largest f32 x whose product stays finite (rounding decides it), and
    // the next f32 up, whose product overflows.
    const scale = 3;
    const bits = new Uint32Array(1), float = new Float32Array(bits.buffer);
    float[0] = 3.4028234663852886e38 / scale;
    while (!Number.isFinite(Math.fround(float[0] * scale))) bits[0]--;
    for (;;) {
      bits[0]++;
      if (!Number.isFinite(Math.fround(float[0] * scale))) break;
    }
    const over = float[0];
    bits[0]--;
    const edge = float[0];
    for (const n of [0, 1, 3, 4, 5, 8, 9, 33, 63, 64, 65, 130, 1000]) {
      const x = new Float32Array(memory.buffer, 64, n);
      for (let bad = 0; bad < n; bad += n > 200 ? 7 : 1) {
        for (const value of [NaN, Infinity, -over, over, 3e38, -1.2e38]) {
          x.set(awkwardFloats(n, n).map((v) => Math.min(Math.abs(v), 1e30)));
          if (bad > 0) x[bad - 1] = -edge; // at the edge: finite when scaled
          x[bad] = value;
          if (bad + 2 < n) x[bad + 2] = NaN; // a later one must not win
          expect(kernel.first_nonfinite_scaled_f32(64, n, scale)).toBe(bad);
          expect(referenceFirstNonFinite(x, scale)).toBe(bad);
          expect(kernel.first_nonfinite_scaled_f32(64, bad, scale)).toBe(-1);
        }
      }
    }
  });
});
