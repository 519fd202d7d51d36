// Gradient norms over tfjs variables, bit for bit as createRmsprop computes them over the
// same variables laid out as its groups' tensors (src/executors.ts): the step units of
// src/groups.ts (a group, or each tensor of a group with clipNorm), and in each unit f64
// block sums of NORM_BLOCK elements of the unit's gradients read as one array. A
// variable's gradient lives in memory of its own, so a block that lies inside one variable
// is summed by the kernel's sum_squares_f32, and a block that straddles variables (or the
// bias vectors, smaller than a block) in JavaScript with the kernel's arithmetic: each
// product rounded to f32, squared exactly in f64, element k into accumulator k mod 4. A
// variable without a gradient in this step counts as zeros, which add nothing.
import { planUnits, type GroupPlan, type StepUnit } from "../groups.ts";
import { NORM_BLOCK } from "../kernel-abi.ts";
import { factorsOf, firstBadScaled, withClipFactor } from "../clip-norms.ts";
import type { Job, NonFinite, Staged, StepItem } from "./engine.ts";

/** The units of the norms and where each variable lies in its unit. */
export interface NormPlan {
  units: StepUnit[];
  /** Each unit's slots, in the order of its elements. */
  members: number[][];
  /** Each slot's unit. */
  unitOf: number[];
  /** Each slot's first element, in createRmsprop's numbering (its tensor's offset). */
  start: number[];
  /** Whether options.globalClipNorm is on (its value is each step's, in the jobs). */
  globalClipNorm: boolean;
}

/** The norm plan of these groups, or undefined when no option needs a norm. */
export function planNorms(plans: readonly GroupPlan[], slotOf: ReadonlyMap<string, number>, globalClipNorm: boolean): NormPlan | undefined {
  if (!globalClipNorm && plans.every((p) => p.options.clipNorm === null)) return undefined;
  const { units } = planUnits(plans, true);
  const start: number[] = [];
  for (const plan of plans) for (const t of plan.tensors) start[slotOf.get(t.name)!] = t.offset;
  const members = units.map((u) =>
    u.plan.tensors.filter((t) => t.offset >= u.offset && t.offset < u.offset + u.size).map((t) => slotOf.get(t.name)!),
  );
  const unitOf: number[] = [];
  members.forEach((slots, u) => slots.forEach((slot) => (unitOf[slot] = u)));
  return { units, members, unitOf, start, globalClipNorm };
}

const f32 = Math.fround;

/** The block sums of one unit over the gradients present in this step. */
function unitSums(np: NormPlan, u: number, scale: number, at: ReadonlyMap<number, number>, s: Staged): Float64Array {
  const unit = np.units[u];
  const sums = new Float64Array(unit.blocks);
  const partial = new Map<number, number[]>();
  const scratch = s.scratch >>> 3;
  for (const slot of np.members[u]) {
    const grads = at.get(slot);
    if (grads === undefined) continue;
    const from = np.start[slot] - unit.offset;
    const to = from + s.sizes[slot];
    // Whole blocks [b0, b1) lie inside this variable; the unit's last block may be short.
    const b0 = Math.ceil(from / NORM_BLOCK);
    const b1 = to === unit.size ? unit.blocks : Math.floor(to / NORM_BLOCK);
    let wholeFrom = to;
    let wholeTo = to;
    if (b1 > b0) {
      wholeFrom = b0 * NORM_BLOCK;
      wholeTo = Math.min(b1 * NORM_BLOCK, unit.size);
      s.kernel.sum_squares_f32(grads + 4 * (wholeFrom - from), wholeTo - wholeFrom, scale, s.scratch);
      for (let b = b0; b < b1; b++) sums[b] = s.f64[scratch + b - b0];
    }
    const base = (grads >>> 2) - from;
    const add = (i: number) => {
      const b = Math.floor(i / NORM_BLOCK);
      let acc = partial.get(b);
      if (!acc) partial.set(b, (acc = [0, 0, 0, 0]));
      const g = f32(s.f32[base + i] * scale);
      acc[i & 3] += g * g;
    };
    for (let i = from; i < wholeFrom; i++) add(i);
    for (let i = wholeTo; i < to; i++) add(i);
  }
  for (const [b, acc] of partial) sums[b] = acc[0] + acc[1] + (acc[2] + acc[3]);
  return sums;
}

/** What the norm scan found: the joint norm, and the first bad element when it stopped the step. */
export interface NormOutcome {
  gradNorm: number;
  bad: NonFinite | undefined;
}

/**
 * Sums the norms of this step's gradients, and puts each unit's clipping factor (the
 * global one, or its own norm's) into the jobs of its items. With `check`, a non-finite
 * sum stops the step at its first scaled gradient element that is NaN/±∞.
 */
export function scanNorms(np: NormPlan, items: readonly StepItem[], s: Staged, jobs: readonly (Job | undefined)[], check: boolean): NormOutcome {
  const at = new Map(items.map((item, k) => [item.slot, s.grads[k]]));
  // The gradient scale a unit's norm is taken after: |gSign|, the f32 gradScale.
  const scales = np.units.map((_, u) => Math.abs(jobs[u]?.scalars.gSign ?? 1));
  const squares: number[] = [];
  let finite = true;
  np.units.forEach((_, u) => {
    if (!jobs[u]) return squares.push(0);
    let sum = 0;
    for (const x of unitSums(np, u, scales[u], at, s)) sum += x;
    squares.push(sum);
    finite &&= Number.isFinite(sum);
  });
  // This step's bounds (each may be a schedule): every unit's own clipNorm, and the global one.
  const bound = jobs.find((job) => job)?.globalClipNorm ?? null;
  const { gradNorm, factors } = factorsOf(
    squares,
    np.units.map((_, u) => jobs[u]?.clipNorm ?? null),
    np.globalClipNorm ? bound : null,
  );
  if (check && !finite) {
    for (let k = 0; k < items.length; k++) {
      const scale = scales[np.unitOf[items[k].slot]];
      const base = s.grads[k] >>> 2;
      const i = firstBadScaled(s.f32, base, s.sizes[items[k].slot], scale);
      if (i >= 0) return { gradNorm, bad: { item: items[k], index: i, value: s.f32[base + i] } };
    }
  }
  np.units.forEach((_, u) => {
    const job = jobs[u];
    if (job) job.flags = withClipFactor(job.flags, job.scalars, factors[u]);
  });
  return { gradNorm, bad: undefined };
}
