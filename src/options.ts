// Options: their types, defaults and validation. Every check runs before any memory is
// touched, and every error names the argument, the rule and the value it got. What the
// caller passes is read once, own properties only (src/own.ts).
import { describe, knownKeys, own, ownArray, ownRecord } from "./own.ts";
import type { WasmMemory } from "./wasm-types.ts";
import { checkPerStep, type PerStep } from "./per-step.ts";
import { checkStateBits, type StateBits } from "./state-bits.ts";
export type { StateBits } from "./state-bits.ts";

/** Which implementation runs the step. */
export type Backend = "auto" | "simd" | "scalar" | "js";

/** What `step()` does when a gradient is NaN or ±∞. */
export type NonFinitePolicy = "throw" | "skip" | "ignore";

/**
 * The options that shape the update; each can also be set per parameter group. Every
 * numeric one takes a number or a schedule of the step count (see `schedules`), whose every
 * value must pass the option's rule.
 */
export interface UpdateOptions {
  /** η, learning rate, finite and ≥ 0. Default 0.01. */
  lr?: PerStep;
  /** β, decay of the squared-gradient average S, 0 ≤ β < 1. Default 0.9. */
  beta?: PerStep;
  /** ε, finite and ≥ 0. Default 1e-8. */
  eps?: PerStep;
  /** true: d = √(v + ε) (TF1, tfjs, optax); false: d = √v + ε (PyTorch, Keras). Default true. */
  epsInSqrt?: boolean;
  /** μ ≥ 0; with μ > 0 a buffer M = μ·M + g/d carries the update. Default 0. */
  momentum?: PerStep;
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
  weightDecay?: PerStep;
  /** true: θ −= η·λ·θ before the step (Keras 3); false: g += λ·θ (L2, PyTorch). Default false. */
  decoupledWeightDecay?: boolean;
  /** Ascend the objective instead of descending it. Default false. */
  maximize?: boolean;
  /** Use S/(1 − β^t) (and G/(1 − β^t)) to remove the early bias toward zero. Default false. */
  biasCorrection?: boolean;
  /** Initial value of every element of S, finite and ≥ 0 (TF1 uses 1). Default 0. */
  initialScale?: number;
  /**
   * Every gradient is multiplied by this first, before clipping (unscaling a loss scale,
   * averaging accumulated micro-batches or data-parallel ranks): finite and > 0. Default 1.
   * `step({ gradScale })` overrides it for one step.
   */
  gradScale?: PerStep;
  /**
   * Clamp each gradient element to [−clipValue, clipValue] (Keras `clipvalue`, PyTorch
   * `clip_grad_value_`), after gradScale: > 0, or null for none. Default null.
   */
  clipValue?: PerStep | null;
  /**
   * Scale each tensor's gradient so its L2 norm is at most clipNorm (Keras `clipnorm`), by
   * PyTorch's factor min(1, clipNorm / (norm + 1e-6)). A tensor is one entry of a group's
   * `tensors`, or the whole group when it has none: > 0, or null for none. Default null.
   */
  clipNorm?: PerStep | null;
  /**
   * Keep an exponential moving average of θ in `opt.state.ema`: it starts as θ at the first
   * step and after every applied step becomes d·ema + (1 − d)·θ. In [0, 1), or null for
   * none. Default null.
   */
  emaDecay?: PerStep | null;
  /**
   * How S, M and G are stored: 32 (f32, the default) or 8, as bitsandbytes' 8-bit optimizers: codes with an
   * f32 scale per block of 512, decoded for each step and encoded after it. θ, g and the EMA stay f32. Per
   * group too; a group of fewer than 4096 parameters stays f32 (bitsandbytes' min_8bit_size). docs/quantization.md.
   */
  stateBits?: StateBits;
}

/** One tensor of a parameter group: a name and a size (or a shape whose product is the size). */
export interface TensorSpec {
  name: string;
  size?: number;
  shape?: readonly number[];
}

/**
 * A parameter group: a contiguous range of the parameters with its own update options
 * (anything not given is inherited from the top level). Give its tensors (each becomes its
 * own view) or just its size.
 */
export interface GroupSpec extends UpdateOptions {
  name?: string;
  size?: number;
  tensors?: readonly TensorSpec[];
}

