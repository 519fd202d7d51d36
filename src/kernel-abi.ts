// The kernel ABI, written once: the flag bits of `step`, the fields of the StepArgs block
// it reads, and a typed binding over the raw exports. Everything else is derived from or
// checked against these tables: the host writer below, assembly/abi.ts (the kernel's
// struct), include/rmsprop-wasm.h (the C struct) and the table in docs/embedding.md, which
// test/abi-sources.test.ts parses and compares field by field. Each flag's and field's C
// name and meaning are in src/kernel-abi-docs.ts, which no page downloads.
//
// Why no @assemblyscript/loader: it is deprecated upstream, and it exists to marshal
// managed AssemblyScript objects (strings, arrays) across the boundary. This kernel takes
// only numbers and byte offsets into a memory the host already owns, so a ten-line typed
// view of `instance.exports` is all the glue there is, with no runtime dependency.
import type { WasmMemory, WasmModule } from "./wasm-types.ts";

/**
 * Bits of the `flags` argument of the kernel's `step` export, by name (what each switches on,
 * and its C name: src/kernel-abi-docs.ts).
 */
export const KernelFlag = {
  epsInSqrt: 1,
  centered: 2,
  wdL2: 4,
  wdDecoupled: 8,
  momHeavy: 16,
  momNesterov: 32,
  trafficProbe: 64,
  clip: 128,
  ema: 256,
  emaInit: 512,
  flagsInArgs: 1024,
  q8: 2048,
} as const;

/** A kernel flag's name. */
export type KernelFlagName = keyof typeof KernelFlag;

/** One field of StepArgs: its name in TypeScript and AssemblyScript, type and byte offset. */
export interface FieldSpec {
  readonly name: string;
  readonly type: "u32" | "f32";
  readonly offset: number;
}

const field = (name: string, type: "u32" | "f32", offset: number): FieldSpec => ({ name, type, offset });

/**
 * The StepArgs block, field by field, in ABI order (what each field holds, and its C name:
 * src/kernel-abi-docs.ts). Byte offsets of arrays are u32.
 */
export const STEP_ARGS_FIELDS: readonly FieldSpec[] = [
  field("params", "u32", 0),
  field("grads", "u32", 4),
  field("sqAvg", "u32", 8),
  field("momentumBuffer", "u32", 12),
  field("gradAvg", "u32", 16),
  field("n", "u32", 20),
  field("lr", "f32", 24),
  field("beta", "f32", 28),
  field("oneMinusBeta", "f32", 32),
  field("eps", "f32", 36),
  field("gSign", "f32", 40),
  field("wd", "f32", 44),
  field("lrWd", "f32", 48),
  field("invC", "f32", 52),
  field("vFloor", "f32", 56),
  field("mu", "f32", 60),
  field("uScale", "f32", 64),
  field("thetaScale", "f32", 68),
  field("ema", "u32", 72),
  field("clipScale", "f32", 76),
  field("clipValue", "f32", 80),
  field("emaDecay", "f32", 84),
  field("oneMinusEmaDecay", "f32", 88),
  field("flags", "u32", 92),
  field("sqAvgScales", "u32", 96),
  field("momentumBufferScales", "u32", 100),
  field("gradAvgScales", "u32", 104),
  field("scratch", "u32", 108),
  field("firstIndex", "u32", 112),
  field("roundingSeed", "u32", 116),
];

/** Byte size of a StepArgs block without the v2 flags (CLIP, EMA): the first ABI. */
export const STEP_ARGS_V1_BYTES = 72;
/** Byte size of a StepArgs block without the v3 flag (Q8): the second ABI. */
export const STEP_ARGS_V2_BYTES = 96;
/** Byte size of one StepArgs block. */
export const STEP_ARGS_BYTES = 120;

