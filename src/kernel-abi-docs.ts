// The kernel ABI as people read it: each flag's and StepArgs field's C name and what it
// means, the text of docs/embedding.md's tables and the names of include/rmsprop-wasm.h.
// The bits, names, types and offsets are src/kernel-abi.ts's, which every page loads; these
// 2.5 KB of strings no step needs, so only the tests and the docs read them
// (test/abi-sources.test.ts checks that both name the same flags and fields, in order).
import type { KernelFlagName } from "./kernel-abi.ts";

/** A flag's or a field's C name and what it means. */
export interface AbiDoc {
  readonly c: string;
  readonly meaning: string;
}

/** Each kernel flag's C name and what it switches on, in bit order. */
export const KERNEL_FLAG_DOCS: Readonly<Record<KernelFlagName, AbiDoc>> = {
  epsInSqrt: { c: "RMSPROP_EPS_IN_SQRT", meaning: "d = √(v + ε); without it d = √v + ε" },
  centered: { c: "RMSPROP_CENTERED", meaning: "v = S·invC − (G·invC)², clamped below at vFloor" },
  wdL2: { c: "RMSPROP_WD_L2", meaning: "g += λ·θ" },
  wdDecoupled: { c: "RMSPROP_WD_DECOUPLED", meaning: "θ −= η·λ·θ before the step" },
  momHeavy: { c: "RMSPROP_MOM_HEAVY", meaning: "M = μ·M + uScale·u; θ −= θScale·M" },
  momNesterov: { c: "RMSPROP_MOM_NESTEROV", meaning: "θ −= θScale·(μ·M + uScale·u) after the M update" },
  trafficProbe: { c: "RMSPROP_TRAFFIC_PROBE", meaning: "alone: the memory-traffic probe instead of a step" },
  clip: { c: "RMSPROP_CLIP", meaning: "v2: g = g·clipScale, then clamped to [−clipValue, clipValue]" },
  ema: { c: "RMSPROP_EMA", meaning: "v2: ema = emaDecay·ema + oneMinusEmaDecay·θ after θ" },
  emaInit: { c: "RMSPROP_EMA_INIT", meaning: "v2, with EMA: ema = θ before this step (the first)" },
  flagsInArgs: { c: "RMSPROP_FLAGS_IN_ARGS", meaning: "v2, alone: take the flags from the block's flags field" },
  q8: { c: "RMSPROP_Q8", meaning: "v3: S (V = S − G² when centered), M and G are 8-bit codes with a scale per block" },
};

/** Each StepArgs field's C name and what it holds, in ABI order. */
export const STEP_ARGS_FIELD_DOCS: Readonly<Record<string, AbiDoc>> = {
  params: { c: "params", meaning: "byte offset of θ" },
  grads: { c: "grads", meaning: "byte offset of g" },
  sqAvg: { c: "sq_avg", meaning: "byte offset of S" },
  momentumBuffer: { c: "momentum_buffer", meaning: "byte offset of M (momentum kinds only)" },
  gradAvg: { c: "grad_avg", meaning: "byte offset of G (centered only)" },
  n: { c: "n", meaning: "element count" },
  lr: { c: "lr", meaning: "η" },
  beta: { c: "beta", meaning: "β" },
  oneMinusBeta: { c: "one_minus_beta", meaning: "1 − β, rounded once" },
  eps: { c: "eps", meaning: "ε" },
  gSign: { c: "g_sign", meaning: "gradient multiplier: ±gradScale (− maximizes), ±1 by default" },
  wd: { c: "wd", meaning: "λ (L2)" },
  lrWd: { c: "lr_wd", meaning: "η·λ (decoupled)" },
  invC: { c: "inv_c", meaning: "1/(1 − β^t), or 1" },
  vFloor: { c: "v_floor", meaning: "lower clamp of the centered variance: 0, or −∞" },
  mu: { c: "mu", meaning: "μ" },
  uScale: { c: "u_scale", meaning: "scale of u entering M: 1, or η" },
  thetaScale: { c: "theta_scale", meaning: "scale of M leaving to θ: η, or 1" },
  ema: { c: "ema", meaning: "v2: byte offset of the EMA of θ (EMA only)" },
  clipScale: { c: "clip_scale", meaning: "v2: norm-clipping factor, 1 for none (CLIP only)" },
  clipValue: { c: "clip_value", meaning: "v2: element clip bound, +∞ for none (CLIP only)" },
  emaDecay: { c: "ema_decay", meaning: "v2: d (EMA only)" },
  oneMinusEmaDecay: { c: "one_minus_ema_decay", meaning: "v2: 1 − d, rounded once (EMA only)" },
  flags: { c: "flags", meaning: "v2: the flags, read only when step gets FLAGS_IN_ARGS" },
  sqAvgScales: { c: "sq_avg_scales", meaning: "v3: byte offset of the f32 scales of S's blocks (Q8 only)" },
  momentumBufferScales: { c: "momentum_buffer_scales", meaning: "v3: byte offset of the scales of M's blocks (Q8, momentum kinds)" },
  gradAvgScales: { c: "grad_avg_scales", meaning: "v3: byte offset of the scales of G's blocks (Q8, centered)" },
  scratch: { c: "scratch", meaning: "v3: byte offset of Q8_SCRATCH_BYTES the call may use (Q8 only)" },
  firstIndex: { c: "first_index", meaning: "v3: index of element 0 in the whole array, the rounding counter (Q8 only)" },
  roundingSeed: { c: "rounding_seed", meaning: "v3: any u32 that changes from step to step (Q8 only)" },
};
