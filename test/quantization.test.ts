// Block-wise 8-bit quantization (src/quantization.ts, assembly/quantize.ts): the kernel's
// codes and scales bit for bit against the reference on awkward lengths and values, every
// code's value against the format's formula in f64, round trips within the format's error,
// and stochastic rounding that is unbiased.
import { describe, expect, it } from "vitest";
import { kernelModule } from "../src/backend.ts";
import { bindKernel, type KernelExports } from "../src/kernel-abi.ts";
import {
  decodeBias, decodeCode, dequantizeBlockwise, QUANT_BLOCK, QUANT_FORMATS, quantBlocks, quantizeBlockwise, scaleBits,
  type QuantFormatName, type Quantized,
} from "../src/quantization.ts";
import { referenceKernel } from "../src/reference-kernel.ts";
import { awkwardFloats, rng } from "./helpers/data.ts";

const FORMATS = Object.keys(QUANT_FORMATS) as QuantFormatName[];
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOf = (x: number) => ((f32[0] = x), u32[0]);

/** x and the same with NaN of both signs, ±∞ and the extremes of f32 mixed in. */
function values(n: number, seed: number): Float32Array {
  const x = awkwardFloats(n, seed);
  const u = new Uint32Array(x.buffer);
  const r = rng(seed + 7);
  for (let i = 0; i < n; i++) {
    const pick = r();
    if (pick < 0.01) u[i] = 0x7fc00000; // NaN
    else if (pick < 0.02) u[i] = 0xffc00001; // NaN with the sign set
    else if (pick < 0.025) x[i] = r() < 0.5 ? Infinity : -Infinity;
  }
  return x;
}

/** Runs the kernel's codec on its own memory: codes, scales and the dequantized values. */
function kernelRoundTrip(kernel: KernelExports, memory: WebAssembly.Memory, format: QuantFormatName, x: Float32Array) {
  // Codes at an odd offset; scales and values 4-byte aligned but not 16.
  const align4 = (at: number) => Math.ceil(at / 4) * 4;
  const n = x.length, src = 68, codes = src + 4 * n + 13, scales = align4(codes + n + 7), out = scales + 4 * quantBlocks(n) + 4;
  new Float32Array(memory.buffer, src, n).set(x);
  const id = QUANT_FORMATS[format].id;
  kernel.quantize_blockwise_8bit(id, src, n, codes, scales);
  kernel.dequantize_blockwise_8bit(id, codes, scales, n, out);
  return {
    codes: new Uint8Array(memory.buffer, codes, n).slice(),
    scales: new Uint32Array(memory.buffer, scales, quantBlocks(n)).slice(),
    out: new Uint32Array(memory.buffer, out, n).slice(),
  };
}

const sizes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 255, 256, 257, 511, 512, 513, 1000, 4099];

describe.each(["simd", "scalar", "js"] as const)("%s quantize_blockwise_8bit and dequantize_blockwise_8bit", (backend) => {
  it.each(FORMATS)("%s: the reference's codes, scales and values on every length", async (format) => {
    const memory = new WebAssembly.Memory({ initial: 2 });
    const kernel = backend === "js" ? referenceKernel(memory.buffer) : bindKernel(await kernelModule(backend), memory);
    for (const n of sizes) {
      const x = values(n, n + 11);
      const want: Quantized = { codes: new Uint8Array(n), scales: new Float32Array(quantBlocks(n)) };
      quantizeBlockwise(format, x, want);
      const back = new Float32Array(n);
      dequantizeBlockwise(format, want, back);
      const got = kernelRoundTrip(kernel, memory, format, x);
      expect([...got.codes], `${format} codes, n ${n}`).toEqual([...want.codes]);
      expect([...got.scales], `${format} scales, n ${n}`).toEqual([...new Uint32Array(want.scales.buffer)]);
      expect([...got.out], `${format} values, n ${n}`).toEqual([...new Uint32Array(back.buffer)]);
    }
  });
});

