// Creating an optimizer: validate the options and n, plan the groups and units, choose the
// backend and the executor, lay out and allocate the memory, and hand it all to the
// optimizer object (src/rmsprop.ts). Nothing is allocated before every check has passed.
import { chooseBackend, kernelBuild, kernelModule, type ConcreteBackend } from "./backend.ts";
import { decodeCheckpoint, type CheckpointContent } from "./checkpoint.ts";
import { checkLoadable, storedOptions } from "./checkpoint-match.ts";
import { guardedExecutor, kernelExecutor, poolExecutor, unitSlices, type UnitRuntime, type Work } from "./executors.ts";
import { canBlock, isSharedBuffer, threadsUnavailable } from "./features.ts";
import { armGuard, clearHeader } from "./guard.ts";
import { checkedScalars, needsNorm, neededArrays, planGroups, planUnits } from "./groups.ts";
import { bindKernel, KernelFlag, NORM_BLOCK } from "./kernel-abi.ts";
import { arrayCount, computeLayout, maxParams, type Layout } from "./layout.ts";
import { requestedThreads } from "./machine.ts";
import { checkInteger, checkKeys, defaultOptions, resolveOptions, type ResolvedOptions, type RmspropOptions } from "./options.ts";
import type { Rmsprop } from "./optimizer-types.ts";
import { own as ownValue } from "./own.ts";
import { reservePlacement } from "./placements.ts";
import { shareCount } from "./pool-shape.ts";
import { referenceKernel } from "./reference-kernel.ts";
import { RmspropImpl } from "./rmsprop.ts";

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
  return create(n, resolveOptions(options), false);
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
  const given = checkKeys("options", options, ["backend", "threads", "minParamsPerThread"]);
  return create(n, resolveOptions({ ...given, nonFinite: "ignore" }), true);
}

