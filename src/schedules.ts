// Schedules: a hyperparameter as a function of the step count, like PyTorch's lr_scheduler,
// Keras's LearningRateSchedule and optax's schedules. Each is a plain frozen object (see
// src/schedule-types.ts), checked once (src/schedule-check.ts) and evaluated once per step,
// not per element, in f64 with + − × ÷ only (src/schedule-math.ts): the same bits in every
// engine. docs/schedules.md has every formula with its source.
import { normalizeSchedule, scheduleFactory } from "./schedule-check.ts";
import { cosPi, pow, powU32 } from "./schedule-math.ts";
import { provideSchedules, type Extreme } from "./schedule-support.ts";
import type {
  Anneal,
  ConstantSchedule,
  CosineSchedule,
  ExponentialSchedule,
  JoinSchedule,
  LinearSchedule,
  OneCycleMomentumSchedule,
  OneCycleSchedule,
  PiecewiseSchedule,
  Schedule,
  StepSchedule,
  WarmupCosineSchedule,
} from "./schedule-types.ts";

/** How many of the ascending `boundaries` are ≤ t: the index of t's segment. */
function segment(boundaries: readonly number[], t: number): number {
  let i = 0;
  while (i < boundaries.length && boundaries[i] <= t) i++;
  return i;
}

/** A one-cycle phase: the (possibly fractional) step it ends at, its start and end values. */
type Phase = readonly [end: number, from: number, to: number];

/** OneCycleLR's phases for its rate (torch/optim/lr_scheduler.py, OneCycleLR.__init__). */
function ratePhases(s: OneCycleSchedule): Phase[] {
  const initial = s.max / s.divFactor;
  const min = initial / s.finalDivFactor;
  const first = s.pctStart * s.steps - 1;
  const last = s.steps - 1;
  return s.threePhase
    ? [[first, initial, s.max], [2 * s.pctStart * s.steps - 2, s.max, initial], [last, initial, min]]
    : [[first, initial, s.max], [last, s.max, min]];
}

/** OneCycleLR's phases for the momentum it cycles against the rate. */
function momentumPhases(s: OneCycleMomentumSchedule): Phase[] {
  const first = s.pctStart * s.steps - 1;
  const last = s.steps - 1;
  return s.threePhase
    ? [[first, s.max, s.base], [2 * s.pctStart * s.steps - 2, s.base, s.max], [last, s.max, s.max]]
    : [[first, s.max, s.base], [last, s.base, s.max]];
}

/** OneCycleLR.get_lr: the phase t falls in, annealed as PyTorch does; held after the last step. */
function annealPhases(phases: readonly Phase[], anneal: Anneal, t: number): number {
  const step = Math.min(t, phases[phases.length - 1][0]);
  let start = 0;
  for (let i = 0; ; i++) {
    const [end, from, to] = phases[i];
    if (step <= end || i === phases.length - 1) {
      const pct = (step - start) / (end - start);
      // _annealing_cos and _annealing_linear, in their operation order.
      return anneal === "cos" ? to + ((from - to) / 2) * (cosPi(pct) + 1) : (to - from) * pct + from;
    }
    start = end;
  }
}

/** optax's warmup_cosine_decay_schedule: linear_schedule, then cosine_decay_schedule (optax/schedules/_schedule.py). */
function warmupCosine(s: WarmupCosineSchedule, t: number): number {
  if (t < s.warmup) {
    const frac = 1 - t / s.warmup;
    return (s.init - s.peak) * frac + s.peak;
  }
  const decaySteps = s.steps - s.warmup;
  const count = Math.min(t - s.warmup, decaySteps);
  const cosineDecay = 0.5 * (1 + cosPi(count / decaySteps));
  const alpha = s.peak === 0 ? 0 : s.end / s.peak;
  return s.peak * ((1 - alpha) * cosineDecay + alpha);
}

