// Feature detection the wasm-feature-detect way: a tiny hand-assembled module handed to
// WebAssembly.validate. Nothing is compiled or run.

// (module (func (result v128) i32.const 0 i8x16.splat))
const simdProbe = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, //       type section: () -> v128
  0x03, 0x02, 0x01, 0x00, //                         function section: one func of type 0
  0x0a, 0x08, 0x01, 0x06, 0x00, 0x41, 0x00, 0xfd, 0x0f, 0x0b, // code: i32.const 0; i8x16.splat; end
]);

let simd: boolean | undefined;

/** True where the engine validates 128-bit SIMD. */
export function hasSimd(): boolean {
  simd ??= typeof WebAssembly === "object" && WebAssembly.validate(simdProbe);
  return simd;
}

// (module (memory 1 1 shared))
const sharedMemoryProbe = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x05, 0x04, 0x01, 0x03, 0x01, 0x01, //             memory section: flags 3 (max, shared), min 1, max 1
]);

/**
 * Whether `buffer` is shared memory. Asked of the object itself, never of a global name:
 * WebKit hides the SharedArrayBuffer constructor even where a shared wasm memory works, so
 * `instanceof SharedArrayBuffer` would throw there.
 */
export function isSharedBuffer(buffer: ArrayBufferLike): boolean {
  return Object.prototype.toString.call(buffer) === "[object SharedArrayBuffer]";
}

/**
 * Whether a shared memory can be posted to another thread, asked of a MessageChannel (it
 * serializes as postMessage to a worker does). WebKitGTK and WPE WebKit create a shared
 * WebAssembly.Memory but refuse to send it: they ship with SharedArrayBuffer turned off.
 */
function canSendShared(memory: WebAssembly.Memory): boolean {
  if (typeof MessageChannel !== "function") return true; // nothing to ask here; starting the workers will tell
  const { port1, port2 } = new MessageChannel();
  try {
    port1.postMessage(memory);
    return true;
  } catch {
    return false;
  } finally {
    port1.close();
    port2.close();
  }
}

/** What keeps a shared WebAssembly.Memory from working across threads here, if anything. */
function sharedMemoryProblem(): string | undefined {
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch {
    return "this engine cannot create a shared WebAssembly.Memory";
  }
  if (!isSharedBuffer(memory.buffer)) return "this engine cannot create a shared WebAssembly.Memory";
  if (!canSendShared(memory)) {
    return "this engine cannot send a shared WebAssembly.Memory to a worker (WebKitGTK and WPE WebKit ship with SharedArrayBuffer turned off)";
  }
  return undefined;
}

/** True once shared memory worked here; a failure is not remembered (it may be a brief shortage). */
let sharedMemoryWorks = false;

const isNodeLike = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === "string";

/**
 * Why threads cannot run here, or undefined when they can. They need what the code uses,
 * detected directly: Atomics, a shared WebAssembly.Memory whose buffer really is shared
 * and that can be sent to a worker, and, in a browser, a cross-origin isolated page.
 */
export function threadsUnavailable(): string | undefined {
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) {
    return (
      "this page is not cross-origin isolated; serve it with the headers " +
      "Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp"
    );
  }
  if (typeof Atomics !== "object" || typeof Atomics.wait !== "function") return "this engine has no Atomics.wait";
  if (!WebAssembly.validate(sharedMemoryProbe)) return "this engine does not validate WebAssembly shared memory";
  if (isNodeLike) {
    // Node, Deno and Bun (node:worker_threads) send shared memories, unless shared memory is
    // off (node --no-harmony-sharedarraybuffer, where V8 aborts the process on a shared
    // WebAssembly.Memory) or the program removed the global: then no threads. The probe
    // below is for browsers that ship with SharedArrayBuffer off; it costs a wasm memory,
    // which V8 backs with about 10 GiB of address space until a GC.
    return typeof (globalThis as { SharedArrayBuffer?: unknown }).SharedArrayBuffer === "function"
      ? undefined
      : "SharedArrayBuffer is not available here (node --no-harmony-sharedarraybuffer, or the global was removed)";
  }
  return sharedMemoryCheck();
}

/**
 * What keeps shared memory from working, probed until it works once: a failure is asked
 * again next time (an allocation may fail in a brief shortage), a success is remembered.
 */
export function sharedMemoryCheck(): string | undefined {
  if (sharedMemoryWorks) return undefined;
  const problem = sharedMemoryProblem();
  sharedMemoryWorks = problem === undefined;
  return problem;
}

/** True in Node, and in Deno and Bun, which answer to process.versions.node too. */
export const isNode = Boolean((globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node);

/** Test hook: whether this thread may block, instead of the answer below (Node tests of a window's main thread). */
export const blockingOverride: { value: boolean | undefined } = { value: undefined };

/**
 * Whether this thread may block in Atomics.wait: any Node thread (even with a DOM shim
 * such as jsdom installed), a worker, but not a browser window's main thread.
 */
export function canBlock(): boolean {
  if (blockingOverride.value !== undefined) return blockingOverride.value;
  if (isNode) return true;
  const g = globalThis as { window?: unknown; document?: unknown };
  return g.window === undefined || g.document === undefined;
}