/** Validates n against the layout limit of these options (before anything is allocated). */
function checkN(n: unknown, o: ResolvedOptions): number {
  if (typeof n !== "number") {
    throw new TypeError(`n must be a number (the parameter count); got ${typeof n}`);
  }
  const set = neededArrays(o);
  const why = ` (the parameter count; ${arrayCount(set)} f32 arrays of n must fit in 4 GiB of wasm32 memory)`;
  const clipNormOf = (g: ResolvedOptions["groups"][number]) => {
    const own = ownValue(g, "clipNorm");
    return own === undefined ? o.clipNorm : own;
  };
  const cut = (g: ResolvedOptions["groups"][number]) => (clipNormOf(g) !== null ? Math.max(1, g.tensors.length) : 1);
  const units = Math.max(1, o.groups.reduce((sum, g) => sum + cut(g), 0));
  // An upper bound on the norm's block sums: one per NORM_BLOCK of the largest n, one more per unit.
  const norm = o.globalClipNorm !== null || o.clipNorm !== null || o.groups.some((g) => clipNormOf(g) !== null);
  const normBlocks = norm ? Math.ceil(maxParams(set, { units, shares: 1 }) / NORM_BLOCK) + units : 0;
  const requested = requestedThreads(o.threads);
  const jobs = { units, shares: shareCount(requested), normBlocks, snapshot: requested > 1 && !canBlock() };
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

/** Creates an optimizer with validated options; a checkpoint it is `restoring` is checked against them before anything is allocated. */
async function create(n: number, resolved: ResolvedOptions, probe: boolean, restoring?: Restoring): Promise<RmspropImpl> {
  const count = checkN(n, resolved);
  if (restoring) checkLoadable(restoring, count, resolved, "restoreRmsprop(bytes)", restoring.keepsGroups ? resolved : undefined);
  const plans = planGroups(resolved, count).map((p) => (probe ? { ...p, flags: KernelFlag.trafficProbe } : p));
  for (const plan of plans) checkedScalars(plan, 1, resolved.lr); // η·λ must fit f32 too
  const backend = chooseBackend(resolved.backend);
  checkThreads(resolved, backend);
  const external = resolved.memory ?? undefined;
  const threads = effectiveThreads(resolved, count, backend);
  const shares = shareCount(threads);
  const norm = needsNorm(resolved, plans);
  const { units, normBlocks } = planUnits(plans, norm);
  // Where a step is a Promise (a window's main thread with threads), it reads a snapshot of
  // grads taken when step() is called, so a write made before the Promise settles can
  // neither slip past the scan nor reach the step.
  const snapshot = threads > 1 && !canBlock();
  const layout = computeLayout(count, neededArrays(resolved), { units: units.length, shares, normBlocks, snapshot }, resolved.offset);
  const stepLayout = snapshot ? { ...layout, grads: layout.gradsSnapshot } : layout;
  const runtimes: UnitRuntime[] = units.map((unit, i) => ({ unit, slices: unitSlices(unit, i, stepLayout, shares) }));
  const work: Work = {
    layout: stepLayout,
    units: runtimes,
    check: resolved.nonFinite !== "ignore",
    globalClipNorm: resolved.globalClipNorm,
    norm,
    ...(snapshot && { snapshotOf: layout.grads }),
  };
  if (backend === "js") {
    if (probe) throw new RangeError('createTrafficProbe needs a wasm backend; options.backend is "js"');
    if (external) throw new RangeError('options.memory needs a wasm backend; options.backend is "js"');
    const buffer = allocate(layout, backend, false) as ArrayBuffer;
    armGuard(buffer, layout.control);
    const executor = guardedExecutor(kernelExecutor(referenceKernel(buffer), work), layout.control);
    return new RmspropImpl(layout, resolved, plans, { backend, threads, buffer, executor, work, release: retireViews(buffer, layout) });
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
    // Someone else's memory may hold anything: clear our header (but our claim on it).
    if (external) clearHeader(memory.buffer, layout.control, layout.headerBytes);
    armGuard(memory.buffer, layout.control);
    const inner =
      threads > 1
        ? await poolExecutor(module, memory, work, { threads, spinMs: resolved.threadSpinMs })
        : kernelExecutor(bindKernel(module, memory), work);
    const executor = guardedExecutor(inner, layout.control);
    const retire = external ? release : retireViews(memory, layout);
    return new RmspropImpl(layout, resolved, plans, { backend, threads, buffer: memory.buffer, executor, work, external, release: retire });
  } catch (error) {
    release?.();
    throw error;
  }
}

/**
 * What dispose() does to a memory of the optimizer's own, so that views kept past it fail
 * instead of training on, silently, over memory no optimizer uses. A non-shared one is
 * detached (a wasm memory grown by 0 pages detaches its old buffer, as a destroyed WebGPU
 * buffer detaches its mapped ranges): kept views have length 0, read undefined, and set()
 * or fill() throw. A shared one cannot be detached: its θ becomes NaN, which any
 * computation through a kept view carries into the loss.
 */
function retireViews(memory: WebAssembly.Memory | ArrayBuffer, layout: Layout): () => void {
  return () => {
    if (memory instanceof ArrayBuffer) {
      const transfer = (memory as { transfer?: () => ArrayBuffer }).transfer;
      if (transfer) transfer.call(memory);
      else structuredClone(memory, { transfer: [memory] });
    } else if (!isSharedBuffer(memory.buffer)) {
      memory.grow(0);
    } else {
      new Float32Array(memory.buffer, layout.params, layout.n).fill(Number.NaN);
    }
  };
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

/** A checkpoint being restored, and whether the optimizer keeps its groups. */
type Restoring = CheckpointContent & { keepsGroups: boolean };

/**
 * Creates an optimizer from a checkpoint made by `save()`. What defines the training comes
 * from the bytes: the update options, the groups, nonFinite, the step count and the
 * state. Where and how it runs comes from the caller: `backend`, `threads`,
 * `minParamsPerThread`, `threadSpinMs`, `memory` and `offset` are `overrides`' or the
 * defaults, never the file's. `overrides` may also change any stored option that keeps
 * the same groups and state arrays. The checkpoint is checked against the options it will
 * run with before anything is allocated.
 */
export async function restoreRmsprop(bytes: Uint8Array, overrides?: RmspropOptions): Promise<Rmsprop> {
  const content = decodeCheckpoint(bytes, "restoreRmsprop(bytes)");
  const given = checkKeys("overrides", overrides, Object.keys(defaultOptions));
  // Overrides that keep the stored groups leave one set of options to resolve, not two.
  const restoring = { ...content, keepsGroups: !("groups" in given) };
  const opt = await create(content.n, resolveOptions({ ...storedOptions(content), ...given }), false, restoring);
  RmspropImpl.restored(opt, content);
  return opt;
}
