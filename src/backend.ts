// The one place that decides which kernel runs. Compiled modules are cached: the first
// optimizer of a kind pays for decoding and compiling, every later one only instantiates.
import { hasSimd } from "./features.ts";
import { scalarSharedWasmBase64, scalarWasmBase64, simdSharedWasmBase64, simdWasmBase64 } from "./generated/wasm-bytes.ts";
import type { Backend } from "./options.ts";

/** A backend after "auto" is resolved. */
export type ConcreteBackend = Exclude<Backend, "auto">;
/** The backends that run a wasm kernel. */
export type WasmBackend = "simd" | "scalar";

/** Resolves "auto", and fails clearly when "simd" is asked of an engine without it. */
export function chooseBackend(requested: Backend): ConcreteBackend {
  if (requested === "auto") return hasSimd() ? "simd" : "scalar";
  if (requested === "simd" && !hasSimd()) {
    throw new Error('options.backend "simd" needs WebAssembly SIMD, which this engine lacks; use "auto" or "scalar"');
  }
  return requested;
}

function decodeBase64(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** Which build: per backend, one importing an ordinary memory and one a shared memory. */
export type KernelBuild = `${WasmBackend}${"" | "Shared"}`;

const sources: Record<KernelBuild, string> = {
  simd: simdWasmBase64,
  scalar: scalarWasmBase64,
  simdShared: simdSharedWasmBase64,
  scalarShared: scalarSharedWasmBase64,
};
const compiled = new Map<KernelBuild, Promise<WebAssembly.Module>>();

/** The build that runs `backend`, on shared memory when threads need it. */
export function kernelBuild(backend: WasmBackend, shared: boolean): KernelBuild {
  return shared ? `${backend}Shared` : backend;
}

/** A compiled kernel build, compiled on first use and then shared by every optimizer. */
export function kernelModule(build: KernelBuild): Promise<WebAssembly.Module> {
  let module = compiled.get(build);
  if (!module) {
    module = WebAssembly.compile(decodeBase64(sources[build]));
    compiled.set(build, module);
  }
  return module;
}