/** A code's value by the format's definition, in f64 (the table at the top of assembly/quantize.ts). */
function formulaValue(format: QuantFormatName, code: number, scale: number): number {
  const f = QUANT_FORMATS[format];
  const magnitude = f.signed ? code & 0x7f : code;
  const e = magnitude >> f.mantissaBits, m = magnitude & (2 ** f.mantissaBits - 1);
  const sign = f.signed && code & 0x80 ? -1 : 1;
  if (f.signed && magnitude === 0) return sign * 0;
  return sign * scale * 2 ** (e - (2 ** f.exponentBits - 1)) * (1 + m / 2 ** f.mantissaBits);
}

describe("the code maps", () => {
  it.each(FORMATS)("%s: every code at every scale decodes to the format's formula", (format) => {
    const f = QUANT_FORMATS[format];
    for (const scale of [2 ** -64, 2 ** -20, 0.5, 1, 3 * 2 ** 40, 2 ** 127]) {
      const bits = scaleBits(bitsOf(scale), 0, f);
      const clamped = new Float32Array(new Uint32Array([bits]).buffer)[0];
      const codes = Uint8Array.from({ length: 256 }, (_, c) => c);
      const out = new Float32Array(256);
      dequantizeBlockwise(format, { codes, scales: new Float32Array([clamped]) }, out);
      for (let c = 0; c < 256; c++) expect(Object.is(out[c], formulaValue(format, c, clamped)), `${format} code ${c} at ${clamped}`).toBe(true);
    }
  });

  it.each(FORMATS)("%s: the scale is the largest power of two ≤ max |x| rounded, clamped, and codes re-encode to themselves", (format) => {
    const f = QUANT_FORMATS[format];
    const lowest = f.signed ? 2 ** (2 ** f.exponentBits - 127) : 2 ** -64;
    // The maximum rounded to the format's mantissa, ties up: 1.9999 rounds to 2.
    const rounded = (x: number) => {
      const step = 2 ** (Math.floor(Math.log2(x)) - f.mantissaBits);
      return Math.floor(x / step + 0.5) * step;
    };
    for (const max of [1e-30, 3e-20, 0.75, 1, 1.9999, 6e5, 3e38]) {
      const x = Float32Array.from([max, -max / 3, max / 1000, 0]);
      const q: Quantized = { codes: new Uint8Array(4), scales: new Float32Array(1) };
      quantizeBlockwise(format, x, q);
      const want = Math.min(2 ** 127, Math.max(lowest, 2 ** Math.floor(Math.log2(rounded(Math.fround(max))))));
      expect(q.scales[0], `max ${max}`).toBe(want);
      const back = new Float32Array(4);
      dequantizeBlockwise(format, q, back);
      const again: Quantized = { codes: new Uint8Array(4), scales: new Float32Array(1) };
      quantizeBlockwise(format, back, again);
      expect([...again.codes]).toEqual([...q.codes]);
    }
  });

  it.each(FORMATS)("%s: rounding to nearest is within half a step of the f64 value, and below the range as the format says", (format) => {
    const f = QUANT_FORMATS[format];
    const r = rng(3);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(r() * QUANT_BLOCK);
      // Magnitudes over 40 binades below the block maximum, so some fall below the range.
      const x = Float32Array.from({ length: n }, () => (f.signed && r() < 0.5 ? -1 : 1) * 2 ** (-40 * r()) * (1 + r()));
      const q: Quantized = { codes: new Uint8Array(n), scales: new Float32Array(1) };
      quantizeBlockwise(format, x, q);
      const back = new Float32Array(n);
      dequantizeBlockwise(format, q, back);
      const scale = q.scales[0];
      const bottom = scale * 2 ** (1 - 2 ** f.exponentBits); // the lowest binade's start
      for (let i = 0; i < n; i++) {
        const err = Math.abs(back[i] - x[i]);
        // In the signed formats the lowest binade's first point is 0's code, so what rounds
        // to it is 0.
        const zeroUpTo = f.signed ? bottom * (1 + 2 ** -(f.mantissaBits + 1)) : 0;
        if (Math.abs(x[i]) >= bottom && Math.abs(x[i]) >= zeroUpTo) {
          // Half a code step of x's binade (ties go up: ≤, not <).
          expect(err, `${format} ${x[i]} → ${back[i]}`).toBeLessThanOrEqual(2 ** (Math.floor(Math.log2(Math.abs(x[i]))) - f.mantissaBits - 1));
        } else if (f.signed) {
          expect(back[i] === 0, `${format} ${x[i]} below the range gave ${back[i]}`).toBe(true);
        } else {
          expect(back[i], `${x[i]} below the range`).toBe(bottom); // u8e5m3: code 0, the bottom
        }
      }
    }
  });

  it("u8e5m3 has no zero: 0 and values below the range read back as the bottom, 2^-31 of the scale", () => {
    const x = Float32Array.from([1, 0, 2 ** -40, -0]);
    const q: Quantized = { codes: new Uint8Array(4), scales: new Float32Array(1) };
    quantizeBlockwise("u8e5m3", x, q);
    const back = new Float32Array(4);
    dequantizeBlockwise("u8e5m3", q, back);
    expect([...q.codes]).toEqual([248, 0, 0, 0]);
    expect([...back]).toEqual([1, 2 ** -31, 2 ** -31, 2 ** -31]);
  });

  it.each(FORMATS)("%s: NaN of either sign and +∞ take the largest positive code, −∞ the largest negative", (format) => {
    const f = QUANT_FORMATS[format];
    const x = new Float32Array(4);
    new Uint32Array(x.buffer).set([0x7fc00000, 0xffc00001, 0x7f800000, 0xff800000]);
    const q: Quantized = { codes: new Uint8Array(4), scales: new Float32Array(1) };
    quantizeBlockwise(format, x, q);
    const top = f.signed ? 0x7f : 0xff;
    expect([...q.codes]).toEqual([top, top, top, f.signed ? 0xff : 0xff]);
    expect(q.scales[0]).toBe(2 ** 127);
  });

  it.each(FORMATS)("%s: stochastic rounding lands on a neighbour and is unbiased over seeds", (format) => {
    const f = QUANT_FORMATS[format];
    const r = rng(9);
    for (let trial = 0; trial < 12; trial++) {
      // A block whose maximum fixes the scale at 1, and one value between two codes.
      const x = Float32Array.from([1.5, (f.signed && trial % 2 ? -1 : 1) * 2 ** (-6 * r()) * (1 + r())]);
      const scale = 1;
      const bias = decodeBias(bitsOf(scale), f);
      const step = 2 ** (Math.floor(Math.log2(Math.abs(x[1]))) - f.mantissaBits);
      const below = Math.sign(x[1]) * Math.floor(Math.abs(x[1]) / step) * step;
      const above = below + Math.sign(x[1]) * step;
      let sum = 0;
      const seeds = 3000;
      for (let seed = 0; seed < seeds; seed++) {
        const q: Quantized = { codes: new Uint8Array(2), scales: new Float32Array(1) };
        quantizeBlockwise(format, x, q, { index: 0, seed: seed * 0x9e3779b9 });
        const v = new Float32Array(new Uint32Array([decodeCode(q.codes[1], bias, f)]).buffer)[0];
        expect(v === below || v === above, `${x[1]} → ${v}`).toBe(true);
        sum += v;
      }
      // Bernoulli(p) in steps of `step`: the mean's standard deviation is at most step/(2√seeds).
      expect(Math.abs(sum / seeds - x[1])).toBeLessThan((4 * step) / (2 * Math.sqrt(seeds)));
    }
  });
});
