// The one place that decides which kernel runs. Compiled modules are cached: the first
// optimizer of a kind pays for loading, inflating and compiling, every later one only
// instantiates.
import { hasSimd } from "./features.ts";
import type { Backend } from "./options.ts";
import type { WasmModule } from "./wasm-types.ts";

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

/** A generated module (scripts/package-wasm.mjs): one build's wasm, gzip-compressed, in base64. */
interface GeneratedWasm {
  wasmGzipBase64: string;
}

// One module per build, each behind a dynamic import() with a literal path: bundlers split
// every build into a chunk of its own, so a page downloads only the build it runs.
const sources: Record<KernelBuild, () => Promise<GeneratedWasm>> = {
  simd: () => import("./generated/wasm-simd.ts"),
  scalar: () => import("./generated/wasm-scalar.ts"),
  simdShared: () => import("./generated/wasm-simd-shared.ts"),
  scalarShared: () => import("./generated/wasm-scalar-shared.ts"),
};
const compiled = new Map<KernelBuild, Promise<WasmModule>>();

/**
 * Inflates gzip bytes with the platform's DecompressionStream (Node ≥ 18, Deno, Bun and
 * every current browser, in pages and workers), so no inflate code ships in the package.
 */
async function gunzip(bytes: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer> {
  if (typeof DecompressionStream !== "function") {
    throw new Error("rmsprop-wasm needs DecompressionStream to unpack its wasm kernel, which this engine lacks (Node >= 18 and current browsers have it)");
  }
  // Read by hand, not through `new Response(stream)`: in Node, Response is undici's, whose
  // first use instantiates its own wasm HTTP parser and so reserves address space for a
  // memory (about 10 GiB in V8) that a process under a limit (ulimit -v) needs for threads.
  const reader = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip")).getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    chunks.push(r.value);
    length += r.value.length;
  }
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out.buffer;
}

async function compileBuild(build: KernelBuild): Promise<WasmModule> {
  const { wasmGzipBase64 } = await sources[build]();
  return WebAssembly.compile(await gunzip(decodeBase64(wasmGzipBase64)));
}

/** The build that runs `backend`, on shared memory when threads need it. */
export function kernelBuild(backend: WasmBackend, shared: boolean): KernelBuild {
  return shared ? `${backend}Shared` : backend;
}

/** A compiled kernel build, loaded and compiled on first use, then shared by every optimizer. */
export function kernelModule(build: KernelBuild): Promise<WasmModule> {
  let module = compiled.get(build);
  if (!module) {
    module = compileBuild(build);
    compiled.set(build, module);
  }
  return module;
}
