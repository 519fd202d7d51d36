// What a training loop does to the cache between two optimizer steps: the forward and
// backward passes read and write far more than the caches hold, so θ, g and S are gone by
// the time the next step runs. A back-to-back benchmark never sees that.

/** The scratch a forward and backward pass streams: larger than the L3 of common CPUs. */
export const SCRATCH_BYTES = 64 * 1024 * 1024;

// One read and one write per 64-byte line: the caches see every line loaded and dirtied,
// which is all that evicts; touching each element too would only add arithmetic time.
const LINE_BYTES = 64;
const stride = LINE_BYTES / Float64Array.BYTES_PER_ELEMENT;
// Allocated on the first eviction, so a run without the training loop never holds it.
let scratch;

/** Reads and writes every cache line of the scratch buffer, on the calling thread. */
export function streamScratch() {
  scratch ??= new Float64Array(SCRATCH_BYTES / Float64Array.BYTES_PER_ELEMENT);
  for (let i = 0; i < scratch.length; i += stride) scratch[i] += 1;
}

/**
 * The contender as it runs in a training loop: the scratch is streamed before every timed
 * step, outside the timing (tinybench times the task, not its beforeEach hook). The step
 * throws if it ever runs without an eviction before it, so no sample can be warm.
 */
export function inTrainingLoop(contender) {
  let evicted = false;
  const { step } = contender;
  return {
    ...contender,
    beforeEach: () => {
      streamScratch();
      evicted = true;
    },
    step: () => {
      if (!evicted) throw new Error(`${contender.name}: a training-loop step ran without an eviction before it`);
      evicted = false;
      return step();
    },
  };
}
