// The checkpoint format: versioned, self-describing, checksummed, little-endian, so that
// another language can read it (docs/checkpoint-format.md has the table).
//
//   offset  size  field
//        0     8  magic "RMSPwasm" (ASCII)
//        8     4  u32 format version (1)
//       12     4  u32 H, byte offset of the first array (a multiple of 4)
//       16     4  u32 n
//       20     4  u32 arrays present: one bit per array, the checkpointBit of its row in
//                  src/state-arrays.ts (θ is bit 0, S bit 1; docs/checkpoint-format.md);
//                  version 2: bit 8 + k where array k is stored in 8 bits
//       24     8  f64 stepCount
//       32     4  u32 L, byte length of the options JSON
//       36     L  options as UTF-8 JSON, then spaces up to H
//        H        each present array in bit order: n little-endian f32, or, stored in
//                  8 bits, u32 counts V, C, B, then V f32 (its 32-bit groups' elements),
//                  C u8 codes padded to 4 bytes, B f32 block scales (src/state-storage.ts)
//   end − 4    4  u32 CRC-32 of every byte before it
//
// Version 1 (no 8-bit state) is read as well: its layout is version 2's without 8-bit bits.
//
// Decoding checks everything before it returns, so a caller can apply the result knowing
// it is whole: a bad checkpoint throws and changes nothing.
import { crc32 } from "./crc32.ts";
import { describe } from "./own.ts";
import type { StoredArray } from "./state-codec.ts";
import { CHECKPOINT_ARRAYS as ROWS, type ArrayName } from "./state-arrays.ts";
import { blocksOf } from "./state-storage.ts";

const MAGIC = "RMSPwasm";
export const CHECKPOINT_VERSION = 2;
/** The versions this build reads: 1 (f32 state only) and 2. */
const READ_VERSIONS = [1, 2];
/** Where the mask's "stored in 8 bits" bits start. */
const Q8_SHIFT = 8;
const FIXED_HEADER = 36;
/**
 * The most bytes of options JSON a checkpoint may hold, as safetensors caps its header:
 * options at the limits of groups and tensors, with names of a few hundred characters,
 * take a few MiB.
 */
export const MAX_OPTIONS_BYTES = 16 * 1024 * 1024;

/** The state arrays a checkpoint can carry, in their on-disk (bit) order. */
export const CHECKPOINT_ARRAYS: readonly ArrayName[] = ROWS.map((a) => a.name);
export type CheckpointArray = ArrayName;
/** Every bit a mask may have: one per array of the table. */
const KNOWN_BITS = (1 << CHECKPOINT_ARRAYS.length) - 1;
/** The arrays that can be stored in 8 bits: the rows with a code map. */
const Q8_BITS = ROWS.reduce((mask, row, bit) => (row.q8 ? mask | (1 << bit) : mask), 0);

export interface CheckpointContent {
  n: number;
  stepCount: number;
  options: Record<string, unknown>;
  /** The arrays present in f32, each n; decoding may return views of the bytes decoded (copy them to keep them). */
  arrays: Partial<Record<CheckpointArray, Float32Array>>;
  /**
   * The arrays present in 8 bits (stateBits 8): the parts of the optimizer's storage, as
   * src/state-storage.ts lays them out for the checkpoint's options (views, likewise).
   */
  quantized?: Partial<Record<CheckpointArray, Required<StoredArray>>>;
}

/** Whether the checkpoint holds array `name`, in either form. */
export const holds = (content: CheckpointContent, name: ArrayName): boolean => Boolean(content.arrays[name] ?? content.quantized?.[name]);


/** The first value of `a` that breaks its array's rule: [index, value], or undefined. */
function firstBroken(a: Float32Array, holds: (bits: number) => boolean): [number, number] | undefined {
  const bits = new Uint32Array(a.buffer, a.byteOffset, a.length);
  for (let i = 0; i < bits.length; i++) if (!holds(bits[i])) return [i, a[i]];
  return undefined;
}

