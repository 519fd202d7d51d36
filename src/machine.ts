// How many threads this machine runs at once: what `threads: "auto"` uses, and where an
// explicit `threads` is clamped (more threads than cores only take turns, and a step waits
// for the slowest share: `threads: 64` on 2 cores ran 2.3× slower than 2 threads).

/** Test hook: a thread count to use instead of the machine's (tests of 3 or 4 threads on 2 cores). */
export const machineOverride: { threads: number | undefined } = { threads: undefined };

/** Most threads an optimizer runs (the pool's share count allows no more). */
export const MAX_THREADS = 64;

/**
 * The machine's logical cores as the runtime reports them: os.availableParallelism (Node
 * 18.14 on, also in Deno and Bun), else navigator.hardwareConcurrency (browsers, Deno, Bun,
 * Node 21 on); undefined where neither is known.
 */
function detected(): number | undefined {
  try {
    type Os = { availableParallelism?: () => number; cpus?: () => unknown[] };
    const p = (globalThis as { process?: { getBuiltinModule?: (id: string) => Os | undefined } }).process;
    const os = p?.getBuiltinModule?.("node:os");
    const n = os?.availableParallelism?.() ?? os?.cpus?.().length;
    if (typeof n === "number" && n >= 1) return Math.floor(n);
  } catch {
    // no node:os here
  }
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === "number" && n >= 1 ? Math.floor(n) : undefined;
}

/**
 * The threads options.threads asks for on this machine: a number is clamped to the cores
 * (when the runtime says how many), "auto" is every core (1 when the runtime does not say).
 */
export function requestedThreads(threads: number | "auto"): number {
  const cores = machineOverride.threads ?? detected();
  const cap = Math.max(1, Math.min(MAX_THREADS, cores ?? MAX_THREADS));
  if (threads === "auto") return cores === undefined ? 1 : cap;
  return Math.min(threads, cap);
}
