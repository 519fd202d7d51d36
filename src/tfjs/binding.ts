// The variables an optimizer steps, bound once: their groups' plans, their slots in the
// engine, the norm plan when clipping needs one, and which EMAs have started. Turns the
// gradients of one applyGradients call into checked step items with their jobs.
import * as tf from "@tensorflow/tfjs-core";
import { groupStep, planGroups, type GroupPlan, type GroupStep } from "../groups.ts";
import { KernelFlag } from "../kernel-abi.ts";
import { resolveOptions, type ResolvedOptions } from "../options.ts";
import { resolveOverrides, type StepOverrides } from "../per-step.ts";
import { checkFixed, type MoveState } from "../set-options.ts";
import { arraySet } from "../state-arrays.ts";
import type { WasmHeap } from "./backends.ts";
import { createEngine, finiteScan, type Job, type NonFinite, type SlotEngine, type StepItem } from "./engine.ts";
import { planNorms, scanNorms, type NormPlan } from "./norms.ts";
import { groupVariables, type TfjsResolved } from "./options.ts";
import type { SlotNeeds } from "./slots.ts";

/** One gradient as applyGradients received it. */
export type GradientEntry = [name: string, grad: tf.Tensor | null | undefined];

/** What one step did: the first bad gradient that stopped it, and the norm when it computed one. */
export interface StepOutcome {
  bad: NonFinite | undefined;
  gradNorm: number | undefined;
}

/** The tfjs way to change what is fixed at creation: a new optimizer, the weights moved over. */
const moveWeights: MoveState = (key) =>
  "create a tfjsRmsprop with the new value and setWeights(getWeights()) into it" +
  (key === "stateBits" ? ", which converts" : key === "emaDecay" ? ' (turned on, the EMA starts from θ as setWeights finds it; turned off, leave out the "/ema" tensors)' : "");

export class Binding {
  readonly variables: tf.Variable[];
  readonly needs: SlotNeeds[];
  readonly engine: SlotEngine;
  readonly heap: WasmHeap | undefined;
  readonly #shapes: number[][];
  readonly #slotOf: Map<string, number>;
  /** The options as createRmsprop would take them, the variables' groups included. */
  #top: ResolvedOptions;
  readonly #plans: GroupPlan[];
  /** Each plan's options when the state was allocated: they decide its arrays for good. */
  readonly #bound: ResolvedOptions[];
  /** Index into #plans per slot. */
  readonly #planOf: number[];
  readonly #norms: NormPlan | undefined;
  /** Per slot: whether its EMA has started (it starts as θ on the slot's first step). */
  readonly #emaStarted: boolean[];

