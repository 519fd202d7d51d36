// Block-wise 8-bit quantization, the reference: the integer map of assembly/quantize.ts on
// the bits of f32 values, element by element, so that the tests can demand the kernel's
// exact codes and scales. The formats, the rounding and why they were chosen:
// docs/quantization.md.

import { QUANT_BLOCK } from "./quant-sizes.ts";

export { QUANT_BLOCK, QUANT_SCRATCH_BYTES } from "./quant-sizes.ts";

/** One 8-bit code map: a float with a sign (or not), e exponent bits and m mantissa bits. */
export interface QuantFormat {
  /** Its number in the kernel's `format` argument. */
  readonly id: number;
  readonly signed: boolean;
  readonly exponentBits: number;
  readonly mantissaBits: number;
}

/**
 * The code maps. u8e5m3 holds values that are never negative (S, or S − G² when centered)
 * and has no zero: its code 0 is the bottom of the block's range, 2^-31 of the scale, where
 * everything below it is kept. s8e3m4 and s8e4m3 hold signed values (M and G), with an
 * exact 0.
 */
export const QUANT_FORMATS = {
  u8e5m3: { id: 0, signed: false, exponentBits: 5, mantissaBits: 3 },
  s8e3m4: { id: 1, signed: true, exponentBits: 3, mantissaBits: 4 },
  s8e4m3: { id: 2, signed: true, exponentBits: 4, mantissaBits: 3 },
} as const satisfies Record<string, QuantFormat>;

export type QuantFormatName = keyof typeof QUANT_FORMATS;


/** Chris Wellons' lowbias32, a bijective 32-bit integer hash. */
function lowbias32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The seed of array k (0 S, 1 M, 2 G) for a step's rounding seed, so that each rounds apart. */
export const arraySeed = (roundingSeed: number, k: number): number => lowbias32((Math.imul(roundingSeed, 3) + k) >>> 0);

/**
 * r of the block whose first element is element `index` of its array: uniform in
 * [0, 2^(23 − m)) from the array's seed (stochastic rounding), or 2^(22 − m) (nearest).
 */
export function roundingOffset(rounding: { index: number; seed: number } | null, f: QuantFormat): number {
  const shift = 23 - f.mantissaBits;
  return rounding ? lowbias32((rounding.seed + rounding.index) >>> 0) >>> (32 - shift) : 2 ** (shift - 1);
}

/** Blocks of `n` elements: how many scales an array of n has. */
export const quantBlocks = (n: number): number => Math.ceil(n / QUANT_BLOCK);

const maxMagnitude = (f: QuantFormat) => 2 ** (f.exponentBits + f.mantissaBits) - 1;

/**
 * f32 bits of a block's scale from the largest |x| bits in it and the block's rounding
 * offset r: the largest power of two ≤ the maximum once rounded (NaN and ∞ count as ∞),
 * clamped to [2^(2^E − 127), 2^127], and for u8e5m3 to [2^-64, 2^127].
 */
export function scaleBits(maxAbsBits: number, r: number, f: QuantFormat): number {
  const lowest = (f.signed ? 2 ** f.exponentBits : 63) * 2 ** 23;
  const rounded = Math.min(maxAbsBits, 0x7f800000) + r;
  return Math.min(Math.max((rounded & 0x7f800000) >>> 0, lowest), 254 * 2 ** 23);
}

/** What a block's codes are shifted by to become f32 bits. */
export const decodeBias = (scale: number, f: QuantFormat): number => scale - (2 ** f.exponentBits - 1) * 2 ** 23;

/** The f32 bits a code stands for, in a block of this bias. */
export function decodeCode(code: number, bias: number, f: QuantFormat): number {
  const shifted = (magnitude: number) => magnitude * 2 ** (23 - f.mantissaBits) + bias;
  if (!f.signed) return shifted(code);
  const magnitude = code & maxMagnitude(f);
  const bits = magnitude === 0 ? 0 : shifted(magnitude);
  return code & 0x80 ? (bits | 0x80000000) >>> 0 : bits;
}

/** The code of the f32 with these bits, in a block of this bias, rounded with offset r. */
export function encodeBits(bits: number, bias: number, r: number, f: QuantFormat): number {
  const abs = bits & 0x7fffffff;
  const q = (abs + r - bias) >> (23 - f.mantissaBits); // |abs + r − bias| < 2^31, as the kernel's i32 lanes
  if (!f.signed) return Math.min(Math.max(q, 0), 255);
  if (q < 0) return 0;
  const magnitude = Math.min(q, maxMagnitude(f));
  return bits >>> 31 && abs <= 0x7f800000 ? magnitude | 0x80 : magnitude;
}


/** Where a quantized array keeps its codes and the scales of its blocks. */
export interface Quantized {
  codes: Uint8Array;
  scales: Float32Array;
}

const bitsView = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/**
 * Quantizes `x` block by block into `out` (codes of x's length, quantBlocks(length)
 * scales). Rounds to nearest, or stochastically when `rounding` gives the array's seed and
 * the index of x[0] in the whole array (a block's first element).
 */
export function quantizeBlockwise(
  format: QuantFormatName,
  x: Float32Array,
  out: Quantized,
  rounding: { index: number; seed: number } | null = null,
): void {
  const f = QUANT_FORMATS[format];
  const bits = bitsView(x);
  const scales = bitsView(out.scales);
  for (let b = 0, start = 0; start < x.length; b++, start += QUANT_BLOCK) {
    const end = Math.min(x.length, start + QUANT_BLOCK);
    let maxAbs = 0;
    for (let i = start; i < end; i++) maxAbs = Math.max(maxAbs, bits[i] & 0x7fffffff);
    const r = roundingOffset(rounding && { index: (rounding.index + start) >>> 0, seed: rounding.seed }, f);
    const scale = scaleBits(maxAbs, r, f);
    scales[b] = scale;
    const bias = decodeBias(scale, f);
    for (let i = start; i < end; i++) out.codes[i] = encodeBits(bits[i], bias, r, f);
  }
}

/** The format with this kernel id. */
export function formatName(id: number): QuantFormatName {
  const name = (Object.keys(QUANT_FORMATS) as QuantFormatName[]).find((k) => QUANT_FORMATS[k].id === id);
  if (name === undefined) throw new RangeError(`format must be one of ${Object.values(QUANT_FORMATS).map((f) => f.id).join(", ")}; got ${id}`);
  return name;
}

/** The f32 values the codes and scales stand for, into `out` (exact). */
export function dequantizeBlockwise(format: QuantFormatName, q: Quantized, out: Float32Array): void {
  const f = QUANT_FORMATS[format];
  const bits = bitsView(out);
  const scales = bitsView(q.scales);
  for (let i = 0; i < out.length; i++) {
    bits[i] = decodeCode(q.codes[i], decodeBias(scales[Math.floor(i / QUANT_BLOCK)], f), f);
  }
}
