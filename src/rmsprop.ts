// The optimizer object: owns one memory laid out by src/layout.ts, exposes zero-copy views
// into it, and runs each step on the backend src/backend.ts chose, once per group.
import { decodeCheckpoint, encodeCheckpoint, CHECKPOINT_ARRAYS } from "./checkpoint.ts";
import { chooseBackend, kernelModule, type ConcreteBackend } from "./backend.ts";
import { neededArrays, planGroups, type GroupPlan } from "./groups.ts";
import { bindKernel, writeStepArgs, type ArrayOffsets, type KernelExports } from "./kernel-abi.ts";
import { computeLayout, maxParams, type Layout } from "./layout.ts";
import {
  checkInteger,
  resolveOptions,
  resolveOverrides,
  type ResolvedOptions,
  type RmspropOptions,
  type StepOverrides,
} from "./options.ts";
import { referenceFirstNonFinite, referenceStep, type StepArrays } from "./reference.ts";
import { stepScalars } from "./step-scalars.ts";

/** Live views of the optimizer state. */
export interface RmspropState {
  /** S, the EWMA of squared gradients. */
  readonly sqAvg: Float32Array;
  /** M, the momentum buffer; present when some group has `momentum > 0`. */
  readonly momentumBuffer?: Float32Array;
  /** G, the EWMA of gradients; present when some group is `centered`. */
  readonly gradAvg?: Float32Array;
}

/** What one `step()` did. */
export interface StepResult {
  /** False when `nonFinite: "skip"` skipped the step. */
  readonly applied: boolean;
  /** Index of the first NaN/±∞ gradient that caused a skip, else −1. */
  readonly nonFiniteIndex: number;
  /** `stepCount` after this call. */
  readonly stepCount: number;
}

/** A tensor of a parameter group, with its own views. */
export interface RmspropTensor {
  readonly name: string;
  readonly group: string;
  /** Index of its first parameter in `opt.params`. */
  readonly offset: number;
  readonly size: number;
  readonly shape: readonly number[];
  /** Subarray views of θ and ∇L for this tensor. */
  readonly params: Float32Array;
  readonly grads: Float32Array;
}

/** A parameter group: a contiguous range with its own options. */
export interface RmspropGroup {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  /** The group's effective options. */
  readonly options: Readonly<ResolvedOptions>;
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly tensors: readonly RmspropTensor[];
}

/** An RMSProp optimizer over `n` f32 parameters. Create it with {@link createRmsprop}. */
export interface Rmsprop {
  /** Parameter count. */
  readonly n: number;
  /** θ: a live `Float32Array` view into wasm memory; write initial values here. */
  readonly params: Float32Array;
  /** ∇L(θ): write the gradient here before each step. */
  readonly grads: Float32Array;
  /** Views of the state arrays. */
  readonly state: RmspropState;
  /** Steps applied so far. */
  readonly stepCount: number;
  /** The backend running the steps, after "auto" is resolved. */
  readonly backend: ConcreteBackend;
  /** The options in force, defaults filled in. */
  readonly options: Readonly<ResolvedOptions>;
  /** The parameter groups in memory order (one group named "default" without `groups`). */
  readonly groups: readonly RmspropGroup[];
  /** Every tensor of every group, by name. */
  readonly tensors: Readonly<Record<string, RmspropTensor>>;
  /**
   * Applies one update from `grads`. `overrides.lr` changes η for this step only, in every
   * group that does not set its own lr.
   */
  step(overrides?: StepOverrides): StepResult;
  /** A checkpoint of θ, the state, the step count and the options (see the README). */
  save(): Uint8Array;
  /**
   * Restores a checkpoint made by `save()` of an optimizer with the same n and the same
   * state arrays. Bad, truncated or foreign bytes throw and leave this optimizer unchanged.
   * The optimizer keeps its own hyperparameters; `restoreRmsprop` takes them from the bytes.
   */
  load(bytes: Uint8Array): void;
  /** Releases the memory; every later use throws. */
  dispose(): void;
}

function disposedError(): Error {
  return new Error("this rmsprop-wasm optimizer was disposed; create a new one with createRmsprop()");
}

/** Validates n against the layout limit of these options (before anything is allocated). */
function checkN(n: unknown, o: ResolvedOptions): number {
  if (typeof n !== "number") {
    throw new TypeError(`n must be a number (the parameter count); got ${typeof n}`);
  }
  const set = neededArrays(o);
  const arrays = 3 + Number(set.momentumBuffer) + Number(set.gradAvg);
  const why = ` (the parameter count; ${arrays} f32 arrays of n must fit in 4 GiB of wasm32 memory)`;
  return checkInteger("n", n, 1, maxParams(set, o.threads), why);
}

