// The schedules as data: plain, frozen, JSON-able objects `{ kind, ... }`, so a checkpoint's
// options JSON and a tfjs training config keep them as they keep a number. docs/schedules.md
// gives each kind's formula and the source it was read from.

/** `value` at every step. */
export interface ConstantSchedule {
  readonly kind: "constant";
  readonly value: number;
}

/** From `from` to `to` in a straight line over `steps` steps, then `to`. */
export interface LinearSchedule {
  readonly kind: "linear";
  readonly from: number;
  readonly to: number;
  readonly steps: number;
}

/** From `from` to `to` along half a cosine over `steps` steps, then `to` (CosineAnnealingLR). */
export interface CosineSchedule {
  readonly kind: "cosine";
  readonly from: number;
  readonly to: number;
  readonly steps: number;
}

/**
 * from·rate^(t/every) (rate^⌊t/every⌋ with `staircase`), held at `end` once it gets there
 * (a floor when rate < 1, a ceiling when rate > 1; null for none).
 */
export interface ExponentialSchedule {
  readonly kind: "exponential";
  readonly from: number;
  readonly rate: number;
  readonly every: number;
  readonly staircase: boolean;
  readonly end: number | null;
}

/** from·factor^⌊t/every⌋ (StepLR). */
export interface StepSchedule {
  readonly kind: "step";
  readonly from: number;
  readonly factor: number;
  readonly every: number;
}

/** values[i] from step boundaries[i − 1] on (values[0] before the first boundary). */
export interface PiecewiseSchedule {
  readonly kind: "piecewise";
  readonly boundaries: readonly number[];
  readonly values: readonly number[];
}

/** schedules[i] from step boundaries[i − 1] on, counting its own steps from there. */
export interface JoinSchedule {
  readonly kind: "join";
  readonly schedules: readonly Schedule[];
  readonly boundaries: readonly number[];
}

/** How a one-cycle phase goes from its start to its end value. */
export type Anneal = "cos" | "linear";

/**
 * PyTorch's OneCycleLR: from max/divFactor up to max over the first pctStart of `steps`,
 * then down to max/divFactor/finalDivFactor (with `threePhase`, back to max/divFactor first).
 */
export interface OneCycleSchedule {
  readonly kind: "oneCycle";
  readonly max: number;
  readonly steps: number;
  readonly pctStart: number;
  readonly divFactor: number;
  readonly finalDivFactor: number;
  readonly anneal: Anneal;
  readonly threePhase: boolean;
}

/** The momentum OneCycleLR cycles against its rate: from max down to base and back. */
export interface OneCycleMomentumSchedule {
  readonly kind: "oneCycleMomentum";
  readonly steps: number;
  readonly pctStart: number;
  readonly base: number;
  readonly max: number;
  readonly anneal: Anneal;
  readonly threePhase: boolean;
}

/**
 * optax's warmup_cosine_decay_schedule: from `init` to `peak` in a line over `warmup` steps,
 * then along half a cosine to `end` at step `steps` (the whole length, warmup included).
 */
export interface WarmupCosineSchedule {
  readonly kind: "warmupCosine";
  readonly peak: number;
  readonly warmup: number;
  readonly steps: number;
  readonly init: number;
  readonly end: number;
}

/** A value as a function of the step count t (the applied steps before this one; 0 first). */
export type Schedule =
  | ConstantSchedule
  | LinearSchedule
  | CosineSchedule
  | ExponentialSchedule
  | StepSchedule
  | PiecewiseSchedule
  | JoinSchedule
  | OneCycleSchedule
  | OneCycleMomentumSchedule
  | WarmupCosineSchedule;

/** The kinds of schedule. */
export type ScheduleKind = Schedule["kind"];
