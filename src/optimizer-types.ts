// The public shape of an optimizer: what createRmsprop returns and what one step reports.
// The class behind it is src/rmsprop.ts; creation is src/create.ts.
import type { ConcreteBackend } from "./backend.ts";
import type { ResolvedOptions, UpdateOptions } from "./options.ts";
import type { StepOverrides } from "./per-step.ts";
import type { OptionsUpdate } from "./set-options.ts";
import type { RmspropState, RmspropState8, StateName } from "./state-arrays.ts";
// Symbol.dispose where the project's lib lacks it: the interface below names it.
import "./disposable.ts";

export type { QuantizedState, RmspropState, RmspropState8, StateName } from "./state-arrays.ts";

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
  /** The group's effective options: its own over the top level's, as setOptions left them. */
  readonly options: Readonly<ResolvedOptions>;
  /**
   * Changes this group's update options from the next step on (PyTorch's
   * `param_groups[k]["lr"] = x`), validated as at creation; a value it sets is its own from
   * then on, which `step(overrides)` and the top level's setOptions leave alone. Refuses, with
   * the reason, a change that would alter the arrays or how a step is cut (centered, the EMA
   * or clipNorm switched on or off, momentum without a buffer); nothing changes then.
   */
  setOptions(partial: UpdateOptions): void;
  readonly params: Float32Array;
  readonly grads: Float32Array;
  /** This group's state arrays kept in f32: the EMA, and S, M, G where its `stateBits` is 32. */
  readonly state: Readonly<Partial<RmspropState>>;
  /** This group's state arrays kept in 8 bits (`stateBits: 8`): codes and block scales. */
  readonly state8: RmspropState8;
  readonly tensors: readonly RmspropTensor[];
}

/** How an optimizer's threads run, as `opt.threading` tells it. */
export interface Threading {
  /** options.threads as given. */
  readonly requested: number | "auto";
  /** Threads a step may run on (`opt.threads`): the caller and the pool's workers. */
  readonly threads: number;
  /**
   * Why fewer threads run than asked (for "auto": than the machine's cores): a small n (see
   * minParamsPerThread), the machine's cores, the "js" backend, a memory that is not shared,
   * a page without shared memory, or workers that could not start (a Content-Security-Policy,
   * say), with the cause. Undefined when every thread asked for runs.
   */
  readonly fallback: string | undefined;
  /**
   * The last step with threads > 1: the threads it ran on (1: alone on the caller, which the
   * choice takes where threads cost more than they save), whether it woke sleeping workers,
   * and whether it was a try of a way that looked slower. Undefined before the first step.
   */
  readonly lastStep: { readonly threads: number; readonly woke: boolean; readonly trying: boolean } | undefined;
  /**
   * What each way has cost per step lately (ms; NaN until measured): alone, and on k threads
   * with the workers awake (warm) or woken by the step (cold); and the back-to-back steps a
   * wake buys on average. Undefined with one thread.
   */
  readonly estimates:
    | {
        readonly alone: number;
        readonly threaded: readonly { readonly threads: number; readonly warm: number; readonly cold: number }[];
        readonly warmRun: number;
      }
    | undefined;
}

/** An RMSProp optimizer over `n` f32 parameters. Create it with {@link createRmsprop}. */
export interface Rmsprop {
  /** Parameter count. */
  readonly n: number;
  /** θ: a live `Float32Array` view into wasm memory; write initial values here. */
  readonly params: Float32Array;
  /** ∇L(θ): write the gradient here before each step. */
  readonly grads: Float32Array;
  /**
   * Views of the state arrays kept in f32. One that some group keeps in 8 bits
   * (`stateBits: 8`) is not here (reading it throws): see `state8` and `readState`.
   */
  readonly state: RmspropState;
  /**
   * Views of the codes and block scales of the state arrays every group keeps in 8 bits
   * (`stateBits: 8`). Where groups differ, each group's are in `groups[k].state8`.
   */
  readonly state8: RmspropState8;
  /**
   * The values of a state array (S, M, G or the EMA, by the name of its `opt.state` view),
   * n f32 in parameter order, as the next step reads them: decoded where kept in 8 bits
   * (exactly), as they are where f32. A copy: writing it changes nothing. Throws a
   * TypeError for an array this optimizer does not keep.
   */
  readState(name: StateName): Float32Array;
  /** Steps applied so far. */
  readonly stepCount: number;
  /** Threads that run each step: options.threads, fewer for small n (see minParamsPerThread). */
  readonly threads: number;
  /** How the threads run: why fewer than asked, and how the last step ran (docs/threads.md). */
  readonly threading: Threading;
  /** Bytes of memory this optimizer holds: its arrays, a small header, and page rounding. */
  readonly byteLength: number;
  /** The backend running the steps, after "auto" is resolved. */
  readonly backend: ConcreteBackend;
  /** The options in force, defaults filled in, as setOptions left them. */
  readonly options: Readonly<ResolvedOptions>;
  /** The parameter groups in memory order (one group named "default" without `groups`). */
  readonly groups: readonly RmspropGroup[];
  /** Every tensor of every group, by name. */
  readonly tensors: Readonly<Record<string, RmspropTensor>>;
  /**
   * Applies one update from `grads`. `overrides` may give any per-step value (`lr`, `beta`,
   * `momentum`, `weightDecay`, `eps`, `gradScale`, the clipping bounds, `emaDecay`,
   * `lrScale`) as a number for this step only, in every group that does not set that option
   * itself (lrScale and globalClipNorm act on all). Schedules are evaluated at t =
   * `stepCount`, the applied steps before this one. Returns synchronously everywhere except on a
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
  /**
   * Changes update options from the next step on (`lr`, `beta`, ... as numbers or
   * schedules, `lrScale`, `globalClipNorm`), validated as at creation. Groups that set an
   * option themselves keep theirs (see `groups[k].setOptions`). Options fixed at creation
   * (groups, threads, backend, memory, nonFinite, centered, switching the EMA or clipping
   * on or off) are refused with the reason and what to do instead; nothing changes then.
   * `save()` keeps what was set.
   */
  setOptions(partial: OptionsUpdate): void;
  /** Sets every gradient to 0 (PyTorch's `zero_grad(set_to_none=False)`), for gradient accumulation. */
  zeroGrad(): void;
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
