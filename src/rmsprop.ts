// The optimizer object: owns one memory laid out by src/layout.ts, exposes zero-copy views
// into it (one per row of src/state-arrays.ts), and runs each step on the executor
// src/executors.ts made for the backend src/backend.ts chose.
import { decodeCheckpoint, encodeCheckpoint } from "./checkpoint.ts";
import { chooseBackend, kernelBuild, kernelModule, type ConcreteBackend } from "./backend.ts";
import { isSharedBuffer, threadsUnavailable } from "./features.ts";
import { checkedScalars, needsNorm, neededArrays, planGroups, planUnits, type GroupPlan } from "./groups.ts";
import {
  guardedExecutor,
  jointNorm,
  kernelExecutor,
  poolExecutor,
  unitSlices,
  type Heap,
  type StepExecutor,
  type UnitJob,
  type UnitRuntime,
  type Work,
} from "./executors.ts";
import { bindKernel, KernelFlag, NORM_BLOCK } from "./kernel-abi.ts";
import { arrayCount, computeLayout, maxParams, type Layout } from "./layout.ts";
import {
  checkInteger,
  resolveOptions,
  resolveOverrides,
  type ResolvedOptions,
  type RmspropOptions,
  type StepOverrides,
} from "./options.ts";
import type { StepArrays } from "./reference.ts";
import { referenceKernel } from "./reference-kernel.ts";
import { CHECKPOINT_ARRAYS, STATE_ARRAYS, STATE_VIEWS, type ArrayName, type RmspropState } from "./state-arrays.ts";
import { shareCount } from "./pool-shape.ts";
import { armGuard } from "./guard.ts";
import { requestedThreads } from "./machine.ts";
import { hintReleased, reservePlacement } from "./placements.ts";
import { canBlock } from "./features.ts";
import "./disposable.ts";

export type { RmspropState } from "./state-arrays.ts";

/** What one `step()` did. */
export interface StepResult {
  /** False when `nonFinite: "skip"` skipped the step. */
  readonly applied: boolean;
  /** Index of the first NaN/±∞ gradient that caused a skip, else −1. */
  readonly nonFiniteIndex: number;
  /** `stepCount` after this call. */
  readonly stepCount: number;
  /**
   * The joint L2 norm of the gradients after gradScale and before clipping, as PyTorch's
   * `clip_grad_norm_` returns it; present when the step computed it (with clipNorm or
   * globalClipNorm).
   */
  readonly gradNorm?: number;
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
  /** Threads that run each step: options.threads, fewer for small n (see minParamsPerThread). */
  readonly threads: number;
  /** Bytes of memory this optimizer holds: its arrays, a small header, and page rounding. */
  readonly byteLength: number;
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
   * group that does not set its own lr. Returns synchronously everywhere except on a
   * browser window's main thread with threads > 1, which must not block: there it returns
   * a Promise. `await opt.step()` works in every case.
   */
  step(overrides?: StepOverrides): StepResult | Promise<StepResult>;
  /**
   * Exchanges θ and its EMA in place, bit for bit, in every group that keeps one
   * (`emaDecay`): evaluate with the averaged weights, then swap back to train on.
   */
  swapEma(): void;
  /**
   * `step()` for callers that can block: Node (any thread), Web Workers, and a browser
   * window's main thread without threads. Returns the result directly, never a Promise.
   * Throws an `Error`, before touching anything, on a browser window's main thread with
   * threads > 1, where the step cannot wait for the workers; use `await opt.step()` there.
   */
  stepSync(overrides?: StepOverrides): StepResult;
  /** A checkpoint of θ, the state, the step count and the options (see the README). */
  save(): Uint8Array;
  /**
   * Restores a checkpoint made by `save()` of an optimizer with the same n and the same
   * state arrays. Bad, truncated or foreign bytes throw and leave this optimizer unchanged.
   * The optimizer keeps its own hyperparameters; `restoreRmsprop` takes them from the bytes.
   */
  load(bytes: Uint8Array): void;
  /** Releases the memory and ends the worker threads; a second call does nothing, every other later use throws. */
  dispose(): void;
  /** The same as `dispose()`, so that `using opt = await createRmsprop(n)` frees it at the end of the scope. */
  [Symbol.dispose](): void;
}

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

