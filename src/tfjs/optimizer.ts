// The tf.Optimizer subclass: tfjs's optimizer conventions (a registered className,
// applyGradients in both forms, getWeights/setWeights with the iteration count first,
// getConfig/fromConfig), as tfjs-core's own RMSPropOptimizer has them, over the
// rmsprop-wasm kernel. The work lives beside it: the options (./options.ts), the bound
// variables and their step (./binding.ts), the engine (./engine.ts), the norms
// (./norms.ts) and the state as tfjs lists it (./weights.ts).
import * as tf from "@tensorflow/tfjs-core";
import { chooseBackend, kernelBuild, kernelModule, type ConcreteBackend, type KernelBuild } from "../backend.ts";
import { MAX_TENSORS, resolveOptions, type ResolvedOptions } from "../options.ts";
import { describe, own, ownArray, ownRecord } from "../own.ts";
import type { PerStep, StepOverrides } from "../per-step.ts";
// Statically: a tfjs config restored by tf.loadLayersModel may hold schedules, and fromConfig is synchronous.
import { schedules } from "../schedules.ts";
import { checkedPartial, prefixed, type OptionsUpdate } from "../set-options.ts";
import { checkedBackendName, currentWasmHeap, type WasmHeap } from "./backends.ts";
import { Binding, type GradientEntry } from "./binding.ts";
import { fromConfigDict, resolveTfjsOptions, toConfig, type TfjsResolved, type TfjsRmspropOptions } from "./options.ts";
import { checkVariables, variablesNamed, type TfjsVariableLike } from "./variables.ts";
import { checkStateEntries, checkStateValues, stateTensors, writeStateEntries, type NamedTensor, type StateEntry } from "./weights.ts";

// Compiled kernel builds, kept where a synchronous applyGradients can reach them.
const compiledBuilds = new Map<KernelBuild, WebAssembly.Module>();

/**
 * Per-call overrides of {@link TfjsRmsprop.applyGradients}: createRmsprop's step overrides
 * (any per-step value, as a number, for this step only, in every variable group that does
 * not set that option itself).
 */
export type TfjsStepOverrides = StepOverrides;

/** Options of the whole optimizer that setOptions cannot change, and why. */
const FIXED_HERE: Readonly<Record<string, string>> = {
  variableGroups: "the groups pick their variables once; change a group's options with setOptions(partial, groupName)",
  backend: "the kernel is chosen once; create a new optimizer and setWeights(getWeights()) into it",
  nonFinite: "the gradient scan is chosen once; create a new optimizer and setWeights(getWeights()) into it",
};

const MAX_INT32 = 2 ** 31 - 1;

const GRADIENTS = "a map of variable names to gradients (tf.NamedTensorMap) or an array of { name, tensor }";

/** applyGradients' argument, read once, own properties only: [name, gradient] pairs. */
function gradientEntries(variableGradients: unknown): GradientEntry[] {
  if (variableGradients === null || typeof variableGradients !== "object") {
    throw new TypeError(`applyGradients: variableGradients must be ${GRADIENTS}; got ${variableGradients === null ? "null" : typeof variableGradients}`);
  }
  if (!Array.isArray(variableGradients)) {
    return Object.entries(ownRecord("applyGradients: variableGradients", variableGradients)!) as GradientEntry[];
  }
  return ownArray("applyGradients: variableGradients", variableGradients, MAX_TENSORS, "{ name, tensor }").map((entry, i) => {
    const at = `applyGradients: variableGradients[${i}]`;
    const named = entry !== null && typeof entry === "object" ? ownRecord(at, entry) : undefined;
    if (named === undefined || typeof named.name !== "string") throw new TypeError(`${at} must be { name: string, tensor }; got ${describe(entry)}`);
    return [named.name, named.tensor] as GradientEntry;
  });
}

/**
 * RMSProp for TensorFlow.js, stepped by the rmsprop-wasm kernel. Create it with
 * {@link tfjsRmsprop}; it is a `tf.Optimizer`, registered with
 * `tf.serialization.registerClass` under the className `"RmspropWasm"`, so
 * `model.save(…, { includeOptimizer: true })` and `tf.loadLayersModel` keep its state.
 *
 * @example
 * ```ts
 * const optimizer = await tfjsRmsprop(model.trainableWeights, { ...presets.tfjs, lr: 1e-3 });
 * model.compile({ optimizer, loss: "categoricalCrossentropy" });
 * await model.fit(xs, ys, { epochs: 5 });
 * ```
 */
