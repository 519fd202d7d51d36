// The state's values as the step reads them, whatever their storage: read out of and written
// into a segment's parts (src/state-storage.ts). readState, the initial values, checkpoints
// converted from one storage to another and the tfjs adapter's weights go through here.
//
// 8-bit codes are decoded exactly in JavaScript (src/quantization.ts, bit for bit the
// kernel's decoder), and encoded by the kernel's quantize_blockwise_8bit (to nearest)
// through a scratch in the memory: a segment's blocks start at its first element, so a
// chunk of whole blocks is encoded at a time. In a centered group S is stored as
// V = S − G² (its row's `lessSquareOf`): S reads as V + G², and an S written is stored as
// max(S − Ĝ², 0) with Ĝ the value G's codes hold, rounded as the kernel rounds them.
import type { KernelExports } from "./kernel-abi.ts";
import { dequantizeBlockwise, QUANT_BLOCK, QUANT_FORMATS, QUANT_SCRATCH_BYTES } from "./quantization.ts";
import { STATE_ARRAYS, type ArrayName, type StateArraySpec } from "./state-arrays.ts";
import type { Segment } from "./state-storage.ts";

const f = Math.fround;

/** Elements of f32 a scratch holds, in whole blocks: what one kernel call encodes. */
export const CHUNK = Math.floor(QUANT_SCRATCH_BYTES / 4 / QUANT_BLOCK) * QUANT_BLOCK;

/** One array's parts, whole: its f32 values, and its 8-bit codes and block scales. */
export interface StoredArray {
  readonly values?: Float32Array;
  readonly codes?: Uint8Array;
  readonly scales?: Float32Array;
}

/**
 * Where state is stored: each array's parts (views of an optimizer's memory, of a slot's,
 * or of a checkpoint's bytes), and, to encode 8-bit state, a kernel and a scratch of
 * QUANT_SCRATCH_BYTES in the memory the parts are in.
 */
export interface StateMemory {
  readonly parts: Readonly<Partial<Record<ArrayName, StoredArray>>>;
  readonly scratch?: Float32Array;
  readonly kernel?: KernelExports;
}

const rowOf = (name: ArrayName): StateArraySpec => STATE_ARRAYS.find((a) => a.name === name)!;

/** A segment's f32 values: a quantizable row's f32 part holds its 32-bit groups only; any other row all n. */
function values(m: StateMemory, row: StateArraySpec, seg: Segment): Float32Array {
  const at = row.q8 ? seg.at : seg.offset;
  return m.parts[row.name]!.values!.subarray(at, at + seg.size);
}

/** An 8-bit segment's codes and scales, as views. */
function quantized(m: StateMemory, name: ArrayName, seg: Segment) {
  const p = m.parts[name]!;
  return { codes: p.codes!.subarray(seg.at, seg.at + seg.size), scales: p.scales!.subarray(seg.scalesAt, seg.scalesAt + seg.blocks) };
}

/** The array its 8-bit codes are stored less the square of, where the segment's group is centered. */
function squared(row: StateArraySpec, centered: boolean): ArrayName | undefined {
  return centered ? row.q8?.lessSquareOf : undefined;
}

/** G as a segment's codes hold it, for S = V + G² (and V = S − G²). */
function decoded(m: StateMemory, name: ArrayName, seg: Segment): Float32Array {
  const out = new Float32Array(seg.size);
  dequantizeBlockwise(rowOf(name).q8!.format, quantized(m, name, seg), out);
  return out;
}

/**
 * The values of `name` in segment `seg` (of a unit: its blocks start at its first element),
 * as the step reads them, into `out` from index `at`.
 */
export function readSegment(m: StateMemory, name: ArrayName, seg: Segment, centered: boolean, out: Float32Array, at = seg.offset): void {
  const row = rowOf(name);
  const target = out.subarray(at, at + seg.size);
  if (seg.bits === 32 || !row.q8) {
    target.set(values(m, row, seg));
    return;
  }
  dequantizeBlockwise(row.q8.format, quantized(m, name, seg), target);
  const other = squared(row, centered);
  if (!other) return;
  const g = decoded(m, other, seg);
  for (let i = 0; i < target.length; i++) target[i] = f(target[i] + f(g[i] * g[i]));
}