/** A step adds one; at Number.MAX_SAFE_INTEGER the count would leave the safe integers. */
export function stepCountRule(count: number): boolean {
  return Number.isSafeInteger(count) && count >= 0 && count < Number.MAX_SAFE_INTEGER;
}

/**
 * What no run of an optimizer with this nonFinite policy leaves in a state array: its
 * index and value, with the rule it breaks, or undefined.
 */
export function brokenState(name: ArrayName, a: Float32Array, nonFinite: string): { index: number; value: number; rule: string } | undefined {
  // What a real run can leave in each array: the `saved` rule of its row, if it has one.
  const saved = ROWS.find((row) => row.name === name)?.saved;
  const rule = nonFinite === "ignore" ? saved?.ignored : saved;
  const broken = rule ? firstBroken(a, rule.holds) : undefined;
  return broken && { index: broken[0], value: broken[1], rule: rule!.rule };
}

/**
 * Refuses state that no run of an optimizer with this nonFinite policy produces (a
 * negative or NaN sqAvg, …), naming the field, the index and the rule, as load() must
 * before it writes. The policy is the receiving optimizer's: only "ignore" lets NaN/±∞
 * gradients into the state, so only an optimizer that ignores them takes such state.
 */
export function checkState(content: CheckpointContent, nonFinite: string): void {
  const quantizedValues = Object.entries(content.quantized ?? {}).map(([name, q]) => [name, q.values] as [ArrayName, Float32Array]);
  for (const [name, a] of [...(Object.entries(content.arrays) as [ArrayName, Float32Array][]), ...quantizedValues]) {
    const broken = brokenState(name, a, nonFinite);
    if (broken) {
      const { index, value } = broken;
      const why = nonFinite === "ignore" ? "" : `; this optimizer's nonFinite is "${nonFinite}", not "ignore"`;
      throw checkpointError(`${name}[${index}] is ${Object.is(value, -0) ? "-0" : value}, which no run produces (${broken.rule}${why})`);
    }
  }
}

export function checkpointError(message: string): Error {
  return new Error(`invalid rmsprop-wasm checkpoint: ${message}; the optimizer is unchanged`);
}

/** Bytes of an array stored in 8 bits: its counts, values, codes (padded to 4) and scales. */
const quantizedBytes = (v: number, c: number, b: number): number => 12 + 4 * v + Math.ceil(c / 4) * 4 + 4 * b;

/** Serialises a checkpoint. */
export function encodeCheckpoint(content: CheckpointContent): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(content.options));
  const headerBytes = Math.ceil((FIXED_HEADER + json.length) / 4) * 4;
  const q = content.quantized ?? {};
  const present = CHECKPOINT_ARRAYS.filter((name) => content.arrays[name] ?? q[name]);
  const bytesOf = (name: ArrayName) => (q[name] ? quantizedBytes(q[name].values.length, q[name].codes.length, q[name].scales.length) : content.n * 4);
  const out = new Uint8Array(headerBytes + present.reduce((sum, name) => sum + bytesOf(name), 0) + 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < MAGIC.length; i++) out[i] = MAGIC.charCodeAt(i);
  view.setUint32(8, CHECKPOINT_VERSION, true);
  view.setUint32(12, headerBytes, true);
  view.setUint32(16, content.n, true);
  let mask = 0;
  CHECKPOINT_ARRAYS.forEach((name, bit) => {
    if (content.arrays[name] ?? q[name]) mask |= 1 << bit;
    if (q[name]) mask |= 1 << (bit + Q8_SHIFT);
  });
  view.setUint32(20, mask, true);
  view.setFloat64(24, content.stepCount, true);
  view.setUint32(32, json.length, true);
  out.set(json, FIXED_HEADER);
  out.fill(0x20, FIXED_HEADER + json.length, headerBytes);
  let at = headerBytes;
  for (const name of present) {
    const parts = q[name];
    if (parts) {
      [parts.values.length, parts.codes.length, parts.scales.length].forEach((count, i) => view.setUint32(at + 4 * i, count, true));
      writeF32LE(view, at + 12, parts.values);
      out.set(parts.codes, at + 12 + parts.values.byteLength);
      writeF32LE(view, at + bytesOf(name) - parts.scales.byteLength, parts.scales);
    } else {
      writeF32LE(view, at, content.arrays[name]!);
    }
    at += bytesOf(name);
  }
  view.setUint32(at, crc32(out.subarray(0, at)), true);
  return out;
}