/** Validates n against the layout limit of these options (before anything is allocated). */
function checkN(n: unknown, o: ResolvedOptions): number {
  if (typeof n !== "number") {
    throw new TypeError(`n must be a number (the parameter count); got ${typeof n}`);
  }
  const set = neededArrays(o);
  const why = ` (the parameter count; ${arrayCount(set)} f32 arrays of n must fit in 4 GiB of wasm32 memory)`;
  const cut = (g: ResolvedOptions["groups"][number]) => ((g.clipNorm === undefined ? o.clipNorm : g.clipNorm) !== null ? Math.max(1, g.tensors.length) : 1);
  const units = Math.max(1, o.groups.reduce((sum, g) => sum + cut(g), 0));
  // An upper bound on the norm's block sums: one per NORM_BLOCK of the largest n, one more per unit.
  const norm = o.globalClipNorm !== null || o.clipNorm !== null || o.groups.some((g) => g.clipNorm != null);
  const normBlocks = norm ? Math.ceil(maxParams(set, { units, shares: 1 }) / NORM_BLOCK) + units : 0;
  const jobs = { units, shares: shareCount(requestedThreads(o.threads)), normBlocks };
  return checkInteger("n", n, 1, maxParams(set, jobs, o.offset), why);
}

/**
 * Threads worth using for n parameters: at most the ones asked for and the machine's cores
 * (src/machine.ts), each with enough work.
 */
function effectiveThreads(o: ResolvedOptions, n: number, backend: ConcreteBackend): number {
  // "auto" takes what works here: one thread where threads cannot run.
  if (o.threads === "auto" && (backend === "js" || threadsUnavailable() || (o.memory && !isSharedBuffer(o.memory.buffer)))) return 1;
  return Math.max(1, Math.min(requestedThreads(o.threads), Math.floor(n / o.minParamsPerThread)));
}

function checkThreads(o: ResolvedOptions, backend: ConcreteBackend): void {
  if (o.threads === 1 || o.threads === "auto") return;
  if (backend === "js") {
    throw new RangeError(`options.threads = ${o.threads} needs a wasm backend; options.backend is "js"`);
  }
  const why = threadsUnavailable();
  if (why) throw new Error(`options.threads = ${o.threads} needs shared WebAssembly memory, but ${why}`);
}

function allocate(layout: Layout, backend: ConcreteBackend, shared: boolean): ArrayBuffer | WebAssembly.Memory {
  try {
    if (backend === "js") return new ArrayBuffer(layout.bytes);
    return new WebAssembly.Memory({ initial: layout.pages, maximum: layout.pages, shared });
  } catch (cause) {
    throw new RangeError(
      `n = ${layout.n} needs ${layout.bytes} bytes of memory, which this engine could not allocate` +
        (shared ? " (a shared memory also reserves address space, about 10 GiB in V8, which a limit such as ulimit -v may refuse)" : ""),
      { cause },
    );
  }
}

/** A group's views: subarrays of the whole arrays. */
function groupViews(plan: GroupPlan, all: StepArrays): StepArrays {
  const part = (x: Float32Array) => x.subarray(plan.offset, plan.offset + plan.size);
  const views: Partial<StepArrays> = {};
  for (const a of STATE_ARRAYS) if (all[a.name]) views[a.name] = part(all[a.name]!);
  return views as StepArrays;
}

