// The optimizer object: owns one memory laid out by src/layout.ts, exposes zero-copy views
// into it, and runs each step on the backend src/backend.ts chose, once per group.
import { decodeCheckpoint, encodeCheckpoint, CHECKPOINT_ARRAYS } from "./checkpoint.ts";
import { chooseBackend, kernelBuild, kernelModule, type ConcreteBackend } from "./backend.ts";
import { isSharedBuffer, threadsUnavailable } from "./features.ts";
import { checkedScalars, neededArrays, planGroups, type GroupPlan } from "./groups.ts";
import {
  groupSlices,
  guardedExecutor,
  kernelExecutor,
  poolExecutor,
  referenceExecutor,
  type GroupRuntime,
  type Heap,
  type Slice,
  type StepExecutor,
} from "./executors.ts";
import { bindKernel, KernelFlag } from "./kernel-abi.ts";
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
import { shareCount } from "./thread-pool.ts";
import { armGuard } from "./guard.ts";
import { requestedThreads } from "./machine.ts";
import { hintReleased, reservePlacement } from "./placements.ts";
import { prepareThreads } from "./thread-pool.ts";

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
  const jobs = { groups: Math.max(1, o.groups.length), shares: shareCount(requestedThreads(o.threads)) };
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

function groupRuntime(plan: GroupPlan, slices: Slice[], all: StepArrays): GroupRuntime {
  const part = (a: Float32Array | undefined) => a?.subarray(plan.offset, plan.offset + plan.size);
  return {
    plan,
    slices,
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

/** The views over the memory as it is now; rebuilt when an external memory grows. */
interface Live extends Heap {
  buffer: ArrayBufferLike;
  views: StepArrays;
  publicGroups: readonly RmspropGroup[];
  tensors: Readonly<Record<string, RmspropTensor>>;
}

/** What the constructor needs besides the layout and the options. */
interface Engine {
  backend: ConcreteBackend;
  threads: number;
  buffer: ArrayBufferLike;
  /** Runs the steps: the reference, the kernel on this thread, or the thread pool. */
  executor: StepExecutor;
  /** Each group's slices, one per share. */
  slices: Slice[][];
  /** A memory the caller owns (options.memory): views follow it when it grows. */
  external?: WebAssembly.Memory;
  /** Frees the optimizer's place in an external memory (src/placements.ts). */
  release?: () => void;
}

class RmspropImpl implements Rmsprop {
  readonly #n: number;
  readonly #backend: ConcreteBackend;
  readonly #threads: number;
  readonly #byteLength: number;
  readonly #options: Readonly<ResolvedOptions>;
  #layout: Layout;
  #plans: GroupPlan[];
  readonly #slices: Slice[][];
  #executor: StepExecutor;
  #release: (() => void) | undefined;
  #external: WebAssembly.Memory | undefined;
  #live: Live | undefined;
  #stepCount = 0;
  #running: Promise<StepResult> | undefined;

  constructor(layout: Layout, options: ResolvedOptions, plans: GroupPlan[], engine: Engine) {
    this.#n = layout.n;
    this.#options = Object.freeze({ ...options });
    this.#backend = engine.backend;
    this.#threads = engine.threads;
    this.#layout = layout;
    this.#plans = plans;
    this.#slices = engine.slices;
    this.#executor = engine.executor;
    this.#external = engine.external;
    this.#release = engine.release;
    this.#byteLength = engine.external ? layout.bytes - layout.control : engine.buffer.byteLength;
    const live = this.#attach(engine.buffer);
    this.#live = live;
    if (engine.external) {
      // Someone else's memory may hold anything: clear our state (create() cleared the
      // header), not θ or g.
      live.views.sqAvg.fill(0);
      live.views.momentumBuffer?.fill(0);
      live.views.gradAvg?.fill(0);
    }
    for (const g of live.groups) {
      if (g.plan.options.initialScale !== 0) g.views.sqAvg.fill(g.plan.options.initialScale);
    }
  }

  /** Views, groups and tensors over `buffer`. */
  #attach(buffer: ArrayBufferLike): Live {
    const layout = this.#layout;
    const view = (offset: number) => new Float32Array(buffer, offset, layout.n);
    const views: StepArrays = {
      params: view(layout.params),
      grads: view(layout.grads),
      sqAvg: view(layout.sqAvg),
      momentumBuffer: layout.momentumBuffer ? view(layout.momentumBuffer) : undefined,
      gradAvg: layout.gradAvg ? view(layout.gradAvg) : undefined,
    };
    const groups = this.#plans.map((plan, i) => groupRuntime(plan, this.#slices[i], views));
    const publicGroups = Object.freeze(groups.map(publicGroup));
    // No prototype: a tensor may be called "constructor" or "__proto__".
    const tensors: Record<string, RmspropTensor> = Object.create(null);
    for (const g of publicGroups) for (const t of g.tensors) tensors[t.name] = t;
    return {
      buffer,
      views,
      groups,
      publicGroups,
      tensors: Object.freeze(tensors),
      grads: views.grads,
      u32: new Uint32Array(buffer),
      f32: new Float32Array(buffer),
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

  // Every member, plain facts included, throws once the optimizer is disposed.
  get n(): number {
    this.#use();
    return this.#n;
  }
  get backend(): ConcreteBackend {
    this.#use();
    return this.#backend;
  }
  get threads(): number {
    this.#use();
    return this.#threads;
  }
  get byteLength(): number {
    this.#use();
    return this.#byteLength;
  }
  get options(): Readonly<ResolvedOptions> {
    this.#use();
    return this.#options;
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

  step(overrides?: StepOverrides): StepResult | Promise<StepResult> {
    this.#use();
    this.#idle("step()");
    const { lr } = resolveOverrides(overrides, this.#options);
    // Again: a getter of `overrides` may have disposed the optimizer.
    const live = this.#use();
    const t = this.#stepCount + 1;
    // Every constant of this step, per group, checked before anything is read or written.
    const scalars = live.groups.map((g) => checkedScalars(g.plan, t, lr));
    const outcome = this.#executor.run(live, scalars);
    if (typeof outcome === "number") return this.#settle(outcome, t);
    this.#running = outcome.then((bad) => this.#settle(bad, t)).finally(() => (this.#running = undefined));
    return this.#running;
  }

  /** The step's result from the executor's first non-finite index (−1: it was applied). */
  #settle(bad: number, t: number): StepResult {
    return this.#nonFinite(bad) ?? this.#finish(t);
  }

  /** Applies the nonFinite policy to the first bad index: a skip result, a throw, or undefined. */
  #nonFinite(bad: number): StepResult | undefined {
    if (bad < 0) return undefined;
    if (this.#options.nonFinite === "skip") return { applied: false, nonFiniteIndex: bad, stepCount: this.#stepCount };
    throw new RangeError(
      `grads[${bad}] is ${this.#use().views.grads[bad]}; the step was not applied and params and state are unchanged` +
        ` (options.nonFinite is "throw"; "skip" skips such steps, "ignore" lets IEEE arithmetic propagate)`,
    );
  }

  #finish(t: number): StepResult {
    this.#stepCount = t;
    return { applied: true, nonFiniteIndex: -1, stepCount: t };
  }

  /** step, save, load and dispose wait for no one: with a step still running they would race it. */
  #idle(what: string): void {
    if (this.#running) throw new Error(`${what}: a step is still running; await it first`);
  }

  save(): Uint8Array {
    this.#idle("save()");
    const { params, sqAvg, momentumBuffer, gradAvg } = this.#use().views;
    return encodeCheckpoint({
      n: this.#n,
      stepCount: this.#stepCount,
      // Where the optimizer lived is not part of its state: a checkpoint restores anywhere.
      options: { ...this.#options, memory: undefined, offset: undefined },
      arrays: { params, sqAvg, momentumBuffer, gradAvg },
    });
  }

  load(bytes: Uint8Array): void {
    this.#idle("load(bytes)");
    const { views } = this.#use();
    const content = decodeCheckpoint(bytes);
    if (content.n !== this.#n) {
      throw new RangeError(`load(bytes): the checkpoint has n = ${content.n}, this optimizer n = ${this.#n}; nothing was changed`);
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

  /**
   * Ends the workers and drops every reference to the memory (views, kernel, pool), so a
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
    if (!this.#external && this.#threads > 1) hintReleased(this.#byteLength);
    this.#live = undefined;
    this.#external = undefined;
  }

  [disposeSymbol](): void {
    this.dispose();
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
  const layout = computeLayout(count, neededArrays(resolved), { groups: plans.length, shares }, resolved.offset);
  const slices = plans.map((plan, i) => groupSlices(plan, i, layout, shares));
  const check = resolved.nonFinite !== "ignore";
  if (backend === "js") {
    if (probe) throw new RangeError('createTrafficProbe needs a wasm backend; options.backend is "js"');
    if (external) throw new RangeError('options.memory needs a wasm backend; options.backend is "js"');
    const buffer = allocate(layout, backend, false) as ArrayBuffer;
    armGuard(buffer, layout.control);
    const executor = guardedExecutor(referenceExecutor(check), layout.control);
    return new RmspropImpl(layout, resolved, plans, { backend, threads, buffer, executor, slices });
  }
  const shared = external ? isSharedBuffer(external.buffer) : threads > 1;
  if (external) checkExternal(external, layout, shared, threads);
  const module = await kernelModule(kernelBuild(backend, shared));
  // Refused before anything is written: an overlap would zero another optimizer's arrays.
  const release = external ? reservePlacement(external, layout.control, layout.bytes) : undefined;
  try {
    // The pool's workers first, the memory second (see prepareThreads).
    if (threads > 1) await prepareThreads(threads);
    const memory = external ?? (allocate(layout, backend, shared) as WebAssembly.Memory);
    // Someone else's memory may hold anything: clear our header.
    if (external) new Uint8Array(memory.buffer, layout.control, layout.headerBytes).fill(0);
    armGuard(memory.buffer, layout.control);
    const inner =
      threads > 1
        ? await poolExecutor(module, memory, layout, slices, plans, { threads, check, spinMs: resolved.threadSpinMs })
        : kernelExecutor(bindKernel(module, memory), layout.grads, layout.n, check);
    const executor = guardedExecutor(inner, layout.control);
    return new RmspropImpl(layout, resolved, plans, { backend, threads, buffer: memory.buffer, executor, slices, external, release });
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