// Typed arrays use the platform's byte order; wasm memory and the format are little-endian.
// On a little-endian platform (all current browsers and Node builds) arrays are copied as
// bytes; elsewhere each float goes through a DataView.
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function writeF32LE(view: DataView, at: number, a: Float32Array): void {
  if (littleEndian) {
    new Uint8Array(view.buffer, at, a.byteLength).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  } else {
    for (let i = 0; i < a.length; i++) view.setFloat32(at + 4 * i, a[i], true);
  }
}

/**
 * The n f32 at byte `at`: a view of the checkpoint's own bytes where the platform is
 * little-endian and they are 4-byte aligned (no copy: the caller copies them into the
 * optimizer once, so a load moves each byte once), else a copy.
 */
function readF32LE(view: DataView, at: number, n: number): Float32Array {
  const start = view.byteOffset + at;
  if (littleEndian && start % 4 === 0) return new Float32Array(view.buffer, start, n);
  if (littleEndian) return new Float32Array(view.buffer.slice(start, start + 4 * n));
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = view.getFloat32(at + 4 * i, true);
  return a;
}

// The brand check of typed arrays: a Proxy of one, or an object that merely inherits from
// Uint8Array.prototype, has no bytes of its own to read.
const typedArrayTag = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!.get!;
const isUint8Array = (x: unknown): x is Uint8Array => ArrayBuffer.isView(x) && typedArrayTag.call(x) === "Uint8Array";

/** What `bytes` is, for the error that refuses it, with the fix. */
function notBytes(bytes: unknown): string {
  if (bytes instanceof ArrayBuffer) return "an ArrayBuffer (pass new Uint8Array(buffer))";
  if (ArrayBuffer.isView(bytes)) return `${describe(bytes)} (pass its bytes as a Uint8Array)`;
  return bytes instanceof Uint8Array ? "a Proxy of a Uint8Array (pass the Uint8Array)" : describe(bytes);
}

/**
 * Parses and validates a checkpoint's structure (lengths, checksum, JSON, step count),
 * without touching any optimizer. The state's values are checked against the receiving
 * optimizer's nonFinite policy by checkState. `what` names the call in errors.
 */
