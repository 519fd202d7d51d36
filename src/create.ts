// Creating an optimizer: validate the options and n, plan the groups and units, choose the
// backend and the executor, lay out and allocate the memory, and hand it all to the
// optimizer object (src/rmsprop.ts). Nothing is allocated before every check has passed.
import { chooseBackend, kernelBuild, kernelModule, type ConcreteBackend } from "./backend.ts";
import { decodeCheckpoint, type CheckpointContent } from "./checkpoint.ts";
import { checkLoadable, resolvedStored, storedOptions } from "./checkpoint-match.ts";
import { guardedExecutor, kernelExecutor, unitRuntime, type UnitRuntime, type Work } from "./executors.ts";
import { canBlock, isSharedBuffer } from "./features.ts";
import { armGuard } from "./guard.ts";
import { groupStep, needsNorm, neededArrays, planGroups, planUnits } from "./groups.ts";
import { bindKernel, KernelFlag, NORM_BLOCK } from "./kernel-abi.ts";
import { arrayCount, computeLayout, maxParams, type Layout } from "./layout.ts";
import { shareCount } from "./pool-shape.ts";
import { storageOfPlans } from "./state-storage.ts";
import { storedBits, type StateBits } from "./state-bits.ts";
import { checkInteger, checkKeys, defaultOptions, resolveOptions, type ResolvedOptions, type RmspropOptions } from "./options.ts";
import type { Rmsprop } from "./optimizer-types.ts";
import { own as ownValue } from "./own.ts";
import { RmspropImpl } from "./rmsprop.ts";
import type { ArraySet } from "./state-arrays.ts";
import { provideSchedules } from "./schedule-support.ts";
import { scheduleRuntime } from "./schedules.ts";
import type { ThreadLimit } from "./thread-plan.ts";

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

/** The arrays these options need, and those in `keep` (a checkpoint's) besides. */
function arraysOf(o: ResolvedOptions, keep: Partial<ArraySet>): ArraySet {
  const set = neededArrays(o);
  for (const name of Object.keys(set) as (keyof ArraySet)[]) set[name] ||= keep[name] === true;
  return set;
}

