// The host side of the kernel ABI in assembly/rmsprop.ts: flag bits, the StepArgs block,
// and a typed binding over the raw exports.
//
// Why no @assemblyscript/loader: it is deprecated upstream, and it exists to marshal
// managed AssemblyScript objects (strings, arrays) across the boundary. This kernel takes
// only numbers and byte offsets into a memory the host already owns, so a ten-line typed
// view of `instance.exports` is all the glue there is, with no runtime dependency.

/** Bits of the `flags` argument of the kernel's `step` export. */
export const KernelFlag = {
  epsInSqrt: 1,
  centered: 2,
  wdL2: 4,
  wdDecoupled: 8,
  momHeavy: 16,
  momNesterov: 32,
  /** Runs the memory-traffic probe instead of a step (see createTrafficProbe). */
  trafficProbe: 64,
} as const;

/** Byte size of one StepArgs block (see assembly/rmsprop.ts). */
export const STEP_ARGS_BYTES = 72;

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
}

/** Byte offsets of the arrays one step touches; 0 for an array the variant does not use. */
export interface ArrayOffsets {
  params: number;
  grads: number;
  sqAvg: number;
  momentumBuffer: number;
  gradAvg: number;
}

/**
 * The raw exports of both kernel builds. A type alias, not an interface, so that it is
 * assignable to `WebAssembly.ModuleImports` (a consumer's `"rmsprop-wasm"` import object).
 */
export type KernelExports = {
  /** One step; `args` is the byte offset of a filled StepArgs block. */
  step(flags: number, args: number): void;
  /** Index of the first NaN/±∞ among the n f32 at byte offset `ptr`, or −1. */
  first_nonfinite_f32(ptr: number, n: number): number;
};

/** Instantiates a compiled kernel on a memory the caller owns. */
export function bindKernel(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const { step, first_nonfinite_f32 } = instance.exports as unknown as KernelExports;
  return { step, first_nonfinite_f32 };
}

/** The f32 fields of StepArgs, in ABI order after the six u32 fields (byte 24 on). */
const SCALAR_FIELDS: readonly (keyof StepScalars)[] = [
  "lr", "beta", "oneMinusBeta", "eps", "gSign", "wd", "lrWd", "invC", "vFloor", "mu", "uScale", "thetaScale",
];

/**
 * Writes a StepArgs block at byte offset `at` (a multiple of 4), in the field order of the
 * ABI. `u32` and `f32` are views of the whole memory, made once by the caller, so a step
 * allocates nothing.
 */
export function writeStepArgs(
  u32: Uint32Array,
  f32: Float32Array,
  at: number,
  arrays: ArrayOffsets,
  n: number,
  s: StepScalars,
): void {
  const w = at >>> 2;
  u32[w] = arrays.params;
  u32[w + 1] = arrays.grads;
  u32[w + 2] = arrays.sqAvg;
  u32[w + 3] = arrays.momentumBuffer;
  u32[w + 4] = arrays.gradAvg;
  u32[w + 5] = n;
  for (let i = 0; i < SCALAR_FIELDS.length; i++) f32[w + 6 + i] = s[SCALAR_FIELDS[i]];
}
