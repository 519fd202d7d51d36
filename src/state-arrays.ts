// The arrays an optimizer keeps, written once. This table drives the memory layout
// (src/layout.ts), the views (opt.params, opt.grads, opt.state.*), the StepArgs offsets of
// every job (src/executors.ts), the checkpoint's array set (src/checkpoint.ts) and the
// tfjs adapter's slots and weights (src/tfjs/); each row's `parts` say how it is stored at
// each stateBits (element type, bytes, length). Adding an array means: a row here, its
// line in the kernel (assembly/rmsprop.ts) and the reference (src/reference.ts), and its
// field in include/rmsprop-wasm.h. docs/architecture.md has the whole change map.
import { KernelFlag } from "./kernel-abi.ts";
import type { ResolvedOptions } from "./options.ts";
import type { StateBits } from "./state-bits.ts";
import { greatest } from "./per-step.ts";
import type { QuantFormatName } from "./quantization.ts";

/**
 * One part an array is stored as: its element type, bytes per element, and its length from
 * the elements the part holds and their blocks (one f32 scale per block of QUANT_BLOCK).
 */
export interface StoredPart {
  /** "values": the f32 array itself; "codes" and "scales": its 8-bit form. */
  readonly kind: "values" | "codes" | "scales";
  readonly type: "f32" | "u8";
  readonly bytes: 4 | 1;
  readonly length: (elements: number, blocks: number) => number;
}

const VALUES: StoredPart = { kind: "values", type: "f32", bytes: 4, length: (elements) => elements };
const CODES: StoredPart = { kind: "codes", type: "u8", bytes: 1, length: (elements) => elements };
const SCALES: StoredPart = { kind: "scales", type: "f32", bytes: 4, length: (_elements, blocks) => blocks };
/** An array kept in f32 whatever a group's stateBits: θ, g, the EMA. */
const F32_ALWAYS: Readonly<Record<StateBits, readonly StoredPart[]>> = { 32: [VALUES], 8: [VALUES] };
/** An array a group with stateBits 8 keeps as codes and scales: S, M, G. */
const QUANTIZABLE: Readonly<Record<StateBits, readonly StoredPart[]>> = { 32: [VALUES], 8: [CODES, SCALES] };

export interface StateArraySpec {
  /** The name of its view and of its StepArgs offset field. */
  readonly name: ArrayName;
  /** The symbol in the equations. */
  readonly symbol: string;
  /** Its bit in a checkpoint's array mask, or null when checkpoints do not carry it. */
  readonly checkpointBit: number | null;
  /** Suffix of its tensor in the tfjs adapter's getWeights() ("<variable>/<suffix>"), or null. */
  readonly tfjsSuffix: string | null;
  /** Its name in include/rmsprop-wasm.h. */
  readonly c: string;
  /** Whether a group with these options needs it. */
  readonly needed: (o: ResolvedOptions) => boolean;
  /** Value of every element at creation (and before the first step of a group that keeps it). */
  readonly initial: (o: ResolvedOptions) => number;
  /** Whether `opt.state` lists it (θ and g have views of their own). */
  readonly inState: boolean;
  /**
   * What a real run can leave in it, as a test of one value's bits (u32) and a description
   * for the error: load() and the tfjs adapter's setWeights() refuse state that breaks it
   * (src/checkpoint.ts). Each rule holds with every nonFinite policy but "ignore", which
   * lets NaN/±∞ gradients into the state; `ignored` is what holds even then (none: any
   * value). Each is closed under a step, so save() never writes what load() refuses. No
   * rule: any value.
   */
  readonly saved?: StateRule & { readonly ignored?: StateRule };
  /**
   * How a group with `stateBits: 8` keeps it: the code map of its 8-bit codes (one f32
   * scale per block; docs/quantization.md), its number in the step's rounding seed, and
   * the kernel flags under which a step reads and writes it (0: every step). No q8: f32
   * whatever stateBits says.
   */
  readonly q8?: {
    readonly format: QuantFormatName;
    readonly seed: number;
    readonly flags: number;
    /**
     * In a centered group, the codes hold this array less the square of that one (S − G²,
     * so that the step's S − G² never cancels to 0 by rounding; docs/quantization.md).
     */
    readonly lessSquareOf?: ArrayName;
  };
  /** The parts the elements of a group with each stateBits are stored as (element type, bytes, length). */
  readonly parts: Readonly<Record<StateBits, readonly StoredPart[]>>;
}

/** A rule on the values a state array can hold: a test of one value's bits, and its description. */
export interface StateRule {
  readonly holds: (bits: number) => boolean;
  readonly rule: string;
}

export type ArrayName = "params" | "grads" | "sqAvg" | "momentumBuffer" | "gradAvg" | "ema";

const always = () => true;
const zero = () => 0;