function allocate(layout: Layout, backend: ConcreteBackend): ArrayBuffer | WebAssembly.Memory {
  try {
    if (backend === "js") return new ArrayBuffer(layout.bytes);
    return new WebAssembly.Memory({ initial: layout.pages, maximum: layout.pages });
  } catch (cause) {
    throw new RangeError(
      `n = ${layout.n} needs ${layout.bytes} bytes of memory, which this engine could not allocate`,
      { cause },
    );
  }
}

/** A group ready to run: its plan, its byte offsets and its views. */
interface GroupRuntime {
  plan: GroupPlan;
  offsets: ArrayOffsets;
  views: StepArrays;
}

function groupRuntime(plan: GroupPlan, layout: Layout, all: StepArrays): GroupRuntime {
  const skip = 4 * plan.offset;
  const at = (base: number) => (base ? base + skip : 0);
  const part = (a: Float32Array | undefined) => a?.subarray(plan.offset, plan.offset + plan.size);
  return {
    plan,
    offsets: {
      params: at(layout.params),
      grads: at(layout.grads),
      sqAvg: at(layout.sqAvg),
      momentumBuffer: at(layout.momentumBuffer),
      gradAvg: at(layout.gradAvg),
    },
    views: {
      params: part(all.params)!,
      grads: part(all.grads)!,
      sqAvg: part(all.sqAvg)!,
      momentumBuffer: part(all.momentumBuffer),
      gradAvg: part(all.gradAvg),
    },
  };
}

function publicGroup(g: GroupRuntime): RmspropGroup {
  const { plan, views } = g;
  const tensors = plan.tensors.map((t) => {
    const local = t.offset - plan.offset;
    return Object.freeze({
      name: t.name,
      group: plan.name,
      offset: t.offset,
      size: t.size,
      shape: Object.freeze([...t.shape]),
      params: views.params.subarray(local, local + t.size),
      grads: views.grads.subarray(local, local + t.size),
    });
  });
  return Object.freeze({
    name: plan.name,
    offset: plan.offset,
    size: plan.size,
    options: Object.freeze({ ...plan.options }),
    params: views.params,
    grads: views.grads,
    tensors: Object.freeze(tensors),
  });
}

interface Live {
  views: StepArrays;
  groups: GroupRuntime[];
  publicGroups: readonly RmspropGroup[];
  tensors: Readonly<Record<string, RmspropTensor>>;
  kernel: KernelExports | undefined;
  u32: Uint32Array;
  f32: Float32Array;
}

class RmspropImpl implements Rmsprop {
  readonly n: number;
  readonly backend: ConcreteBackend;
  readonly options: Readonly<ResolvedOptions>;
  #layout: Layout;
  #live: Live | undefined;
  #stepCount = 0;

