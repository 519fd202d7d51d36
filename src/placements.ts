// Which byte ranges of a shared `options.memory` the live optimizers occupy, so that a
// second optimizer placed over a first one is refused at creation instead of zeroing the
// first one's params (and, with threads, its StepArgs blocks) without a word.

const placed = new WeakMap<WebAssembly.Memory, Set<readonly [start: number, end: number]>>();

/**
 * Reserves bytes [start, end) of `memory`, or throws a RangeError naming the optimizer
 * already there. Returns the release, which dispose() calls.
 */
export function reservePlacement(memory: WebAssembly.Memory, start: number, end: number): () => void {
  let ranges = placed.get(memory);
  if (!ranges) placed.set(memory, (ranges = new Set()));
  for (const [s, e] of ranges) {
    if (start < e && s < end) {
      throw new RangeError(
        `options.offset ${start}: this optimizer needs bytes ${start}–${end - 1} of options.memory, but another live ` +
          `optimizer holds bytes ${s}–${e - 1}; place it at options.offset ${Math.ceil(e / 64) * 64} or later, or ` +
          "dispose() the other one first",
      );
    }
  }
  const range = [start, end] as const;
  ranges.add(range);
  return () => void ranges.delete(range);
}

/**
 * Tells the collector that `bytes` of memory just became garbage. V8 schedules a collection
 * by the external memory of ArrayBuffers, but does not count a shared WebAssembly.Memory
 * there: 60 optimizers of 120 MB created and disposed in a loop reached 3.9 GB before one
 * ran. An ArrayBuffer of the same size, allocated and dropped at once, is counted: it costs
 * a mapping of untouched (so never resident) pages, and brings the collection that frees
 * the disposed memory along with it (the same loop stays near 400 MB).
 */
export function hintReleased(bytes: number): void {
  try {
    new ArrayBuffer(bytes);
  } catch {
    // no room for the hint: the memory is still freed, later
  }
}
