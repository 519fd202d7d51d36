// Parameter groups: contiguous ranges of the parameters, each with its own update options
// and kernel variant. One step runs the kernel once per group, not once per tensor, so a
// model with a thousand tensors costs what one flat step costs.
import type { NormalizedGroup, ResolvedOptions, UpdateOptions } from "./options.ts";
import { groupUpdateOptions } from "./options.ts";
import { NORM_BLOCK, type StepScalars } from "./kernel-abi.ts";
import { hasSchedules, NO_OVERRIDES, valuesAt, type PerStepValues, type StepOverrides } from "./per-step.ts";
import { arraySet, type ArraySet } from "./state-arrays.ts";
import { describeValues, kernelFlags, overflowedScalar, scalarsAt } from "./step-scalars.ts";

/** A group as the optimizer runs it. */
export interface GroupPlan {
  name: string;
  /** First parameter index of the group. */
  offset: number;
  size: number;
  /** How errors name it: "options", or "options.groups[i]". */
  path: string;
  /** The group's effective options (its own over the top-level ones); setOptions replaces them. */
  options: ResolvedOptions;
  /** The update options the group sets itself, which a step's overrides leave alone. */
  own: Readonly<UpdateOptions>;
  /** Flags that replace the options' on every step (the traffic probe's), or 0. */
  fixedFlags: number;
  /** Its last step (groupStep), reused while its values stay the same object (see valuesAt). */
  lastStep?: GroupStep;
  tensors: { name: string; offset: number; size: number; shape: number[] }[];
}

/** The update options a group sets itself: all but its name and layout. */
export function ownOptions(group: NormalizedGroup): UpdateOptions {
  const { name: _name, size: _size, tensors: _tensors, ...own } = group;
  // No prototype: an option the group does not set reads as undefined, whatever
  // Object.prototype holds (src/own.ts).
  return Object.assign(Object.create(null), own) as UpdateOptions;
}

/** Lays the groups out in order; without groups, one group covers all n parameters. */
export function planGroups(o: ResolvedOptions, n: number): GroupPlan[] {
  if (o.groups.length === 0) {
    return [{ name: "default", offset: 0, size: n, path: "options", options: o, own: Object.create(null), fixedFlags: 0, tensors: [] }];
  }
  const total = o.groups.reduce((sum, g) => sum + g.size, 0);
  if (total !== n) {
    throw new RangeError(`options.groups add up to ${total} parameters but n is ${n}; they must be equal`);
  }
  let offset = 0;
  return o.groups.map((group, g) => {
    const options = groupUpdateOptions(o, group, g);
    let at = offset;
    const tensors = group.tensors.map((t) => {
      const placed = { name: t.name, offset: at, size: t.size, shape: t.shape };
      at += t.size;
      return placed;
    });
    const own = ownOptions(group);
    const plan: GroupPlan = { name: group.name, offset, size: group.size, path: `options.groups[${g}]`, options, own, fixedFlags: 0, tensors };
    offset += group.size;
    return plan;
  });
}

/** Every group's effective options (the one implicit group's are the top level's). */
export const effectiveOptions = (o: ResolvedOptions): ResolvedOptions[] => (o.groups.length ? o.groups.map((g, i) => groupUpdateOptions(o, g, i)) : [o]);

/** Which arrays the groups need (known before n is checked). */
export function neededArrays(o: ResolvedOptions): ArraySet {
  return arraySet(effectiveOptions(o));
}

/**
 * A step unit: a range of one group that gets its own StepArgs blocks. Units are the
 * groups, except that a group with clipNorm and tensors is cut into its tensors, each
 * clipped by its own norm.
 */
export interface StepUnit {
  /** Index of its group in the plans. */
  group: number;
  plan: GroupPlan;
  /** First parameter index and size. */
  offset: number;
  size: number;
  /** Index of its first f64 block sum in the layout's normSums (when the norm is computed). */
  firstBlock: number;
  /** Its block sums: ⌈size / NORM_BLOCK⌉. */
  blocks: number;
}

/** Whether a step computes gradient norms: some group clips by norm, or all are clipped together. */
export function needsNorm(o: ResolvedOptions, plans: readonly GroupPlan[]): boolean {
  return o.globalClipNorm !== null || plans.some((p) => p.options.clipNorm !== null);
}

/** The step units of these groups, and the f64 block sums their norms need (0 without norms). */
export function planUnits(plans: readonly GroupPlan[], norm: boolean): { units: StepUnit[]; normBlocks: number } {
  const units: StepUnit[] = [];
  let block = 0;
  plans.forEach((plan, group) => {
    const cut = norm && plan.options.clipNorm !== null && plan.tensors.length > 0;
    const ranges = cut ? plan.tensors : [plan];
    for (const r of ranges) {
      const blocks = norm ? Math.ceil(r.size / NORM_BLOCK) : 0;
      units.push({ group, plan, offset: r.offset, size: r.size, firstBlock: block, blocks });
      block += blocks;
    }
  });
  return { units, normBlocks: block };
}

/**
 * What one group runs in one step: its values, its f32 constants and its flags. The same
 * object may serve the next step too: copy the scalars before adding a clipping factor.
 */
export interface GroupStep {
  values: Readonly<PerStepValues>;
  scalars: Readonly<StepScalars>;
  flags: number;
  /**
   * The options it was made from where it serves every step made from them without
   * overrides: no schedule and no bias correction, so nothing in it depends on t.
   */
  steadyWith?: Readonly<ResolvedOptions>;
}

/**
 * A group's step number t (from 1): its values at step count t − 1 with the step's
 * overrides, their f32 constants and the kernel flags. Each value fits f32 on its own (its
 * rule sees to that), but a product such as η = lr·lrScale or η·λ may not: the step is
 * refused then, before anything is written, rather than let ∞ into the state.
 */
export function groupStep(plan: GroupPlan, t: number, overrides: StepOverrides = NO_OVERRIDES): GroupStep {
  // Nothing that changes from step to step, and the options it was made from: the step of
  // the last call, checked then, without walking the values again. In a training loop
  // every line a step reads is cold (the forward pass evicted it): at n = 1e5 the
  // bookkeeping around the kernel was some 25% of a step.
  const last = plan.lastStep;
  const none = overrides === NO_OVERRIDES;
  if (none && last?.steadyWith === plan.options) return last;
  const values = valuesAt(plan.options, plan.own, t - 1, overrides, plan.path);
  const scalars = scalarsAt(plan.options, t, values);
  const bad = overflowedScalar(scalars);
  if (bad) {
    throw new RangeError(
      `the step constant ${bad} of group "${plan.name}" overflows f32 to ${scalars[bad]} (${describeValues(values)}, step ${t}); nothing was applied`,
    );
  }
  const steady = none && !plan.options.biasCorrection && !hasSchedules(plan.options);
  const step = { values, scalars, flags: plan.fixedFlags || kernelFlags(plan.options, values), steadyWith: steady ? plan.options : undefined };
  plan.lastStep = step;
  return step;
}