  constructor(
    layout: Layout,
    options: ResolvedOptions,
    plans: GroupPlan[],
    backend: ConcreteBackend,
    buffer: ArrayBufferLike,
    kernel: KernelExports | undefined,
  ) {
    this.n = layout.n;
    this.options = Object.freeze({ ...options });
    this.backend = backend;
    this.#layout = layout;
    const view = (offset: number) => new Float32Array(buffer, offset, layout.n);
    const views: StepArrays = {
      params: view(layout.params),
      grads: view(layout.grads),
      sqAvg: view(layout.sqAvg),
      momentumBuffer: layout.momentumBuffer ? view(layout.momentumBuffer) : undefined,
      gradAvg: layout.gradAvg ? view(layout.gradAvg) : undefined,
    };
    const groups = plans.map((plan) => groupRuntime(plan, layout, views));
    for (const g of groups) {
      if (g.plan.options.initialScale !== 0) g.views.sqAvg.fill(g.plan.options.initialScale);
    }
    const publicGroups = Object.freeze(groups.map(publicGroup));
    const tensors: Record<string, RmspropTensor> = {};
    for (const g of publicGroups) for (const t of g.tensors) tensors[t.name] = t;
    this.#live = {
      views,
      groups,
      publicGroups,
      tensors: Object.freeze(tensors),
      kernel,
      u32: new Uint32Array(buffer),
      f32: new Float32Array(buffer),
    };
  }

  #use(): Live {
    if (!this.#live) throw disposedError();
    return this.#live;
  }

  get params(): Float32Array {
    return this.#use().views.params;
  }
  get grads(): Float32Array {
    return this.#use().views.grads;
  }
  get state(): RmspropState {
    const { sqAvg, momentumBuffer, gradAvg } = this.#use().views;
    return { sqAvg, ...(momentumBuffer && { momentumBuffer }), ...(gradAvg && { gradAvg }) };
  }
  get stepCount(): number {
    this.#use();
    return this.#stepCount;
  }
  get groups(): readonly RmspropGroup[] {
    return this.#use().publicGroups;
  }
  get tensors(): Readonly<Record<string, RmspropTensor>> {
    return this.#use().tensors;
  }

  step(overrides?: StepOverrides): StepResult {
    const live = this.#use();
    const { lr } = resolveOverrides(overrides, this.options);
    const policy = this.options.nonFinite;
    if (policy !== "ignore") {
      const bad = live.kernel
        ? live.kernel.first_nonfinite_f32(this.#layout.grads, this.n)
        : referenceFirstNonFinite(live.views.grads);
      if (bad >= 0) {
        if (policy === "skip") return { applied: false, nonFiniteIndex: bad, stepCount: this.#stepCount };
        throw new RangeError(
          `grads[${bad}] is ${live.views.grads[bad]}; the step was not applied and params and state are unchanged` +
            ` (options.nonFinite is "throw"; "skip" skips such steps, "ignore" lets IEEE arithmetic propagate)`,
        );
      }
    }
    const t = this.#stepCount + 1;
    for (const g of live.groups) {
      const scalars = stepScalars(g.plan.options, t, g.plan.ownLr ? g.plan.options.lr : lr);
      if (live.kernel) {
        writeStepArgs(live.u32, live.f32, this.#layout.argsAt, g.offsets, g.plan.size, scalars);
        live.kernel.step(g.plan.flags, this.#layout.argsAt);
      } else {
        referenceStep(g.plan.flags, scalars, g.views);
      }
    }
    this.#stepCount = t;
    return { applied: true, nonFiniteIndex: -1, stepCount: t };
  }

  save(): Uint8Array {
    const { params, sqAvg, momentumBuffer, gradAvg } = this.#use().views;
    return encodeCheckpoint({
      n: this.n,
      stepCount: this.#stepCount,
      options: { ...this.options },
      arrays: { params, sqAvg, momentumBuffer, gradAvg },
    });
  }

  load(bytes: Uint8Array): void {
    const { views } = this.#use();
    const content = decodeCheckpoint(bytes);
    if (content.n !== this.n) {
      throw new RangeError(`load(bytes): the checkpoint has n = ${content.n}, this optimizer n = ${this.n}; nothing was changed`);
    }
    for (const name of CHECKPOINT_ARRAYS) {
      if (Boolean(content.arrays[name]) !== Boolean(views[name])) {
        throw new RangeError(
          `load(bytes): the checkpoint ${content.arrays[name] ? "has" : "lacks"} ${name}, this optimizer ` +
            `${views[name] ? "has" : "lacks"} it (momentum and centered must match); nothing was changed`,
        );
      }
    }
    for (const name of CHECKPOINT_ARRAYS) {
      const from = content.arrays[name];
      if (from) views[name]!.set(from);
    }
    this.#stepCount = content.stepCount;
  }

  dispose(): void {
    this.#use();
    this.#live = undefined;
  }
}

/**
 * Creates an RMSProp optimizer over `n` f32 parameters.
 *
 * @example
 * ```ts
 * const opt = await createRmsprop(3, { lr: 0.1 });
 * opt.params.set([2, -1, 0.5]);
 * for (let t = 0; t < 100; t++) {
 *   for (let i = 0; i < 3; i++) opt.grads[i] = opt.params[i]; // ∇ of Σθ²/2
 *   opt.step();
 * }
 * ```
 * @throws RangeError or TypeError, naming the argument and the rule, before anything is
 *   allocated.
 */
export async function createRmsprop(n: number, options?: RmspropOptions): Promise<Rmsprop> {
  const resolved = resolveOptions(options);
  const count = checkN(n, resolved);
  const plans = planGroups(resolved, count);
  const backend = chooseBackend(resolved.backend);
  const layout = computeLayout(count, neededArrays(resolved), resolved.threads);
  const module = backend === "js" ? undefined : await kernelModule(backend);
  const memory = allocate(layout, backend);
  if (memory instanceof WebAssembly.Memory) {
    return new RmspropImpl(layout, resolved, plans, backend, memory.buffer, bindKernel(module!, memory));
  }
  return new RmspropImpl(layout, resolved, plans, backend, memory, undefined);
}

/**
 * Creates an optimizer from a checkpoint made by `save()`, with the options stored in it;
 * `overrides` may change any of them (a different backend, say) that keeps the same arrays.
 */
export async function restoreRmsprop(bytes: Uint8Array, overrides?: RmspropOptions): Promise<Rmsprop> {
  const content = decodeCheckpoint(bytes);
  const opt = await createRmsprop(content.n, { ...(content.options as RmspropOptions), ...overrides });
  try {
    opt.load(bytes);
  } catch (error) {
    opt.dispose();
    throw error;
  }
  return opt;
}
