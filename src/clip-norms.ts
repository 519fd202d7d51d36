// Gradient norms into clipping factors, written once for every place a step is made: the
// optimizer on its own thread (src/executors.ts), the pool's threads (src/step-task.ts) and
// the tfjs adapter (src/tfjs/norms.ts). The sums come from the kernel's sum_squares_f32 in
// blocks of NORM_BLOCK; a norm is its unit's block sums added in order, and the joint norm
// the units' sums added in order, all in f64, so every thread and every backend derives
// the same factors bit for bit. include/rmsprop-wasm.h repeats this in C (its test
// compares the two).
import { argsOffset, KernelFlag, type StepScalars } from "./kernel-abi.ts";

/** One unit's block sums: its first block, how many, and its own clipNorm (null: the global factor). */
export interface NormUnit {
  readonly firstBlock: number;
  readonly blocks: number;
  readonly clipNorm: number | null;
}

/** PyTorch's clip_grad_norm_ factor min(1, maxNorm / (norm + 1e-6)) in f64, rounded to f32 once. */
export function clipFactor(maxNorm: number, norm: number): number {
  return Math.fround(Math.min(1, maxNorm / (norm + 1e-6)));
}

/** A unit's squared norm: its block sums (from f64 index `at` + its first block) in order. */
export function unitSquaredNorm(sums: Float64Array, at: number, u: NormUnit): number {
  let total = 0;
  for (let b = 0; b < u.blocks; b++) total += sums[at + u.firstBlock + b];
  return total;
}

/**
 * The joint L2 norm of every unit (their squared norms added in order) and each unit's
 * clipping factor: its own clipNorm's, or the global one's (1 without globalClipNorm).
 */
export function clipFactors(
  sums: Float64Array,
  at: number,
  units: readonly NormUnit[],
  globalClipNorm: number | null,
): { gradNorm: number; factors: number[] } {
  return factorsOf(
    units.map((u) => unitSquaredNorm(sums, at, u)),
    units.map((u) => u.clipNorm),
    globalClipNorm,
  );
}

/** The same from each unit's squared norm and own clipNorm (the tfjs adapter sums its variables itself). */
export function factorsOf(
  squares: readonly number[],
  clipNorms: readonly (number | null)[],
  globalClipNorm: number | null,
): { gradNorm: number; factors: number[] } {
  let total = 0;
  for (const s of squares) total += s;
  const gradNorm = Math.sqrt(total);
  const global = globalClipNorm === null ? 1 : clipFactor(globalClipNorm, gradNorm);
  const factors = squares.map((square, i) => {
    const own = clipNorms[i];
    return own === null ? global : clipFactor(own, Math.sqrt(square));
  });
  return { gradNorm, factors };
}

/**
 * Where a factor (an f32) goes, for the element order g·gradScale, then ·factor: a factor
 * of 1 changes no bit and is left out; with gradScale 1 it joins gSign, since
 * fround(fround(g·±1)·c) = fround(g·±c); otherwise the CLIP variant multiplies twice.
 */
function placeFactor(flags: number, gSign: number, factor: number): { flags: number; gSign: number; clipScale?: number } {
  if (factor === 1) return { flags, gSign };
  if (Math.abs(gSign) === 1 && (flags & KernelFlag.clip) === 0) return { flags, gSign: gSign * factor };
  return { flags: flags | KernelFlag.clip, gSign, clipScale: factor };
}

/** Puts a clipping factor into a job's scalars; returns its flags. */
export function withClipFactor(flags: number, s: StepScalars, factor: number): number {
  const placed = placeFactor(flags, s.gSign, factor);
  s.gSign = placed.gSign;
  if (placed.clipScale !== undefined) s.clipScale = placed.clipScale;
  return placed.flags;
}

const G_SIGN = argsOffset("gSign") >>> 2;
const CLIP_SCALE = argsOffset("clipScale") >>> 2;
const FLAGS = argsOffset("flags") >>> 2;

/** The same for a StepArgs block already written at byte `args` (its flags in its flags field). */
export function patchClipFactor(u32: Uint32Array, f32: Float32Array, args: number, factor: number): void {
  const w = args >>> 2;
  const placed = placeFactor(u32[w + FLAGS], f32[w + G_SIGN], factor);
  f32[w + G_SIGN] = placed.gSign;
  if (placed.clipScale !== undefined) f32[w + CLIP_SCALE] = placed.clipScale;
  u32[w + FLAGS] = placed.flags;
}

/** The gradient scale of a written block (|gSign|, before any factor joins it): what a norm scan multiplies by. */
export const blockScale = (f32: Float32Array, args: number): number => Math.abs(f32[(args >>> 2) + G_SIGN]);

/**
 * The first of `n` gradients from f32 word `at` whose value times `scale`, rounded to f32,
 * is NaN or ±∞ (relative index), or −1: what names the element once a scan's sum or check
 * found one in the range.
 */
export function firstBadScaled(f32: Float32Array, at: number, n: number, scale: number): number {
  for (let k = 0; k < n; k++) if (!Number.isFinite(Math.fround(f32[at + k] * scale))) return k;
  return -1;
}
