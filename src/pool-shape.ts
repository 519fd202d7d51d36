// The shape of the thread pool's work, apart from the pool itself: how many shares a step is
// cut into and how long the control block is. The layout needs these for every optimizer;
// the pool's code (src/thread-pool.ts) is loaded only when an optimizer has threads.

/** Most shares a step is cut into. */
export const MAX_SHARES = 64;

/** Words in the control block: 16 fixed, then two claim words per share. */
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
