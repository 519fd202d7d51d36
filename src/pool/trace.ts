// A timeline of regions, for measuring where a threaded step's time goes (the breakdown in
// docs/threads.md, bench/experiments/region-breakdown.mjs). Off unless a test or an
// experiment turns it on before the pool starts (testing.trace): then every thread records
// its events into its own part of one shared buffer, as (time, event, argument) triples on
// the pool's clock. Off, each event costs one test of a module variable.
import { clockUs } from "./cadence.ts";

/** What happened, as recorded. */
export const TRACE = {
  /** The caller starts a threaded step (before it writes the StepArgs blocks). */
  begin: 1,
  /** The caller has opened the region (the ticket is out). */
  opened: 2,
  /** The caller has woken the workers it needed (argument: how many it had to wake). */
  woken: 3,
  /** A worker sees the region (argument: 1 if it had slept on the futex). */
  seen: 4,
  /** A share's work starts / ends (argument: 100·phase + share). */
  shareStart: 5,
  shareEnd: 6,
  /** A thread waits at the barrier or the end / passes it (argument: phase). */
  wait: 7,
  met: 8,
  /** The caller's step is over. */
  end: 9,
  /** A worker goes to sleep (argument: µs until its pre-wake, or −1 until woken). */
  sleep: 10,
  /** A worker woke for the cadence and polls (argument: the window, µs). */
  window: 11,
} as const;

/** Triples per thread in the buffer; the first triple's time holds the count. */
export const TRACE_TRIPLES = 16384;

let record: ((thread: number, event: number, argument: number) => void) | undefined;

/** Records an event of `thread`, if tracing is on. */
export function trace(thread: number, event: number, argument = 0): void {
  record?.(thread, event, argument);
}

/** Turns tracing on in this thread, into `buffer` (f64: threads × TRACE_TRIPLES × 3), on the pool clock of `epoch`. */
export function startTrace(buffer: SharedArrayBuffer, epoch: number): void {
  const f64 = new Float64Array(buffer);
  record = (thread, event, argument) => {
    const base = thread * TRACE_TRIPLES * 3;
    const k = f64[base] + 1;
    if (k >= TRACE_TRIPLES) return;
    f64[base] = k;
    f64[base + 3 * k] = clockUs(epoch);
    f64[base + 3 * k + 1] = event;
    f64[base + 3 * k + 2] = argument;
  };
}

/** The recorded events of every thread, in time order: [µs, thread, event, argument]. */
export function readTrace(buffer: SharedArrayBuffer, threads: number): [number, number, number, number][] {
  const f64 = new Float64Array(buffer);
  const events: [number, number, number, number][] = [];
  for (let t = 0; t < threads; t++) {
    const base = t * TRACE_TRIPLES * 3;
    for (let k = 1; k <= f64[base]; k++) events.push([f64[base + 3 * k], t, f64[base + 3 * k + 1], f64[base + 3 * k + 2]]);
  }
  return events.sort((a, b) => a[0] - b[0]);
}

/** A buffer for `threads` threads' traces. */
export const traceBuffer = (threads: number): SharedArrayBuffer => new SharedArrayBuffer(8 * threads * TRACE_TRIPLES * 3);
