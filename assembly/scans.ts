// The scans the host runs before a step, over the gradients: the first NaN or ±∞
// (first_nonfinite_f32, and first_nonfinite_scaled_f32 where gradScale may overflow a
// finite gradient) and the blocks' sums of squares for norm clipping (sum_squares_f32).
// They read only, allocate nothing, and give the same answer on the SIMD and scalar builds
// and in src/reference.ts. The entry (assembly/rmsprop.ts) exports them.

@inline function firstNonFiniteIn<T>(ptr: usize, from: usize, to: usize): usize {
  // x − x is 0 for every finite x and NaN for ±∞ and NaN, so one compare finds both.
  for (let o = from; o < to; o += sizeof<T>()) {
    const x = load<T>(ptr + o);
    if (isVector<T>()) {
      if (v128.any_true(f32x4.ne(f32x4.sub(x, x), f32x4.splat(0)))) return o;
    } else {
      if ((x as f32) - (x as f32) != 0) return o;
    }
  }
  return to;
}

/** Bytes the SIMD scan reads between two tests of its accumulators. */
const SCAN_BLOCK: usize = 256;

/**
 * Index of the first element of the n f32 at `ptr` that is NaN or ±∞, or −1 when all are
 * finite. Reads only; used before a step when the host must not touch state on bad input.
 */
export function first_nonfinite_f32(ptr: usize, n: usize): i32 {
  const end = n << 2;
  let o: usize = 0;
  if (ASC_FEATURE_SIMD) {
    // Branch-free within a block: an f32 is NaN or ±∞ exactly when its exponent bits are
    // all ones. Four accumulators OR together the lanes that are, so no long dependency
    // chain limits the scan to one vector per cycle of latency; one test per block finds a
    // bad element, and the block is then rescanned element by element to name it.
    const blocksEnd = end - end % SCAN_BLOCK;
    const exponent = i32x4.splat(0x7f800000);
    for (; o < blocksEnd; o += SCAN_BLOCK) {
      let a0 = v128.splat<i32>(0), a1 = a0, a2 = a0, a3 = a0;
      for (let b: usize = 0; b < SCAN_BLOCK; b += 64) {
        const p = ptr + o + b;
        a0 = v128.or(a0, i32x4.eq(v128.and(v128.load(p), exponent), exponent));
        a1 = v128.or(a1, i32x4.eq(v128.and(v128.load(p, 16), exponent), exponent));
        a2 = v128.or(a2, i32x4.eq(v128.and(v128.load(p, 32), exponent), exponent));
        a3 = v128.or(a3, i32x4.eq(v128.and(v128.load(p, 48), exponent), exponent));
      }
      if (v128.any_true(v128.or(v128.or(a0, a1), v128.or(a2, a3)))) {
        return <i32>(firstNonFiniteIn<f32>(ptr, o, o + SCAN_BLOCK) >> 2);
      }
    }
    const vecEnd = end & ~(<usize>15);
    o = firstNonFiniteIn<v128>(ptr, o, vecEnd);
    if (o < vecEnd) return <i32>(firstNonFiniteIn<f32>(ptr, o, o + 16) >> 2);
  }
  o = firstNonFiniteIn<f32>(ptr, o, end);
  return o < end ? <i32>(o >> 2) : -1;
}

@inline function firstScaledNonFiniteIn<T>(ptr: usize, from: usize, to: usize, scale: f32): usize {
  for (let o = from; o < to; o += sizeof<T>()) {
    if (isVector<T>()) {
      const x = f32x4.mul(load<v128>(ptr + o), f32x4.splat(scale));
      if (v128.any_true(f32x4.ne(f32x4.sub(x, x), f32x4.splat(0)))) return o;
    } else {
      const x = load<f32>(ptr + o) * scale;
      if (x - x != 0) return o;
    }
  }
  return to;
}

/**
 * Index of the first element x of the n f32 at `ptr` whose product x·scale, rounded to f32
 * as the step's g·gSign is, is NaN or ±∞, or −1: the scan for a gradScale above 1, which
 * can overflow a finite gradient (with scale ≤ 1 first_nonfinite_f32 finds the same index,
 * faster). Reads only.
 */
