// The 8-bit step (Q8): the SIMD kernel, its scalar build and the reference bit for bit, on
// every length around the vector width and the block size, for every kernel variant, and
// split into calls on block boundaries as threads will split it.
import { describe, expect, it } from "vitest";
import type { RmspropOptions } from "../src/options.ts";
import { awkwardFloats, bitReport } from "./helpers/data.ts";
import { everyKernelVariant } from "./helpers/optimizers.ts";
import { createQ8Harness, type Q8Backend, type Q8Harness } from "./helpers/q8-harness.ts";

type Start = (n: number, seed: number) => { params: Float32Array; grads: (t: number) => Float32Array };

const awkward: Start = (n, seed) => ({ params: awkwardFloats(n, seed), grads: (t) => awkwardFloats(n, seed + 100 + t) });

/** Runs the same steps on each backend (and call count) and returns one report of differences. */
async function runSideBySide(n: number, options: RmspropOptions, steps: number, seed: number, start: Start, runs: [Q8Backend, number][]) {
  const hs: Q8Harness[] = [];
  for (const [backend, calls] of runs) hs.push(await createQ8Harness(n, options, backend, calls));
  const init = start(n, seed);
  for (const h of hs) h.params.set(init.params);
  for (let t = 0; t < steps; t++) {
    const grads = init.grads(t);
    for (const h of hs) {
      h.grads.set(grads);
      h.step(t % 2 ? 0.003 : undefined);
    }
  }
  const [ref, ...others] = hs;
  const report: string[] = [];
  others.forEach((h, k) => {
    const name = runs[k + 1].join("×");
    report.push(bitReport(`${name} params`, h.params, ref.params));
    if (ref.ema) report.push(bitReport(`${name} ema`, h.ema!, ref.ema));
    for (const [array, q] of Object.entries(ref.quantized)) {
      const mine = h.quantized[array as keyof typeof h.quantized]!;
      const i = q.codes.findIndex((c, j) => c !== mine.codes[j]);
      if (i >= 0) report.push(`${name} ${array} code[${i}] = ${mine.codes[i]}, reference ${q.codes[i]} (n ${n})`);
      report.push(bitReport(`${name} ${array} scales`, mine.scales, q.scales));
    }
  });
  return report.filter(Boolean);
}

const backends: [Q8Backend, number][] = [["js", 1], ["simd", 1], ["scalar", 1]];

describe("8-bit step: SIMD, scalar and reference are bit-identical", () => {
  it.each([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 17, 255, 256, 257, 1023, 1029])("default options, n = %i, 5 steps", async (n) => {
    expect(await runSideBySide(n, {}, 5, n, awkward, backends)).toEqual([]);
  });

  it.each(everyKernelVariant())("kernel variant %j on odd sizes", async (options) => {
    for (const n of [1, 3, 7, 9, 259, 515]) {
      expect(await runSideBySide(n, { biasCorrection: true, ...options }, 3, 3000 + n, awkward, backends), JSON.stringify(options)).toEqual([]);
    }
  });
});
