// The one place that decides which kernel runs. Compiled modules are cached: the first
// optimizer of a kind pays for decoding and compiling, every later one only instantiates.
import { hasSimd } from "./features.ts";
import { scalarWasmBase64, simdWasmBase64 } from "./generated/wasm-bytes.ts";
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

const sources: Record<WasmBackend, string> = { simd: simdWasmBase64, scalar: scalarWasmBase64 };
const compiled = new Map<WasmBackend, Promise<WebAssembly.Module>>();

/** The compiled kernel of a backend, compiled on first use and then shared. */
export function kernelModule(backend: WasmBackend): Promise<WebAssembly.Module> {
  let module = compiled.get(backend);
  if (!module) {
    module = WebAssembly.compile(decodeBase64(sources[backend]));
    compiled.set(backend, module);
  }
  return module;
}

/** The raw bytes of a backend's kernel (for embedding and for the traffic probe). */
export function kernelBytes(backend: WasmBackend): Uint8Array<ArrayBuffer> {
  return decodeBase64(sources[backend]);
}
