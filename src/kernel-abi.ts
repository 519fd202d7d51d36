// The kernel ABI, written once: the flag bits of `step`, the fields of the StepArgs block
// it reads, and a typed binding over the raw exports. Everything else is derived from or
// checked against these tables: the host writer below, assembly/abi.ts (the kernel's
// struct), include/rmsprop-wasm.h (the C struct) and the table in docs/embedding.md, which
// test/abi-sources.test.ts parses and compares field by field.
//
// Why no @assemblyscript/loader: it is deprecated upstream, and it exists to marshal
// managed AssemblyScript objects (strings, arrays) across the boundary. This kernel takes
// only numbers and byte offsets into a memory the host already owns, so a ten-line typed
// view of `instance.exports` is all the glue there is, with no runtime dependency.
import type { WasmMemory, WasmModule } from "./wasm-types.ts";

/** One flag bit of the kernel's `step`: its value, its C name and what it switches on. */
export interface FlagSpec {
  readonly bit: number;
  readonly c: string;
  readonly meaning: string;
}

/** Bits of the `flags` argument of the kernel's `step` export. */
export const KERNEL_FLAGS = {
  epsInSqrt: { bit: 1, c: "RMSPROP_EPS_IN_SQRT", meaning: "d = √(v + ε); without it d = √v + ε" },
  centered: { bit: 2, c: "RMSPROP_CENTERED", meaning: "v = S·invC − (G·invC)², clamped below at vFloor" },
  wdL2: { bit: 4, c: "RMSPROP_WD_L2", meaning: "g += λ·θ" },
  wdDecoupled: { bit: 8, c: "RMSPROP_WD_DECOUPLED", meaning: "θ −= η·λ·θ before the step" },
  momHeavy: { bit: 16, c: "RMSPROP_MOM_HEAVY", meaning: "M = μ·M + uScale·u; θ −= θScale·M" },
  momNesterov: { bit: 32, c: "RMSPROP_MOM_NESTEROV", meaning: "θ −= θScale·(μ·M + uScale·u) after the M update" },
  trafficProbe: { bit: 64, c: "RMSPROP_TRAFFIC_PROBE", meaning: "alone: the memory-traffic probe instead of a step" },
  clip: { bit: 128, c: "RMSPROP_CLIP", meaning: "v2: g = g·clipScale, then clamped to [−clipValue, clipValue]" },
  ema: { bit: 256, c: "RMSPROP_EMA", meaning: "v2: ema = emaDecay·ema + oneMinusEmaDecay·θ after θ" },
  emaInit: { bit: 512, c: "RMSPROP_EMA_INIT", meaning: "v2, with EMA: ema = θ before this step (the first)" },
  flagsInArgs: { bit: 1024, c: "RMSPROP_FLAGS_IN_ARGS", meaning: "v2, alone: take the flags from the block's flags field" },
  q8: { bit: 2048, c: "RMSPROP_Q8", meaning: "v3: S (V = S − G² when centered), M and G are 8-bit codes with a scale per block" },
} as const satisfies Record<string, FlagSpec>;

type FlagName = keyof typeof KERNEL_FLAGS;

/** The flag bits by name, as numbers (what callers OR together). */
export const KernelFlag = Object.fromEntries(
  Object.entries(KERNEL_FLAGS).map(([name, spec]) => [name, spec.bit]),
) as { readonly [K in FlagName]: (typeof KERNEL_FLAGS)[K]["bit"] };

/** One field of StepArgs: its name in TypeScript/AssemblyScript and C, type, offset, meaning. */
export interface FieldSpec {
  readonly name: string;
  readonly c: string;
  readonly type: "u32" | "f32";
  readonly offset: number;
  readonly meaning: string;
}

const field = (name: string, c: string, type: "u32" | "f32", offset: number, meaning: string): FieldSpec => ({
  name, c, type, offset, meaning,
});

/** The StepArgs block, field by field, in ABI order. Byte offsets of arrays are u32. */
export const STEP_ARGS_FIELDS: readonly FieldSpec[] = [
  field("params", "params", "u32", 0, "byte offset of θ"),
  field("grads", "grads", "u32", 4, "byte offset of g"),
  field("sqAvg", "sq_avg", "u32", 8, "byte offset of S"),
  field("momentumBuffer", "momentum_buffer", "u32", 12, "byte offset of M (momentum kinds only)"),
  field("gradAvg", "grad_avg", "u32", 16, "byte offset of G (centered only)"),
  field("n", "n", "u32", 20, "element count"),
  field("lr", "lr", "f32", 24, "η"),
  field("beta", "beta", "f32", 28, "β"),
  field("oneMinusBeta", "one_minus_beta", "f32", 32, "1 − β, rounded once"),
  field("eps", "eps", "f32", 36, "ε"),
  field("gSign", "g_sign", "f32", 40, "gradient multiplier: ±gradScale (− maximizes), ±1 by default"),
  field("wd", "wd", "f32", 44, "λ (L2)"),
  field("lrWd", "lr_wd", "f32", 48, "η·λ (decoupled)"),
  field("invC", "inv_c", "f32", 52, "1/(1 − β^t), or 1"),
  field("vFloor", "v_floor", "f32", 56, "lower clamp of the centered variance: 0, or −∞"),
  field("mu", "mu", "f32", 60, "μ"),
  field("uScale", "u_scale", "f32", 64, "scale of u entering M: 1, or η"),
  field("thetaScale", "theta_scale", "f32", 68, "scale of M leaving to θ: η, or 1"),
  field("ema", "ema", "u32", 72, "v2: byte offset of the EMA of θ (EMA only)"),
  field("clipScale", "clip_scale", "f32", 76, "v2: norm-clipping factor, 1 for none (CLIP only)"),
  field("clipValue", "clip_value", "f32", 80, "v2: element clip bound, +∞ for none (CLIP only)"),
  field("emaDecay", "ema_decay", "f32", 84, "v2: d (EMA only)"),
  field("oneMinusEmaDecay", "one_minus_ema_decay", "f32", 88, "v2: 1 − d, rounded once (EMA only)"),
  field("flags", "flags", "u32", 92, "v2: the flags, read only when step gets FLAGS_IN_ARGS"),
  field("sqAvgScales", "sq_avg_scales", "u32", 96, "v3: byte offset of the f32 scales of S's blocks (Q8 only)"),
  field("momentumBufferScales", "momentum_buffer_scales", "u32", 100, "v3: byte offset of the scales of M's blocks (Q8, momentum kinds)"),
  field("gradAvgScales", "grad_avg_scales", "u32", 104, "v3: byte offset of the scales of G's blocks (Q8, centered)"),
  field("scratch", "scratch", "u32", 108, "v3: byte offset of Q8_SCRATCH_BYTES the call may use (Q8 only)"),
  field("firstIndex", "first_index", "u32", 112, "v3: index of element 0 in the whole array, the rounding counter (Q8 only)"),
  field("roundingSeed", "rounding_seed", "u32", 116, "v3: any u32 that changes from step to step (Q8 only)"),
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