/** Byte offset of a field, by name. */
export const argsOffset = (name: string): number => {
  const spec = STEP_ARGS_FIELDS.find((f) => f.name === name);
  if (!spec) throw new Error(`no StepArgs field ${name}`);
  return spec.offset;
};

/** Elements per block of the kernel's sum_squares_f32 (each block's sum is one f64). */
export const NORM_BLOCK = 1024;

/**
 * The per-step scalars, each already rounded to f32. The kernel and the JS reference read
 * exactly these values, so they cannot disagree about a constant.
 */
export interface StepScalars {
  lr: number;
  beta: number;
  oneMinusBeta: number;
  eps: number;
  gSign: number;
  wd: number;
  lrWd: number;
  invC: number;
  vFloor: number;
  mu: number;
  uScale: number;
  thetaScale: number;
  clipScale: number;
  clipValue: number;
  emaDecay: number;
  oneMinusEmaDecay: number;
}

/**
 * Byte offsets of the arrays one step touches; 0 for an array the variant does not use.
 * The keys are the state-array table's names (src/state-arrays.ts) that StepArgs carries.
 */
export interface ArrayOffsets {
  params: number;
  grads: number;
  sqAvg: number;
  momentumBuffer: number;
  gradAvg: number;
  /** v2 (EMA only): absent in a first-version block, and then 0. */
  ema?: number;
}

/** v3 (Q8 only): byte offsets of the scales of the 8-bit arrays' blocks, and of the call's scratch. */
export interface Q8Offsets {
  sqAvgScales?: number;
  momentumBufferScales?: number;
  gradAvgScales?: number;
  scratch?: number;
}

/** v3 (Q8 only): where the call's elements are in the whole array, and the step's seed. */
export interface RoundingCounter {
  firstIndex: number;
  roundingSeed: number;
}

/**
 * The raw exports of every kernel build. A type alias, not an interface, so that it is
 * assignable to `WebAssembly.ModuleImports` (a consumer's `"rmsprop-wasm"` import object).
 */
export type KernelExports = {
  /** One step; `args` is the byte offset of a filled StepArgs block. */
  step(flags: number, args: number): void;
  /**
   * The step of elements [start, start + count) of the block's arrays (clamped to its n),
   * with the bits `step` gives them: a thread's share of a unit.
   */
  step_range(flags: number, args: number, start: number, count: number): void;
  /** Index of the first NaN/±∞ among the n f32 at byte offset `ptr`, or −1. */
  first_nonfinite_f32(ptr: number, n: number): number;
  /**
   * Index of the first of the n f32 at `ptr` whose product with `scale`, rounded to f32,
   * is NaN/±∞, or −1: the scan for a gradScale above 1, which overflows large gradients.
   */
  first_nonfinite_scaled_f32(ptr: number, n: number, scale: number): number;
  /**
   * Squared L2 norm of the n f32 at `ptr`, each times `scale`, in blocks of NORM_BLOCK:
   * block b's sum is written as an f64 at out + 8·b. Returns the first block whose sum is
   * not finite, or −1.
   */
  sum_squares_f32(ptr: number, n: number, scale: number, out: number): number;
  /**
   * Quantizes the n f32 at `src` block by block to nearest (src/quantization.ts): n codes
   * to `codes`, ⌈n / QUANT_BLOCK⌉ f32 scales to `scales`. `format` is a QUANT_FORMATS id.
   */
  quantize_blockwise_8bit(format: number, src: number, n: number, codes: number, scales: number): void;
  /** The n f32 that n codes and their blocks' scales stand for, to `out`. */
  dequantize_blockwise_8bit(format: number, codes: number, scales: number, n: number, out: number): void;
};

/** Instantiates a compiled kernel on a memory the caller owns. */
export function bindKernel(module: WasmModule, memory: WasmMemory): KernelExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const {
    step, step_range, first_nonfinite_f32, first_nonfinite_scaled_f32, sum_squares_f32, quantize_blockwise_8bit, dequantize_blockwise_8bit,
  } = instance.exports as unknown as KernelExports;
  return { step, step_range, first_nonfinite_f32, first_nonfinite_scaled_f32, sum_squares_f32, quantize_blockwise_8bit, dequantize_blockwise_8bit };
}

