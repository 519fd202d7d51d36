// The public shape of an optimizer: what createRmsprop returns and what one step reports.
// The class behind it is src/rmsprop.ts; creation is src/create.ts.
import type { ConcreteBackend } from "./backend.ts";
import type { ResolvedOptions, StepOverrides } from "./options.ts";
import type { RmspropState } from "./state-arrays.ts";
// Rmsprop's [Symbol.dispose] member needs the symbol declared where the lib lacks it.
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