/** Options of {@link createRmsprop}; every one is optional. */
export interface RmspropOptions extends UpdateOptions {
  /** Parameter groups, in memory order; their sizes must add up to n. Default: one group. */
  groups?: readonly GroupSpec[];
  /** Implementation: "auto" picks SIMD where the engine validates it, else scalar. */
  backend?: Backend;
  /**
   * Threads that run each step, the caller included, sharing one memory: a number from 1
   * to 64, or "auto" for the machine's cores (os.availableParallelism,
   * navigator.hardwareConcurrency). Either way at most the machine's cores, and fewer for
   * a small n (see minParamsPerThread); `opt.threads` says how many run. Default 1.
   */
  threads?: number | "auto";
  /**
   * Fewest parameters worth a thread: with fewer than `threads × minParamsPerThread`
   * parameters, fewer threads run (a region's fixed cost is more than a share saves).
   * Default 32768: back-to-back steps on 2 threads win from about 10^4 per thread on the
   * 2-core machine of `npm run bench` (its threads section), but a step that finds the
   * workers asleep (after a forward and backward pass of a millisecond or more) costs more
   * on the pool than alone below about 3·10^4 per thread (`npm run bench:patterns`, "busy
   * gap"), so never slower than one thread wins over the small back-to-back gain.
   */
  minParamsPerThread?: number;
  /**
   * How long a thread of the pool polls for the next step before it sleeps, in ms. Waking
   * a sleeping worker costs a system call and, on a virtual machine, up to a millisecond
   * before it runs. A training loop whose forward and backward pass is shorter than this
   * finds its workers awake; the price is a core kept busy for this long after each step.
   * Default 0.2 (an idle optimizer uses no CPU); from 0 to 1000.
   */
  threadSpinMs?: number;
  /** What a NaN or ±∞ gradient does; see the README. Default "throw". */
  nonFinite?: NonFinitePolicy;
  /**
   * Scale all gradients together so that their joint L2 norm is at most globalClipNorm
   * (PyTorch `clip_grad_norm_`, Keras `global_clipnorm`, optax `clip_by_global_norm`), by
   * the factor min(1, globalClipNorm / (norm + 1e-6)): > 0, or null for none. Top level
   * only. Default null.
   */
  globalClipNorm?: PerStep | null;
  /**
   * Multiplies the η of every group, its own lr or not (PyTorch's LambdaLR over groups with
   * different rates): η = lr·lrScale, rounded to f32 once. Finite and ≥ 0, top level only.
   * Default 1.
   */
  lrScale?: PerStep;
  /**
   * Run on a `WebAssembly.Memory` that another tool owns, without copying: the optimizer's
   * header and arrays are placed at `offset` in it (see "Embedding" in the README).
   * Default: the optimizer allocates a memory of its own.
   */
  memory?: WasmMemory | null;
  /** Byte offset of the optimizer's block in `memory`, a multiple of 64. Default 0. */
  offset?: number;
}

/**
 * A group after validation: name, size and tensor shapes filled in, and only the update
 * options the group sets itself. It is a valid GroupSpec again (options round-trip).
 */
export interface NormalizedGroup extends UpdateOptions {
  name: string;
  size: number;
  tensors: { name: string; size: number; shape: number[] }[];
}

/**
 * Options with every default filled in. `groups` is empty when there is one implicit
 * group; `memory` is null when the optimizer owns its memory.
 */
export type ResolvedOptions = Required<Omit<RmspropOptions, "groups" | "memory">> & {
  groups: NormalizedGroup[];
  memory: WasmMemory | null;
};

export type { StepOverrides } from "./per-step.ts";

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
  gradScale: 1,
  clipValue: null,
  clipNorm: null,
  emaDecay: null,
  stateBits: 32,
  backend: "auto",
  threads: 1,
  minParamsPerThread: 32768,
  threadSpinMs: 0.2,
  nonFinite: "throw",
  globalClipNorm: null,
  lrScale: 1,
  groups: [],
  memory: null,
  offset: 0,
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

