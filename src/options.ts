// Options: their types, defaults and validation. Every check runs before any memory is
// touched, and every error names the argument, the rule and the value it got.

/** Which implementation runs the step. */
export type Backend = "auto" | "simd" | "scalar" | "js";

/** What `step()` does when a gradient is NaN or ±∞. */
export type NonFinitePolicy = "throw" | "skip" | "ignore";

/** Options of {@link createRmsprop}; every one is optional. */
export interface RmspropOptions {
  /** η, learning rate, finite and ≥ 0. Default 0.01. */
  lr?: number;
  /** β, decay of the squared-gradient average S, 0 ≤ β < 1. Default 0.9. */
  beta?: number;
  /** ε, finite and ≥ 0. Default 1e-8. */
  eps?: number;
  /** true: d = √(v + ε) (TF1, tfjs, optax); false: d = √v + ε (PyTorch, Keras). Default true. */
  epsInSqrt?: boolean;
  /** μ ≥ 0; with μ > 0 a buffer M = μ·M + g/d carries the update. Default 0. */
  momentum?: number;
  /** true: M = μ·M + η·g/d, θ −= M (TF1, Keras, tfjs, optax). Default false (PyTorch). */
  lrInMomentum?: boolean;
  /** Nesterov momentum as optax defines it; needs momentum > 0. Default false. */
  nesterov?: boolean;
  /** Divide by the variance S − G² (G the EWMA of g) instead of S. Default false. */
  centered?: boolean;
  /**
   * Clamp the centered variance S − G² at 0 before the root. In f32 it can cancel to a tiny
   * negative number, and √ of it is NaN. Default true; the presets turn it off to match
   * their framework exactly.
   */
  clampVariance?: boolean;
  /**
   * How ε enters the centered variance: "add" gives √(S − G² + ε) as TF1 and optax do;
   * "subtract" gives √(S − (G² + ε)), which is what TensorFlow.js computes (its docs say
   * otherwise). Only used when `centered`. Default "add".
   */
  centeredEps?: "add" | "subtract";
  /** λ ≥ 0, weight decay. Default 0. */
  weightDecay?: number;
  /** true: θ −= η·λ·θ before the step (Keras 3); false: g += λ·θ (L2, PyTorch). Default false. */
  decoupledWeightDecay?: boolean;
  /** Ascend the objective instead of descending it. Default false. */
  maximize?: boolean;
  /** Use S/(1 − β^t) (and G/(1 − β^t)) to remove the early bias toward zero. Default false. */
  biasCorrection?: boolean;
  /** Initial value of every element of S, finite and ≥ 0 (TF1 uses 1). Default 0. */
  initialScale?: number;
  /** Implementation: "auto" picks SIMD where the engine validates it, else scalar. */
  backend?: Backend;
  /** Worker threads sharing one memory. Default 1. */
  threads?: number;
  /** What a NaN or ±∞ gradient does; see the README. Default "throw". */
  nonFinite?: NonFinitePolicy;
}

/** Options with every default filled in. */
export type ResolvedOptions = Required<RmspropOptions>;

/** Per-step overrides accepted by `step()`. */
export interface StepOverrides {
  /** η for this step only. */
  lr?: number;
}

export const defaultOptions: Readonly<ResolvedOptions> = Object.freeze({
  lr: 0.01,
  beta: 0.9,
  eps: 1e-8,
  epsInSqrt: true,
  momentum: 0,
  lrInMomentum: false,
  nesterov: false,
  centered: false,
  clampVariance: true,
  centeredEps: "add",
  weightDecay: 0,
  decoupledWeightDecay: false,
  maximize: false,
  biasCorrection: false,
  initialScale: 0,
  backend: "auto",
  threads: 1,
  nonFinite: "throw",
});

// Names other libraries use, so a wrong key gets a useful hint.
const aliases: Record<string, keyof RmspropOptions> = {
  learningRate: "lr",
  learning_rate: "lr",
  alpha: "beta",
  rho: "beta",
  decay: "beta",
  epsilon: "eps",
  weight_decay: "weightDecay",
  eps_in_sqrt: "epsInSqrt",
  initial_scale: "initialScale",
  bias_correction: "biasCorrection",
};

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return "an object";
  return String(value);
}