/** The value of a checked schedule at step count t (an integer ≥ 0), in f64. */
export function evaluate(s: Schedule, t: number): number {
  switch (s.kind) {
    case "constant":
      return s.value;
    case "linear":
      return t >= s.steps ? s.to : s.from + (s.to - s.from) * (t / s.steps);
    case "cosine":
      // CosineAnnealingLR's closed form: η_min + (η_max − η_min)·(1 + cos(π·t/T))/2.
      return t >= s.steps ? s.to : s.to + ((s.from - s.to) * (1 + cosPi(t / s.steps))) / 2;
    case "exponential": {
      const p = s.staircase ? Math.floor(t / s.every) : t / s.every;
      const value = s.from * pow(s.rate, p);
      if (s.end === null) return value;
      return s.rate < 1 ? Math.max(value, s.end) : Math.min(value, s.end);
    }
    case "step":
      return s.from * powU32(s.factor, Math.floor(t / s.every));
    case "piecewise":
      return s.values[segment(s.boundaries, t)];
    case "join": {
      const i = segment(s.boundaries, t);
      return evaluate(s.schedules[i], i === 0 ? t : t - s.boundaries[i - 1]);
    }
    case "oneCycle":
      return annealPhases(ratePhases(s), s.anneal, t);
    case "oneCycleMomentum":
      return annealPhases(momentumPhases(s), s.anneal, t);
    case "warmupCosine":
      return warmupCosine(s, t);
  }
}

/** Where a kind's value stops moving one way: between two of these it is monotone. */
function turningPoints(s: Exclude<Schedule, JoinSchedule>): number[] {
  switch (s.kind) {
    case "linear":
    case "cosine":
      return [s.steps];
    case "piecewise":
      return [...s.boundaries];
    case "oneCycle":
    case "oneCycleMomentum": {
      const ends = (s.kind === "oneCycle" ? ratePhases(s) : momentumPhases(s)).map(([end]) => end);
      return ends.flatMap((end) => [Math.floor(end), Math.ceil(end)]);
    }
    case "warmupCosine":
      return [s.warmup - 1, s.warmup, s.steps];
    default:
      return [];
  }
}

/** The value an exponential or step schedule approaches as t grows, or undefined for the others. */
function limit(s: Schedule): number | undefined {
  if ((s.kind === "exponential" || s.kind === "step") && s.from === 0) return 0;
  if (s.kind === "exponential") {
    if (s.rate === 1) return s.from;
    return s.end ?? (s.rate < 1 ? 0 : Infinity * Math.sign(s.from));
  }
  if (s.kind === "step") return s.factor === 1 ? s.from : s.factor < 1 ? 0 : Infinity * Math.sign(s.from);
  return undefined;
}

/**
 * Every value among which the schedule's least and greatest over steps [0, until) are
 * found: each kind is monotone between its turning points, so those, the first and the
 * last step (or the limit, for a tail that never ends) are enough.
 */
export function extremes(s: Schedule, until = Infinity): Extreme[] {
  if (s.kind === "join") {
    const starts = [0, ...s.boundaries];
    return s.schedules.flatMap((child, i) => {
      const start = starts[i];
      const end = Math.min(until, i < s.boundaries.length ? s.boundaries[i] : Infinity);
      if (start >= end) return [];
      return extremes(child, end - start).map((e) => ({ value: e.value, at: e.at + start }));
    });
  }
  const steps = [0, ...turningPoints(s)].filter((t) => t >= 0 && t < until);
  if (until !== Infinity) steps.push(until - 1);
  const found = steps.map((at) => ({ value: evaluate(s, at), at }));
  const tail = limit(s);
  if (until === Infinity && tail !== undefined) found.push({ value: tail, at: Infinity });
  return found;
}

/**
 * The value of `schedule` at step count `t` (the applied steps before this one, 0 for the
 * first), in f64 before the once-per-step rounding to f32. A schedule holds its final
 * value after its last step. A number is its own value at every step, so an option that
 * may be either (`opt.options.lr`) can be passed as it is.
 * @throws TypeError or RangeError for a schedule that createRmsprop would refuse, or a t
 *   that is not an integer ≥ 0.
 */
function valueAt(schedule: Schedule | number, t: number): number {
  if (typeof t !== "number" || !Number.isSafeInteger(t) || t < 0) {
    throw new RangeError(`valueAt(schedule, t): t must be an integer ≥ 0 (a step count); got ${String(t)}`);
  }
  if (typeof schedule === "number") return schedule;
  return evaluate(normalizeSchedule("valueAt(schedule)", schedule), t);
}

