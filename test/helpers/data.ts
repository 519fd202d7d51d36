// Seeded test data: the same numbers on every run and every machine.

import { rng } from "./rng.mjs";

export { rng };

const specials = [0, -0, 1e-40, -1e-40, 1.4e-45, 1e-30, -1e-30, 1e18, -1e18, 3e38, 1e-3, -7];

/**
 * n floats spanning what gradients and weights look like, plus the awkward ones: zeros of
 * both signs, subnormals, tiny and huge magnitudes, negatives. About one in eight is special.
 */
export function awkwardFloats(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const pick = r();
    if (pick < 0.125) out[i] = specials[Math.floor(r() * specials.length)];
    else out[i] = (r() * 2 - 1) * 10 ** (r() * 8 - 5);
  }
  return out;
}

/** Plain normal-ish floats in [-scale, scale). */
export function uniformFloats(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (r() * 2 - 1) * scale;
  return out;
}

/** Index of the first element whose bits differ (all NaNs count as equal), or −1. */
export function firstBitDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return 0;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) {
    if (ua[i] !== ub[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  }
  return -1;
}

/** A readable message for a bit mismatch at index i, or "" when there is none. */
export function bitReport(name: string, got: Float32Array, want: Float32Array): string {
  const i = firstBitDifference(got, want);
  if (i < 0) return "";
  return `${name}[${i}] = ${got[i]} but the reference has ${want[i]} (length ${got.length})`;
}