/**
 * Writes `values` (from index `from`) as segment `seg` of `name`: f32 as they are, 8-bit
 * rounded to nearest. In a centered group, write G before S.
 */
export function writeSegment(m: StateMemory, name: ArrayName, seg: Segment, centered: boolean, given: Float32Array, from = seg.offset): void {
  const row = rowOf(name);
  const source = given.subarray(from, from + seg.size);
  if (seg.bits === 32 || !row.q8) {
    values(m, row, seg).set(source);
    return;
  }
  const other = squared(row, centered);
  const g = other ? decoded(m, other, seg) : undefined;
  const scratch = m.scratch!;
  const { codes, scales } = quantized(m, name, seg);
  for (let k = 0; k < seg.size; k += CHUNK) {
    const len = Math.min(CHUNK, seg.size - k);
    for (let i = 0; i < len; i++) {
      const s = source[k + i];
      if (!g) {
        scratch[i] = s;
        continue;
      }
      // The kernel's V = max(S − G·G, 0), NaN kept.
      const v = f(s - f(g[k + i] * g[k + i]));
      scratch[i] = v < 0 ? 0 : v;
    }
    encode(m, row, len, codes.byteOffset + k, scales.byteOffset + 4 * (k / QUANT_BLOCK));
    if (QUANT_FORMATS[row.q8.format].signed) keepNegativeZeros(scratch, len, codes.subarray(k, k + len));
  }
}

/**
 * The kernel rounds a tiny negative value to the code "−0" (sign, magnitude 0), which
 * decodes to −0, but encodes −0 itself as +0. A −0 written keeps its code, so that values
 * read out of codes and written back give the same codes (getWeights → setWeights).
 */
function keepNegativeZeros(written: Float32Array, n: number, codes: Uint8Array): void {
  for (let i = 0; i < n; i++) if (codes[i] === 0 && Object.is(written[i], -0)) codes[i] = 0x80;
}

/** `items` in the order their arrays must be written: an array that another is stored less the square of (G) first. */
export function writeOrder<T>(items: readonly T[], name: (item: T) => ArrayName): T[] {
  const first = new Set(STATE_ARRAYS.map((a) => a.q8?.lessSquareOf));
  return [...items.filter((x) => first.has(name(x))), ...items.filter((x) => !first.has(name(x)))];
}

/** Every element of segment `seg` of `name` set to `value` (G, where S is stored less G², is 0). */
export function fillSegment(m: StateMemory, name: ArrayName, seg: Segment, value: number): void {
  const row = rowOf(name);
  if (seg.bits === 32 || !row.q8) {
    values(m, row, seg).fill(value);
    return;
  }
  if (seg.size === 0) return;
  // Every block of one value has the same scale and codes: encode one, copy it.
  const len = Math.min(QUANT_BLOCK, seg.size);
  m.scratch!.fill(value, 0, len);
  const { codes, scales } = quantized(m, name, seg);
  encode(m, row, len, codes.byteOffset, scales.byteOffset);
  codes.fill(codes[0]);
  scales.fill(scales[0]);
}

/** The kernel's encoding of the first `n` f32 of the scratch into codes and scales (byte offsets). */
function encode(m: StateMemory, row: StateArraySpec, n: number, codes: number, scales: number): void {
  if (!m.kernel || !m.scratch) throw new Error("8-bit state is encoded by a kernel, through a scratch in its memory");
  m.kernel.quantize_blockwise_8bit(QUANT_FORMATS[row.q8!.format].id, m.scratch.byteOffset, n, codes, scales);
}

/** The first of these block scales that no quantization makes (a power of two in the format's range), or −1. */
export function badScale(format: keyof typeof QUANT_FORMATS, scales: Float32Array): number {
  const q = QUANT_FORMATS[format];
  const lowest = q.signed ? 2 ** q.exponentBits : 63;
  const bits = new Uint32Array(scales.buffer, scales.byteOffset, scales.length);
  for (let i = 0; i < bits.length; i++) {
    const exponent = bits[i] >>> 23;
    if ((bits[i] & 0x7fffff) !== 0 || exponent < lowest || exponent > 254) return i;
  }
  return -1;
}
