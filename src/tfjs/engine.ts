// One step over tfjs variables with the rmsprop-wasm kernel, or with the Math.fround
// reference behind the same ABI (src/reference-kernel.ts), which gives the same bits. The
// engine owns the slots (src/tfjs/slots.ts) and their place (src/tfjs/placement.ts): it
// stages θ and g, lets the caller scan the gradients (the non-finite check, or the norms
// that clipping needs) before anything is written, writes the StepArgs blocks and runs
// the kernel. Which jobs run, with which scalars, is the caller's (src/tfjs/binding.ts).
import * as tf from "@tensorflow/tfjs-core";
import { bindKernel, KernelFlag, writeRoundingCounter, writeStepArgs, type KernelExports, type StepScalars } from "../kernel-abi.ts";
import { MAX_BYTES, WASM_PAGE_BYTES } from "../layout.ts";
import { referenceKernel } from "../reference-kernel.ts";
import { QUANT_SCRATCH_BYTES } from "../quant-sizes.ts";
import { STATE_ARRAYS, type ArrayName } from "../state-arrays.ts";
import { fillSegment, readSegment, writeSegment, type StateMemory, type StoredArray } from "../state-codec.ts";
import type { Segment } from "../state-storage.ts";
import type { WasmHeap } from "./backends.ts";
import { HeapPlacement, OwnPlacement, type PlacedItem, type Placement } from "./placement.ts";
import { keptState, layoutSlots, SLOT_ALIGN, slotSegment, type SlotNeeds, type SlotOffsets } from "./slots.ts";

/**
 * What the kernel runs for one unit of a step: its scalars and flags (shared by the unit's
 * variables), and the step's clipping bounds (its clipNorm and the global one, null where off).
 */
export interface Job {
  scalars: StepScalars;
  flags: number;
  /** What the step's 8-bit rounding draws from: the step number t, as a u32 (createRmsprop's). */
  roundingSeed: number;
  clipNorm: number | null;
  globalClipNorm: number | null;
}

/** One variable's part of a step: its job, and flags of its own (the first EMA step). */
export interface StepItem extends PlacedItem {
  job: Job;
  ownFlags: number;
}

/** The first non-finite gradient element of a step, which stopped it. */
export interface NonFinite {
  item: StepItem;
  index: number;
  value: number;
}

/** A step after staging: where each item's g is, and the memory as it is now. */
export interface Staged {
  readonly kernel: KernelExports;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  /** Byte offset of the scratch area for f64 block sums (0 without one). */
  readonly scratch: number;
  /** Byte offset of each item's g, by item index. */
  readonly grads: readonly number[];
  readonly sizes: readonly number[];
}

/**
 * The scan before a step: may change the items' jobs (clipping factors) and returns the
 * first bad gradient element, which stops the step with nothing written.
 */
export type Scan = (items: readonly StepItem[], staged: Staged) => NonFinite | undefined;

/**
 * The non-finite check without norms: the first gradient that is NaN/±∞ times its
 * gradScale (|gSign|), as the kernel uses it; above 1 a finite gradient may overflow.
 */
export const finiteScan: Scan = (items, staged) => {
  for (let k = 0; k < items.length; k++) {
    const at = staged.grads[k];
    const n = staged.sizes[items[k].slot];
    const scale = Math.abs(items[k].job.scalars.gSign);
    const bad = scale > 1 ? staged.kernel.first_nonfinite_scaled_f32(at, n, scale) : staged.kernel.first_nonfinite_f32(at, n);
    if (bad >= 0) return { item: items[k], index: bad, value: staged.f32[(at >>> 2) + bad] };
  }
  return undefined;
};

/** The step engine of one optimizer: its slots, their place, and the kernel. */
export class SlotEngine {
  readonly #placement: Placement;
  readonly #slots: SlotOffsets[];
  readonly #needs: readonly SlotNeeds[];
  /** Each slot's storage (f32 or 8-bit, its blocks), fixed at creation. */
  readonly #segments: readonly Segment[];
  readonly #sizes: number[];
  readonly #scratch: number;
  readonly #module: WebAssembly.Module | undefined;
  #kernel: KernelExports | undefined;
  #buffer: ArrayBufferLike | undefined;
  #u32 = new Uint32Array(0);
  #f32 = new Float32Array(0);
  #f64 = new Float64Array(0);

  constructor(placement: Placement, slots: SlotOffsets[], needs: readonly SlotNeeds[], scratch: number, module: WebAssembly.Module | undefined) {
    this.#placement = placement;
    this.#slots = slots;
    this.#needs = needs;
    this.#segments = needs.map(slotSegment);
    this.#sizes = needs.map((n) => n.size);
    this.#scratch = scratch;
    this.#module = module;
    if (module) this.#kernel = bindKernel(module, placement.memory);
  }

