// The checkpoint format: versioned, self-describing, checksummed, little-endian, so that
// another language can read it (docs/checkpoint-format.md has the table).
//
//   offset  size  field
//        0     8  magic "RMSPwasm" (ASCII)
//        8     4  u32 format version (1)
//       12     4  u32 H, byte offset of the first array (a multiple of 4)
//       16     4  u32 n
//       20     4  u32 arrays present: one bit per array, the checkpointBit of its row in
//                  src/state-arrays.ts (θ is bit 0, S bit 1; docs/checkpoint-format.md)
//       24     8  f64 stepCount
//       32     4  u32 L, byte length of the options JSON
//       36     L  options as UTF-8 JSON, then spaces up to H
//        H        each present array in bit order: n little-endian f32
//   end − 4    4  u32 CRC-32 of every byte before it
//
// Decoding checks everything before it returns, so a caller can apply the result knowing
// it is whole: a bad checkpoint throws and changes nothing.
import { crc32 } from "./crc32.ts";
import { describe } from "./own.ts";
import { CHECKPOINT_ARRAYS as ROWS, type ArrayName } from "./state-arrays.ts";

const MAGIC = "RMSPwasm";
export const CHECKPOINT_VERSION = 1;
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

export interface CheckpointContent {
  n: number;
  stepCount: number;
  options: Record<string, unknown>;
  /** The arrays present, each n f32; decoding may return views of the bytes decoded (copy them to keep them). */
  arrays: Partial<Record<CheckpointArray, Float32Array>>;
}

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
  for (const [name, a] of Object.entries(content.arrays) as [ArrayName, Float32Array][]) {
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

/** Serialises a checkpoint. */
export function encodeCheckpoint(content: CheckpointContent): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(content.options));
  const headerBytes = Math.ceil((FIXED_HEADER + json.length) / 4) * 4;
  const present = CHECKPOINT_ARRAYS.filter((name) => content.arrays[name]);
  const arrayBytes = content.n * 4;
  const out = new Uint8Array(headerBytes + present.length * arrayBytes + 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < MAGIC.length; i++) out[i] = MAGIC.charCodeAt(i);
  view.setUint32(8, CHECKPOINT_VERSION, true);
  view.setUint32(12, headerBytes, true);
  view.setUint32(16, content.n, true);
  let mask = 0;
  CHECKPOINT_ARRAYS.forEach((name, bit) => {
    if (content.arrays[name]) mask |= 1 << bit;
  });
  view.setUint32(20, mask, true);
  view.setFloat64(24, content.stepCount, true);
  view.setUint32(32, json.length, true);
  out.set(json, FIXED_HEADER);
  out.fill(0x20, FIXED_HEADER + json.length, headerBytes);
  let at = headerBytes;
  for (const name of present) {
    const a = content.arrays[name]!;
    writeF32LE(view, at, a);
    at += arrayBytes;
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
  if (version !== CHECKPOINT_VERSION) {
    throw checkpointError(`format version ${version}; this build reads version ${CHECKPOINT_VERSION}`);
  }
  const headerBytes = view.getUint32(12, true);
  const n = view.getUint32(16, true);
  const mask = view.getUint32(20, true);
  const jsonBytes = view.getUint32(32, true);
  if (mask & ~KNOWN_BITS || !(mask & 1) || !(mask & 2)) throw checkpointError(`array mask ${mask} is not valid`);
  if (headerBytes % 4 || headerBytes < FIXED_HEADER + jsonBytes || headerBytes > FIXED_HEADER + jsonBytes + 3) {
    throw checkpointError(`header length ${headerBytes} does not fit options length ${jsonBytes}`);
  }
  const present = CHECKPOINT_ARRAYS.filter((_, bit) => mask & (1 << bit));
  const expected = headerBytes + present.length * n * 4 + 4;
  if (n < 1 || expected !== bytes.length) {
    throw checkpointError(`${bytes.length} bytes, but its header (n = ${n}, ${present.length} arrays) needs ${expected}`);
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
  let at = headerBytes;
  for (const name of present) {
    arrays[name] = readF32LE(view, at, n);
    at += n * 4;
  }
  return { n, stepCount, options: options as Record<string, unknown>, arrays };
}
