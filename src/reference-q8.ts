// The 8-bit step's ground truth (Q8): the kernel's stepQ8 block by block, on the f32 step of
// src/reference.ts and the code maps of src/quantization.ts. Apart from src/reference.ts so
// that a page that steps in wasm never downloads it (backend "js" and the tests load it).
import { KernelFlag, type RoundingCounter, type StepScalars } from "./kernel-abi.ts";
import {
  arraySeed, dequantizeBlockwise, QUANT_BLOCK, quantizeBlockwise, type Quantized,
} from "./quantization.ts";
import { referenceStep } from "./reference.ts";
import { Q8_ROWS } from "./state-arrays.ts";

const f = Math.fround;

/** The arrays of an 8-bit step (Q8): θ, g and the EMA in f32; S (V when centered), M, G as codes. */
export interface QuantizedStepArrays {
  params: Float32Array;
  grads: Float32Array;
  ema?: Float32Array;
  sqAvg: Quantized;
  momentumBuffer?: Quantized;
  gradAvg?: Quantized;
}

/** The arrays an 8-bit step keeps as codes. */
export type Q8Name = "sqAvg" | "momentumBuffer" | "gradAvg";

/** Each 8-bit array's code map and its number k in arraySeed, from the table of state arrays. */
export const Q8_ARRAYS = Q8_ROWS.map((r) => ({ name: r.name as Q8Name, format: r.q8.format, k: r.q8.seed, flags: r.q8.flags }));

/**
 * The 8-bit step (Q8), block by block as the kernel's stepQ8: decode S, M and G (a centered
 * S is V + G², V = S − G² its code), run referenceStep on them, then give each array its
 * new block scale and codes, rounding stochastically from element firstIndex + i.
 */
export function referenceStepQ8(flags: number, s: StepScalars, a: QuantizedStepArrays, counter: RoundingCounter): void {
  const f32Flags = flags & ~KernelFlag.q8;
  const centered = (flags & KernelFlag.centered) !== 0;
  const quantized = Q8_ARRAYS.filter((q) => q.flags === 0 || (flags & q.flags) !== 0);
  const decoded = { sqAvg: new Float32Array(QUANT_BLOCK), momentumBuffer: new Float32Array(QUANT_BLOCK), gradAvg: new Float32Array(QUANT_BLOCK) };
  const n = a.params.length;
  for (let b = 0, start = 0; start < n; b++, start += QUANT_BLOCK) {
    const end = Math.min(n, start + QUANT_BLOCK);
    const block = (q: Quantized): Quantized => ({ codes: q.codes.subarray(start, end), scales: q.scales.subarray(b, b + 1) });
    const values = (name: Q8Name) => decoded[name].subarray(0, end - start);
    for (const q of quantized) dequantizeBlockwise(q.format, block(quantizedArray(a, q.name)), values(q.name));
    const sq = values("sqAvg"), gAvg = values("gradAvg");
    if (centered) for (let i = 0; i < sq.length; i++) sq[i] = f(sq[i] + f(gAvg[i] * gAvg[i]));
    referenceStep(f32Flags, s, {
      params: a.params.subarray(start, end),
      grads: a.grads.subarray(start, end),
      sqAvg: sq,
      momentumBuffer: values("momentumBuffer"),
      gradAvg: gAvg,
      ema: a.ema?.subarray(start, end),
    });
    if (centered) {
      for (let i = 0; i < sq.length; i++) {
        const rest = f(sq[i] - f(gAvg[i] * gAvg[i]));
        sq[i] = rest < 0 ? 0 : rest;
      }
    }
    for (const q of quantized) {
      const rounding = { index: (counter.firstIndex + start) >>> 0, seed: arraySeed(counter.roundingSeed, q.k) };
      quantizeBlockwise(q.format, values(q.name), block(quantizedArray(a, q.name)), rounding);
    }
  }
}

function quantizedArray(a: QuantizedStepArrays, name: Q8Name): Quantized {
  const q = a[name];
  if (!q) throw new TypeError(`referenceStepQ8: these flags need the ${name} codes`);
  return q;
}
