// mulberry32: a small, well-mixed 32-bit PRNG. Plain JavaScript, so that the engine matrix's
// scenarios (test/matrix/scenarios.mjs) use the same numbers in every engine as the tests do.

/** Returns a function that gives floats in [0, 1), the same sequence for the same seed. */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