export class TfjsRmsprop extends tf.Optimizer {
  /** The name it is registered under, and the `class_name` of a saved training config. */
  static readonly className = "RmspropWasm";

  #resolved: TfjsResolved;
  #options: ResolvedOptions;
  readonly #backend: ConcreteBackend;
  #lastGradNorm: number | null = null;
  #binding: Binding | undefined;
  /** State handed to setWeights() before the optimizer knew its variables. */
  #pending: StateEntry[] | undefined;
  #exported: tf.Tensor[] = [];
  #disposed = false;

  /**
   * An optimizer that takes its variables from its first `applyGradients` call, as tfjs's
   * own optimizers do; `fromConfig` (and so `tf.loadLayersModel`) makes them this way.
   * `await optimizer.ready()` before its first step. Prefer {@link tfjsRmsprop}.
   */
  constructor(options?: TfjsRmspropOptions) {
    super();
    this.#resolved = resolveTfjsOptions(options);
    this.#options = resolveOptions(this.#resolved.top);
    this.#backend = chooseBackend(this.#options.backend);
  }

  /**
   * η of the variable groups that do not set their own `lr`, at the next step (a schedule's
   * value there). Setting it, as tfjs's own optimizers allow, is `setOptions({ lr })`: a
   * number or a schedule, from the next step on; `getConfig()` keeps it.
   */
  get learningRate(): number {
    const lr = this.#options.lr;
    return schedules.valueAt(lr, this.iterations);
  }
  set learningRate(lr: PerStep) {
    this.setOptions({ lr });
  }

  /**
   * Changes update options from the next step on, validated as at creation: the top
   * level's, or with `group` the variable group of that name's. As createRmsprop's
   * setOptions, it refuses what would change the state it keeps (centered, the EMA or
   * clipping switched on or off, momentum where no buffer was made), with the reason;
   * nothing changes then. `getConfig()` keeps what was set.
   */
  setOptions(partial: OptionsUpdate, group?: string): void {
    this.#use();
    const where = group === undefined ? "setOptions(partial)" : `setOptions(partial, ${JSON.stringify(group)})`;
    const index = group === undefined ? -1 : this.#resolved.groups.findIndex((g) => g.name === group);
    if (group !== undefined && index < 0) {
      throw new RangeError(`${where}: no variable group is named ${JSON.stringify(group)}; they are ${this.#resolved.groups.map((g) => JSON.stringify(g.name)).join(", ") || "none"}`);
    }
    const given = checkedPartial(where, partial, index >= 0, FIXED_HERE);
    const { top, groups } = this.#resolved;
    const next = prefixed(where, () =>
      resolveTfjsOptions({
        ...(index < 0 ? { ...top, ...given } : top),
        variableGroups: groups.map((g, i) => (i === index ? { ...g, ...given } : g)),
      }),
    );
    this.#binding?.setOptions(where, next);
    this.#resolved = next;
    this.#options = resolveOptions(next.top);
  }

  /**
   * The joint L2 norm of the gradients of the last step that computed one (with `clipNorm`
   * or `globalClipNorm`), after gradScale and before clipping, as PyTorch's
   * `clip_grad_norm_` returns it; null before then. Set by skipped steps too.
   */
  get lastGradNorm(): number | null {
    return this.#lastGradNorm;
  }

  /** Compiles the kernel for the current tfjs backend (once per process and build). */
  async ready(): Promise<this> {
    this.#use();
    const build = this.#build(currentWasmHeap());
    if (build && !compiledBuilds.has(build)) compiledBuilds.set(build, await kernelModule(build));
    return this;
  }

