// The shares each thread ran, from the pool's timeline (src/pool/trace.ts), for the
// experiments that cut it: region-breakdown.mjs and late-worker.mjs.
import { TRACE } from "../../dist/pool/trace.js";

/**
 * Each share a thread ran in `events` (time order, as readTrace gives them): its thread,
 * phase (0: the scan, 1: the step), share, start and length in µs.
 */
export function shareSpans(events) {
  const started = new Map();
  const spans = [];
  for (const [us, thread, event, argument] of events) {
    if (event === TRACE.shareStart) started.set(thread, us);
    else if (event === TRACE.shareEnd) {
      const startUs = started.get(thread);
      spans.push({ thread, phase: Math.floor(argument / 100), share: argument % 100, startUs, us: us - startUs });
    }
  }
  return spans;
}