/** The values of one block, by field name: array offsets, n, flags, the scalars and the counter. */
export type BlockValues = ArrayOffsets & Q8Offsets & StepScalars & RoundingCounter & { n: number; flags: number };

/** Each field's word index and whether it is an f32, in ABI order (made once). */
const WORDS = STEP_ARGS_FIELDS.map((f) => [f.name as keyof BlockValues, f.offset >>> 2, f.type === "f32"] as const);

// The fields by kind, as parallel arrays walked by index: a step writes a block per share
// and unit, and a keyed lookup per field was most of a small step's time. Every f32 field
// is a scalar; every u32 field but n, flags and the rounding counter is a byte offset.
const NOT_OFFSETS = new Set(["n", "flags", "firstIndex", "roundingSeed"]);
const isArray = ([name, , isFloat]: (typeof WORDS)[number]) => !isFloat && !NOT_OFFSETS.has(name);
const SCALAR_KEYS = WORDS.filter(([, , isFloat]) => isFloat).map(([name]) => name as keyof StepScalars);
const SCALAR_WORDS = WORDS.filter(([, , isFloat]) => isFloat).map(([, word]) => word);
const ARRAY_KEYS = WORDS.filter(isArray).map(([name]) => name as keyof (ArrayOffsets & Q8Offsets));
const ARRAY_WORDS = WORDS.filter(isArray).map(([, word]) => word);
const N_WORD = argsOffset("n") >>> 2;
const FIRST_INDEX_WORD = argsOffset("firstIndex") >>> 2;
const ROUNDING_SEED_WORD = argsOffset("roundingSeed") >>> 2;
const FLAGS_WORD = argsOffset("flags") >>> 2;

/**
 * Writes a StepArgs block at byte offset `at` (a multiple of 4), field by field from the
 * table. `u32` and `f32` are views of the whole memory, made once by the caller, so a step
 * allocates nothing.
 */
export function writeStepArgs(
  u32: Uint32Array,
  f32: Float32Array,
  at: number,
  arrays: ArrayOffsets & Q8Offsets,
  n: number,
  s: StepScalars,
  flags = 0,
): void {
  const w = at >>> 2;
  for (let i = 0; i < SCALAR_KEYS.length; i++) f32[w + SCALAR_WORDS[i]] = s[SCALAR_KEYS[i]];
  u32[w + FLAGS_WORD] = flags;
  writeStepArrays(u32, at, arrays, n);
}

function writeStepArrays(u32: Uint32Array, at: number, arrays: ArrayOffsets & Q8Offsets, n: number): void {
  const w = at >>> 2;
  for (let i = 0; i < ARRAY_KEYS.length; i++) u32[w + ARRAY_WORDS[i]] = arrays[ARRAY_KEYS[i]] ?? 0;
  u32[w + N_WORD] = n;
}

/** Writes the rounding counter of an 8-bit (Q8) block at byte offset `at`. */
export function writeRoundingCounter(u32: Uint32Array, at: number, c: RoundingCounter): void {
  u32[(at >>> 2) + FIRST_INDEX_WORD] = c.firstIndex;
  u32[(at >>> 2) + ROUNDING_SEED_WORD] = c.roundingSeed;
}

/** Reads the StepArgs block at byte offset `at` back into named values (the reference kernel, tests). */
export function readStepArgs(u32: Uint32Array, f32: Float32Array, at: number): BlockValues {
  const w = at >>> 2;
  const out: Record<string, number> = {};
  for (const [name, word, isFloat] of WORDS) out[name] = isFloat ? f32[w + word] : u32[w + word];
  return out as unknown as BlockValues;
}
