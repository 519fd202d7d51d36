// Parameter groups: contiguous ranges of the parameters, each with its own update options
// and kernel variant. One step runs the kernel once per group, not once per tensor, so a
// model with a thousand tensors costs what one flat step costs.
import type { ResolvedOptions } from "./options.ts";
import { groupUpdateOptions } from "./options.ts";
import type { StepScalars } from "./kernel-abi.ts";
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
  tensors: { name: string; offset: number; size: number; shape: number[] }[];
}

/** Lays the groups out in order; without groups, one group covers all n parameters. */
export function planGroups(o: ResolvedOptions, n: number): GroupPlan[] {
  if (o.groups.length === 0) {
    return [{ name: "default", offset: 0, size: n, options: o, flags: kernelFlags(o), ownLr: false, tensors: [] }];
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
      ownLr: group.lr !== undefined,
      tensors,
    };
    offset += group.size;
    return plan;
  });
}

/** Which state arrays any group needs besides θ, g and S (known before n is checked). */
export function neededArrays(o: ResolvedOptions): { momentumBuffer: boolean; gradAvg: boolean } {
  const all = o.groups.length ? o.groups.map((g, i) => groupUpdateOptions(o, g, i)) : [o];
  return {
    momentumBuffer: all.some((e) => e.momentum > 0),
    gradAvg: all.some((e) => e.centered),
  };
}

/**
 * A group's constants for step t. Each option fits f32 on its own (validation sees to
 * that), but a product such as η·λ, or an lr override, may not: refuse the step then,
 * rather than let ∞ into the state.
 */
export function checkedScalars(plan: GroupPlan, t: number, lr: number): StepScalars {
  const s = stepScalars(plan.options, t, plan.ownLr ? plan.options.lr : lr);
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
