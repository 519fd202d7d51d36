// One step over tfjs variables with the rmsprop-wasm kernel (or the Math.fround reference,
// which gives the same bits), in one of two places:
//
// - In place, in tfjs-backend-wasm's heap. The kernel is instantiated on the backend's own
//   WebAssembly.Memory; the state arrays are allocated there with the backend's malloc;
//   θ and g are the tensors' own data, found through the backend's data map. No copies.
// - In a memory of the adapter's own, for every other (CPU-side) backend: each step copies
//   g in once and hands θ back once as a new tensor; θ is read in only when something
//   other than this optimizer assigned the variable.
import * as tf from "@tensorflow/tfjs-core";
import { bindKernel, writeStepArgs, type KernelExports, type StepScalars } from "../kernel-abi.ts";
import { MAX_BYTES, WASM_PAGE_BYTES } from "../layout.ts";
import { referenceFirstNonFinite, referenceStep } from "../reference.ts";
import type { WasmHeap } from "./backends.ts";
import { layoutSlots, SLOT_ALIGN, type SlotNeeds, type SlotOffsets } from "./slots.ts";

/** The state arrays a slot may keep, by their rmsprop-wasm names. */
export type StateName = "sqAvg" | "momentumBuffer" | "gradAvg";

/** One variable's part of a step. */
export interface StepItem {
  slot: number;
  variable: tf.Variable;
  grad: tf.Tensor;
  flags: number;
  scalars: StepScalars;
}

/** The first non-finite gradient element of a step, which stopped it. */
export interface NonFinite {
  item: StepItem;
  index: number;
  value: number;
}

/** Where θ and g of a step are, and how θ gets back to its variable. */
interface Placement {
  readonly memory: WebAssembly.Memory;
  /** Byte offset of θ for this step (copying or moving data as the place needs). */
  params(item: StepItem): number;
  /** Byte offset of g for this step, given where every θ of the step is. */
  grads(item: StepItem, thetas: ReadonlySet<number>): number;
  /** After the kernel ran: make θ the variable's value. */
  commit(item: StepItem, size: number): void;
  /** Tensors made by params() or grads() for this step only. */
  temporaries: tf.Tensor[];
  free(): void;
}

/** A private copy of `t` on the current backend. */
const copyOf = (t: tf.Tensor): tf.Tensor => tf.tensor(t.dataSync() as Float32Array, t.shape, "float32");

/** In place in tfjs-backend-wasm's heap. */
class HeapPlacement implements Placement {
  readonly memory: WebAssembly.Memory;
  temporaries: tf.Tensor[] = [];
  readonly #heap: WasmHeap;
  readonly #block: number;

  constructor(heap: WasmHeap, block: number) {
    this.memory = heap.memory;
    this.#heap = heap;
    this.#block = block;
  }

  params(item: StepItem): number {
    const v = item.variable;
    // The kernel writes θ where it is. That is safe only when the variable is the one
    // tensor holding that data: tf.variable(t) shares t's data while t lives, and so do
    // clones and reshapes (tfjs counts them in the data's refCount). Tensors are immutable
    // to everyone else, so a shared θ first gets a private copy; from then on the variable
    // is its only holder. (The data map also moves data that lives on another backend.)
    if (this.#heap.data(v.dataId)!.refCount > 1) {
      const own = copyOf(v);
      v.assign(own);
      own.dispose();
    }
    // Offsets, unlike views, survive the heap growing during later allocations.
    return this.#heap.data(v.dataId)!.memoryOffset;
  }