export function first_nonfinite_scaled_f32(ptr: usize, n: usize, scale: f32): i32 {
  const end = n << 2;
  let o: usize = 0;
  if (ASC_FEATURE_SIMD) {
    // As first_nonfinite_f32: four accumulators of lanes whose product has all exponent
    // bits set, one test per block, and the block rescanned to name the element.
    const blocksEnd = end - end % SCAN_BLOCK;
    const exponent = i32x4.splat(0x7f800000);
    const s = f32x4.splat(scale);
    for (; o < blocksEnd; o += SCAN_BLOCK) {
      let a0 = v128.splat<i32>(0), a1 = a0, a2 = a0, a3 = a0;
      for (let b: usize = 0; b < SCAN_BLOCK; b += 64) {
        const p = ptr + o + b;
        a0 = v128.or(a0, i32x4.eq(v128.and(f32x4.mul(v128.load(p), s), exponent), exponent));
        a1 = v128.or(a1, i32x4.eq(v128.and(f32x4.mul(v128.load(p, 16), s), exponent), exponent));
        a2 = v128.or(a2, i32x4.eq(v128.and(f32x4.mul(v128.load(p, 32), s), exponent), exponent));
        a3 = v128.or(a3, i32x4.eq(v128.and(f32x4.mul(v128.load(p, 48), s), exponent), exponent));
      }
      if (v128.any_true(v128.or(v128.or(a0, a1), v128.or(a2, a3)))) {
        return <i32>(firstScaledNonFiniteIn<f32>(ptr, o, o + SCAN_BLOCK, scale) >> 2);
      }
    }
    const vecEnd = end & ~(<usize>15);
    o = firstScaledNonFiniteIn<v128>(ptr, o, vecEnd, scale);
    if (o < vecEnd) return <i32>(firstScaledNonFiniteIn<f32>(ptr, o, o + 16, scale) >> 2);
  }
  o = firstScaledNonFiniteIn<f32>(ptr, o, end, scale);
  return o < end ? <i32>(o >> 2) : -1;
}

/** Elements per block of sum_squares_f32: each block's sum is one f64 of `out`. */
const NORM_BLOCK: usize = 1024;

/**
 * Σ (x·scale)² over `len` f32 at `p`, each product rounded to f32 and squared exactly in
 * f64. Element k of the block goes to accumulator k mod 4 and the block's sum is
 * (a0 + a1) + (a2 + a3): one order for the SIMD build, the scalar build and the reference.
 */
@inline function blockSumSquares(p: usize, len: usize, scale: f32): f64 {
  let a0: f64 = 0, a1: f64 = 0, a2: f64 = 0, a3: f64 = 0;
  const end = len << 2;
  const vecEnd = end & ~(<usize>15);
  let o: usize = 0;
  if (ASC_FEATURE_SIMD) {
    let lo = f64x2.splat(0), hi = f64x2.splat(0);
    const s = f32x4.splat(scale);
    for (; o < vecEnd; o += 16) {
      const g = f32x4.mul(v128.load(p + o), s);
      const l = f64x2.promote_low_f32x4(g);
      const h = f64x2.promote_low_f32x4(v128.shuffle<f32>(g, g, 2, 3, 2, 3));
      lo = f64x2.add(lo, f64x2.mul(l, l));
      hi = f64x2.add(hi, f64x2.mul(h, h));
    }
    a0 = f64x2.extract_lane(lo, 0);
    a1 = f64x2.extract_lane(lo, 1);
    a2 = f64x2.extract_lane(hi, 0);
    a3 = f64x2.extract_lane(hi, 1);
  } else {
    for (; o < vecEnd; o += 16) {
      const g0 = <f64>(load<f32>(p + o) * scale);
      const g1 = <f64>(load<f32>(p + o, 4) * scale);
      const g2 = <f64>(load<f32>(p + o, 8) * scale);
      const g3 = <f64>(load<f32>(p + o, 12) * scale);
      a0 += g0 * g0;
      a1 += g1 * g1;
      a2 += g2 * g2;
      a3 += g3 * g3;
    }
  }
  // The last len % 4 elements go to accumulators 0, 1, 2 in turn.
  if (o < end) {
    const g = <f64>(load<f32>(p + o) * scale);
    a0 += g * g;
  }
  if (o + 4 < end) {
    const g = <f64>(load<f32>(p + o, 4) * scale);
    a1 += g * g;
  }
  if (o + 8 < end) {
    const g = <f64>(load<f32>(p + o, 8) * scale);
    a2 += g * g;
  }
  return (a0 + a1) + (a2 + a3);
}

/**
 * The squared L2 norm of the n f32 at `ptr`, each scaled by `scale` (rounded to f32) first,
 * in blocks of NORM_BLOCK elements from `ptr`: block b's sum goes to the f64 at out + 8·b.
 * The caller adds the blocks in order. Returns the first block whose sum is NaN or ±∞ (it
 * holds a non-finite gradient, or one that overflows f32 when scaled), or −1. Reads `ptr`
 * only; writes only the ⌈n / NORM_BLOCK⌉ f64 at `out` (8-byte aligned).
 */
export function sum_squares_f32(ptr: usize, n: usize, scale: f32, out: usize): i32 {
  let firstBad: i32 = -1;
  let b: usize = 0;
  for (let start: usize = 0; start < n; start += NORM_BLOCK) {
    const sum = blockSumSquares(ptr + (start << 2), min<usize>(NORM_BLOCK, n - start), scale);
    store<f64>(out + (b << 3), sum);
    if (firstBad < 0 && sum - sum != 0) firstBad = <i32>b;
    b++;
  }
  return firstBad;
}
