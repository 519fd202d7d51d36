// The jobs of a step: one per unit (src/executors.ts, UnitJob), from its group's step
// (src/groups.ts, groupStep). In a training loop each step runs once in many milliseconds,
// after a forward pass that evicted every line it reads, so what the bookkeeping around the
// kernel builds and reads is paid cold: at n = 1e5 it was some 25% of a step. Where a
// group's step is the object it was at the last step (no schedule, override or bias
// correction changed it), its units keep their jobs, with this step's count.
import type { UnitJob, UnitRuntime } from "./executors.ts";
import { groupStep, type GroupPlan, type GroupStep } from "./groups.ts";
import { KernelFlag } from "./kernel-abi.ts";
import type { StepOverrides } from "./per-step.ts";

/**
 * Makes the jobs of each step of these groups' units, in one array that every step reuses
 * (a step's executor reads its jobs only until that step ends). Each group's step is made
 * first, and may throw before any job changes. With norms (`norm`) the executor puts a
 * clipping factor into each job's flags and a copy of its scalars, so every step's jobs
 * are made afresh then.
 */
export function unitJobs(
  plans: readonly GroupPlan[],
  units: readonly UnitRuntime[],
  norm: boolean,
): (t: number, overrides: StepOverrides) => UnitJob[] {
  const groups: GroupStep[] = [];
  const jobs: UnitJob[] = [];
  /** The group step each job was made from. */
  const madeFrom: (GroupStep | undefined)[] = [];
  return (t, overrides) => {
    for (let g = 0; g < plans.length; g++) groups[g] = groupStep(plans[g], t, overrides);
    for (let u = 0; u < units.length; u++) {
      const group = groups[units[u].unit.group];
      const { scalars, flags, values } = group;
      // The EMA starts as the weights of the first step.
      const stepFlags = flags | (flags & KernelFlag.ema && t === 1 ? KernelFlag.emaInit : 0);
      const roundingSeed = t >>> 0;
      const job = jobs[u];
      if (!norm && job !== undefined && madeFrom[u] === group) {
        job.flags = stepFlags;
        job.roundingSeed = roundingSeed;
        continue;
      }
      jobs[u] = {
        scalars: norm ? { ...scalars } : scalars,
        flags: stepFlags,
        roundingSeed,
        clipNorm: values.clipNorm,
        globalClipNorm: values.globalClipNorm,
      };
      madeFrom[u] = group;
    }
    return jobs;
  };
}