  grads(item: StepItem, thetas: ReadonlySet<number>): number {
    let grad = item.grad;
    // The kernel's arrays must not overlap: a gradient that is some variable's own data
    // (θ itself, say) could be read after the kernel wrote it. Read a copy instead.
    if (thetas.has(this.#heap.data(grad.dataId)!.memoryOffset)) {
      grad = copyOf(grad);
      this.temporaries.push(grad);
    }
    return this.#heap.data(grad.dataId)!.memoryOffset;
  }

  commit(item: StepItem, size: number): void {
    // θ changed where it lives; the backend must drop what it cached about the old values.
    this.#heap.changed(item.variable.dataId, size);
  }

  free(): void {
    // A disposed backend took its heap, and our block, with it.
    if (this.#heap.alive()) this.#heap.free(this.#block);
  }
}

/** In a memory of the adapter's own, with one copy each way. */
class OwnPlacement implements Placement {
  readonly memory: WebAssembly.Memory;
  temporaries: tf.Tensor[] = [];
  readonly #slots: SlotOffsets[];
  /** The data each variable had when θ was last copied in or out. */
  readonly #synced: (object | undefined)[];

  constructor(memory: WebAssembly.Memory, slots: SlotOffsets[]) {
    this.memory = memory;
    this.#slots = slots;
    this.#synced = slots.map(() => undefined);
  }

  params(item: StepItem): number {
    const at = this.#slots[item.slot].params;
    // Every assign gives a variable new data, so an unchanged dataId means an unchanged θ.
    if (item.variable.dataId !== this.#synced[item.slot]) {
      new Float32Array(this.memory.buffer).set(item.variable.dataSync() as Float32Array, at >>> 2);
    }
    return at;
  }

  grads(item: StepItem): number {
    const at = this.#slots[item.slot].grads;
    new Float32Array(this.memory.buffer).set(item.grad.dataSync() as Float32Array, at >>> 2);
    return at;
  }

  commit(item: StepItem, size: number): void {
    const at = this.#slots[item.slot].params;
    // The one copy out: the new tensor owns its values, so a later step never changes a
    // tensor that someone may still hold (tfjs-backend-cpu keeps the array as it is).
    const theta = tf.tensor(new Float32Array(this.memory.buffer, at, size).slice(), item.variable.shape, "float32");
    item.variable.assign(theta);
    theta.dispose();
    this.#synced[item.slot] = item.variable.dataId;
  }

  free(): void {
    // Dropping the references frees the memory.
  }
}

/** The step engine of one optimizer: its slots, their place, and the kernel. */
export class SlotEngine {
  readonly #placement: Placement;
  readonly #slots: SlotOffsets[];
  readonly #sizes: number[];
  readonly #kernel: KernelExports | undefined;
  #buffer: ArrayBufferLike | undefined;
  #u32 = new Uint32Array(0);
  #f32 = new Float32Array(0);

  constructor(placement: Placement, slots: SlotOffsets[], sizes: number[], module: WebAssembly.Module | undefined) {
    this.#placement = placement;
    this.#slots = slots;
    this.#sizes = sizes;
    this.#kernel = module && bindKernel(module, placement.memory);
  }

  /**
   * Runs one step over `items`. Every gradient is checked for NaN/±∞ (unless `check` is
   * false) before any variable is touched; the first bad one is returned and nothing is
   * applied.
   */
  step(items: readonly StepItem[], check: boolean): NonFinite | undefined {
    const place = this.#placement;
    try {
      const params = items.map((item) => place.params(item));
      const thetas = new Set(params);
      const staged = items.map((item, k) => ({ params: params[k], grads: place.grads(item, thetas) }));
      this.#refreshViews(); // staging may have grown the heap, which detaches old views
      if (check) {
        for (let k = 0; k < items.length; k++) {
          const size = this.#sizes[items[k].slot];
          const bad = this.#kernel
            ? this.#kernel.first_nonfinite_f32(staged[k].grads, size)
            : referenceFirstNonFinite(this.#view(staged[k].grads, size));
          if (bad >= 0) return { item: items[k], index: bad, value: this.#f32[(staged[k].grads >>> 2) + bad] };
        }
      }
      items.forEach((item, k) => {
        const slot = this.#slots[item.slot];
        const size = this.#sizes[item.slot];
        const arrays = { ...slot, params: staged[k].params, grads: staged[k].grads };
        if (this.#kernel) {
          writeStepArgs(this.#u32, this.#f32, slot.args, arrays, size, item.scalars);
          this.#kernel.step(item.flags, slot.args);
        } else {
          const view = (at: number) => (at ? this.#view(at, size) : undefined);
          referenceStep(item.flags, item.scalars, {
            params: this.#view(arrays.params, size),
            grads: this.#view(arrays.grads, size),
            sqAvg: this.#view(arrays.sqAvg, size),
            momentumBuffer: view(arrays.momentumBuffer),
            gradAvg: view(arrays.gradAvg),
          });
        }
      });
      for (const item of items) place.commit(item, this.#sizes[item.slot]);
      return undefined;
    } finally {
      tf.dispose(place.temporaries);
      place.temporaries = [];
    }
  }

  /** A live view of a slot's state array, or undefined when the slot does not keep it. */
  state(slot: number, name: StateName): Float32Array | undefined {
    const at = this.#slots[slot][name];
    this.#refreshViews();
    return at ? this.#view(at, this.#sizes[slot]) : undefined;
  }

  free(): void {
    this.#placement.free();
  }

  #view(at: number, size: number): Float32Array {
    return this.#f32.subarray(at >>> 2, (at >>> 2) + size);
  }

  #refreshViews(): void {
    const buffer = this.#placement.memory.buffer;
    if (buffer === this.#buffer) return;
    this.#buffer = buffer;
    this.#u32 = new Uint32Array(buffer);
    this.#f32 = new Float32Array(buffer);
  }
}

/** Fills each slot's S with its initial value (the rest of the state starts at 0). */
function clearState(engine: SlotEngine, needs: readonly (SlotNeeds & { initialScale: number })[]): void {
  needs.forEach((need, i) => {
    engine.state(i, "sqAvg")!.fill(need.initialScale);
    engine.state(i, "momentumBuffer")?.fill(0);
    engine.state(i, "gradAvg")?.fill(0);
  });
}

/**
 * An engine for slots with these needs: in `heap` when given, else in a memory of its own.
 * `module` is the compiled kernel build for that memory, or undefined for the reference.
 */
export function createEngine(
  heap: WasmHeap | undefined,
  needs: readonly (SlotNeeds & { initialScale: number })[],
  module: WebAssembly.Module | undefined,
): SlotEngine {
  const sizes = needs.map((n) => n.size);
  const total = sizes.reduce((a, b) => a + b, 0);
  const tooBig = (bytes: number) =>
    new RangeError(`the variables hold ${total} parameters, whose arrays need ${bytes} bytes: more than the 4 GiB of wasm32 memory`);
  let engine: SlotEngine;
  if (heap) {
    const { end } = layoutSlots(needs, false, 0);
    if (end + SLOT_ALIGN > MAX_BYTES) throw tooBig(end);
    const block = heap.malloc(end + SLOT_ALIGN);
    if (block === 0) throw new RangeError(`tfjs-backend-wasm could not allocate ${end} bytes for the optimizer state of ${total} parameters`);
    const { slots } = layoutSlots(needs, false, Math.ceil(block / SLOT_ALIGN) * SLOT_ALIGN);
    engine = new SlotEngine(new HeapPlacement(heap, block), slots, sizes, module);
  } else {
    const { slots, end } = layoutSlots(needs, true, 0);
    if (end > MAX_BYTES) throw tooBig(end);
    const pages = Math.max(1, Math.ceil(end / WASM_PAGE_BYTES));
    let memory: WebAssembly.Memory;
    try {
      memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    } catch (cause) {
      throw new RangeError(`could not allocate ${end} bytes for the optimizer state of ${total} parameters`, { cause });
    }
    engine = new SlotEngine(new OwnPlacement(memory, slots), slots, sizes, module);
  }
  clearState(engine, needs);
  return engine;
}
