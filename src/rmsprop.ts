// The optimizer object: owns one memory laid out by src/layout.ts, exposes zero-copy views
// into it, and runs each step on the backend src/backend.ts chose.
import { decodeCheckpoint, encodeCheckpoint, type CheckpointArray } from "./checkpoint.ts";
import { chooseBackend, kernelModule, type ConcreteBackend } from "./backend.ts";
import { bindKernel, writeStepArgs, type KernelExports } from "./kernel-abi.ts";
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
import { kernelFlags, stateArrays, stepScalars } from "./step-scalars.ts";

/** Live views of the optimizer state. */
export interface RmspropState {
  /** S, the EWMA of squared gradients. */
  readonly sqAvg: Float32Array;
  /** M, the momentum buffer; present when `momentum > 0`. */
  readonly momentumBuffer?: Float32Array;
  /** G, the EWMA of gradients; present when `centered`. */
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
  /** Applies one update from `grads`; `overrides.lr` changes η for this step only. */
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
  const set = stateArrays(o);
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

class RmspropImpl implements Rmsprop {
  readonly n: number;
  readonly backend: ConcreteBackend;
  readonly options: Readonly<ResolvedOptions>;
  #layout: Layout;
  #flags: number;
  #kernel: KernelExports | undefined;
  #u32: Uint32Array;
  #f32: Float32Array;
  #views: StepArrays | undefined;
  #stepCount = 0;

  constructor(
    layout: Layout,
    options: ResolvedOptions,
    backend: ConcreteBackend,
    buffer: ArrayBufferLike,
    kernel: KernelExports | undefined,
  ) {
    this.n = layout.n;
    this.options = Object.freeze({ ...options });
    this.backend = backend;
    this.#layout = layout;
    this.#flags = kernelFlags(options);
    this.#kernel = kernel;
    this.#u32 = new Uint32Array(buffer);
    this.#f32 = new Float32Array(buffer);
    const view = (offset: number) => new Float32Array(buffer, offset, layout.n);
    this.#views = {
      params: view(layout.params),
      grads: view(layout.grads),
      sqAvg: view(layout.sqAvg),
      momentumBuffer: layout.momentumBuffer ? view(layout.momentumBuffer) : undefined,
      gradAvg: layout.gradAvg ? view(layout.gradAvg) : undefined,
    };
    if (options.initialScale !== 0) this.#views.sqAvg.fill(options.initialScale);
  }

  #live(): StepArrays {
    if (!this.#views) throw disposedError();
    return this.#views;
  }

  get params(): Float32Array {
    return this.#live().params;
  }
  get grads(): Float32Array {
    return this.#live().grads;
  }
  get state(): RmspropState {
    const { sqAvg, momentumBuffer, gradAvg } = this.#live();
    return { sqAvg, ...(momentumBuffer && { momentumBuffer }), ...(gradAvg && { gradAvg }) };
  }
  get stepCount(): number {
    this.#live();
    return this.#stepCount;
  }

  step(overrides?: StepOverrides): StepResult {
    const views = this.#live();
    const { lr } = resolveOverrides(overrides, this.options);
    const policy = this.options.nonFinite;
    if (policy !== "ignore") {
      const bad = this.#kernel
        ? this.#kernel.first_nonfinite_f32(this.#layout.grads, this.n)
        : referenceFirstNonFinite(views.grads);
      if (bad >= 0) {
        if (policy === "skip") return { applied: false, nonFiniteIndex: bad, stepCount: this.#stepCount };
        throw new RangeError(
          `grads[${bad}] is ${views.grads[bad]}; the step was not applied and params and state are unchanged` +
            ` (options.nonFinite is "throw"; "skip" skips such steps, "ignore" lets IEEE arithmetic propagate)`,
        );
      }
    }
    const scalars = stepScalars(this.options, this.#stepCount + 1, lr);
    if (this.#kernel) {
      writeStepArgs(this.#u32, this.#f32, this.#layout.argsAt, this.#layout, this.n, scalars);
      this.#kernel.step(this.#flags, this.#layout.argsAt);
    } else {
      referenceStep(this.#flags, scalars, views);
    }
    this.#stepCount += 1;
    return { applied: true, nonFiniteIndex: -1, stepCount: this.#stepCount };
  }

  save(): Uint8Array {
    const { params, sqAvg, momentumBuffer, gradAvg } = this.#live();
    const options: Record<string, unknown> = { ...this.options };
    return encodeCheckpoint({
      n: this.n,
      stepCount: this.#stepCount,
      options,
      arrays: { params, sqAvg, momentumBuffer, gradAvg },
    });
  }

  load(bytes: Uint8Array): void {
    const views = this.#live();
    const content = decodeCheckpoint(bytes);
    if (content.n !== this.n) {
      throw new RangeError(`load(bytes): the checkpoint has n = ${content.n}, this optimizer n = ${this.n}; nothing was changed`);
    }
    const names: CheckpointArray[] = ["params", "sqAvg", "momentumBuffer", "gradAvg"];
    for (const name of names) {
      if (Boolean(content.arrays[name]) !== Boolean(views[name])) {
        throw new RangeError(
          `load(bytes): the checkpoint ${content.arrays[name] ? "has" : "lacks"} ${name}, this optimizer ` +
            `${views[name] ? "has" : "lacks"} it (momentum and centered must match); nothing was changed`,
        );
      }
    }
    for (const name of names) {
      const from = content.arrays[name];
      if (from) views[name]!.set(from);
    }
    this.#stepCount = content.stepCount;
  }

  dispose(): void {
    this.#live();
    this.#views = undefined;
    this.#kernel = undefined;
    this.#u32 = new Uint32Array(0);
    this.#f32 = new Float32Array(0);
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
  const backend = chooseBackend(resolved.backend);
  const layout = computeLayout(count, stateArrays(resolved), resolved.threads);
  const module = backend === "js" ? undefined : await kernelModule(backend);
  const memory = allocate(layout, backend);
  if (memory instanceof WebAssembly.Memory) {
    return new RmspropImpl(layout, resolved, backend, memory.buffer, bindKernel(module!, memory));
  }
  return new RmspropImpl(layout, resolved, backend, memory, undefined);
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
