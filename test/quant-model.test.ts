// The model of the 8-bit step on many threads (bench/quantization/model.mjs,
// docs/quantization.md "Many cores"): its byte counts are those of real optimizers, its
// arithmetic is the longer of memory and arithmetic time, and the docs' table is what it
// gives for the inputs the docs state.
import { describe, expect, it } from "vitest";
// @ts-expect-error: a bench module in plain JavaScript
import { modelRatios, stepBytes, threadsFor } from "../bench/quantization/model.mjs";
import { createRmsprop, type RmspropOptions } from "../src/index.ts";

const VARIANTS: [string, RmspropOptions][] = [
  ["default", {}],
  ["momentum", { momentum: 0.9 }],
  ["centered, momentum", { centered: true, momentum: 0.9 }],
  ["EMA", { emaDecay: 0.999 }],
];

/** Bytes per parameter in an optimizer's arrays, from its views. */
function heldBytes(opt: Awaited<ReturnType<typeof createRmsprop>>): number {
  let bytes = opt.params.byteLength + opt.grads.byteLength;
  for (const view of Object.values(opt.state)) bytes += view?.byteLength ?? 0;
  for (const q of Object.values(opt.state8 ?? {})) bytes += (q?.codes.byteLength ?? 0) + (q?.scales.byteLength ?? 0);
  return bytes / opt.n;
}

describe("the 8-bit step's model", () => {
  it.each(VARIANTS)("counts the bytes a %s optimizer holds, at both stateBits", async (_, options) => {
    const n = 512 * 64; // above the 4096 under which state stays f32, whole blocks
    for (const stateBits of [32, 8] as const) {
      const opt = await createRmsprop(n, { ...options, stateBits });
      expect(stepBytes({ ...options, stateBits }).stored).toBeCloseTo(heldBytes(opt), 12);
      opt.dispose();
    }
  });

  it("moves every array but g twice (read, written back), g once and once more for the scan", () => {
    // θ, g, S: 4 + 4 + 4 bytes held; moved 8 + 4 + 8 = 20, and 4 for the scan.
    expect(stepBytes({ nonFinite: "ignore" }).moved).toBe(20);
    expect(stepBytes({}).moved).toBe(24);
    expect(stepBytes({ momentum: 0.9, nonFinite: "ignore" }).moved).toBe(28);
    expect(stepBytes({ centered: true, momentum: 0.9, nonFinite: "ignore" }).moved).toBe(36);
    // 8-bit: S as a byte and a 4-byte scale per 512, read and written.
    expect(stepBytes({ stateBits: 8, nonFinite: "ignore" }).moved).toBeCloseTo(8 + 4 + 2 * (1 + 4 / 512), 12);
    expect(stepBytes({ stateBits: 8, momentum: 0.9, nonFinite: "ignore" }).moved).toBeCloseTo(8 + 4 + 4 * (1 + 4 / 512), 12);
    // A norm clip scans g too, whatever nonFinite says.
    expect(stepBytes({ nonFinite: "ignore", globalClipNorm: 1 }).moved).toBe(24);
  });

  it("gives the docs' table for the inputs the docs state", () => {
    const machine = { perCore: 43.3, bandwidth: 53.1, threads: [1, 2, 4, 8, 16] };
    const rows = [
      [{}, 0.755, 0.961, [1.27, 1.06, 0.75, 0.75, 0.75], 3],
      [{ momentum: 0.9 }, 0.982, 1.476, [1.5, 1.22, 0.63, 0.63, 0.63], 4],
      [{ centered: true, momentum: 0.9 }, 1.335, 2.424, [1.82, 1.61, 0.8, 0.55, 0.55], 5],
    ] as const;
    for (const [options, f32Ns, q8Ns, ratios, from] of rows) {
      const got = modelRatios({ ...machine, options, f32Ns, q8Ns }).map((r: { ratio: number }) => Number(r.ratio.toFixed(2)));
      expect(got).toEqual(ratios);
      expect(threadsFor(0.8, { ...machine, options, f32Ns, q8Ns })).toBe(from);
    }
  });

  it("puts a step on k threads at the longer of its memory and arithmetic times", () => {
    // One core streams 30 GB/s, the machine 60: f32 24 bytes, 1 ns; 8-bit 18.02 bytes, 1.5 ns.
    const inputs = { f32Ns: 1, q8Ns: 1.5, perCore: 30, bandwidth: 60 };
    const q8Bytes = 8 + 8 + 2 * (1 + 4 / 512);
    const [one, two, four, eight] = modelRatios({ ...inputs, threads: [1, 2, 4, 8] });
    expect(one.ratio).toBeCloseTo(1.5 / 1, 12); // both arithmetic-bound
    expect(one.q8Bound).toBe("arithmetic");
    expect(two.ratio).toBeCloseTo(0.75 / Math.max(24 / 60, 0.5), 12); // f32 still arithmetic-bound
    expect(four.ratio).toBeCloseTo(Math.max(q8Bytes / 60, 1.5 / 4) / (24 / 60), 12);
    expect(eight.ratio).toBeCloseTo(q8Bytes / 24, 12); // both memory-bound: the bytes' ratio
    expect(eight.q8Bound).toBe("memory");
    expect(threadsFor(0.8, inputs)).toBe(5); // 1.5 / 5 = 0.3 ns fits under 18.02 / 60 = 0.300 ns
    expect(threadsFor(0.5, inputs)).toBeUndefined();
  });
});