  /**
   * Runs one step over `items`: stages θ and g, runs `scan` (which returns the first bad
   * gradient, and may change the jobs), and then, unless it found one, the kernel for
   * every item. Returns that bad element, with nothing applied.
   */
  step(items: readonly StepItem[], scan: Scan | undefined): NonFinite | undefined {
    const place = this.#placement;
    try {
      const params = items.map((item) => place.params(item));
      const thetas = new Set(params);
      const grads = items.map((item) => place.grads(item, thetas));
      this.#refreshViews(); // staging may have grown the heap, which detaches old views
      const kernel = this.#kernel!;
      const bad = scan?.(items, { kernel, f32: this.#f32, f64: this.#f64, scratch: this.#scratch, grads, sizes: this.#sizes });
      if (bad) return bad;
      items.forEach((item, k) => {
        const slot = this.#slots[item.slot];
        const q8 = this.#segments[item.slot].bits === 8;
        const flags = item.job.flags | item.ownFlags | (q8 ? KernelFlag.q8 : 0);
        writeStepArgs(this.#u32, this.#f32, slot.args, { ...slot, params: params[k], grads: grads[k] }, this.#sizes[item.slot], item.job.scalars, flags);
        if (q8) writeRoundingCounter(this.#u32, slot.args, { firstIndex: this.#needs[item.slot].index, roundingSeed: item.job.roundingSeed });
        kernel.step(flags, slot.args);
      });
      for (const item of items) place.commit(item, this.#sizes[item.slot]);
      return undefined;
    } finally {
      tf.dispose(place.temporaries);
      place.temporaries = [];
    }
  }

  /** Whether the slot keeps this state array. */
  keeps(slot: number, name: ArrayName): boolean {
    return this.#slots[slot][name] !== 0;
  }

  /** A copy of a slot's state array as the step reads it (8-bit codes decoded). */
  read(slot: number, name: ArrayName): Float32Array {
    const out = new Float32Array(this.#sizes[slot]);
    readSegment(this.#memory(slot), name, this.#segments[slot], this.#needs[slot].options.centered, out, 0);
    return out;
  }

  /**
   * Writes `values` as a slot's state array: f32 as they are, 8-bit codes rounded to
   * nearest (in a centered slot, write G before S: S is stored less G²).
   */
  write(slot: number, name: ArrayName, values: Float32Array): void {
    writeSegment(this.#memory(slot), name, this.#segments[slot], this.#needs[slot].options.centered, values, 0);
  }

  /** Sets every element of a slot's state array to `value`. */
  fill(slot: number, name: ArrayName, value: number): void {
    fillSegment(this.#memory(slot), name, this.#segments[slot], value);
  }

  /** A slot's arrays as src/state-codec.ts reads and writes them: views of its parts, the kernel, the scratch. */
  #memory(slot: number): StateMemory {
    this.#refreshViews();
    const offsets = this.#slots[slot] as SlotOffsets & Record<string, number | undefined>;
    const size = this.#sizes[slot];
    const { blocks } = this.#segments[slot];
    const buffer = this.#placement.memory.buffer;
    const parts: Partial<Record<ArrayName, StoredArray>> = {};
    for (const a of STATE_ARRAYS) {
      const at = offsets[a.name];
      const scales = offsets[`${a.name}Scales`];
      if (!at) continue;
      parts[a.name] = scales
        ? { codes: new Uint8Array(buffer, at, size), scales: new Float32Array(buffer, scales, blocks) }
        : { values: new Float32Array(buffer, at, size) };
    }
    const scratch = offsets.scratch ? new Float32Array(buffer, offsets.scratch, QUANT_SCRATCH_BYTES / 4) : undefined;
    return { parts, scratch, kernel: this.#kernel };
  }

  free(): void {
    this.#placement.free();
  }

  #refreshViews(): void {
    const buffer = this.#placement.memory.buffer;
    if (buffer === this.#buffer) return;
    this.#buffer = buffer;
    this.#u32 = new Uint32Array(buffer);
    this.#f32 = new Float32Array(buffer);
    this.#f64 = new Float64Array(buffer, 0, buffer.byteLength >>> 3);
    // The reference reads its views of the buffer it was made on.
    if (!this.#module) this.#kernel = referenceKernel(buffer);
  }
}

/** Fills each slot's state with its initial values, from the table of state arrays. */
function clearState(engine: SlotEngine, needs: readonly SlotNeeds[]): void {
  needs.forEach((need, i) => {
    for (const a of keptState(need)) engine.fill(i, a.name, a.initial(need.options));
  });
}

/**
 * An engine for slots with these needs: in `heap` when given, else in a memory of its own.
 * `module` is the compiled kernel build for that memory, or undefined for the reference;
 * `norms` reserves room for the block sums of gradient norms.
 */
export function createEngine(
  heap: WasmHeap | undefined,
  needs: readonly SlotNeeds[],
  module: WebAssembly.Module | undefined,
  norms: boolean,
): SlotEngine {
  const total = needs.reduce((a, n) => a + n.size, 0);
  const tooBig = (bytes: number) =>
    new RangeError(`the variables hold ${total} parameters, whose arrays need ${bytes} bytes: more than the 4 GiB of wasm32 memory`);
  let engine: SlotEngine;
  if (heap) {
    const { end } = layoutSlots(needs, false, 0, norms);
    if (end + SLOT_ALIGN > MAX_BYTES) throw tooBig(end);
    const block = heap.malloc(end + SLOT_ALIGN);
    if (block === 0) throw new RangeError(`tfjs-backend-wasm could not allocate ${end} bytes for the optimizer state of ${total} parameters`);
    const { slots, scratch } = layoutSlots(needs, false, Math.ceil(block / SLOT_ALIGN) * SLOT_ALIGN, norms);
    engine = new SlotEngine(new HeapPlacement(heap, block), slots, needs, scratch, module);
  } else {
    const { slots, scratch, end } = layoutSlots(needs, true, 0, norms);
    if (end > MAX_BYTES) throw tooBig(end);
    const pages = Math.max(1, Math.ceil(end / WASM_PAGE_BYTES));
    let memory: WebAssembly.Memory;
    try {
      memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    } catch (cause) {
      throw new RangeError(`could not allocate ${end} bytes for the optimizer state of ${total} parameters`, { cause });
    }
    engine = new SlotEngine(new OwnPlacement(memory, slots), slots, needs, scratch, module);
  }
  clearState(engine, needs);
  return engine;
}
