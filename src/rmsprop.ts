// The optimizer object: owns one memory laid out by src/layout.ts, exposes zero-copy views
// into it (one per row of src/state-arrays.ts), and runs each step on the executor
// src/executors.ts made for the backend src/backend.ts chose. src/create.ts builds it.
import type { ConcreteBackend } from "./backend.ts";
import { decodeCheckpoint, encodeCheckpoint, type CheckpointContent } from "./checkpoint.ts";
import { checkLoadable, resolvedStored, savedOptions } from "./checkpoint-match.ts";
import { jointNorm, type Heap, type StepExecutor, type Work } from "./executors.ts";
import { canBlock } from "./features.ts";
import { ownOptions, type GroupPlan } from "./groups.ts";
import type { KernelExports } from "./kernel-abi.ts";
import type { Layout } from "./layout.ts";
import { groupUpdateOptions, type ResolvedOptions, type UpdateOptions } from "./options.ts";
import type { Rmsprop, RmspropGroup, RmspropTensor, StepResult, Threading } from "./optimizer-types.ts";
import { NO_OVERRIDES, resolveOverrides, type StepOverrides } from "./per-step.ts";
import { describe } from "./own.ts";
import { changeOptions, type OptionsUpdate } from "./set-options.ts";
import type { ThreadedExecutor } from "./threaded-executor.ts";
import { unitJobs } from "./unit-jobs.ts";
import type { StepArrays } from "./reference.ts";
import type { StateMemory } from "./state-codec.ts";
import { STATE_ARRAYS, STATE_VIEWS, type ArraySet, type RmspropState, type RmspropState8, type StateName } from "./state-arrays.ts";
import type { StoragePlan } from "./state-storage.ts";
import { centeredUnits, f32Views, hasArray, publicGroup, savedArrays, storedState, writeF32, type StateViews } from "./state-views.ts";
import type { StoredState } from "./state-transfer.ts";

/** What an optimizer with 8-bit state (or one converting a checkpoint of it) loads: src/state-q8.ts. */
export type Q8Support = typeof import("./state-q8.ts");
import "./disposable.ts";
/**
 * Symbol.dispose where the engine has it; elsewhere the registered symbol that TypeScript's
 * and core-js's polyfills use, so `using` works once the program polyfills it.
 */
const disposeSymbol: typeof Symbol.dispose =
  (Symbol as { dispose?: typeof Symbol.dispose }).dispose ?? (Symbol.for("Symbol.dispose") as typeof Symbol.dispose);

const disposedExecutor: StepExecutor = {
  run: () => {
    throw disposedError();
  },
  dispose() {},
};

function disposedError(): Error {
  return new Error("this rmsprop-wasm optimizer was disposed; create a new one with createRmsprop()");
}


/** The views over the memory as it is now; rebuilt when an external memory grows. */
interface Live extends Heap {
  buffer: ArrayBufferLike;
  /** θ, g and the EMA. */
  views: StepArrays;
  state: RmspropState;
  state8: RmspropState8;
  /** Each group's views, in plan order. */
  groupViews: StateViews["groups"];
  publicGroups: readonly RmspropGroup[];
  tensors: Readonly<Record<string, RmspropTensor>>;
  /** The state's parts and scratch, for readState and the 8-bit state's encoding. */
  memory: StateMemory;
}

/** What the constructor needs besides the layout and the options. */
export interface Engine {
  backend: ConcreteBackend;
  threads: number;
  buffer: ArrayBufferLike;
  /** Runs the steps: a kernel on this thread (wasm or the reference), or the thread pool. */
  executor: StepExecutor;
  work: Work;
  /** How the state arrays are stored (src/state-storage.ts). */
  storage: StoragePlan;
  /** A kernel on this thread, which encodes 8-bit state (initial values, load). */
  kernel: KernelExports;
  /** The 8-bit state's code, where some group keeps it or a checkpoint of it is restored. */
  q8?: Q8Support;
  /** A memory the caller owns (options.memory): views follow it when it grows. */
  external?: WebAssembly.Memory;
  /**
   * Run by dispose(): frees the optimizer's place in an external memory
   * (src/placements.ts), or retires the views of a memory of its own (src/create.ts).
   */
  release?: () => void;
  /** Why fewer threads run than asked (src/thread-plan.ts). */
  fallback: string | undefined;
  /** The threaded executor, whose choice opt.threading reports. */
  threaded?: ThreadedExecutor;
}