  /** Plans the groups of `variables` and allocates their state (in `heap`, or in a memory of its own). */
  constructor(resolved: TfjsResolved, variables: readonly tf.Variable[], heap: WasmHeap | undefined, module: WebAssembly.Module | undefined) {
    const top = this.#resolve(resolved, variables);
    this.#top = top;
    this.#plans = planGroups(top, variables.reduce((a, v) => a + v.size, 0));
    // Frozen, as createRmsprop's: a step then reuses what it prepared from them (src/per-step.ts).
    for (const plan of this.#plans) plan.options = Object.freeze({ ...plan.options });
    this.#bound = this.#plans.map((p) => p.options);
    this.#slotOf = new Map(variables.map((v, i) => [v.name, i]));
    this.#planOf = new Array(variables.length);
    const index: number[] = new Array(variables.length);
    this.#plans.forEach((plan, p) =>
      plan.tensors.forEach((t) => {
        const slot = this.#slotOf.get(t.name)!;
        this.#planOf[slot] = p;
        index[slot] = t.offset;
      }),
    );
    this.#norms = planNorms(this.#plans, this.#slotOf, top.globalClipNorm !== null);
    this.needs = variables.map((v, i) => ({ size: v.size, options: this.#plans[this.#planOf[i]].options, index: index[i] }));
    this.variables = [...variables];
    this.#shapes = variables.map((v) => [...v.shape]);
    this.#emaStarted = variables.map(() => false);
    this.heap = heap;
    this.engine = createEngine(heap, this.needs, module, this.#norms !== undefined);
  }

  /** The options as createRmsprop takes them: the top level, and the groups of these variables. */
  #resolve(resolved: TfjsResolved, variables: readonly { name: string; shape: readonly number[] }[]): ResolvedOptions {
    const groups = groupVariables(
      resolved,
      variables.map((v) => ({ name: v.name, shape: v.shape })),
    );
    return resolveOptions({ ...resolved.top, groups });
  }

  /**
   * Puts new options (already valid as tfjs options) in force from the next step, or
   * throws, changing nothing, where they would switch what the state was made for.
   */
  setOptions(where: string, resolved: TfjsResolved): void {
    const next = this.#resolve(resolved, this.variables);
    // A variable's state holds the arrays its group's options needed when it was made.
    checkFixed(where, this.#top, next, (i) => arraySet([this.#bound[i]]), moveWeights);
    const plans = planGroups(next, this.#plans.reduce((a, p) => a + p.size, 0));
    this.#plans.forEach((plan, i) => {
      plan.options = Object.freeze({ ...plans[i].options });
      plan.own = plans[i].own;
    });
    this.#top = next;
  }

  /** Throws unless the state is still reachable: a heap's backend must be the current one, and alive. */
  checkPlace(backend: string): void {
    const heap = this.heap;
    if (heap && (!heap.alive() || tf.backend() !== heap.backend)) {
      throw new Error(
        `this optimizer keeps its state in the heap of the tfjs "wasm" backend it started on, but the backend is now ` +
          `"${backend}" (or that wasm backend was disposed); create a new optimizer after switching backends`,
      );
    }
  }

  /** Whether the slot keeps an EMA of its variable. */
  keepsEma(slot: number): boolean {
    return this.needs[slot].options.emaDecay !== null;
  }

  /**
   * After state was restored: the EMAs of a run that has taken steps have started, unless
   * the restored state had none (they start from θ at the next step).
   */
  restored(iterations: number, withEma: boolean): void {
    this.#emaStarted.fill(iterations > 0 && withEma);
  }

  /**
   * One step of step number `t`: checks every gradient, computes the scalars of each unit,
   * scans (norms and clipping factors, or the non-finite check) and steps. Throws, with
   * nothing applied, for a gradient this binding cannot take.
   */
  step(entries: readonly GradientEntry[], t: number, overrides: unknown, check: boolean): StepOutcome {
    const given: StepOverrides = resolveOverrides(overrides, this.#plans);
    const slots = this.#checkedSlots(entries);
    // Each group's values and constants once, and one job per unit (a unit of the norms, or
    // a group), made when one of its variables steps.
    const groups = new Map<GroupPlan, GroupStep>();
    const unitOf = this.#norms?.unitOf ?? this.#planOf;
    const jobs: (Job | undefined)[] = [];
    const items: StepItem[] = slots.map(([slot, grad]) => {
      const u = unitOf[slot];
      const plan = this.#plans[this.#planOf[slot]];
      let g = groups.get(plan);
      if (!g) groups.set(plan, (g = groupStep(plan, t, given)));
      jobs[u] ??= { scalars: { ...g.scalars }, flags: g.flags, roundingSeed: t >>> 0, clipNorm: g.values.clipNorm, globalClipNorm: g.values.globalClipNorm };
      const ownFlags = this.keepsEma(slot) && !this.#emaStarted[slot] ? KernelFlag.emaInit : 0;
      return { slot, variable: this.variables[slot], grad, job: jobs[u]!, ownFlags };
    });
    let gradNorm: number | undefined;
    const norms = this.#norms;
    const bad = this.engine.step(
      items,
      norms
        ? (its, staged) => {
            const outcome = scanNorms(norms, its, staged, jobs, check);
            gradNorm = outcome.gradNorm;
            return outcome.bad;
          }
        : check
          ? finiteScan
          : undefined,
    );
    if (!bad) for (const item of items) this.#emaStarted[item.slot] ||= this.keepsEma(item.slot);
    return { bad, gradNorm };
  }

  /** The slot and gradient of every non-null entry, each checked against its variable. */
  #checkedSlots(entries: readonly GradientEntry[]): [number, tf.Tensor][] {
    const out: [number, tf.Tensor][] = [];
    const seen = new Set<number>();
    for (const [name, grad] of entries) {
      if (grad == null) continue;
      const slot = this.#slotOf.get(name);
      if (slot === undefined) {
        throw new Error(
          `applyGradients: a gradient for variable "${name}", which this optimizer does not own (it owns ${[...this.#slotOf.keys()].map((n) => `"${n}"`).join(", ")}); nothing was applied`,
        );
      }
      if (seen.has(slot)) throw new Error(`applyGradients: two gradients for variable "${name}"; nothing was applied`);
      seen.add(slot);
      this.#check(slot, grad);
      out.push([slot, grad]);
    }
    return out;
  }

  /** Throws unless the variable of `slot` is still the one bound, with its shape, and `grad` fits it. */
  #check(slot: number, grad: tf.Tensor): void {
    const v = this.variables[slot];
    const shape = this.#shapes[slot];
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
  }

  /**
   * Exchanges every EMA-keeping variable's value and its EMA, bit for bit. The variable
   * gets a new tensor (so no tensor anyone holds changes); the EMA takes the old values.
   */
  swapEma(): void {
    this.variables.forEach((v, slot) => {
      // An EMA that has not started yet is the variable itself: nothing to exchange.
      if (!this.keepsEma(slot) || !this.#emaStarted[slot]) return;
      const theta = tf.tensor(this.engine.read(slot, "ema"), v.shape, "float32");
      const old = v.dataSync() as Float32Array;
      // Written after the tensor exists: its allocation may have grown the heap.
      this.engine.write(slot, "ema", old);
      v.assign(theta);
      theta.dispose();
    });
  }
}