// What a value is, in errors: src/own.ts names objects by their kind.
export { describe };

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
  max = F32_MAX,
  maxOpen = false,
): number {
  const x = number(name, value);
  const upper = maxOpen ? x < max : x <= max;
  if (!Number.isFinite(x) || x < min || !upper) {
    const rule =
      max === F32_MAX
        ? `a finite number ≥ ${min} that f32 can hold (≤ ${F32_MAX})`
        : `a finite number in [${min}, ${max}${maxOpen ? ")" : "]"}`;
    throw new RangeError(`${name} must be ${rule}; got ${describe(x)}`);
  }
  return x;
}

/** The largest finite f32: every hyperparameter reaches the kernel as an f32. */
export const F32_MAX = 3.4028234663852886e38;

/** An integer in [min, max]. */
export function checkInteger(name: string, value: unknown, min: number, max: number, why = ""): number {
  const x = number(name, value);
  if (!Number.isInteger(x) || x < min || x > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}]${why}; got ${describe(x)}`);
  }
  return x;
}

export function checkBoolean(name: string, value: unknown): boolean {
  if (typeof value !== "boolean") {
    throw new TypeError(`${name} must be true or false; got ${describe(value)} (${typeof value})`);
  }
  return value;
}

export function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
    const list = allowed.map((a) => JSON.stringify(a)).join(", ");
    throw new TypeError(`${name} must be one of ${list}; got ${describe(value)}`);
  }
  return value as T;
}

/**
 * Reads `value` (src/own.ts: a plain object, own properties only, each read once) and
 * rejects any key not in `known`. Returns the record, which has no prototype.
 */
export function checkKeys(name: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  return knownKeys(name, ownRecord(name, value) ?? Object.create(null), known, aliasHint);
}

/** A wrong key's hint: the name it has here, when another library names the option so. */
function aliasHint(key: string, known: readonly string[]): string {
  const alias = Object.hasOwn(aliases, key) ? aliases[key] : undefined;
  return alias && known.includes(alias) ? ` (did you mean "${alias}"?)` : "";
}

/**
 * The most groups an optimizer (or a checkpoint) may have, the most tensors all its groups
 * may list, and the most dimensions a tensor's shape may have. Each group and tensor costs
 * objects, views and StepArgs blocks, and each group a kernel call per step: the limits
 * keep what an options object or a checkpoint of a few bytes per group can ask for within
 * a second of work (docs/checkpoint-format.md, "Limits").
 */
export const MAX_GROUPS = 4096;
export const MAX_TENSORS = 16384;
export const MAX_DIMS = 64;

type UpdateRules = { [K in keyof UpdateOptions]-?: (name: string, value: unknown) => Exclude<UpdateOptions[K], undefined> };

const updateRules: UpdateRules = {
  lr: (name, v) => checkPerStep("lr", name, v)!,
  beta: (name, v) => checkPerStep("beta", name, v)!,
  eps: (name, v) => checkPerStep("eps", name, v)!,
  epsInSqrt: checkBoolean,
  momentum: (name, v) => checkPerStep("momentum", name, v)!,
  lrInMomentum: checkBoolean,
  nesterov: checkBoolean,
  centered: checkBoolean,
  clampVariance: checkBoolean,
  centeredEps: (name, v) => oneOf(name, v, ["add", "subtract"] as const),
  weightDecay: (name, v) => checkPerStep("weightDecay", name, v)!,
  decoupledWeightDecay: checkBoolean,
  maximize: checkBoolean,
  biasCorrection: checkBoolean,
  initialScale: (name, v) => checkRange(name, v, 0),
  gradScale: (name, v) => checkPerStep("gradScale", name, v)!,
  clipValue: (name, v) => checkPerStep("clipValue", name, v),
  clipNorm: (name, v) => checkPerStep("clipNorm", name, v),
  emaDecay: (name, v) => checkPerStep("emaDecay", name, v),
  stateBits: checkStateBits,
};

/** A finite number > 0 that stays > 0 as an f32 (or null, where `nullable`: "off"). */
export function checkPositive(name: string, value: unknown, nullable: true): number | null;
export function checkPositive(name: string, value: unknown): number;
export function checkPositive(name: string, value: unknown, nullable = false): number | null {
  if (nullable && value === null) return null;
  const x = checkRange(name, value, 0);
  if (Math.fround(x) === 0) {
    throw new RangeError(`${name} must be a finite number > 0 that f32 can hold${nullable ? ", or null for none" : ""}; got ${describe(x)}`);
  }
  return x;
}

/** The three clipping options, of which a group's effective options may set one. */
const CLIP_OPTIONS = ["clipValue", "clipNorm", "globalClipNorm"] as const;

function checkOneClip(prefix: string, o: Partial<Record<(typeof CLIP_OPTIONS)[number], PerStep | null>>): void {
  const set = CLIP_OPTIONS.filter((k) => o[k] !== null && o[k] !== undefined);
  if (set.length > 1) {
    throw new RangeError(
      `${prefix} sets ${set.map((k) => k).join(" and ")}; at most one of clipValue, clipNorm and globalClipNorm may be set` +
        " (they are alternatives: per element, per tensor, all gradients together)",
    );
  }
}
export const updateKeys = Object.keys(updateRules) as (keyof UpdateOptions)[];
const optionKeys = Object.keys(defaultOptions) as (keyof RmspropOptions)[];

/** Validates the update options in `given` (named under `prefix`) over `base`. */
function resolveUpdate<T extends Required<UpdateOptions>>(given: Record<string, unknown>, prefix: string, base: T): T {
  const out = { ...base };
  for (const key of updateKeys) {
    const value = own(given, key);
    if (value !== undefined) (out as Record<string, unknown>)[key] = updateRules[key](`${prefix}.${key}`, value);
  }
  if (out.nesterov && out.momentum === 0) {
    throw new RangeError(`${prefix}.nesterov needs ${prefix}.momentum > 0; got momentum 0`);
  }
  checkOneClip(prefix, out as Partial<Record<(typeof CLIP_OPTIONS)[number], PerStep | null>>);
  return out;
}

function normalizeGroups(value: unknown): NormalizedGroup[] {
  if (value === undefined) return [];
  const names = new Set<string>();
  let tensorCount = 0;
  return ownArray("options.groups", value, MAX_GROUPS, "groups").map((group: unknown, g): NormalizedGroup => {
    const at = `options.groups[${g}]`;
    const read = ownRecord(at, group);
    if (read === undefined) throw new TypeError(`${at} must be an object; got undefined`);
    if ("globalClipNorm" in read) {
      throw new TypeError(
        `${at}.globalClipNorm: globalClipNorm clips all gradients of the optimizer together, so it is set at the top level ` +
          "only; a group may set clipNorm (per tensor) or clipValue",
      );
    }
    const given = knownKeys(at, read, [...updateKeys, "name", "size", "tensors"], aliasHint);
    const name = given.name === undefined ? `group${g}` : given.name;
    if (typeof name !== "string") throw new TypeError(`${at}.name must be a string; got ${describe(name)}`);
    const tensors = given.tensors === undefined ? [] : normalizeTensors(`${at}.tensors`, given.tensors, names);
    tensorCount += tensors.length;
    if (tensorCount > MAX_TENSORS) {
      throw new RangeError(`options.groups list ${tensorCount} tensors up to ${at}; at most ${MAX_TENSORS} are allowed`);
    }
    const tensorTotal = tensors.reduce((sum, t) => sum + t.size, 0);
    let size: number;
    if (given.size !== undefined) {
      size = checkInteger(`${at}.size`, given.size, 1, 2 ** 32);
      if (tensors.length && size !== tensorTotal) {
        throw new RangeError(`${at}.size is ${size} but its tensors add up to ${tensorTotal}`);
      }
    } else if (tensors.length) {
      size = tensorTotal;
    } else {
      throw new TypeError(`${at} needs a size or tensors`);
    }
    const options: UpdateOptions = {};
    for (const key of updateKeys) {
      // Checked here too, so that a group keeps its schedules in their checked, filled-in form.
      if (given[key] !== undefined) (options as Record<string, unknown>)[key] = updateRules[key](`${at}.${key}`, given[key]);
    }
    return { name, size, tensors, ...options };
  });
}

function normalizeTensors(at: string, value: unknown, names: Set<string>): NormalizedGroup["tensors"] {
  return ownArray(at, value, MAX_TENSORS, "tensors ({ name, size | shape })").map((tensor: unknown, i) => {
    if (tensor === undefined) throw new TypeError(`${at}[${i}] must be an object { name, size | shape }; got undefined`);
    const t = checkKeys(`${at}[${i}]`, tensor, ["name", "size", "shape"]);
    if (typeof t.name !== "string" || t.name === "") {
      throw new TypeError(`${at}[${i}].name must be a non-empty string; got ${describe(t.name)}`);
    }
    if (names.has(t.name)) throw new RangeError(`${at}[${i}].name "${t.name}" is used by another tensor`);
    names.add(t.name);
    let shape: number[];
    if (t.shape !== undefined) {
      // [] is a scalar: one parameter, as in every framework.
      shape = ownArray(`${at}[${i}].shape`, t.shape, MAX_DIMS, "integers ≥ 1").map((d: unknown, k: number) =>
        checkInteger(`${at}[${i}].shape[${k}]`, d, 1, 2 ** 32),
      );
    } else if (t.size !== undefined) {
      shape = [checkInteger(`${at}[${i}].size`, t.size, 1, 2 ** 32)];
    } else {
      throw new TypeError(`${at}[${i}] needs a size or a shape`);
    }
    const size = shape.reduce((a, b) => a * b, 1);
    if (t.size !== undefined && t.size !== size) {
      throw new RangeError(`${at}[${i}].size is ${describe(t.size)} but its shape holds ${size}`);
    }
    return { name: t.name, size, shape };
  });
}

function checkMemory(value: unknown): WasmMemory | null {
  if (value === undefined || value === null) return null;
  if (!(value instanceof WebAssembly.Memory)) {
    throw new TypeError(`options.memory must be a WebAssembly.Memory; got ${describe(value)}`);
  }
  return value;
}

/** Only undefined means "the default"; null is a value, and the checks judge it. */
const orDefault = (value: unknown, fallback: unknown): unknown => (value === undefined ? fallback : value);

/** options.threads: an integer in [1, 64] or "auto". */
function checkThreadsOption(value: unknown): number | "auto" {
  if (value === "auto") return value;
  if (typeof value === "string") throw new TypeError(`options.threads must be an integer in [1, 64] or "auto"; got ${describe(value)}`);
  return checkInteger("options.threads", orDefault(value, defaultOptions.threads), 1, 64, ' or "auto"');
}

/** Validates `options` against every rule and fills in the defaults. */
export function resolveOptions(options: unknown): ResolvedOptions {
  const given = checkKeys("options", options, optionKeys);
  const update = resolveUpdate(given, "options", defaultOptions);
  const groups = normalizeGroups(given.groups);
  const r: ResolvedOptions = {
    ...update,
    backend: oneOf("options.backend", orDefault(given.backend, defaultOptions.backend), ["auto", "simd", "scalar", "js"] as const),
    threads: checkThreadsOption(given.threads),
    minParamsPerThread: checkInteger("options.minParamsPerThread", orDefault(given.minParamsPerThread, defaultOptions.minParamsPerThread), 1, 2 ** 32),
    threadSpinMs: checkRange("options.threadSpinMs", orDefault(given.threadSpinMs, defaultOptions.threadSpinMs), 0, 1000),
    nonFinite: oneOf("options.nonFinite", orDefault(given.nonFinite, defaultOptions.nonFinite), ["throw", "skip", "ignore"] as const),
    globalClipNorm: checkPerStep("globalClipNorm", "options.globalClipNorm", orDefault(given.globalClipNorm, null)),
    lrScale: checkPerStep("lrScale", "options.lrScale", orDefault(given.lrScale, defaultOptions.lrScale))!,
    groups,
    memory: checkMemory(given.memory),
    offset: checkInteger("options.offset", orDefault(given.offset, 0), 0, 2 ** 32),
  };
  if (r.offset % 64 !== 0) throw new RangeError(`options.offset must be a multiple of 64; got ${r.offset}`);
  if (r.offset !== 0 && !r.memory) throw new TypeError("options.offset needs options.memory (the memory it is an offset in)");
  checkOneClip("options", r);
  // Each group's effective options, validated now so that creation fails before allocation.
  groups.forEach((group, g) => groupUpdateOptions(r, group, g));
  return r;
}

/** A group's effective update options: its own, over the top-level ones. */
export function groupUpdateOptions(o: ResolvedOptions, group: NormalizedGroup, index: number): ResolvedOptions {
  return resolveUpdate(group as unknown as Record<string, unknown>, `options.groups[${index}]`, o);
}