/**
 * Schedules for any numeric update option (`lr`, `beta`, `momentum`, `weightDecay`, `eps`,
 * `gradScale`, the clipping bounds, `emaDecay`) and `lrScale`, at the top level or in a
 * group. Each factory returns a plain frozen JSON-able object; checkpoints keep it.
 *
 * @example
 * ```ts
 * // PyTorch's LinearLR warmup then CosineAnnealingLR, as SequentialLR joins them:
 * const lr = schedules.join(
 *   [schedules.linear({ from: 1e-4, to: 1e-3, steps: 100 }), schedules.cosine({ from: 1e-3, to: 0, steps: 900 })],
 *   [100],
 * );
 * const opt = await createRmsprop(1000, { lr });
 * ```
 */
export const schedules = /* @__PURE__ */ Object.freeze({
  /** `value` at every step; `constant(v)` or `constant({ value: v })`. */
  constant: (value: number | { value: number }): ConstantSchedule =>
    scheduleFactory("constant", typeof value === "object" && value !== null ? value : { value }) as ConstantSchedule,
  /** A straight line from `from` to `to` over `steps` steps (PyTorch LinearLR, optax linear_schedule). */
  linear: (args: { from: number; to: number; steps: number }): LinearSchedule => scheduleFactory("linear", args) as LinearSchedule,
  /** Half a cosine from `from` to `to` over `steps` steps (PyTorch CosineAnnealingLR, optax cosine_decay_schedule). */
  cosine: (args: { from: number; to: number; steps: number }): CosineSchedule => scheduleFactory("cosine", args) as CosineSchedule,
  /**
   * from·rate^(t/every); `staircase` floors the exponent, `end` bounds the value (PyTorch
   * ExponentialLR with every 1, Keras ExponentialDecay, optax exponential_decay).
   */
  exponential: (args: { from: number; rate: number; every?: number; staircase?: boolean; end?: number | null }): ExponentialSchedule =>
    scheduleFactory("exponential", args) as ExponentialSchedule,
  /** from·factor^⌊t/every⌋ (PyTorch StepLR). */
  step: (args: { from: number; factor: number; every: number }): StepSchedule => scheduleFactory("step", args) as StepSchedule,
  /** values[i] from step boundaries[i − 1] on (PyTorch MultiStepLR, optax piecewise_constant_schedule). */
  piecewise: (args: { boundaries: readonly number[]; values: readonly number[] }): PiecewiseSchedule =>
    scheduleFactory("piecewise", args) as PiecewiseSchedule,
  /** schedules[i] from step boundaries[i − 1] on, from its own step 0 (optax join_schedules, PyTorch SequentialLR). */
  join: (parts: readonly Schedule[], boundaries: readonly number[]): JoinSchedule =>
    scheduleFactory("join", { schedules: parts, boundaries }) as JoinSchedule,
  /** PyTorch's OneCycleLR for a rate: pctStart 0.3, divFactor 25, finalDivFactor 1e4, anneal "cos" by default. */
  oneCycle: (args: {
    max: number;
    steps: number;
    pctStart?: number;
    divFactor?: number;
    finalDivFactor?: number;
    anneal?: Anneal;
    threePhase?: boolean;
  }): OneCycleSchedule => scheduleFactory("oneCycle", args) as OneCycleSchedule,
  /** The momentum OneCycleLR cycles against the rate (cycle_momentum): base 0.85, max 0.95 by default. */
  oneCycleMomentum: (args: {
    steps: number;
    pctStart?: number;
    base?: number;
    max?: number;
    anneal?: Anneal;
    threePhase?: boolean;
  }): OneCycleMomentumSchedule => scheduleFactory("oneCycleMomentum", args) as OneCycleMomentumSchedule,
  /** optax's warmup_cosine_decay_schedule; `steps` is the whole length, warmup included; init and end 0 by default. */
  warmupCosine: (args: { peak: number; warmup: number; steps: number; init?: number; end?: number }): WarmupCosineSchedule =>
    scheduleFactory("warmupCosine", args) as WarmupCosineSchedule,
  valueAt,
});

/** What the rest of the package reaches through src/schedule-support.ts. */
export const scheduleRuntime = { normalize: normalizeSchedule, evaluate, extremes };
provideSchedules(scheduleRuntime);