function number(name: string, value: unknown): number {
  if (typeof value !== "number") {
    throw new TypeError(`${name} must be a number; got ${describe(value)} (${typeof value})`);
  }
  return value;
}

/** A finite number in [min, max] (or [min, max) when `maxOpen`). */
export function checkRange(
  name: string,
  value: unknown,
  min: number,
  max = Infinity,
  maxOpen = false,
): number {
  const x = number(name, value);
  const upper = maxOpen ? x < max : x <= max;
  if (!Number.isFinite(x) || x < min || !upper) {
    const rule =
      max === Infinity ? `a finite number ≥ ${min}` : `a finite number in [${min}, ${max}${maxOpen ? ")" : "]"}`;
    throw new RangeError(`${name} must be ${rule}; got ${describe(x)}`);
  }
  return x;
}

/** An integer in [min, max]. */
export function checkInteger(name: string, value: unknown, min: number, max: number, why = ""): number {
  const x = number(name, value);
  if (!Number.isInteger(x) || x < min || x > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}]${why}; got ${describe(x)}`);
  }
  return x;
}

function boolean(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(`${name} must be true or false; got ${describe(value)} (${typeof value})`);
  }
  return value;
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    const list = allowed.map((a) => JSON.stringify(a)).join(", ");
    throw new TypeError(`${name} must be one of ${list}; got ${describe(value)}`);
  }
  return value as T;
}

/** Rejects anything but a plain object whose keys are all in `known`. */
export function checkKeys(name: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${name} must be an object or undefined; got ${describe(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      const alias = aliases[key];
      const hint = alias && known.includes(alias) ? ` (did you mean "${alias}"?)` : "";
      throw new TypeError(
        `${name} has an unknown key "${key}"${hint}; known keys: ${known.join(", ")}`,
      );
    }
  }
  return value as Record<string, unknown>;
}

const optionKeys = Object.keys(defaultOptions) as (keyof RmspropOptions)[];

/** Validates `options` against every rule and fills in the defaults. */
export function resolveOptions(options: unknown): ResolvedOptions {
  const given = checkKeys("options", options, optionKeys);
  const o = { ...defaultOptions };
  for (const [key, value] of Object.entries(given)) {
    if (value !== undefined) (o as Record<string, unknown>)[key] = value;
  }
  const r: ResolvedOptions = {
    lr: checkRange("options.lr", o.lr, 0),
    beta: checkRange("options.beta", o.beta, 0, 1, true),
    eps: checkRange("options.eps", o.eps, 0),
    epsInSqrt: boolean("options.epsInSqrt", o.epsInSqrt),
    momentum: checkRange("options.momentum", o.momentum, 0),
    lrInMomentum: boolean("options.lrInMomentum", o.lrInMomentum),
    nesterov: boolean("options.nesterov", o.nesterov),
    centered: boolean("options.centered", o.centered),
    clampVariance: boolean("options.clampVariance", o.clampVariance),
    centeredEps: oneOf("options.centeredEps", o.centeredEps, ["add", "subtract"] as const),
    weightDecay: checkRange("options.weightDecay", o.weightDecay, 0),
    decoupledWeightDecay: boolean("options.decoupledWeightDecay", o.decoupledWeightDecay),
    maximize: boolean("options.maximize", o.maximize),
    biasCorrection: boolean("options.biasCorrection", o.biasCorrection),
    initialScale: checkRange("options.initialScale", o.initialScale, 0),
    backend: oneOf("options.backend", o.backend, ["auto", "simd", "scalar", "js"] as const),
    threads: checkInteger("options.threads", o.threads, 1, 64),
    nonFinite: oneOf("options.nonFinite", o.nonFinite, ["throw", "skip", "ignore"] as const),
  };
  if (r.nesterov && r.momentum === 0) {
    throw new RangeError("options.nesterov needs options.momentum > 0; got momentum 0");
  }
  return r;
}

/** Validates the overrides of one `step()` call. */
export function resolveOverrides(overrides: unknown, options: ResolvedOptions): { lr: number } {
  const given = checkKeys("step overrides", overrides, ["lr"]);
  return { lr: given.lr === undefined ? options.lr : checkRange("step overrides.lr", given.lr, 0) };
}