function publicGroup(plan: GroupPlan, views: StepArrays): RmspropGroup {
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

/** The views over the memory as it is now; rebuilt when an external memory grows. */
interface Live extends Heap {
  buffer: ArrayBufferLike;
  views: StepArrays;
  /** Each group's views, in plan order. */
  groupViews: StepArrays[];
  publicGroups: readonly RmspropGroup[];
  tensors: Readonly<Record<string, RmspropTensor>>;
}

/** What the constructor needs besides the layout and the options. */
interface Engine {
  backend: ConcreteBackend;
  threads: number;
  buffer: ArrayBufferLike;
  /** Runs the steps: a kernel on this thread (wasm or the reference), or the thread pool. */
  executor: StepExecutor;
  work: Work;
  /** A memory the caller owns (options.memory): views follow it when it grows. */
  external?: WebAssembly.Memory;
  /** Frees the optimizer's place in an external memory (src/placements.ts). */
  release?: () => void;
}

/** The plain facts of an optimizer, fixed at creation. */
interface Facts {
  n: number;
  backend: ConcreteBackend;
  threads: number;
  byteLength: number;
  options: Readonly<ResolvedOptions>;
}

class RmspropImpl implements Rmsprop {
  readonly #facts: Facts;
  #layout: Layout;
  #plans: GroupPlan[];
  readonly #work: Work;
  #executor: StepExecutor;
  #release: (() => void) | undefined;
  #external: WebAssembly.Memory | undefined;
  #live: Live | undefined;
  #stepCount = 0;
  #running: Promise<StepResult> | undefined;

  constructor(layout: Layout, options: ResolvedOptions, plans: GroupPlan[], engine: Engine) {
    this.#facts = Object.freeze({
      n: layout.n,
      backend: engine.backend,
      threads: engine.threads,
      byteLength: engine.external ? layout.bytes - layout.control : engine.buffer.byteLength,
      options: Object.freeze({ ...options }),
    });
    this.#layout = layout;
    this.#plans = plans;
    this.#work = engine.work;
    this.#executor = engine.executor;
    this.#external = engine.external;
    this.#release = engine.release;
    const live = this.#attach(engine.buffer);
    this.#live = live;
    // Every state array starts at its table's initial value (someone else's memory may
    // hold anything there); θ and g are the caller's.
    plans.forEach((plan, i) => {
      for (const a of STATE_VIEWS) live.groupViews[i][a.name]?.fill(a.initial(plan.options));
    });
  }

  /** Views, groups and tensors over `buffer`. */
  #attach(buffer: ArrayBufferLike): Live {
    const layout = this.#layout;
    const views: Partial<StepArrays> = {};
    for (const a of STATE_ARRAYS) if (layout[a.name]) views[a.name] = new Float32Array(buffer, layout[a.name], layout.n);
    const all = views as StepArrays;
    const groupViewList = this.#plans.map((plan) => groupViews(plan, all));
    const publicGroups = Object.freeze(this.#plans.map((plan, i) => publicGroup(plan, groupViewList[i])));
    // No prototype: a tensor may be called "constructor" or "__proto__".
    const tensors: Record<string, RmspropTensor> = Object.create(null);
    for (const g of publicGroups) for (const t of g.tensors) tensors[t.name] = t;
    return {
      buffer,
      views: all,
      groupViews: groupViewList,
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
  get byteLength(): number {
    return this.#fact("byteLength");
  }
  get options(): Readonly<ResolvedOptions> {
    return this.#fact("options");
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
    const { views } = this.#use();
    const state: Partial<Record<ArrayName, Float32Array>> = {};
    for (const a of STATE_VIEWS) if (views[a.name]) state[a.name] = views[a.name];
    return state as RmspropState;
  }
  get groups(): readonly RmspropGroup[] {
    return this.#use().publicGroups;
  }
  get tensors(): Readonly<Record<string, RmspropTensor>> {
    return this.#use().tensors;
  }

  step(overrides?: StepOverrides): StepResult | Promise<StepResult> {
    this.#use();
    this.#idle("step()");
    const { lr, gradScale } = resolveOverrides(overrides, this.#facts.options);
    // Again: a getter of `overrides` may have disposed the optimizer.
    const live = this.#use();
    const t = this.#stepCount + 1;
    // Every constant of this step, per unit, checked before anything is read or written.
    const jobs = this.#work.units.map(({ unit }): UnitJob => {
      const ema = unit.plan.flags & KernelFlag.ema;
      return {
        scalars: checkedScalars(unit.plan, t, lr, gradScale),
        // The EMA starts as the weights of the first step.
        flags: unit.plan.flags | (ema && t === 1 ? KernelFlag.emaInit : 0),
      };
    });
    const outcome = this.#executor.run(live, jobs);
    if (typeof outcome === "number") return this.#outcome(outcome, t);
    this.#running = outcome.then((bad) => this.#outcome(bad, t)).finally(() => (this.#running = undefined));
    return this.#running;
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
    const gradNorm = this.#work.norm ? { gradNorm: jointNorm(this.#use(), this.#work) } : {};
    if (bad < 0) {
      this.#stepCount = t;
      return { applied: true, nonFiniteIndex: -1, stepCount: t, ...gradNorm };
    }
    if (this.#facts.options.nonFinite === "skip") {
      return { applied: false, nonFiniteIndex: bad, stepCount: this.#stepCount, ...gradNorm };
    }
    throw new RangeError(
      `grads[${bad}] is ${this.#use().views.grads[bad]}${this.#scaledNote(bad)}; the step was not applied and params and state ` +
        `are unchanged (options.nonFinite is "throw"; "skip" skips such steps, "ignore" lets IEEE arithmetic propagate)`,
    );
  }

  /** Why a finite gradient counts as bad: times gradScale it overflows f32. */
  #scaledNote(bad: number): string {
    const g = this.#use().views.grads[bad];
    return Number.isFinite(g) ? ", which overflows f32 when multiplied by gradScale" : "";
  }

  /** step, save, load and dispose wait for no one: with a step still running they would race it. */
  #idle(what: string): void {
    if (this.#running) throw new Error(`${what}: a step is still running; await it first`);
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
    const { views } = this.#use();
    const arrays: Partial<Record<ArrayName, Float32Array>> = {};
    for (const a of CHECKPOINT_ARRAYS) if (views[a.name]) arrays[a.name] = views[a.name];
    return encodeCheckpoint({
      n: this.#facts.n,
      stepCount: this.#stepCount,
      // Where the optimizer lived is not part of its state: a checkpoint restores anywhere.
      options: { ...this.#facts.options, memory: undefined, offset: undefined },
      arrays,
    });
  }

  load(bytes: Uint8Array): void {
    this.#idle("load(bytes)");
    const { views } = this.#use();
    const content = decodeCheckpoint(bytes);
    if (content.n !== this.#facts.n) {
      throw new RangeError(`load(bytes): the checkpoint has n = ${content.n}, this optimizer n = ${this.#facts.n}; nothing was changed`);
    }
    for (const { name } of CHECKPOINT_ARRAYS) {
      // A checkpoint from before emaDecay existed (or without it) starts the EMA at its weights.
      if (name === "ema" && views.ema && !content.arrays.ema) continue;
      if (Boolean(content.arrays[name]) !== Boolean(views[name])) {
        throw new RangeError(
          `load(bytes): the checkpoint ${content.arrays[name] ? "has" : "lacks"} ${name}, this optimizer ` +
            `${views[name] ? "has" : "lacks"} it (momentum, centered and emaDecay must match); nothing was changed`,
        );
      }
    }
    for (const { name } of CHECKPOINT_ARRAYS) {
      const from = content.arrays[name] ?? (name === "ema" ? content.arrays.params : undefined);
      if (from && views[name]) views[name].set(from);
    }
    this.#stepCount = content.stepCount;
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
    this.#release?.();
    this.#release = undefined;
    // A shared memory of our own is freed when the collector finds it unreachable, which
    // V8 does not hurry to do for shared memories: tell it (src/placements.ts).
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
    const { n, backend, threads, options } = this.#facts;
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
  return create(n, options, false);
}

/**
 * A memory-traffic probe for benchmarks: an optimizer-shaped object whose `step()` moves
 * the bytes of one default step (reads θ, g, S; writes θ, S) with the arithmetic replaced
 * by a bitwise xor, built and threaded exactly like `createRmsprop`. Its speed is the
 * ceiling memory puts on a step on this machine. It scrambles params and state.
 */
export async function createTrafficProbe(
  n: number,
  options?: Pick<RmspropOptions, "backend" | "threads" | "minParamsPerThread">,
): Promise<Rmsprop> {
  return create(n, { ...options, nonFinite: "ignore" }, true);
}

async function create(n: number, options: RmspropOptions | undefined, probe: boolean): Promise<Rmsprop> {
  const resolved = resolveOptions(options);
  const count = checkN(n, resolved);
  const plans = planGroups(resolved, count).map((p) => (probe ? { ...p, flags: KernelFlag.trafficProbe } : p));
  for (const plan of plans) checkedScalars(plan, 1, resolved.lr); // η·λ must fit f32 too
  const backend = chooseBackend(resolved.backend);
  checkThreads(resolved, backend);
  const external = resolved.memory ?? undefined;
  const threads = effectiveThreads(resolved, count, backend);
  const shares = shareCount(threads);
  const norm = needsNorm(resolved, plans);
  const { units, normBlocks } = planUnits(plans, norm);
  const layout = computeLayout(count, neededArrays(resolved), { units: units.length, shares, normBlocks }, resolved.offset);
  const runtimes: UnitRuntime[] = units.map((unit, i) => ({ unit, slices: unitSlices(unit, i, layout, shares) }));
  const work: Work = { layout, units: runtimes, check: resolved.nonFinite !== "ignore", globalClipNorm: resolved.globalClipNorm, norm };
  if (backend === "js") {
    if (probe) throw new RangeError('createTrafficProbe needs a wasm backend; options.backend is "js"');
    if (external) throw new RangeError('options.memory needs a wasm backend; options.backend is "js"');
    const buffer = allocate(layout, backend, false) as ArrayBuffer;
    armGuard(buffer, layout.control);
    const executor = guardedExecutor(kernelExecutor(referenceKernel(buffer), work), layout.control);
    return new RmspropImpl(layout, resolved, plans, { backend, threads, buffer, executor, work });
  }
  const shared = external ? isSharedBuffer(external.buffer) : threads > 1;
  if (external) checkExternal(external, layout, shared, threads);
  const module = await kernelModule(kernelBuild(backend, shared));
  // Refused before anything is written: an overlap would zero another optimizer's arrays.
  const release = external ? reservePlacement(external, layout.control, layout.bytes) : undefined;
  try {
    // The pool's workers first, the memory second (see prepareThreads); the pool's code is
    // loaded only here, so a page on one thread never downloads it.
    if (threads > 1) await (await import("./thread-pool.ts")).prepareThreads(threads);
    const memory = external ?? (allocate(layout, backend, shared) as WebAssembly.Memory);
    // Someone else's memory may hold anything: clear our header.
    if (external) new Uint8Array(memory.buffer, layout.control, layout.headerBytes).fill(0);
    armGuard(memory.buffer, layout.control);
    const inner =
      threads > 1
        ? await poolExecutor(module, memory, work, { threads, spinMs: resolved.threadSpinMs })
        : kernelExecutor(bindKernel(module, memory), work);
    const executor = guardedExecutor(inner, layout.control);
    return new RmspropImpl(layout, resolved, plans, { backend, threads, buffer: memory.buffer, executor, work, external, release });
  } catch (error) {
    release?.();
    throw error;
  }
}

/** An external memory must already hold the whole block, and be shared for threads. */
function checkExternal(memory: WebAssembly.Memory, layout: Layout, shared: boolean, threads: number): void {
  if (threads > 1 && !shared) {
    throw new RangeError(`options.threads = ${threads} needs options.memory to be shared (new WebAssembly.Memory({ shared: true, … }))`);
  }
  const have = memory.buffer.byteLength;
  if (layout.bytes > have) {
    throw new RangeError(
      `options.memory holds ${have} bytes, but n = ${layout.n} at options.offset ${layout.control} needs bytes ` +
        `up to ${layout.bytes}; grow it first (memory.grow(${Math.ceil((layout.bytes - have) / 65536)}))`,
    );
  }
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
