// What the adapter needs to know about the tfjs backend that holds the tensors: whether it
// is a GPU backend (refused), and, for tfjs-backend-wasm, a typed handle on its heap.
import * as tf from "@tensorflow/tfjs-core";
import { isSharedBuffer } from "../features.ts";

/** Backends whose tensors live on a GPU. */
const GPU_BACKENDS: readonly string[] = ["webgl", "webgpu"];

/** The current tfjs backend's name; throws for a GPU backend. */
export function checkedBackendName(): string {
  const name = tf.getBackend();
  if (GPU_BACKENDS.includes(name)) {
    throw new Error(
      `rmsprop-wasm/tfjs does not run on the tfjs backend "${name}": its tensors live on the GPU, and copying them ` +
        `to the CPU and back every step would be slower than tf.train.rmsprop; use tf.train.rmsprop there, ` +
        `or the "cpu" or "wasm" backend`,
    );
  }
  return name;
}

// The parts of tfjs-backend-wasm 4.x (src/backend_wasm.ts) used here: the emscripten
// module and the data map, which gives each tensor's byte offset in the heap and the
// number of tensors sharing that data.
interface EmscriptenModule {
  _malloc(bytes: number): number;
  _free(ptr: number): void;
  HEAPU8: Uint8Array;
  /** The threaded build keeps its shared memory here. */
  wasmMemory?: WebAssembly.Memory;
  /** The single-threaded build exports its memory from the instance. */
  asm?: { memory?: WebAssembly.Memory };
  /** The C++ side's tensor registry (src/cc/backend.cc), keyed by the data's `id`. */
  tfjs?: {
    registerTensor(id: number, size: number, memoryOffset: number): void;
    disposeData(id: number): void;
  };
}
interface WasmTensorData {
  id: number;
  memoryOffset: number;
  refCount: number;
}
interface WasmBackendInternals {
  wasm: EmscriptenModule | null;
  dataIdMap: { get(dataId: object): WasmTensorData | undefined };
}

/** tfjs-backend-wasm's heap: its memory, its allocator and where each tensor lives. */
export interface WasmHeap {
  readonly backend: tf.KernelBackend;
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  /** Byte offset of a block of `bytes`, or 0 when the heap is full. */
  malloc(bytes: number): number;
  free(ptr: number): void;
  /** False once the backend is disposed (its heap is gone with it). */
  alive(): boolean;
  /** Where a tensor's data lives in this heap (moved here first if it lived on another backend). */
  data(dataId: object): WasmTensorData | undefined;
  /**
   * Tells the backend that the data of `dataId` (`size` elements) changed in place. Its
   * kernels cache work per tensor id (XNNPACK operators holding a packed copy of a matmul's
   * weights, dropped by the registry's disposal callbacks) on the promise that tensors never
   * change. Unregistering and registering the same id, offset and size runs those callbacks
   * and nothing else: the memory is freed by the JS side, which is not asked to.
   */
  changed(dataId: object, size: number): void;
}

/**
 * The current backend's heap when it is tfjs-backend-wasm and its memory can be found and
 * checked to be the heap the tensors live in; undefined otherwise (the caller copies).
 */
export function currentWasmHeap(): WasmHeap | undefined {
  if (tf.getBackend() !== "wasm") return undefined;
  const backend = tf.backend();
  const internals = backend as unknown as Partial<WasmBackendInternals>;
  const module = internals.wasm;
  const dataIdMap = internals.dataIdMap;
  const registry = module?.tfjs;
  if (!module || !dataIdMap || typeof module._malloc !== "function" || typeof module._free !== "function") return undefined;
  if (typeof registry?.registerTensor !== "function" || typeof registry.disposeData !== "function") return undefined;
  const memory = module.wasmMemory ?? module.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory) || !(module.HEAPU8 instanceof Uint8Array)) return undefined;
  const shared = isSharedBuffer(memory.buffer);
  // The heap views are rebuilt by emscripten on every grow; this memory must be theirs.
  if (shared ? memory.buffer.byteLength !== module.HEAPU8.buffer.byteLength : memory.buffer !== module.HEAPU8.buffer) {
    return undefined;
  }
  return {
    backend,
    memory,
    shared,
    // `>>> 0`: emscripten returns a signed i32, negative above 2 GiB.
    malloc: (bytes) => module._malloc(bytes) >>> 0,
    free: (ptr) => module._free(ptr),
    alive: () => internals.wasm === module && tf.findBackend("wasm") === backend,
    data: (dataId) => dataIdMap.get(dataId),
    changed: (dataId, size) => {
      const { id, memoryOffset } = dataIdMap.get(dataId)!;
      registry.disposeData(id);
      registry.registerTensor(id, size, memoryOffset);
    },
  };
}
