// From options to what one step needs: the kernel's flag bits and its f32 scalars. The
// kernel and the reference both take their constants from here, rounded once. The numeric
// options arrive as one step's values (src/per-step.ts): a schedule is already evaluated.
import { KernelFlag, type StepScalars } from "./kernel-abi.ts";
import type { ResolvedOptions } from "./options.ts";
import { PER_STEP_NAMES, valuesAt, type PerStepValues } from "./per-step.ts";
import { powU32 } from "./schedule-math.ts";

export { powU32 } from "./schedule-math.ts";

const f32 = Math.fround;

/** The values of step number t (from 1) of options whose per-step values may be schedules. */
const valuesOfStep = (o: ResolvedOptions, t: number): Readonly<PerStepValues> => valuesAt(o, {}, Math.max(0, t - 1), {}, "options");

/**
 * The kernel variant of one step: the switches of the options, and where the values of the
 * step turn a term off (λ = 0 skips weight decay, μ = 0 leaves M alone as PyTorch does).
 * `values` default to the options' own at the first step.
 */
export function kernelFlags(o: ResolvedOptions, values: Readonly<PerStepValues> = valuesOfStep(o, 1)): number {
  let flags = 0;
  if (o.epsInSqrt) flags |= KernelFlag.epsInSqrt;
  if (o.centered) flags |= KernelFlag.centered;
  if (values.weightDecay > 0) flags |= o.decoupledWeightDecay ? KernelFlag.wdDecoupled : KernelFlag.wdL2;
  if (values.momentum > 0) flags |= o.nesterov ? KernelFlag.momNesterov : KernelFlag.momHeavy;
  if (values.clipValue !== null) flags |= KernelFlag.clip;
  if (values.emaDecay !== null) flags |= KernelFlag.ema;
  return flags;
}

/**
 * The scalars of step number `t` (from 1) from that step's values. η = lr·lrScale and the
 * other derived constants (1 − β, η·λ, 1/(1 − β^t)) are computed in f64 and rounded to f32
 * once; every value is rounded to f32 once.
 */
export function scalarsAt(o: ResolvedOptions, t: number, v: Readonly<PerStepValues>): StepScalars {
  const lr = v.lr * v.lrScale;
  const lrInBuffer = o.lrInMomentum;
  const emaDecay = v.emaDecay ?? 0;
  return {
    lr: f32(lr),
    beta: f32(v.beta),
    oneMinusBeta: f32(1 - v.beta),
    // tfjs's centered root is √(S − (G² + ε)): the kernel's √(v + ε) with ε negated.
    eps: o.centered && o.centeredEps === "subtract" ? -f32(v.eps) : f32(v.eps),
    gSign: (o.maximize ? -1 : 1) * f32(v.gradScale),
    wd: f32(v.weightDecay),
    lrWd: f32(lr * v.weightDecay),
    invC: o.biasCorrection ? f32(1 / (1 - powU32(v.beta, t))) : 1,
    vFloor: o.clampVariance ? 0 : -Infinity,
    mu: f32(v.momentum),
    uScale: lrInBuffer ? f32(lr) : 1,
    thetaScale: lrInBuffer ? 1 : f32(lr),
    clipScale: 1,
    clipValue: f32(v.clipValue ?? Infinity),
    emaDecay: f32(emaDecay),
    oneMinusEmaDecay: f32(1 - emaDecay),
  };
}

/**
 * The scalars of step number `t` (from 1): the options' values at that step (schedules
 * evaluated at t − 1), with `lr` and `gradScale` in place of the options' own when given.
 */
export function stepScalars(o: ResolvedOptions, t: number, lr?: number, gradScale?: number): StepScalars {
  const values = { ...valuesOfStep(o, t) };
  if (lr !== undefined) values.lr = lr;
  if (gradScale !== undefined) values.gradScale = gradScale;
  return scalarsAt(o, t, values);
}

/**
 * The scalars that must be finite: all but vFloor and clipValue, whose ±∞ means "no clamp".
 * Any other that is not overflowed.
 */
const MAY_BE_INFINITE = new Set(["vFloor", "clipValue"]);

/**
 * The first constant of these scalars that overflowed f32 (each value fits f32 on its own,
 * but a product such as η = lr·lrScale or η·λ, or 1/(1 − β^t), may not), or undefined.
 * Every scalar is checked, so a new one is without a list to extend.
 */
export function overflowedScalar(s: StepScalars): keyof StepScalars | undefined {
  // Object.values in one call: a keyed load per field was most of a small step's cost.
  const values = Object.values(s);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) {
      const key = Object.keys(s)[i] as keyof StepScalars;
      if (!MAY_BE_INFINITE.has(key)) return key;
    }
  }
  return undefined;
}

/** The per-step values, as a message shows them: "lr 0.1, lrScale 1, …". */
export function describeValues(v: PerStepValues): string {
  return PER_STEP_NAMES.filter((k) => v[k] !== null).map((k) => `${k} ${v[k]}`).join(", ");
}
