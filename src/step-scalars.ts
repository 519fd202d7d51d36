// From options to what one step needs: the kernel's flag bits and its f32 scalars. The
// kernel and the reference both take their constants from here, rounded once.
import { KernelFlag, type StepScalars } from "./kernel-abi.ts";
import type { ResolvedOptions } from "./options.ts";

const f32 = Math.fround;

/** The kernel variant selected by the options (constant for the optimizer's life). */
export function kernelFlags(o: ResolvedOptions): number {
  let flags = 0;
  if (o.epsInSqrt) flags |= KernelFlag.epsInSqrt;
  if (o.centered) flags |= KernelFlag.centered;
  if (o.weightDecay > 0) flags |= o.decoupledWeightDecay ? KernelFlag.wdDecoupled : KernelFlag.wdL2;
  if (o.momentum > 0) flags |= o.nesterov ? KernelFlag.momNesterov : KernelFlag.momHeavy;
  if (o.clipValue !== null) flags |= KernelFlag.clip;
  if (o.emaDecay !== null) flags |= KernelFlag.ema;
  return flags;
}

/**
 * base^t for an integer t ≥ 0 by binary exponentiation in f64. Math.pow may differ from a
 * C libm's pow in the last place, so both this and include/rmsprop-wasm.h use these same
 * squarings and products, and agree bit for bit.
 */
export function powU32(base: number, t: number): number {
  let result = 1;
  for (let e = t; e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) result *= base;
    base *= base;
  }
  return result;
}

/**
 * The scalars of step number `t` (from 1) at learning rate `lr` and gradient scale
 * `gradScale`. Derived constants
 * (1 − β, η·λ, 1/(1 − β^t)) are computed in f64 and rounded to f32 once.
 */
export function stepScalars(o: ResolvedOptions, t: number, lr: number, gradScale = o.gradScale): StepScalars {
  const lrInBuffer = o.lrInMomentum;
  const emaDecay = o.emaDecay ?? 0;
  return {
    lr: f32(lr),
    beta: f32(o.beta),
    oneMinusBeta: f32(1 - o.beta),
    // tfjs's centered root is √(S − (G² + ε)): the kernel's √(v + ε) with ε negated.
    eps: o.centered && o.centeredEps === "subtract" ? -f32(o.eps) : f32(o.eps),
    gSign: (o.maximize ? -1 : 1) * f32(gradScale),
    wd: f32(o.weightDecay),
    lrWd: f32(lr * o.weightDecay),
    invC: o.biasCorrection ? f32(1 / (1 - powU32(o.beta, t))) : 1,
    vFloor: o.clampVariance ? 0 : -Infinity,
    mu: f32(o.momentum),
    uScale: lrInBuffer ? f32(lr) : 1,
    thetaScale: lrInBuffer ? 1 : f32(lr),
    clipScale: 1,
    clipValue: f32(o.clipValue ?? Infinity),
    emaDecay: f32(emaDecay),
    oneMinusEmaDecay: f32(1 - emaDecay),
  };
}