/** Every array, in memory order. */
export const STATE_ARRAYS: readonly StateArraySpec[] = [
  { name: "params", symbol: "θ", checkpointBit: 0, tfjsSuffix: null, c: "params", needed: always, initial: zero, inState: false, parts: F32_ALWAYS },
  { name: "grads", symbol: "g", checkpointBit: null, tfjsSuffix: null, c: "grads", needed: always, initial: zero, inState: false, parts: F32_ALWAYS },
  {
    name: "sqAvg", symbol: "S", checkpointBit: 1, tfjsSuffix: "rms", c: "sq_avg",
    needed: always, initial: (o) => o.initialScale, inState: true,
    q8: { format: "u8e5m3", seed: 0, flags: 0, lessSquareOf: "gradAvg" }, parts: QUANTIZABLE,
    // β·S + (1 − β)·g²: never negative or NaN from finite gradients (+∞ when g² overflows f32).
    saved: {
      holds: (bits) => bits <= 0x7f800000 || bits === 0x80000000,
      rule: "an average of squared gradients is ≥ 0 and never NaN",
      // NaN and +∞ gradients make NaN and +∞, never a negative number.
      ignored: { holds: (bits) => bits <= 0x7f800000 || bits === 0x80000000 || (bits & 0x7fffffff) > 0x7f800000, rule: "an average of squared gradients is never negative" },
    },
  },
  {
    name: "momentumBuffer", symbol: "M", checkpointBit: 2, tfjsSuffix: "momentum", c: "momentum_buffer",
    // A momentum schedule that is ever above 0 needs the buffer from the start.
    needed: (o) => greatest(o.momentum) > 0, initial: zero, inState: true,
    q8: { format: "s8e3m4", seed: 1, flags: KernelFlag.momHeavy | KernelFlag.momNesterov }, parts: QUANTIZABLE,
  },
  {
    name: "gradAvg", symbol: "G", checkpointBit: 3, tfjsSuffix: "mg", c: "grad_avg",
    needed: (o) => o.centered, initial: zero, inState: true,
    q8: { format: "s8e4m3", seed: 2, flags: KernelFlag.centered }, parts: QUANTIZABLE,
    // β·G + (1 − β)·g: ±∞ at worst (an overflow), never NaN.
    saved: { holds: (bits) => (bits & 0x7fffffff) <= 0x7f800000, rule: "an average of finite gradients is never NaN" },
  },
  {
    name: "ema", symbol: "Θ̄", checkpointBit: 4, tfjsSuffix: "ema", c: "ema",
    needed: (o) => o.emaDecay !== null, initial: zero, inState: true, parts: F32_ALWAYS,
  },
];

/**
 * Live views of the optimizer state kept in f32 (`opt.state`): the rows with `inState`. An
 * array that some group keeps in 8 bits (`stateBits: 8`) is not here: reading it throws,
 * naming `opt.readState(name)` (its values) and `opt.state8` (its codes and scales).
 */
export interface RmspropState {
  /** S, the EWMA of squared gradients (throws where some group keeps it in 8 bits). */
  readonly sqAvg: Float32Array;
  /** M, the momentum buffer; present when some group has `momentum > 0`. */
  readonly momentumBuffer?: Float32Array;
  /** G, the EWMA of gradients; present when some group is `centered`. */
  readonly gradAvg?: Float32Array;
  /** The exponential moving average of θ; present when some group sets `emaDecay`. */
  readonly ema?: Float32Array;
}

/** The state arrays `opt.readState(name)` reads: S, M, G and the EMA. */
export type StateName = "sqAvg" | "momentumBuffer" | "gradAvg" | "ema";

/** One state array kept in 8 bits (`stateBits: 8`): live views of its codes and block scales. */
export interface QuantizedState {
  /**
   * The code map (docs/quantization.md): "u8e5m3" for S (for a centered group, S − G²),
   * "s8e3m4" for M, "s8e4m3" for G.
   */
  readonly format: QuantFormatName;
  /** One 8-bit code per element. */
  readonly codes: Uint8Array;
  /**
   * One f32 scale, a power of two, per block of 512 codes. Blocks start at the group's first
   * element, and at each tensor's in a group clipped per tensor (clipNorm with tensors).
   */
  readonly scales: Float32Array;
}

/**
 * Live views of the state kept in 8 bits (`opt.state8`, `opt.groups[k].state8`): S, M and
 * G where they exist, each as codes and scales. `opt.readState(name)` reads their values.
 */
export interface RmspropState8 {
  readonly sqAvg?: QuantizedState;
  readonly momentumBuffer?: QuantizedState;
  readonly gradAvg?: QuantizedState;
}

/** Which arrays exist: true for each array some group needs. */
export type ArraySet = Record<ArrayName, boolean>;

/** The arrays any of these per-group options needs. */
export function arraySet(groups: readonly ResolvedOptions[]): ArraySet {
  return Object.fromEntries(STATE_ARRAYS.map((a) => [a.name, groups.some(a.needed)])) as ArraySet;
}

/** The arrays a checkpoint can carry, in their on-disk (bit) order. */
export const CHECKPOINT_ARRAYS = STATE_ARRAYS.filter((a) => a.checkpointBit !== null).sort(
  (a, b) => a.checkpointBit! - b.checkpointBit!,
);

/** The state arrays beside θ and g. */
export const STATE_VIEWS = STATE_ARRAYS.filter((a) => a.inState);

/** The rows a group with `stateBits: 8` keeps in 8 bits. */
export const Q8_ROWS = STATE_ARRAYS.filter((a): a is StateArraySpec & Required<Pick<StateArraySpec, "q8">> => a.q8 !== undefined);
