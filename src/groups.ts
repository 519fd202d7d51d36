// Parameter groups: contiguous ranges of the parameters, each with its own update options
// and kernel variant. One step runs the kernel once per group, not once per tensor, so a
// model with a thousand tensors costs what one flat step costs.
import type { ResolvedOptions } from "./options.ts";
import { groupUpdateOptions } from "./options.ts";
import { own } from "./own.ts";
import { NORM_BLOCK, type StepScalars } from "./kernel-abi.ts";
import { arraySet, type ArraySet } from "./state-arrays.ts";
import { kernelFlags, stepScalars } from "./step-scalars.ts";

/** A group as the optimizer runs it. */
export interface GroupPlan {
  name: string;
  /** First parameter index of the group. */
  offset: number;
  size: number;
  /** The group's effective options (its own over the top-level ones). */
  options: ResolvedOptions;
  flags: number;
  /** True when the group sets its own lr, which a `step({ lr })` override leaves alone. */
  ownLr: boolean;
  /** True when the group sets its own gradScale, which a `step({ gradScale })` override leaves alone. */
  ownGradScale: boolean;
  tensors: { name: string; offset: number; size: number; shape: number[] }[];
}

/** Lays the groups out in order; without groups, one group covers all n parameters. */
export function planGroups(o: ResolvedOptions, n: number): GroupPlan[] {
  if (o.groups.length === 0) {
    return [
      { name: "default", offset: 0, size: n, options: o, flags: kernelFlags(o), ownLr: false, ownGradScale: false, tensors: [] },
    ];
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
    const plan: GroupPlan = {
      name: group.name,
      offset,
      size: group.size,
      options,
      flags: kernelFlags(options),
      ownLr: own(group, "lr") !== undefined,
      ownGradScale: own(group, "gradScale") !== undefined,
      tensors,
    };
    offset += group.size;
    return plan;
  });
}

/** Which arrays the groups need (known before n is checked). */
export function neededArrays(o: ResolvedOptions): ArraySet {
  return arraySet(o.groups.length ? o.groups.map((g, i) => groupUpdateOptions(o, g, i)) : [o]);
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

/** Σ of a unit's f64 block sums, in block order: its squared norm. */
export function unitSquaredNorm(sums: Float64Array, at: number, u: StepUnit): number {
  let total = 0;
  for (let b = 0; b < u.blocks; b++) total += sums[at + u.firstBlock + b];
  return total;
}

/**
 * A group's constants for step t. Each option fits f32 on its own (validation sees to
 * that), but a product such as η·λ, or an lr override, may not: refuse the step then,
 * rather than let ∞ into the state.
 */
export function checkedScalars(plan: GroupPlan, t: number, lr: number, gradScale?: number): StepScalars {
  const scale = plan.ownGradScale || gradScale === undefined ? plan.options.gradScale : gradScale;
  const s = stepScalars(plan.options, t, plan.ownLr ? plan.options.lr : lr, scale);
  // The only derived constants: every other one is an option validated to fit f32.
  for (const name of ["lrWd", "invC"] as const) {
    if (!Number.isFinite(s[name])) {
      throw new RangeError(
        `the step constant ${name} of group "${plan.name}" overflows f32 to ${s[name]} (lr ${plan.ownLr ? plan.options.lr : lr}, ` +
          `weightDecay ${plan.options.weightDecay}, beta ${plan.options.beta}, step ${t}); nothing was applied`,
      );
    }
  }
  return s;
}
