/** Box–Muller normal numbers over a seeded uniform stream. */
export function gaussian(random: () => number): () => number;
/** `steps` gradients of `n` elements as one Float32Array (step t at t·n); deterministic for a seed. */
export function gradientStream(n: number, steps: number, seed: number): Float32Array;
