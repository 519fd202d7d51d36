// The kernel as an import object for a wasm module written in C, C++, Rust or Zig that
// declares `step` and `first_nonfinite_f32` from the module "rmsprop-wasm"
// (include/rmsprop-wasm.h) and shares one memory with it.
import { chooseBackend, kernelBuild, kernelModule, type WasmBackend } from "./backend.ts";
import { isSharedBuffer } from "./features.ts";
import { bindKernel, type KernelExports } from "./kernel-abi.ts";
import { checkBoolean, checkKeys, oneOf } from "./options.ts";
import { describe } from "./own.ts";
import type { WasmMemory } from "./wasm-types.ts";

/** Options of {@link instantiateKernel}. */
export interface KernelOptions {
  /** "auto" picks SIMD where the engine validates it, as createRmsprop does. Default "auto". */
  backend?: "auto" | "simd" | "scalar";
  /**
   * Which build you expect: the one importing a shared memory (for a consumer built with
   * threads) or an ordinary one. The memory decides; this only checks that it agrees.
   * Default: whatever the memory is.
   */
  shared?: boolean;
}

export type { KernelExports };

const backends = ["auto", "simd", "scalar"] as const;

/**
 * Instantiates the kernel on `memory`, from the same cached compiled module createRmsprop
 * uses, and returns its exports (step, step_range, first_nonfinite_f32, sum_squares_f32): pass them as the `"rmsprop-wasm"` import object of
 * your module. A shared memory gets the build that imports a shared memory.
 *
 * @example
 * ```ts
 * const memory = new WebAssembly.Memory({ initial: 16 });
 * const kernel = await instantiateKernel(memory);
 * const { instance } = await WebAssembly.instantiate(modelBytes, { env: { memory }, "rmsprop-wasm": kernel });
 * instance.exports.train_step(); // C code that calls rmsprop_step(flags, &args)
 * ```
 * @throws TypeError when `memory` is not a WebAssembly.Memory or an option is unknown or
 *   of the wrong kind; RangeError for a memory of 0 pages, the "js" backend or a `shared`
 *   the memory does not match; Error when "simd" is asked of an engine without SIMD.
 */
export async function instantiateKernel(memory: WasmMemory, options?: KernelOptions): Promise<KernelExports> {
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new TypeError(`instantiateKernel(memory): memory must be a WebAssembly.Memory; got ${describe(memory)}`);
  }
  // Every offset the kernel takes is into this memory: with no pages, any call would trap.
  if (memory.buffer.byteLength === 0) {
    throw new RangeError("instantiateKernel(memory): memory has 0 pages; the arrays and StepArgs blocks the kernel reads live in it: grow it first (memory.grow(pages))");
  }
  const given = checkKeys("options", options, ["backend", "shared"]);
  const requested = given.backend === undefined ? "auto" : given.backend; // null is a value, judged below
  if (requested === "js") {
    throw new RangeError('options.backend "js" has no wasm kernel to instantiate; use "auto", "simd" or "scalar"');
  }
  const backend = oneOf("options.backend", requested, backends);
  const shared = isSharedBuffer(memory.buffer);
  if (given.shared !== undefined && checkBoolean("options.shared", given.shared) !== shared) {
    throw new RangeError(
      `options.shared is ${given.shared} but the memory is ${shared ? "shared" : "not shared"}; ` +
        "the kernel and your module import the same memory, so create it with shared: " + given.shared,
    );
  }
  // chooseBackend maps "auto", "simd" and "scalar" to "simd" or "scalar", never to "js".
  const build = kernelBuild(chooseBackend(backend) as WasmBackend, shared);
  return bindKernel(await kernelModule(build), memory);
}
