// Where a step's θ and g are, and how θ gets back to its variable, in one of two places:
//
// - In place, in tfjs-backend-wasm's heap. θ and g are the tensors' own data, found
//   through the backend's data map. No copies.
// - In a memory of the adapter's own, for every other (CPU-side) backend: each step copies
//   g in once and hands θ back once as a new tensor; θ is read in only when something
//   other than this optimizer assigned the variable.
import * as tf from "@tensorflow/tfjs-core";
import type { WasmHeap } from "./backends.ts";
import type { SlotOffsets } from "./slots.ts";

/** One variable's part of a step: the variable, its gradient, and its slot. */
export interface PlacedItem {
  slot: number;
  variable: tf.Variable;
  grad: tf.Tensor;
}

/** Where θ and g of a step are, and how θ gets back to its variable. */
export interface Placement {
  readonly memory: WebAssembly.Memory;
  /** Byte offset of θ for this step (copying or moving data as the place needs). */
  params(item: PlacedItem): number;
  /** Byte offset of g for this step, given where every θ of the step is. */
  grads(item: PlacedItem, thetas: ReadonlySet<number>): number;
  /** After the kernel ran: make θ the variable's value. */
  commit(item: PlacedItem, size: number): void;
  /** Tensors made by params() or grads() for this step only. */
  temporaries: tf.Tensor[];
  free(): void;
}

/** A private copy of `t` on the current backend. */
const copyOf = (t: tf.Tensor): tf.Tensor => tf.tensor(t.dataSync() as Float32Array, t.shape, "float32");

/** In place in tfjs-backend-wasm's heap. */
export class HeapPlacement implements Placement {
  readonly memory: WebAssembly.Memory;
  temporaries: tf.Tensor[] = [];
  readonly #heap: WasmHeap;
  readonly #block: number;

  constructor(heap: WasmHeap, block: number) {
    this.memory = heap.memory;
    this.#heap = heap;
    this.#block = block;
  }

  params(item: PlacedItem): number {
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

  grads(item: PlacedItem, thetas: ReadonlySet<number>): number {
    let grad = item.grad;
    // The kernel's arrays must not overlap: a gradient that is some variable's own data
    // (θ itself, say) could be read after the kernel wrote it. Read a copy instead.
    if (thetas.has(this.#heap.data(grad.dataId)!.memoryOffset)) {
      grad = copyOf(grad);
      this.temporaries.push(grad);
    }
    return this.#heap.data(grad.dataId)!.memoryOffset;
  }

  commit(item: PlacedItem, size: number): void {
    // θ changed where it lives; the backend must drop what it cached about the old values.
    this.#heap.changed(item.variable.dataId, size);
  }

  free(): void {
    // A disposed backend took its heap, and our block, with it.
    if (this.#heap.alive()) this.#heap.free(this.#block);
  }
}

/** In a memory of the adapter's own, with one copy each way. */
export class OwnPlacement implements Placement {
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

  params(item: PlacedItem): number {
    const at = this.#slots[item.slot].params;
    // Every assign gives a variable new data, so an unchanged dataId means an unchanged θ.
    if (item.variable.dataId !== this.#synced[item.slot]) {
      new Float32Array(this.memory.buffer).set(item.variable.dataSync() as Float32Array, at >>> 2);
    }
    return at;
  }

  grads(item: PlacedItem): number {
    const at = this.#slots[item.slot].grads;
    new Float32Array(this.memory.buffer).set(item.grad.dataSync() as Float32Array, at >>> 2);
    return at;
  }

  commit(item: PlacedItem, size: number): void {
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
