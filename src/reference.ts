// The ground truth: one RMSProp step in plain JavaScript, every operation rounded to f32
// with Math.fround, in the order of assembly/rmsprop.ts (read the two side by side). The
// tests demand bit-identical results from both kernel builds.
import { KernelFlag, NORM_BLOCK, type RoundingCounter, type StepScalars } from "./kernel-abi.ts";
import {
  arraySeed, dequantizeBlockwise, QUANT_BLOCK, quantizeBlockwise, type QuantFormatName, type Quantized,
} from "./quantization.ts";

const f = Math.fround;

/** The arrays of one step; momentumBuffer, gradAvg and ema only where the flags use them. */
export interface StepArrays {
  params: Float32Array;
  grads: Float32Array;
  sqAvg: Float32Array;
  momentumBuffer?: Float32Array;
  gradAvg?: Float32Array;
  ema?: Float32Array;
}

function required(array: Float32Array | undefined, name: string): Float32Array {
  if (!array) throw new TypeError(`referenceStep: these flags need the ${name} array`);
  return array;
}

/** Applies one step to `a` in place, per element, exactly as the kernel does. */
export function referenceStep(flags: number, s: StepScalars, a: StepArrays): void {
  const { params, grads, sqAvg } = a;
  const epsInSqrt = (flags & KernelFlag.epsInSqrt) !== 0;
  const centered = (flags & KernelFlag.centered) !== 0;
  const wdL2 = (flags & KernelFlag.wdL2) !== 0;
  const wdDecoupled = (flags & KernelFlag.wdDecoupled) !== 0;
  const nesterov = (flags & KernelFlag.momNesterov) !== 0;
  const momentum = nesterov || (flags & KernelFlag.momHeavy) !== 0;
  const clip = (flags & KernelFlag.clip) !== 0;
  const withEma = (flags & KernelFlag.ema) !== 0;
  const momentumBuffer = momentum ? required(a.momentumBuffer, "momentumBuffer") : sqAvg; // unused then
  const gradAvg = centered ? required(a.gradAvg, "gradAvg") : sqAvg; // unused then
  const ema = withEma ? required(a.ema, "ema") : sqAvg; // unused then
  // The first step's EMA starts from the weights it begins with.
  if (withEma && (flags & KernelFlag.emaInit) !== 0) ema.set(params);
  const n = params.length;
  for (let i = 0; i < n; i++) {
    let theta = params[i];
    let g = f(grads[i] * s.gSign);
    if (clip) {
      g = f(g * s.clipScale);
      if (g < -s.clipValue) g = -s.clipValue;
      if (s.clipValue < g) g = s.clipValue;
    }
    if (wdL2) g = f(g + f(s.wd * theta));
    if (wdDecoupled) theta = f(theta - f(s.lrWd * theta));
    const sq = f(f(s.beta * sqAvg[i]) + f(s.oneMinusBeta * f(g * g)));
    sqAvg[i] = sq;
    let v = f(sq * s.invC);
    if (centered) {
      const gAvg = f(f(s.beta * gradAvg[i]) + f(s.oneMinusBeta * g));
      gradAvg[i] = gAvg;
      const m = f(gAvg * s.invC);
      v = f(v - f(m * m));
      if (v < s.vFloor) v = s.vFloor;
    }
    const d = epsInSqrt ? f(Math.sqrt(f(v + s.eps))) : f(f(Math.sqrt(v)) + s.eps);
    const u = f(g / d);
    if (!momentum) {
      theta = f(theta - f(s.lr * u));
    } else {
      const scaled = f(s.uScale * u);
      const buf = f(f(s.mu * momentumBuffer[i]) + scaled);
      momentumBuffer[i] = buf;
      theta = nesterov
        ? f(theta - f(s.thetaScale * f(f(s.mu * buf) + scaled)))
        : f(theta - f(s.thetaScale * buf));
    }
    params[i] = theta;
    if (withEma) ema[i] = f(f(s.emaDecay * ema[i]) + f(s.oneMinusEmaDecay * theta));
  }
}

/** The arrays of an 8-bit step (Q8): θ, g and the EMA in f32; S (V when centered), M, G as codes. */
export interface QuantizedStepArrays {
  params: Float32Array;
  grads: Float32Array;
  ema?: Float32Array;
  sqAvg: Quantized;
  momentumBuffer?: Quantized;
  gradAvg?: Quantized;
}

/** Each quantized array's code map, and its number k in arraySeed. */
export const Q8_ARRAYS = [
  { name: "sqAvg", format: "u8e5m3", k: 0 },
  { name: "momentumBuffer", format: "s8e3m4", k: 1 },
  { name: "gradAvg", format: "s8e4m3", k: 2 },
] as const satisfies readonly { name: keyof QuantizedStepArrays; format: QuantFormatName; k: number }[];

/**
 * The 8-bit step (Q8), block by block as the kernel's stepQ8: decode S, M and G (a centered
 * S is V + G², V = S − G² its code), run referenceStep on them, then give each array its
 * new block scale and codes, rounding stochastically from element firstIndex + i.
 */
export function referenceStepQ8(flags: number, s: StepScalars, a: QuantizedStepArrays, counter: RoundingCounter): void {
  const f32Flags = flags & ~KernelFlag.q8;
  const centered = (flags & KernelFlag.centered) !== 0;
  const momentum = (flags & (KernelFlag.momHeavy | KernelFlag.momNesterov)) !== 0;
  const quantized = Q8_ARRAYS.filter((q) => q.name === "sqAvg" || (q.name === "momentumBuffer" ? momentum : centered));
  const decoded = { sqAvg: new Float32Array(QUANT_BLOCK), momentumBuffer: new Float32Array(QUANT_BLOCK), gradAvg: new Float32Array(QUANT_BLOCK) };
  const n = a.params.length;
  for (let b = 0, start = 0; start < n; b++, start += QUANT_BLOCK) {
    const end = Math.min(n, start + QUANT_BLOCK);
    const block = (q: Quantized): Quantized => ({ codes: q.codes.subarray(start, end), scales: q.scales.subarray(b, b + 1) });
    const values = (name: (typeof Q8_ARRAYS)[number]["name"]) => decoded[name].subarray(0, end - start);
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

function quantizedArray(a: QuantizedStepArrays, name: (typeof Q8_ARRAYS)[number]["name"]): Quantized {
  const q = a[name];
  if (!q) throw new TypeError(`referenceStepQ8: these flags need the ${name} codes`);
  return q;
}

/**
 * Σ (x·scale)² of `x` in blocks of NORM_BLOCK, block b's sum into out[b], in the kernel's
 * order (sum_squares_f32): each product rounded to f32 and squared exactly in f64, element
 * k of a block into accumulator k mod 4, the block's sum (a0 + a1) + (a2 + a3). Returns the
 * first block whose sum is not finite, or −1.
 */
export function referenceSumSquares(x: Float32Array, scale: number, out: Float64Array): number {
  let firstBad = -1;
  for (let b = 0, start = 0; start < x.length; b++, start += NORM_BLOCK) {
    const acc = [0, 0, 0, 0];
    const end = Math.min(x.length, start + NORM_BLOCK);
    for (let i = start; i < end; i++) {
      const g = f(x[i] * scale);
      acc[(i - start) & 3] += g * g;
    }
    out[b] = acc[0] + acc[1] + (acc[2] + acc[3]);
    if (firstBad < 0 && !Number.isFinite(out[b])) firstBad = b;
  }
  return firstBad;
}

/** Index of the first NaN or ±∞ in `x`, or −1: the reference of first_nonfinite_f32. */
export function referenceFirstNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return i;
  return -1;
}