export function decodeCheckpoint(bytes: unknown, what = "load(bytes)"): CheckpointContent {
  if (!isUint8Array(bytes)) throw new TypeError(`${what}: bytes must be a Uint8Array (what save() returns); got ${notBytes(bytes)}`);
  if (bytes.length < FIXED_HEADER + 4) throw checkpointError(`${bytes.length} bytes is shorter than any header`);
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC.charCodeAt(i)) throw checkpointError('no "RMSPwasm" magic: not a checkpoint');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (!READ_VERSIONS.includes(version)) {
    throw checkpointError(`format version ${version}; this build reads versions ${READ_VERSIONS.join(" and ")}`);
  }
  const headerBytes = view.getUint32(12, true);
  const n = view.getUint32(16, true);
  const mask = view.getUint32(20, true);
  const jsonBytes = view.getUint32(32, true);
  // Version 2 may store an array that has a code map in 8 bits (bit 8 + its bit), where it is present.
  const q8Mask = version >= 2 ? (mask >>> Q8_SHIFT) & Q8_BITS & mask : 0;
  if ((mask & ~KNOWN_BITS) !== q8Mask << Q8_SHIFT || !(mask & 1) || !(mask & 2)) throw checkpointError(`array mask ${mask} is not valid`);
  if (headerBytes % 4 || headerBytes < FIXED_HEADER + jsonBytes || headerBytes > FIXED_HEADER + jsonBytes + 3) {
    throw checkpointError(`header length ${headerBytes} does not fit options length ${jsonBytes}`);
  }
  const places = n < 1 ? undefined : arrayPlaces(view, headerBytes, n, mask, q8Mask);
  if (!places) throw checkpointError(`${bytes.length} bytes, but its header (n = ${n}, ${popCount(mask & KNOWN_BITS)} arrays) does not fit them`);
  if (places.end + 4 !== bytes.length) {
    throw checkpointError(`${bytes.length} bytes, but its header (n = ${n}, ${places.arrays.length} arrays) needs ${places.end + 4}`);
  }
  const stored = view.getUint32(bytes.length - 4, true);
  if (crc32(bytes.subarray(0, bytes.length - 4)) !== stored) {
    throw checkpointError("checksum mismatch (the bytes are corrupted)");
  }
  const stepCount = view.getFloat64(24, true);
  if (!stepCountRule(stepCount)) {
    throw checkpointError(`step count ${stepCount} is not one a run reaches (an integer from 0 to 2^53 − 2)`);
  }
  if (jsonBytes > MAX_OPTIONS_BYTES) {
    throw checkpointError(`its options are ${jsonBytes} bytes of JSON; at most ${MAX_OPTIONS_BYTES} are read`);
  }
  let options: unknown;
  try {
    options = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(
        // A copy: browsers refuse to decode views of a SharedArrayBuffer.
        bytes.slice(FIXED_HEADER, FIXED_HEADER + jsonBytes),
      ));
  } catch {
    throw checkpointError("the options are not valid UTF-8 JSON");
  }
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw checkpointError("the options are not a JSON object");
  }
  const arrays: CheckpointContent["arrays"] = {};
  const quantized: NonNullable<CheckpointContent["quantized"]> = {};
  for (const { name, at, counts } of places.arrays) {
    if (!counts) {
      arrays[name] = readF32LE(view, at, n);
      continue;
    }
    const [v, c, b] = counts;
    const codesAt = view.byteOffset + at + 12 + 4 * v;
    quantized[name] = {
      values: readF32LE(view, at + 12, v),
      codes: new Uint8Array(view.buffer.slice(codesAt, codesAt + c)),
      scales: readF32LE(view, at + quantizedBytes(v, c, b) - 4 * b, b),
    };
  }
  return { n, stepCount, options: options as Record<string, unknown>, arrays, ...(q8Mask && { quantized }) };
}

const popCount = (x: number): number => (x === 0 ? 0 : (x & 1) + popCount(x >>> 1));

/**
 * Where each present array starts, and for one in 8 bits its counts, walking the bytes
 * from H: undefined where an 8-bit array's counts do not describe n elements (V + C = n,
 * each block of at least one code) or run past the bytes.
 */
function arrayPlaces(view: DataView, start: number, n: number, mask: number, q8Mask: number) {
  const arrays: { name: ArrayName; at: number; counts?: [number, number, number] }[] = [];
  let at = start;
  for (const [bit, name] of CHECKPOINT_ARRAYS.entries()) {
    if (!(mask & (1 << bit))) continue;
    if (!(q8Mask & (1 << bit))) {
      arrays.push({ name, at });
      at += 4 * n;
      continue;
    }
    if (at + 12 > view.byteLength) return undefined;
    const counts = [0, 4, 8].map((k) => view.getUint32(at + k, true)) as [number, number, number];
    const [v, c, b] = counts;
    if (v + c !== n || c < 1 || b < blocksOf(c) || b > c) return undefined;
    arrays.push({ name, at, counts });
    at += quantizedBytes(v, c, b);
  }
  return { arrays, end: at };
}