  /** The kernel build that runs on `heap` (or on a memory of our own), or undefined for "js". */
  #build(heap: WasmHeap | undefined): KernelBuild | undefined {
    return this.#backend === "js" ? undefined : kernelBuild(this.#backend, heap?.shared ?? false);
  }

  #use(): void {
    if (this.#disposed) throw new Error("this rmsprop-wasm/tfjs optimizer was disposed; create a new one with tfjsRmsprop()");
  }

  /** Takes ownership of `variables`: plans their groups and allocates their state. */
  bindVariables(variables: readonly tf.Variable[]): void {
    this.#use();
    if (this.#binding) throw new Error("this optimizer already owns its variables");
    checkedBackendName();
    const heap = currentWasmHeap();
    const build = this.#build(heap);
    const module = build && compiledBuilds.get(build);
    if (build && !module) {
      throw new Error(`the rmsprop-wasm kernel (${build}) is not compiled yet: await optimizer.ready() before the first step`);
    }
    const binding = new Binding(this.#resolved, variables, heap, module);
    if (this.#pending) {
      let restored: { ema: boolean };
      try {
        restored = checkStateEntries(this.#pending, binding.variables, binding.needs);
      } catch (error) {
        binding.engine.free();
        throw error;
      }
      writeStateEntries(binding.engine, this.#pending, binding.needs);
      binding.restored(this.iterations, restored.ema);
      this.#pending = undefined;
    }
    this.#binding = binding;
  }

  /**
   * Applies one step. `variableGradients` maps variable names to gradients, or lists
   * `{ name, tensor }`. A null gradient leaves its variable alone, as in tfjs. `overrides`
   * gives any numeric option or lrScale for this step only (see createRmsprop's step).
   * Schedules are evaluated at t = `iterations`. Throws, with nothing applied, for a variable
   * it does not own, a changed shape, a non-float32 gradient, a GPU backend, or (with
   * `nonFinite: "throw"`) a NaN/±∞ gradient.
   */
  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[], overrides?: TfjsStepOverrides): void {
    this.#use();
    const entries = gradientEntries(variableGradients);
    const backend = checkedBackendName();
    if (!this.#binding) this.bindVariables(variablesNamed(entries));
    const b = this.#binding!;
    b.checkPlace(backend);
    const { bad, gradNorm } = b.step(entries, this.iterations + 1, overrides, this.#options.nonFinite !== "ignore");
    if (gradNorm !== undefined) this.#lastGradNorm = gradNorm;
    if (bad) {
      if (this.#options.nonFinite === "skip") return;
      const scaled = Number.isFinite(bad.value) ? ", which overflows f32 when multiplied by gradScale" : "";
      throw new RangeError(
        `the gradient of variable "${bad.item.variable.name}" is ${bad.value} at index ${bad.index}${scaled}; the step was not applied ` +
          `and no variable or state changed (options.nonFinite is "throw"; "skip" skips such steps, "ignore" lets IEEE arithmetic propagate)`,
      );
    }
    this.incrementIterations();
  }

  /**
   * Exchanges each variable's value and its EMA (`emaDecay`), bit for bit: evaluate or save
   * the averaged weights, then call it again to train on. A variable not stepped yet is its
   * own EMA and stays as it is.
   */
  swapEma(): void {
    this.#use();
    const keeps = this.#binding
      ? this.#binding.needs.some((n) => n.options.emaDecay !== null)
      : this.#options.emaDecay !== null || this.#resolved.groups.some((g) => own(g, "emaDecay") != null);
    if (!keeps) throw new Error("swapEma(): this optimizer keeps no EMA of the weights; set options.emaDecay (or a variable group's) to keep one");
    this.#binding?.swapEma();
  }

  /**
   * The iteration count, then the state as named tensors: every variable's `<name>/rms`
   * (S), then `<name>/momentum` (M), `<name>/mg` (G) and `<name>/ema` where kept, in the
   * order of the table of state arrays (tfjs's own order for the first three).
   * The tensors stay valid until the next getWeights() call or dispose().
   */
  override async getWeights(): Promise<NamedTensor[]> {
    this.#use();
    tf.dispose(this.#exported);
    const weights = [await this.saveIterations()];
    const b = this.#binding;
    if (b) weights.push(...stateTensors(b.engine, b.variables, b.needs));
    else for (const e of this.#pending ?? []) weights.push({ name: e.name, tensor: tf.tensor(e.values.slice()) });
    this.#exported = weights.map((w) => w.tensor);
    return weights;
  }

  /**
   * Restores what getWeights() returned (here or in a saved model). Every tensor is checked
   * against the variables (by position, as tfjs does: names change when a model is loaded
   * twice) before anything is written. State saved without the EMA (by an optimizer
   * without `emaDecay`) loads too: the EMA then starts from θ at the next step. Also
   * compiles the kernel, like ready().
   */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    await this.ready();
    if (!Array.isArray(weightValues) || weightValues.length === 0) {
      throw new TypeError("setWeights: weightValues must start with the iteration count, as getWeights() returns it");
    }
    const [iter] = await weightValues[0].tensor.data();
    // tfjs saves the count as an int32 tensor (saveIterations): a run never leaves that range.
    if (!Number.isInteger(iter) || iter < 0 || iter > MAX_INT32) {
      throw new RangeError(`setWeights: the iteration count must be an integer from 0 to ${MAX_INT32} (what tfjs's int32 count holds); got ${iter}; nothing was changed`);
    }
    const entries: StateEntry[] = [];
    for (const w of weightValues.slice(1)) {
      if (w.tensor.dtype !== "float32") throw new TypeError(`setWeights: "${w.name}" is ${w.tensor.dtype}; the state is float32`);
      entries.push({ name: w.name, values: (await w.tensor.data()) as Float32Array });
    }
    checkStateValues(entries, this.#options.nonFinite);
    this.#use();
    const b = this.#binding;
    if (b) {
      const restored = checkStateEntries(entries, b.variables, b.needs);
      writeStateEntries(b.engine, entries, b.needs);
      b.restored(iter, restored.ema);
    } else {
      this.#pending = entries;
    }
    this.iterations_ = iter;
  }

  /** The options, as JSON that survives model.save() and tf.loadLayersModel(). */
  override getConfig(): tf.serialization.ConfigDict {
    this.#use();
    return toConfig(this.#resolved) as tf.serialization.ConfigDict;
  }

  /** An optimizer with the options of `config`; it takes its variables from its first step. */
  static override fromConfig<T extends tf.serialization.Serializable>(
    cls: tf.serialization.SerializableConstructor<T>,
    config: tf.serialization.ConfigDict,
  ): T {
    return new cls(fromConfigDict(config as Record<string, unknown>));
  }

  /** Frees the state (in tfjs-backend-wasm's heap or its own memory); later use throws. Idempotent. */
  override dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#binding?.engine.free();
    this.#binding = undefined;
    this.#pending = undefined;
    tf.dispose(this.#exported);
    this.#exported = [];
  }
}

tf.serialization.registerClass(TfjsRmsprop);

/**
 * An RMSProp `tf.Optimizer` that owns `variables` and steps them with the rmsprop-wasm
 * kernel: in place in tfjs-backend-wasm's heap, or with one copy each way on other
 * CPU-side backends. Takes every `createRmsprop` option but those that place memory or
 * threads (`memory`, `offset`, `threads`, `minParamsPerThread`, `threadSpinMs`) and
 * `groups`, whose place `variableGroups` take: they pick variables by name (see
 * {@link TfjsGroupSpec}). The training recipe (`gradScale`, `clipValue`, `clipNorm` per
 * variable, `globalClipNorm` over each step's variables, `emaDecay`) works as in
 * createRmsprop; see {@link TfjsRmsprop.swapEma} and {@link TfjsRmsprop.lastGradNorm}.
 *
 * @example
 * ```ts
 * import { presets } from "rmsprop-wasm";
 * import { tfjsRmsprop } from "rmsprop-wasm/tfjs";
 * const optimizer = await tfjsRmsprop(model.trainableWeights, {
 *   ...presets.tfjs,
 *   lr: 1e-3,
 *   variableGroups: [{ name: "no_decay", match: ["/bias"], weightDecay: 0 }],
 * });
 * model.compile({ optimizer, loss: "categoricalCrossentropy" });
 * await model.fit(xs, ys, { epochs: 5 });
 * ```
 * @throws TypeError or RangeError naming the variable or option, before anything is
 *   compiled or allocated; Error on a GPU backend (webgl, webgpu).
 */
export async function tfjsRmsprop(variables: readonly TfjsVariableLike[], options?: TfjsRmspropOptions): Promise<TfjsRmsprop> {
  const optimizer = new TfjsRmsprop(options);
  const owned = checkVariables(variables);
  checkedBackendName();
  await optimizer.ready();
  optimizer.bindVariables(owned);
  return optimizer;
}