/** Validates n against the layout limit of these arrays (before anything is allocated). */
function checkN(n: unknown, o: ResolvedOptions, set: ArraySet): number {
  if (typeof n !== "number") {
    throw new TypeError(`n must be a number (the parameter count); got ${typeof n}`);
  }
  const bitsOf = (g: ResolvedOptions["groups"][number]): StateBits => (ownValue(g, "stateBits") as StateBits | undefined) ?? o.stateBits;
  const kept = [...new Set(o.groups.length ? o.groups.map((g) => storedBits(bitsOf(g), g.size)) : [storedBits(o.stateBits, n)])];
  const bits = kept.length > 1 ? "both" : kept[0];
  const how = bits === 32 ? "f32 arrays" : bits === 8 ? "arrays (θ, g and any EMA in f32; S, M and G in 8 bits)" : "arrays (some state in 8 bits)";
  const why = ` (the parameter count; ${arrayCount(set)} ${how} of n must fit in 4 GiB of wasm32 memory)`;
  const clipNormOf = (g: ResolvedOptions["groups"][number]) => {
    const own = ownValue(g, "clipNorm");
    return own === undefined ? o.clipNorm : own;
  };
  const cut = (g: ResolvedOptions["groups"][number]) => (clipNormOf(g) !== null ? Math.max(1, g.tensors.length) : 1);
  const units = Math.max(1, o.groups.reduce((sum, g) => sum + cut(g), 0));
  // An upper bound on the norm's block sums: one per NORM_BLOCK of the largest n, one more per unit.
  const norm = o.globalClipNorm !== null || o.clipNorm !== null || o.groups.some((g) => clipNormOf(g) !== null);
  const normBlocks = norm ? Math.ceil(maxParams(set, { units }, 0, bits) / NORM_BLOCK) + units : 0;
  // A snapshot wherever threads may run, and their shares' 8-bit scratches (upper bounds: the limit on n only).
  const threads = o.threads === 1 ? 1 : 64;
  const jobs = { units, normBlocks, snapshot: snapshotWanted(threads), calls: shareCount(threads) };
  return checkInteger("n", n, 1, maxParams(set, jobs, o.offset, bits), why);
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

/**
 * Where a step is a Promise (a window's main thread with threads), it reads a snapshot of
 * grads taken when step() is called, so that a write made before the Promise settles can
 * neither slip past the scan nor reach the step: one more array of n.
 */
const snapshotWanted = (threads: number) => threads > 1 && !canBlock();

/** The limit of an optimizer that asks for one thread. */
const ONE_THREAD: ThreadLimit = { threads: 1, fallback: undefined, auto: false, asked: "" };

/** A checkpoint being restored, and whether the optimizer keeps its groups. */
type Restoring = CheckpointContent & { keepsGroups: boolean };

/**
 * Creates an optimizer with validated options. A checkpoint it is `restoring` is checked
 * against them before anything is allocated, and its arrays are kept even where the
 * options do not need them (momentum set to 0 since, when its buffer already existed).
 */
async function create(n: number, resolved: ResolvedOptions, probe: boolean, restoring?: Restoring): Promise<RmspropImpl> {
  const kept = restoring ? [...Object.keys(restoring.arrays), ...Object.keys(restoring.quantized ?? {})] : [];
  const keep: Partial<ArraySet> = Object.fromEntries(kept.map((name) => [name, true]));
  const arrays = arraysOf(resolved, keep);
  const count = checkN(n, resolved, arrays);
  if (restoring) checkLoadable(restoring, count, resolved, arrays, "restoreRmsprop(bytes)", restoring.keepsGroups ? resolved : undefined);
  const plans = planGroups(resolved, count).map((p) => (probe ? { ...p, fixedFlags: KernelFlag.trafficProbe } : p));
  for (const plan of plans) groupStep(plan, 1); // η = lr·lrScale and η·λ must fit f32 too
  const backend = chooseBackend(resolved.backend);
  if (probe && backend === "js") throw new RangeError('createTrafficProbe needs a wasm backend; options.backend is "js"');
  const external = resolved.memory ?? undefined;
  if (external && backend === "js") throw new RangeError('options.memory needs a wasm backend; options.backend is "js"');
  // The threads' planning is loaded only where threads are asked for (a one-thread page never downloads it).
  const plan = resolved.threads === 1 ? undefined : await import("./thread-plan.ts");
  const limit = plan ? plan.threadLimit(resolved, count, backend) : ONE_THREAD;
  const norm = needsNorm(resolved, plans);
  const { units, normBlocks } = planUnits(plans, norm);
  const storage = storageOfPlans(count, plans, units);
  // The 8-bit state's code only where it is used: 8-bit groups, or a checkpoint of them to convert.
  const q8 = storage.elements[8] > 0 || restoring?.quantized ? await import("./state-q8.ts") : undefined;
  if (restoring?.quantized) q8!.checkQuantized(restoring, resolvedStored(restoring));
  const jobs = { units: units.length, normBlocks, snapshot: snapshotWanted(limit.threads), calls: shareCount(limit.threads) };
  const layout = computeLayout(count, arrays, jobs, resolved.offset, storage);
  if (external) checkExternal(external, layout);
  // The pool's workers first, the memory second (see prepareThreads); the pool's code is
  // loaded only where threads run, so a page on one thread never downloads it.
  const { threads, fallback } = plan ? await plan.startThreads(limit) : limit;
  const facts = { backend, threads, fallback };
  // The step reads the snapshot only where threads did start (one thread steps synchronously).
  const snapshot = layout.gradsSnapshot !== 0 && threads > 1;
  const stepLayout = snapshot ? { ...layout, grads: layout.gradsSnapshot } : layout;
  const runtimes: UnitRuntime[] = units.map((unit, i) => unitRuntime(unit, i, stepLayout, storage.units[i]));
  const work: Work = {
    layout: stepLayout,
    units: runtimes,
    check: resolved.nonFinite !== "ignore",
    globalClipNorm: resolved.globalClipNorm !== null,
    norm,
    ...(snapshot && { snapshotOf: layout.grads }),
  };
  if (backend === "js") {
    const buffer = allocate(layout, backend, false) as ArrayBuffer;
    armGuard(buffer, layout.control);
    // Loaded only here: a page that steps in wasm never downloads the reference.
    const { referenceKernel } = await import("./reference-kernel.ts");
    const kernel = referenceKernel(buffer);
    const executor = guardedExecutor(kernelExecutor(kernel, work), layout.control);
    return new RmspropImpl(layout, resolved, plans, { ...facts, buffer, executor, work, storage, kernel, q8, release: retireViews(buffer, layout) });
  }
  const shared = external ? isSharedBuffer(external.buffer) : threads > 1;
  const module = await kernelModule(kernelBuild(backend, shared));
  // Refused before anything is written: an overlap would zero another optimizer's arrays.
  const placements = external && (await import("./placements.ts"));
  const release = placements ? placements.reservePlacement(external!, layout.control, layout.bytes) : undefined;
  try {
    const memory = external ?? (allocate(layout, backend, shared) as WebAssembly.Memory);
    // Someone else's memory may hold anything: clear our header (but our claim on it).
    if (placements) placements.clearHeader(memory.buffer, layout.control, layout.headerBytes);
    armGuard(memory.buffer, layout.control);
    // This thread's kernel: the steps' where one thread runs them, the caller's part of a
    // threaded step, and the 8-bit state's encoder. One instance: each one holds the memory.
    const kernel = bindKernel(module, memory);
    const threaded =
      threads > 1 ? await (await import("./threaded-executor.ts")).threadedExecutor(module, memory, kernel, work, { threads, spinMs: resolved.threadSpinMs }) : undefined;
    const executor = guardedExecutor(threaded ?? kernelExecutor(kernel, work), layout.control);
    const retire = external ? release : retireViews(memory, layout);
    return new RmspropImpl(layout, resolved, plans, { ...facts, buffer: memory.buffer, executor, threaded, work, storage, kernel, q8, external, release: retire });
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
    if (memory instanceof ArrayBuffer) structuredClone(memory, { transfer: [memory] });
    else if (!isSharedBuffer(memory.buffer)) memory.grow(0);
    else new Float32Array(memory.buffer, layout.params, layout.n).fill(Number.NaN);
  };
}

/** An external memory must already hold the whole block. */
function checkExternal(memory: WebAssembly.Memory, layout: Layout): void {
  const have = memory.buffer.byteLength;
  if (layout.bytes > have) {
    throw new RangeError(
      `options.memory holds ${have} bytes, but n = ${layout.n} at options.offset ${layout.control} needs bytes ` +
        `up to ${layout.bytes}; grow it first (memory.grow(${Math.ceil((layout.bytes - have) / 65536)}))`,
    );
  }
}

/**
 * Creates an optimizer from a checkpoint made by `save()`. What defines the training comes
 * from the bytes: the update options (schedules included), the groups, nonFinite, the step
 * count and the state. Where and how it runs comes from the caller: `backend`, `threads`,
 * `minParamsPerThread`, `threadSpinMs`, `memory` and `offset` are `overrides`' or the
 * defaults, never the file's. `overrides` may also change any stored option that keeps
 * the same groups and state arrays. The checkpoint is checked against the options it will
 * run with before anything is allocated.
 */
export async function restoreRmsprop(bytes: Uint8Array, overrides?: RmspropOptions): Promise<Rmsprop> {
  const content = decodeCheckpoint(bytes, "restoreRmsprop(bytes)");
  const given = checkKeys("overrides", overrides, Object.keys(defaultOptions));
  // A checkpoint's options may hold schedules: restoring brings their code into a bundle too.
  provideSchedules(scheduleRuntime);
  // Overrides that keep the stored groups leave one set of options to resolve, not two.
  const restoring = { ...content, keepsGroups: !("groups" in given) };
  const opt = await create(content.n, resolveOptions({ ...storedOptions(content), ...given }), false, restoring);
  RmspropImpl.restored(opt, content);
  return opt;
}
