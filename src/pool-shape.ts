// The shape of the thread pool's work, apart from the pool itself: how many shares a step is
// cut into, and the words every optimizer's block reserves at its start. The layout needs
// these for every optimizer; the pool's code (src/thread-pool.ts) is loaded only when an
// optimizer has threads.

/** Most shares a step is cut into. */
export const MAX_SHARES = 64;

/**
 * Words the layout reserves at the start of an optimizer's block. They once held the
 * threads' control block, which now lives in the pool's own memory; they hold the guard
 * that catches writes through opt.params.buffer (src/guard.ts).
 */
export const CONTROL_WORDS = 16 + 2 * MAX_SHARES;

/**
 * Shares per thread: enough that a thread waking late still takes part in a step, few
 * enough that claiming one (a compare-exchange and a kernel call) stays negligible.
 */
const SHARES_PER_THREAD = 4;

/** How many shares a step on `threads` threads is cut into (1 on one thread). */
export function shareCount(threads: number): number {
  return threads === 1 ? 1 : threads * Math.max(1, Math.min(SHARES_PER_THREAD, Math.floor(MAX_SHARES / threads)));
}

/**
 * Header words (from the block's start) where an optimizer on a shared options.memory
 * records its claim on the bytes (src/placements.ts); the guard (src/guard.ts) leaves them.
 */
export const CLAIM_WORDS = [2, 7] as const;