/** The plain facts of an optimizer, fixed at creation. */
interface Facts {
  n: number;
  backend: ConcreteBackend;
  threads: number;
  fallback: string | undefined;
  byteLength: number;
}

export class RmspropImpl implements Rmsprop {
  readonly #facts: Facts;
  /** The options in force: what creation gave, as setOptions has changed them since. */
  #options: Readonly<ResolvedOptions>;
  #layout: Layout;
  #plans: GroupPlan[];
  readonly #work: Work;
  /** Each step's jobs, one per unit (src/unit-jobs.ts). */
  readonly #jobs: ReturnType<typeof unitJobs>;
  readonly #storage: StoragePlan;
  /** Whether each unit's group is centered (its 8-bit S is stored as S − G²). */
  readonly #centered: readonly boolean[];
  #kernel: KernelExports | undefined;
  readonly #q8: Q8Support | undefined;
  #executor: StepExecutor;
  #threaded: ThreadedExecutor | undefined;
  #release: (() => void) | undefined;
  #external: WebAssembly.Memory | undefined;
  #live: Live | undefined;
  #stepCount = 0;
  #running: Promise<StepResult> | undefined;
  /** While step() reads its overrides. */
  #entered = false;

  constructor(layout: Layout, options: ResolvedOptions, plans: GroupPlan[], engine: Engine) {
    this.#facts = Object.freeze({
      n: layout.n,
      backend: engine.backend,
      threads: engine.threads,
      fallback: engine.fallback,
      byteLength: engine.external ? layout.bytes - layout.control : engine.buffer.byteLength,
    });
    this.#options = Object.freeze({ ...options });
    for (const plan of plans) plan.options = Object.freeze({ ...plan.options });
    this.#layout = layout;
    this.#plans = plans;
    this.#work = engine.work;
    this.#jobs = unitJobs(plans, engine.work.units, engine.work.norm);
    this.#storage = engine.storage;
    this.#kernel = engine.kernel;
    this.#q8 = engine.q8;
    this.#centered = centeredUnits(plans, engine.work.units.map((u) => u.unit.group));
    this.#executor = engine.executor;
    this.#threaded = engine.threaded;
    this.#external = engine.external;
    this.#release = engine.release;
    const live = this.#attach(engine.buffer);
    this.#live = live;
    // Every state array starts at its table's initial value (someone else's memory may
    // hold anything there); θ and g are the caller's.
    if (this.#q8) this.#q8.fillInitial(live.memory, layout, this.#storage, (u, a) => a.initial(plans[engine.work.units[u].unit.group].options));
    else plans.forEach((plan, i) => {
      for (const a of STATE_VIEWS) live.groupViews[i].state[a.name as StateName]?.fill(a.initial(plan.options));
    });
  }

  /** Views, groups and tensors over `buffer`. */
  #attach(buffer: ArrayBufferLike): Live {
    const layout = this.#layout;
    const { f32, state, state8, groups: groupViewList } = (this.#q8?.stateViews ?? f32Views)(buffer, layout, this.#storage, this.#plans);
    const all = f32 as StepArrays;
    const publicGroups = Object.freeze(
      this.#plans.map((plan, i) => publicGroup(plan, groupViewList[i], (partial) => this.#setGroupOptions(i, partial))),
    );
    // No prototype: a tensor may be called "constructor" or "__proto__".
    const tensors: Record<string, RmspropTensor> = Object.create(null);
    for (const g of publicGroups) for (const t of g.tensors) tensors[t.name] = t;
    return {
      buffer,
      views: all,
      state,
      state8,
      groupViews: groupViewList,
      memory: { ...storedState(buffer, layout, this.#storage), kernel: this.#kernel },
      publicGroups,
      tensors: Object.freeze(tensors),
      u32: new Uint32Array(buffer),
      f32: new Float32Array(buffer),
      f64: new Float64Array(buffer, 0, buffer.byteLength >>> 3),
    };
  }

  #use(): Live {
    const live = this.#live;
    if (!live) throw disposedError();
    // An external memory that its owner grew has a new buffer (the old one is detached
    // unless shared): rebuild the views over it. Our own memories never grow.
    if (this.#external && this.#external.buffer !== live.buffer) {
      this.#live = this.#attach(this.#external.buffer);
      return this.#live;
    }
    return live;
  }

  /** A fact, after the disposed check: every member, plain facts included, throws once disposed. */
  #fact<K extends keyof Facts>(key: K): Facts[K] {
    this.#use();
    return this.#facts[key];
  }

  get n(): number {
    return this.#fact("n");
  }
  get backend(): ConcreteBackend {
    return this.#fact("backend");
  }
  get threads(): number {
    return this.#fact("threads");
  }
  get threading(): Threading {
    this.#use();
    const { threads, fallback } = this.#facts;
    const threaded = this.#threaded;
    const last = threaded?.decision;
    return Object.freeze({
      requested: this.#options.threads,
      threads,
      fallback,
      lastStep: last && Object.freeze({ ...last }),
      estimates: threaded?.estimates,
    });
  }
  get byteLength(): number {
    return this.#fact("byteLength");
  }
  get options(): Readonly<ResolvedOptions> {
    this.#use();
    return this.#options;
  }
  get stepCount(): number {
    this.#use();
    return this.#stepCount;
  }
  get params(): Float32Array {
    return this.#use().views.params;
  }
  get grads(): Float32Array {
    return this.#use().views.grads;
  }
  get state(): RmspropState {
    return this.#use().state;
  }
  get state8(): RmspropState8 {
    return this.#use().state8;
  }

  readState(name: StateName): Float32Array {
    const live = this.#use();
    this.#idle("readState(name)");
    const row = STATE_VIEWS.find((a) => a.name === name);
    if (!row || !hasArray(this.#layout, row.name)) {
      const have = STATE_VIEWS.filter((a) => hasArray(this.#layout, a.name)).map((a) => JSON.stringify(a.name));
      throw new TypeError(`readState(name): name must be a state array this optimizer keeps (${have.join(", ")}); got ${describe(name)}`);
    }
    return this.#q8 ? this.#q8.readState(live.memory, this.#storage, this.#centered, row.name as StateName) : live.state[row.name as StateName]!.slice();
  }
  get groups(): readonly RmspropGroup[] {
    return this.#use().publicGroups;
  }
  get tensors(): Readonly<Record<string, RmspropTensor>> {
    return this.#use().tensors;
  }

  step(overrides?: StepOverrides): StepResult | Promise<StepResult> {
    // The common step, without overrides and with no step running, calls nothing it need
    // not: in a training loop every call is paid cold (src/unit-jobs.ts).
    let live = this.#use();
    if (this.#running || this.#entered) this.#idle("step()");
    let given = NO_OVERRIDES;
    if (overrides !== undefined) {
      given = this.#overrides(overrides);
      // Again: a getter of `overrides` may have disposed the optimizer.
      live = this.#use();
    }
    const t = this.#stepCount + 1;
    // Every value and constant of this step, once per group (a schedule is evaluated here,
    // not per element), checked before anything is read or written; then each unit's job.
    const jobs = this.#jobs(t, given);
    const outcome = this.#executor.run(live, jobs);
    if (typeof outcome === "number") return this.#outcome(outcome, t);
    const running = outcome.then((bad) => this.#outcome(bad, t)).finally(() => {
      if (this.#running === running) this.#running = undefined;
    });
    this.#running = running;
    return running;
  }

  /** Reads and checks a step's overrides (a getter of theirs runs user code: a step() from there would run with the same t). */
  #overrides(overrides: StepOverrides): StepOverrides {
    this.#entered = true;
    try {
      return resolveOverrides(overrides, this.#plans);
    } finally {
      this.#entered = false;
    }
  }

  stepSync(overrides?: StepOverrides): StepResult {
    this.#use();
    if (this.#facts.threads > 1 && !canBlock()) {
      throw new Error(
        "stepSync(): a browser window's main thread cannot block while the worker threads step;" +
          " use `await opt.step()` there, or run the optimizer in a Web Worker",
      );
    }
    // Where this thread can block, the executor, and so step(), returns a number, not a Promise.
    return this.step(overrides) as StepResult;
  }

  /**
   * The step's result from the executor's first non-finite index: −1 applied it; any other
   * index is a skip or a throw, as options.nonFinite says (nothing was written either way).
   */
  #outcome(bad: number, t: number): StepResult {
    if (bad < 0 || this.#options.nonFinite === "skip") {
      if (bad < 0) this.#stepCount = t;
      // No spread of an optional gradNorm: each is a call, and a step's are cold (src/unit-jobs.ts).
      return this.#work.norm
        ? { applied: bad < 0, nonFiniteIndex: bad, stepCount: this.#stepCount, gradNorm: jointNorm(this.#use(), this.#work) }
        : { applied: bad < 0, nonFiniteIndex: bad, stepCount: this.#stepCount };
    }
    const g = this.#gradient(bad);
    throw new RangeError(
      `grads[${bad}] is ${g}${Number.isFinite(g) ? ", which overflows f32 when multiplied by gradScale" : ""}; the step was not applied and params and state ` +
        `are unchanged (options.nonFinite is "throw"; "skip" skips such steps, "ignore" lets IEEE arithmetic propagate)`,
    );
  }

  /** Gradient i as the step read it: from the snapshot where the step reads one (src/create.ts). */
  #gradient(i: number): number {
    return this.#use().f32[(this.#work.layout.grads >>> 2) + i];
  }

  /**
   * Changes update options from the next step on, validated as at creation; options fixed at
   * creation (the arrays, the units, the memory, the threads) are refused with the reason.
   */
  setOptions(partial: OptionsUpdate): void {
    this.#use();
    this.#idle("setOptions()");
    this.#apply(changeOptions(this.#options, partial, this.#arrays()));
  }

  #setGroupOptions(index: number, partial: UpdateOptions): void {
    this.#use();
    this.#idle(`groups[${index}].setOptions()`);
    this.#apply(changeOptions(this.#options, partial, this.#arrays(), index));
  }

  /** The arrays this optimizer has (an array without a part laid out is one it lacks). */
  #arrays(): ArraySet {
    return Object.fromEntries(STATE_ARRAYS.map((a) => [a.name, hasArray(this.#layout, a.name)])) as ArraySet;
  }

  /** Puts checked options in force: the top level's, and each group's over them. */
  #apply(next: ResolvedOptions): void {
    this.#options = Object.freeze({ ...next });
    this.#plans.forEach((plan, i) => {
      const group = next.groups[i];
      plan.options = Object.freeze(group ? groupUpdateOptions(next, group, i) : { ...next });
      plan.own = group ? ownOptions(group) : Object.create(null);
    });
  }

  zeroGrad(): void {
    this.#idle("zeroGrad()");
    this.#use().views.grads.fill(0);
  }

  /** step, save, load and dispose wait for no one: with a step still running they would race it. */
  #idle(what: string): void {
    if (this.#running) throw new Error(`${what}: a step is still running; await it first`);
    if (this.#entered && what === "step()") throw new Error("step(): called from a getter of step()'s overrides; nothing was applied");
  }

  swapEma(): void {
    const live = this.#use();
    this.#idle("swapEma()");
    const keeping = this.#plans.filter((p) => p.options.emaDecay !== null);
    if (keeping.length === 0) {
      throw new Error("swapEma(): this optimizer keeps no EMA of the weights; set options.emaDecay (or a group's) to keep one");
    }
    // As u32 words: a bit-exact exchange, NaN payloads included.
    const words = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
    this.#plans.forEach((plan, i) => {
      if (plan.options.emaDecay === null) return;
      const { params, ema } = live.groupViews[i];
      const p = words(params), e = words(ema!);
      for (let k = 0; k < p.length; k++) {
        const x = p[k];
        p[k] = e[k];
        e[k] = x;
      }
    });
  }

  save(): Uint8Array {
    this.#idle("save()");
    const saved = savedArrays(this.#use().memory.parts);
    // Where and how the optimizer ran is not part of its state: a checkpoint restores anywhere.
    return encodeCheckpoint({ n: this.#facts.n, stepCount: this.#stepCount, options: savedOptions(this.#options), ...saved });
  }

  load(bytes: Uint8Array): void {
    this.#idle("load(bytes)");
    this.#use();
    const content = decodeCheckpoint(bytes);
    checkLoadable(content, this.#facts.n, this.#options, this.#arrays(), "load(bytes)");
    if (content.quantized) {
      const why = "this optimizer only f32 state; restoreRmsprop(bytes, { stateBits: 32 }) converts it; nothing was changed";
      if (!this.#q8) throw new TypeError(`load(bytes): the checkpoint keeps 8-bit state (stateBits: 8) and ${why}`);
      this.#q8.checkQuantized(content, resolvedStored(content));
    }
    this.#write(content);
  }

  /** The state as src/state-transfer.ts reads and writes it. */
  #stored(): StoredState {
    return { memory: this.#use().memory, storage: this.#storage, centered: this.#centered };
  }

  /** Copies a checkpoint that checkLoadable accepted into the arrays (converted where its storage differs). */
  #write(content: CheckpointContent): void {
    if (this.#q8) this.#q8.writeSaved(this.#stored(), content, () => resolvedStored(content));
    else writeF32(this.#use().memory.parts, content);
    this.#stepCount = content.stepCount;
  }

  /** restoreRmsprop's load: `content` was checked against these options before the optimizer existed. */
  static restored(opt: RmspropImpl, content: CheckpointContent): void {
    opt.#write(content);
  }

  /**
   * Leaves the pool and drops every reference to the memory (views, kernel, pool), so a
   * disposed optimizer that is still referenced holds almost nothing; an external memory
   * stays with its owner.
   */
  dispose(): void {
    if (!this.#live) return; // idempotent, like every Disposable
    this.#idle("dispose()");
    this.#executor.dispose();
    this.#executor = disposedExecutor;
    this.#kernel = undefined;
    this.#threaded = undefined;
    this.#release?.();
    this.#release = undefined;
    // A shared memory of our own is freed when the collector finds it unreachable, which
    // V8 does not hurry to do for shared memories: tell it (hintReleased, below).
    if (!this.#external && this.#facts.threads > 1) hintReleased(this.#facts.byteLength);
    this.#live = undefined;
    this.#external = undefined;
  }

  [disposeSymbol](): void {
    this.dispose();
  }

  /**
   * What console.log and util.inspect show (Node, Deno, Bun), by the registered symbol so the
   * browser build imports nothing from Node. Reads the private fields, so it never throws,
   * also after dispose().
   */
  [Symbol.for("nodejs.util.inspect.custom")](depth: number, inspectOptions: { depth?: number | null }, inspect?: (value: unknown, options: object) => string): string {
    if (depth < 0) return this.#live ? "[Rmsprop]" : "[Rmsprop (disposed)]";
    const { n, backend, threads } = this.#facts;
    const options = this.#options;
    const { groups, memory, backend: _backend, threads: _threads, ...update } = options;
    const facts = this.#live
      ? {
          n,
          backend,
          threads,
          stepCount: this.#stepCount,
          options: { ...update, ...(groups.length > 0 && { groups: groups.map((g) => g.name) }), ...(memory && { memory: "external" }) },
        }
      : { disposed: true, n, stepCount: this.#stepCount };
    // Deno and Bun pass no inspect function; JSON shows the same facts there.
    return `Rmsprop ${inspect ? inspect(facts, inspectOptions) : JSON.stringify(facts)}`;
  }
}

/**
 * Tells the collector that `bytes` of memory just became garbage. V8 schedules a collection
 * by the external memory of ArrayBuffers, but does not count a shared WebAssembly.Memory
 * there: 60 optimizers of 120 MB created and disposed in a loop reached 3.9 GB before one
 * ran. An ArrayBuffer of the same size, allocated and dropped at once, is counted: it costs
 * a mapping of untouched (so never resident) pages, and brings the collection that frees
 * the disposed memory along with it (the same loop stays near 400 MB).
 */
function hintReleased(bytes: number): void {
  try {
    new ArrayBuffer(bytes);
  } catch {
    // no room for the hint: the memory is still freed, later
  }
}
