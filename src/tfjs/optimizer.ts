// The tf.Optimizer subclass: tfjs's optimizer conventions (a registered className,
// applyGradients in both forms, getWeights/setWeights with the iteration count first,
// getConfig/fromConfig) over the rmsprop-wasm kernel.
import * as tf from "@tensorflow/tfjs-core";
import { chooseBackend, kernelBuild, kernelModule, type ConcreteBackend, type KernelBuild } from "../backend.ts";
import { checkedScalars, planGroups, type GroupPlan } from "../groups.ts";
import type { StepScalars } from "../kernel-abi.ts";
import { checkRange, resolveOptions, type ResolvedOptions } from "../options.ts";
import { checkedBackendName, currentWasmHeap, type WasmHeap } from "./backends.ts";
import { createEngine, type SlotEngine, type StepItem } from "./engine.ts";
import { fromConfigDict, groupVariables, resolveTfjsOptions, toConfig, type TfjsResolved, type TfjsRmspropOptions } from "./options.ts";
import { checkVariables, type TfjsVariableLike } from "./variables.ts";
import { checkStateEntries, stateTensors, writeStateEntries, type NamedTensor, type StateEntry, type StateNeeds } from "./weights.ts";

// Compiled kernel builds, kept where a synchronous applyGradients can reach them.
const compiledBuilds = new Map<KernelBuild, WebAssembly.Module>();

/** The variables an optimizer steps, with the plan of each one's group. */
interface Binding {
  variables: tf.Variable[];
  shapes: number[][];
  slotOf: Map<string, number>;
  plans: GroupPlan[];
  /** Index into `plans` per slot. */
  planOf: number[];
  engine: SlotEngine;
  heap: WasmHeap | undefined;
  /** Which state each slot keeps. */
  needs: StateNeeds[];
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

