// How many threads an optimizer gets, and why not more: options.threads against what runs
// here (the backend, shared memory, the page's isolation, workers that start), the
// machine's cores and the work per thread. `threads: "auto"` takes what works, falling back
// to one thread with the reason in opt.threading.fallback; an explicit count that cannot
// be met is refused at creation, naming the cause. The workers are started here, before
// the optimizer allocates its memory (see prepareThreads).
import type { ConcreteBackend } from "./backend.ts";
import { isSharedBuffer, threadsUnavailable } from "./features.ts";
import { requestedThreads } from "./machine.ts";
import type { ResolvedOptions } from "./options.ts";

/** The threads an optimizer runs, and why fewer than asked where that is so. */
export interface ThreadPlan {
  threads: number;
  fallback: string | undefined;
}

/** Whether a pool failure is one of starting the workers (not of the memory, say). */
const isStartFailure = (error: unknown): error is Error & { causes: readonly string[] } =>
  error instanceof Error && Array.isArray((error as { causes?: unknown }).causes);

/** Why threads cannot run at all here for these options, or undefined. */
function blocker(o: ResolvedOptions, backend: ConcreteBackend): string | undefined {
  if (backend === "js") return 'the "js" backend runs on the calling thread';
  if (o.memory && !isSharedBuffer(o.memory.buffer)) return "options.memory is not shared (new WebAssembly.Memory({ shared: true, … }))";
  const why = threadsUnavailable();
  return why && `threads need shared WebAssembly memory, but ${why}`;
}

/** What the options ask of threads before any is started: the count, or the reason for one. */
export interface ThreadLimit {
  threads: number;
  fallback: string | undefined;
  auto: boolean;
  /** How the options asked ("options.threads = 2"), for errors. */
  asked: string;
}

/**
 * The threads for n parameters with these options, checked before anything is started or
 * allocated: throws for an explicit count that cannot run here; "auto" falls back to one.
 */
export function threadLimit(o: ResolvedOptions, n: number, backend: ConcreteBackend): ThreadLimit {
  const auto = o.threads === "auto";
  const asked = `options.threads = ${auto ? '"auto"' : o.threads}`;
  if (o.threads === 1) return { threads: 1, fallback: undefined, auto, asked };
  const blocked = blocker(o, backend);
  if (blocked) {
    if (auto) return { threads: 1, fallback: blocked, auto, asked };
    if (backend === "js") throw new RangeError(`${asked} needs a wasm backend; options.backend is "js"`);
    if (o.memory && !isSharedBuffer(o.memory.buffer)) throw new RangeError(`${asked} needs options.memory to be shared (new WebAssembly.Memory({ shared: true, … }))`);
    throw new Error(`${asked} needs shared WebAssembly memory, but ${threadsUnavailable()}`);
  }
  const cores = requestedThreads(o.threads);
  const threads = Math.max(1, Math.min(cores, Math.floor(n / o.minParamsPerThread)));
  let fallback: string | undefined;
  if (typeof o.threads === "number" && cores < o.threads) fallback = `this machine runs ${cores} threads at once`;
  if (threads < cores) {
    fallback = `n = ${n} runs on ${threads} thread${threads === 1 ? "" : "s"}: each needs at least options.minParamsPerThread = ${o.minParamsPerThread} parameters`;
  }
  return { threads, fallback, auto, asked };
}

/**
 * Starts the pool's workers for the limit's threads; where they cannot start, "auto" falls
 * back to one thread (saying why) and an explicit count is refused, naming the cause.
 */
export async function startThreads(limit: ThreadLimit): Promise<ThreadPlan> {
  const { threads, fallback, auto, asked } = limit;
  if (threads === 1) return { threads, fallback };
  try {
    await (await import("./pool/caller.ts")).prepareThreads(threads);
  } catch (error) {
    if (!isStartFailure(error)) throw error;
    if (auto) return { threads: 1, fallback: `worker threads could not start here: ${error.causes.join("; ")}` };
    throw new Error(
      `${asked} needs worker threads, which could not start here: ${error.causes.join("; ")}. Use threads: 1, or ` +
        'threads: "auto", which falls back to one thread and says why in opt.threading.fallback',
      { cause: error },
    );
  }
  return { threads, fallback };
}
