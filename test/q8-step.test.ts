// The 8-bit step (Q8): the SIMD kernel, its scalar build and the reference bit for bit, on
// every length around the vector width and the block size, for every kernel variant, and
// split into calls on block boundaries as threads will split it.
import { describe, expect, it } from "vitest";
import { kernelModule } from "../src/backend.ts";
import { bindKernel, KernelFlag, STEP_ARGS_BYTES, writeRoundingCounter, writeStepArgs } from "../src/kernel-abi.ts";
import { resolveOptions, type RmspropOptions } from "../src/options.ts";
import { QUANT_BLOCK, QUANT_SCRATCH_BYTES, quantBlocks } from "../src/quantization.ts";
import { kernelFlags, stepScalars } from "../src/step-scalars.ts";
import { awkwardFloats, bitReport, uniformFloats } from "./helpers/data.ts";
import { everyKernelVariant } from "./helpers/optimizers.ts";
import { createQ8Harness, type Q8Backend, type Q8Harness } from "./helpers/q8-harness.ts";

type Start = (n: number, seed: number) => { params: Float32Array; grads: (t: number) => Float32Array };

const awkward: Start = (n, seed) => ({ params: awkwardFloats(n, seed), grads: (t) => awkwardFloats(n, seed + 100 + t) });
// Finite gradients whose size changes tenfold from step to step: blocks stay in range (no
// NaN, ∞ or top scale), the encoder's fast path, with scales that move and scales that stay.
const plain: Start = (n, seed) => ({ params: uniformFloats(n, seed), grads: (t) => uniformFloats(n, seed + 100 + t, 10 ** ((t % 3) - 1)) });

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
  it.each([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 17, 255, 511, 512, 513, 1023, 1029, 2049])("default options, n = %i, 5 steps", async (n) => {
    expect(await runSideBySide(n, {}, 5, n, awkward, backends)).toEqual([]);
  });

  it.each(everyKernelVariant())("kernel variant %j on odd sizes", async (options) => {
    for (const n of [1, 3, 7, 9, 259, 515, 1027]) {
      expect(await runSideBySide(n, { biasCorrection: true, ...options }, 3, 3000 + n, awkward, backends), JSON.stringify(options)).toEqual([]);
    }
  });

  it.each(everyKernelVariant())("kernel variant %j, finite gradients, blocks in range", async (options) => {
    for (const n of [515, 2 * QUANT_BLOCK + 29]) {
      expect(await runSideBySide(n, { biasCorrection: true, ...options }, 6, 5000 + n, plain, backends), JSON.stringify(options)).toEqual([]);
    }
  });
});

describe("8-bit step: threads cut on block boundaries", () => {
  it.each([1, 3, 7])("one call or %i calls give the same bits", async (calls) => {
    const n = 7 * QUANT_BLOCK + 61;
    for (const options of [{}, { momentum: 0.9, centered: true, emaDecay: 0.99 }] as RmspropOptions[]) {
      expect(await runSideBySide(n, options, 4, 77, awkward, [["simd", 1], ["simd", calls], ["scalar", calls]])).toEqual([]);
    }
  });
});

describe.each(["simd", "scalar"] as const)("%s 8-bit step through the raw ABI", (backend) => {
  const CANARY = 0xa5;
  it.each([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 257])("n = %i at odd offsets touches only θ, the EMA, codes, scales and its scratch", async (n) => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const kernel = bindKernel(await kernelModule(backend), memory);
    const bytes = new Uint8Array(memory.buffer);
    bytes.fill(CANARY);
    let at = 0;
    const place = (size: number, align: number, skew = 0) => {
      const start = Math.ceil(at / align) * align + skew;
      at = start + size + 8; // canary bytes between regions
      return start;
    };
    const args = place(STEP_ARGS_BYTES, 4), scratch = place(QUANT_SCRATCH_BYTES, 16);
    const params = place(4 * n, 16, 4), grads = place(4 * n, 16, 8), ema = place(4 * n, 16, 12);
    const blocks = quantBlocks(n);
    const codes = { sqAvg: place(n, 4, 1), momentumBuffer: place(n, 4, 3), gradAvg: place(n, 4, 2) };
    const scales = { sqAvg: place(4 * blocks, 4), momentumBuffer: place(4 * blocks, 4), gradAvg: place(4 * blocks, 4) };
    new Float32Array(memory.buffer, params, n).set(awkwardFloats(n, 3));
    new Float32Array(memory.buffer, grads, n).set(awkwardFloats(n, 4));
    new Float32Array(memory.buffer, ema, n).fill(0);
    new Float32Array(memory.buffer, scales.sqAvg, blocks).fill(1);
    new Float32Array(memory.buffer, scales.momentumBuffer, blocks).fill(1);
    new Float32Array(memory.buffer, scales.gradAvg, blocks).fill(1);
    const o = resolveOptions({ momentum: 0.9, centered: true, emaDecay: 0.9, weightDecay: 0.01, clipValue: 1 });
    const flags = kernelFlags(o) | KernelFlag.q8 | KernelFlag.emaInit;
    const u32 = new Uint32Array(memory.buffer);
    writeStepArgs(u32, new Float32Array(memory.buffer), args, {
      params, grads, ema, ...codes, sqAvgScales: scales.sqAvg, momentumBufferScales: scales.momentumBuffer,
      gradAvgScales: scales.gradAvg, scratch,
    }, n, stepScalars(o, 1), flags);
    writeRoundingCounter(u32, args, { firstIndex: 5 * QUANT_BLOCK, roundingSeed: 1 });
    const before = bytes.slice();
    kernel.step(flags, args);
    const allowed: [number, number][] = [
      [scratch, QUANT_SCRATCH_BYTES], [params, 4 * n], [ema, 4 * n],
      ...Object.values(codes).map((c) => [c, n] as [number, number]),
      ...Object.values(scales).map((s) => [s, 4 * blocks] as [number, number]),
    ];
    const inside = (b: number) => allowed.some(([start, size]) => b >= start && b < start + size);
    const changedOutside = [...bytes.keys()].filter((b) => bytes[b] !== before[b] && !inside(b));
    expect(changedOutside).toEqual([]);
  });
});