  readonly #resolved: TfjsResolved;
  readonly #options: ResolvedOptions;
  readonly #backend: ConcreteBackend;
  #lr: number;
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
    this.#lr = this.#options.lr;
  }

  /** η of the groups that do not set their own `lr`; may be changed between steps. */
  get learningRate(): number {
    return this.#lr;
  }
  set learningRate(lr: number) {
    this.#lr = checkRange("learningRate", lr, 0);
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
    const groups = groupVariables(
      this.#resolved,
      variables.map((v) => ({ name: v.name, shape: v.shape })),
    );
    const plans = planGroups(resolveOptions({ ...this.#resolved.top, groups }), variables.reduce((a, v) => a + v.size, 0));
    const slotOf = new Map(variables.map((v, i) => [v.name, i]));
    const planOf: number[] = new Array(variables.length);
    plans.forEach((plan, p) => plan.tensors.forEach((t) => (planOf[slotOf.get(t.name)!] = p)));
    const needs = variables.map((v, i) => {
      const o = plans[planOf[i]].options;
      return { size: v.size, momentumBuffer: o.momentum > 0, gradAvg: o.centered, initialScale: o.initialScale };
    });
    if (this.#pending) checkStateEntries(this.#pending, variables, needs);
    const engine = createEngine(heap, needs, module);
    this.#binding = { variables: [...variables], shapes: variables.map((v) => [...v.shape]), slotOf, plans, planOf, engine, heap, needs };
    if (this.#pending) {
      writeStateEntries(engine, this.#pending, needs);
      this.#pending = undefined;
    }
  }

  /**
   * Applies one step. `variableGradients` maps variable names to gradients, or lists
   * `{ name, tensor }`. A null gradient leaves its variable alone, as in tfjs. Throws,
   * with nothing applied, for a variable it does not own, a changed shape, a non-float32
   * gradient, a GPU backend, or (with `nonFinite: "throw"`) a NaN/±∞ gradient.
   */
  override applyGradients(variableGradients: tf.NamedTensorMap | NamedTensor[]): void {
    this.#use();
    const entries: [string, tf.Tensor | null | undefined][] = Array.isArray(variableGradients)
      ? variableGradients.map((g) => [g.name, g.tensor])
      : Object.entries(variableGradients);
    const backend = checkedBackendName();
    if (!this.#binding) {
      const registered = tf.engine().registeredVariables;
      const named = entries.filter(([, g]) => g != null).map(([name]) => {
        if (!registered[name]) throw new Error(`applyGradients: a gradient for "${name}", but no variable has that name`);
        return registered[name];
      });
      this.bindVariables(checkVariables(named));
    }
    const b = this.#binding!;
    if (b.heap && (!b.heap.alive() || tf.backend() !== b.heap.backend)) {
      throw new Error(
        `this optimizer keeps its state in the heap of the tfjs "wasm" backend it started on, but the backend is now ` +
          `"${backend}" (or that wasm backend was disposed); create a new optimizer after switching backends`,
      );
    }
    const t = this.iterations + 1;
    const scalars = new Map<number, StepScalars>();
    const scalarsOf = (p: number): StepScalars => {
      let s = scalars.get(p);
      if (!s) {
        const plan = b.plans[p];
        s = checkedScalars(plan, t, this.#lr);
        scalars.set(p, s);
      }
      return s;
    };
    const items: StepItem[] = [];
    const seen = new Set<number>();
    for (const [name, grad] of entries) {
      if (grad == null) continue;
      const slot = b.slotOf.get(name);
      if (slot === undefined) {
        throw new Error(
          `applyGradients: a gradient for variable "${name}", which this optimizer does not own (it owns ${[...b.slotOf.keys()].map((n) => `"${n}"`).join(", ")}); nothing was applied`,
        );
      }
      if (seen.has(slot)) throw new Error(`applyGradients: two gradients for variable "${name}"; nothing was applied`);
      seen.add(slot);
      items.push({ slot, variable: this.#checkedVariable(b, slot, grad), grad, flags: b.plans[b.planOf[slot]].flags, scalars: scalarsOf(b.planOf[slot]) });
    }
    const bad = b.engine.step(items, this.#options.nonFinite !== "ignore");
    if (bad) {
      if (this.#options.nonFinite === "skip") return;
      throw new RangeError(
        `the gradient of variable "${bad.item.variable.name}" is ${bad.value} at index ${bad.index}; the step was not applied ` +
          `and no variable or state changed (options.nonFinite is "throw"; "skip" skips such steps, "ignore" lets IEEE arithmetic propagate)`,
      );
    }
    this.incrementIterations();
  }

  /** The variable of `slot`, checked to still be the one bound, with its shape, and `grad` to fit it. */
  #checkedVariable(b: Binding, slot: number, grad: tf.Tensor): tf.Variable {
    const v = b.variables[slot];
    const shape = b.shapes[slot];
    const same = (s: readonly number[]) => s.length === shape.length && s.every((d, i) => d === shape[i]);
    if (v.isDisposed || tf.engine().registeredVariables[v.name] !== v) {
      throw new Error(`variable "${v.name}" was disposed or replaced since this optimizer took it; nothing was applied`);
    }
    if (!same(v.shape)) {
      throw new RangeError(`variable "${v.name}" changed shape from [${shape}] to [${v.shape}] since this optimizer took it; nothing was applied`);
    }
    if (grad.dtype !== "float32") {
      throw new TypeError(`the gradient of variable "${v.name}" is ${grad.dtype}; it must be float32; nothing was applied`);
    }
    if (!same(grad.shape)) {
      throw new RangeError(`the gradient of variable "${v.name}" has shape [${grad.shape}], the variable [${shape}]; nothing was applied`);
    }
    return v;
  }

  /**
   * The iteration count, then the state as named tensors: every variable's `<name>/rms`
   * (S), then `<name>/momentum` (M) and `<name>/mg` (G) where kept, as tfjs orders them.
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
   * twice) before anything is written. Also compiles the kernel, like ready().
   */
  override async setWeights(weightValues: NamedTensor[]): Promise<void> {
    await this.ready();
    if (!Array.isArray(weightValues) || weightValues.length === 0) {
      throw new TypeError("setWeights: weightValues must start with the iteration count, as getWeights() returns it");
    }
    const [iter] = await weightValues[0].tensor.data();
    if (!Number.isInteger(iter) || iter < 0) throw new RangeError(`setWeights: the iteration count must be an integer ≥ 0; got ${iter}`);
    const entries: StateEntry[] = [];
    for (const w of weightValues.slice(1)) {
      if (w.tensor.dtype !== "float32") throw new TypeError(`setWeights: "${w.name}" is ${w.tensor.dtype}; the state is float32`);
      entries.push({ name: w.name, values: (await w.tensor.data()) as Float32Array });
    }
    this.#use();
    const b = this.#binding;
    if (b) {
      checkStateEntries(entries, b.variables, b.needs);
      writeStateEntries(b.engine, entries, b.needs);
    } else {
      this.#pending = entries;
    }
    this.iterations_ = iter;
  }

  /** The options, as JSON that survives model.save() and tf.loadLayersModel(). */
  override getConfig(): tf.serialization.ConfigDict {
    this.#use();
    return toConfig({ ...this.#resolved, top: { ...this.#resolved.top, lr: this.#lr } }) as tf.serialization.ConfigDict;
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
 * CPU-side backends. Takes every `createRmsprop` option but `memory`, `offset` and
 * `threads`; `variableGroups` pick variables by name (see {@link TfjsGroupSpec}).
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
