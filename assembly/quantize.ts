// Block-wise 8-bit quantization of f32 arrays (bitsandbytes' quantize_blockwise and
// dequantize_blockwise), with code maps chosen for WebAssembly SIMD: no table, so no gather,
// only integer lanes. docs/quantization.md has the measurements behind the choice;
// src/quantization.ts is the reference, bit for bit.
//
// A block is QBLOCK consecutive elements (the last one may be shorter) with one f32 scale,
// a power of two: the largest power of two ≤ the block's largest |x| as it will be rounded
// (so that it never rounds past the top code), clamped below (2^-64 for u8e5m3,
// 2^(2^E − 127) for the others) and above (2^127). A code is a small float
// relative to that scale:
//
//   format   bits        code c stands for                      holds
//   u8e5m3   eeeeemmm    scale · 2^(e − 31) · (1 + m/8)         S, or V = S − G² when centered
//   s8e3m4   seeemmmm    ±scale · 2^(e − 7) · (1 + m/16)        M
//   s8e4m3   seeeemmm    ±scale · 2^(e − 15) · (1 + m/8)        G
//
// The top exponent holds the block's maximum. u8e5m3 has no zero: its code 0 is the bottom
// of the block's range, 2^-31 of its scale, and every value below it, 0 included, is stored
// there. So S (and V) never reads back as 0, and the f32 step on it never divides a
// gradient by √ε alone (docs/quantization.md). In the signed formats a magnitude of 0 is 0
// (0x80 is −0) and a value below the lowest binade becomes 0, so a zero M or G stays exact.
//
// Decoding is exact and has no table: the code shifted into an f32's exponent and mantissa
// plus the scale's exponent, one integer add (decodeBias). Encoding reverses it on the f32's
// bits: code = (|x|bits − bias + r) >> (23 − m), clamped to the codes, where r = 2^(22 − m)
// rounds to nearest (ties away from 0) and r uniform in [0, 2^(23 − m)) rounds
// stochastically: up with the probability of the fraction dropped, so a code is unbiased.
// NaN and ±∞ saturate to the largest positive code whatever NaN's sign (which no engine
// promises), so every engine stores the same bits.
//
// Stochastic rounding draws one r per block, array and step: the block's first element's
// index in the whole array, hashed with the step's seed (roundingOffset). An element's
// rounding is then independent from step to step, which is what keeps an average such as S
// unbiased; that the elements of a block share it within a step changed no error measurably
// (docs/quantization.md), and it makes r − bias one constant per block. Threads cut on block
// boundaries and carry the index, so they do not change a bit.

// The block size is a constant of the format; `asc --use Q8_BLOCK=64` builds another one
// for the measurements only (bench/quantization/speed.mjs).
// @ts-ignore: defined on the command line, or not at all
export const QBLOCK: usize = isDefined(Q8_BLOCK) ? <usize>Q8_BLOCK : 512;

// `asc --use Q8_NO_CODEC=1` builds an 8-bit step with no codec, for one measurement only:
// decoding and encoding return at once, the codes neither read nor written, so the step is
// the f32 step on the scratch with θ and g from memory, the bound no code map can beat in
// this design (bench/experiments/q8-no-codec.mjs). The real builds compile it out.
// @ts-ignore: defined on the command line, or not at all
const NO_CODEC: bool = isDefined(Q8_NO_CODEC);

/** The `format` of quantize_blockwise_8bit and dequantize_blockwise_8bit. */
export const FORMAT_U8E5M3: u32 = 0;
export const FORMAT_S8E3M4: u32 = 1;
export const FORMAT_S8E4M3: u32 = 2;

/** Where in the 8-bit step's scratch the f32 step's own StepArgs block is (after S, M, G). */
export const Q8_ARGS_AT: usize = 3 * QBLOCK * 4;
/** Bytes of the scratch the 8-bit step needs: a block's S, M and G in f32, and a v2 StepArgs block. */
export const Q8_SCRATCH_BYTES: usize = Q8_ARGS_AT + 96;

/** Chris Wellons' lowbias32: a bijective 32-bit integer hash. */
@inline function lowbias32(x: u32): u32 {
  x ^= x >> 16;
  x *= 0x7feb352d;
  x ^= x >> 15;
  x *= 0x846ca68b;
  x ^= x >> 16;
  return x;
}

/** The seed of array k (0 S, 1 M, 2 G) for a step's rounding seed. */
export function arraySeed(roundingSeed: u32, k: u32): u32 {
  return lowbias32(roundingSeed * 3 + k);
}

// ---- format constants; `format` is a constant at every call site, so these fold away ----

@inline export function exponentBits(format: u32): i32 {
  return format == FORMAT_U8E5M3 ? 5 : format == FORMAT_S8E3M4 ? 3 : 4;
}
@inline export function mantissaBits(format: u32): i32 {
  return format == FORMAT_S8E3M4 ? 4 : 3;
}
@inline export function isSigned(format: u32): bool {
  return format != FORMAT_U8E5M3;
}
/** Largest magnitude code. */
@inline function maxMagnitude(format: u32): i32 {
  return (1 << (exponentBits(format) + mantissaBits(format))) - 1;
}

/**
 * The f32 bits of a block's scale, from the largest |x| bits of the block plus the block's
 * rounding offset r: the maximum's exponent once rounded, which can be one more than its
 * own (NaN and ∞ count as ∞). Clamped so that
 * every code's value is a normal f32, and for u8e5m3 (whose code 0 is not 0) far enough from
 * the subnormals that the f32 step's products on it stay normal (subnormals are slow on x86).
 */
/** The largest scale (2^127): at its top code a rounded f32 maximum can pass the codes. */
const TOP_SCALE: u32 = <u32>254 << 23;

@inline export function scaleBits(maxAbsBits: u32, r: i32, format: u32): u32 {
  const lowest = isSigned(format) ? <u32>(1 << exponentBits(format)) << 23 : <u32>63 << 23;
  const rounded = min<u32>(maxAbsBits, 0x7f800000) + <u32>r;
  return min<u32>(max<u32>(rounded & 0x7f800000, lowest), TOP_SCALE);
}

/** What a code shifted into place is added to, to make its f32 bits: the scale's exponent, rebased. */
@inline export function decodeBias(scaleBits: u32, format: u32): i32 {
  return <i32>scaleBits - ((<i32>(1 << exponentBits(format)) - 1) << 23);
}

/** r of one block (see the top): nearest when `stochastic` is false. */
@inline export function roundingOffset(stochastic: bool, seed: u32, blockIndex: u32, format: u32): i32 {
  const shift = 23 - mantissaBits(format);
  return stochastic ? <i32>(lowbias32(seed + blockIndex) >> (32 - shift)) : 1 << (shift - 1);
}

// ---- lanes: T is v128 (four f32) or f32; I, the integer lanes beside it, v128 or i32 ----

/** Codes (0…255, one per integer lane) to f32 lanes. `bias` is decodeBias of the block. */
@inline export function decodeLanes<T, I>(codes: I, bias: I, format: u32): T {
  const shift = 23 - mantissaBits(format);
  if (isVector<T>()) {
    if (!isSigned(format)) return i32x4.add(i32x4.shl(codes, shift), bias) as T;
    const mag = v128.and(codes, i32x4.splat(maxMagnitude(format)));
    const bits = v128.and(i32x4.add(i32x4.shl(mag, shift), bias), i32x4.gt_s(mag, i32x4.splat(0)));
    return v128.or(bits, i32x4.shl(v128.and(codes, i32x4.splat(0x80)), 24)) as T;
  } else {
    const c = codes as i32;
    if (!isSigned(format)) return reinterpret<f32>((c << shift) + (bias as i32)) as T;
    const mag = c & maxMagnitude(format);
    const bits = mag == 0 ? 0 : (mag << shift) + (bias as i32);
    return reinterpret<f32>(bits | ((c & 0x80) << 24)) as T;
  }
}

/**
 * f32 lanes to codes, one per integer lane; `rb` is the block's r − bias. Vector lanes may
 * still be outside 0…255 where the byte narrowing saturates them into place (storeCodes16,
 * storeCodes); a scalar lane is clamped here.
 */
@inline export function encodeLanes<T, I>(v: T, rb: I, format: u32): I {
  return encodeAbs<T, I>(v, absBits<T, I>(v), rb, format);
}

/** encodeLanes with |v|'s bits already at hand (for a running maximum beside it). */
@inline function encodeAbs<T, I>(v: T, abs: I, rb: I, format: u32): I {
  const shift = 23 - mantissaBits(format);
  if (isVector<T>()) {
    let q = i32x4.shr_s(i32x4.add(abs, rb), shift);
    if (isSigned(format)) {
      // Clamp the magnitude, then the sign, except NaN's. Below the range q < 0 stays < 0
      // with the sign, and narrows to 0.
      q = i32x4.min_s(q, i32x4.splat(maxMagnitude(format)));
      const negative = v128.andnot(i32x4.lt_s(v, i32x4.splat(0)), i32x4.gt_s(abs, i32x4.splat(0x7f800000)));
      q = v128.or(q, v128.and(negative, i32x4.splat(0x80)));
    }
    return q as I;
  } else {
    const bits = reinterpret<i32>(v as f32);
    let q = ((abs as i32) + (rb as i32)) >> shift;
    if (isSigned(format)) {
      q = min<i32>(q, maxMagnitude(format));
      if (q < 0) q = 0;
      else if (bits < 0 && (abs as i32) <= 0x7f800000) q |= 0x80;
    } else {
      q = min<i32>(max<i32>(q, 0), 255);
    }
    return q as I;
  }
}

/**
 * encodeLanes for a block whose scale already fits its maximum and which holds no NaN or ∞:
 * then no magnitude passes the top code and every sign bit is an engine's own, so neither
 * needs a test. The 8-bit step encodes so with the block's old scale, and encodes the block
 * again with encodeLanes where its new maximum says otherwise (requantizeBlock).
 */
@inline function encodeInRange<T, I>(v: T, abs: I, rb: I, format: u32): I {
  const shift = 23 - mantissaBits(format);
  if (isVector<T>()) {
    const q = i32x4.shr_s(i32x4.add(abs, rb), shift);
    if (!isSigned(format)) return q as I;
    return v128.or(q, v128.and(i32x4.shr_u(v, 24), i32x4.splat(0x80))) as I;
  } else {
    const q = ((abs as i32) + (rb as i32)) >> shift;
    if (q < 0) return 0 as I;
    if (!isSigned(format)) return min<i32>(q, 255) as I;
    return (q | ((reinterpret<u32>(v as f32) >> 24) & 0x80)) as I;
  }
}

/** |x| bits as integer lanes, for a block's running maximum. */
@inline export function absBits<T, I>(v: T): I {
  if (isVector<T>()) return v128.and(v, i32x4.splat(0x7fffffff)) as I;
  else return (reinterpret<i32>(v as f32) & 0x7fffffff) as I;
}
/** The larger of two lanes of |x| bits (unsigned). */
@inline export function maxBits<I>(a: I, b: I): I {
  if (isVector<I>()) return i32x4.max_u(a, b);
  else return <i32>max<u32>(<u32>(a as i32), <u32>(b as i32)) as I;
}

/** Four codes (one byte each) at `p` as four i32 lanes, or one code as an i32. */
@inline export function loadCodes<I>(p: usize): I {
  if (isVector<I>()) return i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(p)));
  else return <i32>load<u8>(p) as I;
}
/** Four codes as bytes at `p` (the narrowing saturates to 0…255), or one. */
@inline export function storeCodes<I>(p: usize, q: I): void {
  if (isVector<I>()) {
    const w = i16x8.narrow_i32x4_s(q, q);
    v128.store32_lane(p, i8x16.narrow_i16x8_u(w, w), 0);
  } else {
    store<u8>(p, <u8>(q as i32));
  }
}
/** Sixteen codes from four vectors of lanes, saturated to 0…255. */
@inline function storeCodes16(p: usize, a: v128, b: v128, c: v128, d: v128): void {
  v128.store(p, i8x16.narrow_i16x8_u(i16x8.narrow_i32x4_s(a, b), i16x8.narrow_i32x4_s(c, d)));
}

@inline export function splatInt<I>(x: i32): I {
  if (isVector<I>()) return i32x4.splat(x);
  else return x as I;
}

/**
 * Encodes the `len` f32 at `src` into the codes at `dst`, with `rb` = r − bias of their
 * block: sixteen at a time, then four, then one.
 */
@inline export function encodeBlock(src: usize, len: usize, dst: usize, rb: i32, format: u32): void {
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const rbV = i32x4.splat(rb);
    for (const end16 = len & ~(<usize>15); i < end16; i += 16) {
      const p = src + (i << 2);
      storeCodes16(
        dst + i,
        encodeLanes<v128, v128>(v128.load(p), rbV, format),
        encodeLanes<v128, v128>(v128.load(p, 16), rbV, format),
        encodeLanes<v128, v128>(v128.load(p, 32), rbV, format),
        encodeLanes<v128, v128>(v128.load(p, 48), rbV, format),
      );
    }
    for (const end4 = len & ~(<usize>3); i < end4; i += 4) {
      storeCodes<v128>(dst + i, encodeLanes<v128, v128>(v128.load(src + (i << 2)), rbV, format));
    }
  }
  for (; i < len; i++) storeCodes<i32>(dst + i, encodeLanes<f32, i32>(load<f32>(src + (i << 2)), rb, format));
}

/**
 * encodeBlock, in range (encodeInRange), that also returns the largest bits of the block's
 * |x|, or a number ≥ 0x7f800000 where the block holds NaN, ∞ or (u8e5m3) a sign bit: the
 * 8-bit step encodes with the block's old scale, and again only where the new one differs
 * or the block holds such a value, which gives the codes of encoding with the new scale at once.
 */
@inline function encodeBlockWithMax(src: usize, len: usize, dst: usize, rb: i32, format: u32): u32 {
  const shift = 23 - mantissaBits(format);
  let i: usize = 0;
  let m: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    const rbV = i32x4.splat(rb);
    let acc = i32x4.splat(0);
    for (const end16 = len & ~(<usize>15); i < end16; i += 16) {
      const p = src + (i << 2);
      const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
      if (isSigned(format)) {
        const a0 = absBits<v128, v128>(v0), a1 = absBits<v128, v128>(v1), a2 = absBits<v128, v128>(v2), a3 = absBits<v128, v128>(v3);
        acc = i32x4.max_u(i32x4.max_u(acc, i32x4.max_u(a0, a1)), i32x4.max_u(a2, a3));
        // The magnitudes as signed bytes (negative below the range, where the code is 0),
        // and the signs by the same narrowing of the f32 bits, which keeps each one's sign
        // bit: the sign goes only on a magnitude in range, as in encodeInRange.
        const q = i8x16.narrow_i16x8_s(
          i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.add(a0, rbV), shift), i32x4.shr_s(i32x4.add(a1, rbV), shift)),
          i16x8.narrow_i32x4_s(i32x4.shr_s(i32x4.add(a2, rbV), shift), i32x4.shr_s(i32x4.add(a3, rbV), shift)),
        );
        const signs = i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(v0, v1), i16x8.narrow_i32x4_s(v2, v3));
        v128.store(dst + i, v128.or(i8x16.max_s(q, i8x16.splat(0)), v128.and(v128.andnot(signs, q), i8x16.splat(<i8>0x80))));
      } else {
        // S and V are ≥ 0 or NaN: the bits' own maximum is |x|'s, unless a sign bit is set,
        // which makes it ≥ 0x7f800000 as NaN does (requantizeBlock then takes |x|'s).
        acc = i32x4.max_u(i32x4.max_u(acc, i32x4.max_u(v0, v1)), i32x4.max_u(v2, v3));
        storeCodes16(
          dst + i,
          encodeInRange<v128, v128>(v0, v0, rbV, format),
          encodeInRange<v128, v128>(v1, v1, rbV, format),
          encodeInRange<v128, v128>(v2, v2, rbV, format),
          encodeInRange<v128, v128>(v3, v3, rbV, format),
        );
      }
    }
    m = max<u32>(max<u32>(i32x4.extract_lane(acc, 0), i32x4.extract_lane(acc, 1)), max<u32>(i32x4.extract_lane(acc, 2), i32x4.extract_lane(acc, 3)));
  }
  // The last block's last len % 16 one at a time: no loop of four (the kernel's size is a page's download).
  for (; i < len; i++) {
    const v = load<f32>(src + (i << 2)), a = absBits<f32, i32>(v);
    m = max<u32>(m, <u32>a);
    storeCodes<i32>(dst + i, encodeInRange<f32, i32>(v, a, rb, format));
  }
  return m;
}

/**
 * The 8-bit step's requantization of one block: the `len` f32 at `src` to codes at `codes`
 * and a new scale at `scaleAt` (which holds the old one), rounding stochastically with the
 * offset of the array's seed and the index of the block's first element. Encoded once more,
 * fully (encodeBlock), where the scale changes, where the block holds NaN or ∞ (or a sign
 * bit in S), and at the top scale, where a maximum rounded up must be clamped to the top code.
 */
@inline export function requantizeBlock(src: usize, len: usize, codes: usize, scaleAt: usize, seed: u32, index: u32, format: u32): void {
  if (NO_CODEC) return;
  const r = roundingOffset(true, seed, index, format);
  const old = load<u32>(scaleAt);
  const seen = encodeBlockWithMax(src, len, codes, r - decodeBias(old, format), format);
  const unusual = seen >= 0x7f800000;
  const scale = scaleBits(unusual ? maxAbsBitsOf(src, len) : seen, r, format);
  if (scale != old || unusual || scale == TOP_SCALE) {
    store<u32>(scaleAt, scale);
    encodeBlock(src, len, codes, r - decodeBias(scale, format), format);
  }
}

/**
 * Eight codes (i16 lanes, 0…255) to the upper halves of their f32 bits: the low half of
 * every code's f32 is 0, so eight decode at once in 16-bit lanes. `biasHi` is the upper
 * half of decodeBias.
 */
@inline function decodeHalves(c: v128, biasHi: v128, format: u32): v128 {
  const shift = 7 - mantissaBits(format);
  if (!isSigned(format)) return i16x8.add(i16x8.shl(c, shift), biasHi);
  // Signed codes arrive sign-extended, so their sign is already bit 15.
  const mag = v128.and(c, i16x8.splat(<i16>maxMagnitude(format)));
  const bits = v128.and(i16x8.add(i16x8.shl(mag, shift), biasHi), i16x8.gt_s(mag, i16x8.splat(0)));
  return v128.or(bits, v128.and(c, i16x8.splat(<i16>0x8000)));
}

/** The `len` codes at `codes` of a block with this scale, as f32 to `out`. */
@inline export function decodeBlock(codes: usize, scale: u32, len: usize, out: usize, format: u32): void {
  if (NO_CODEC) return;
  const bias = decodeBias(scale, format);
  let i: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = i16x8.splat(0);
    const biasHi = i16x8.splat(<i16>(bias >> 16));
    for (const end16 = len & ~(<usize>15); i < end16; i += 16) {
      const c = v128.load(codes + i);
      const lo = decodeHalves(isSigned(format) ? i16x8.extend_low_i8x16_s(c) : i16x8.extend_low_i8x16_u(c), biasHi, format);
      const hi = decodeHalves(isSigned(format) ? i16x8.extend_high_i8x16_s(c) : i16x8.extend_high_i8x16_u(c), biasHi, format);
      const p = out + (i << 2);
      v128.store(p, v128.shuffle<u16>(zero, lo, 0, 8, 1, 9, 2, 10, 3, 11));
      v128.store(p, v128.shuffle<u16>(zero, lo, 4, 12, 5, 13, 6, 14, 7, 15), 16);
      v128.store(p, v128.shuffle<u16>(zero, hi, 0, 8, 1, 9, 2, 10, 3, 11), 32);
      v128.store(p, v128.shuffle<u16>(zero, hi, 4, 12, 5, 13, 6, 14, 7, 15), 48);
    }
    const biasV = i32x4.splat(bias);
    for (const end4 = len & ~(<usize>3); i < end4; i += 4) {
      v128.store(out + (i << 2), decodeLanes<v128, v128>(loadCodes<v128>(codes + i), biasV, format));
    }
  }
  for (; i < len; i++) store<f32>(out + (i << 2), decodeLanes<f32, i32>(loadCodes<i32>(codes + i), bias, format));
}

/** s[i] = s[i] + g[i]·g[i] over `len` f32: S from V = S − G² and G. */
export function addSquares(s: usize, g: usize, len: usize): void {
  let o: usize = 0;
  const end = len << 2;
  if (ASC_FEATURE_SIMD) {
    for (const vecEnd = end & ~(<usize>15); o < vecEnd; o += 16) {
      const x = v128.load(g + o);
      v128.store(s + o, f32x4.add(v128.load(s + o), f32x4.mul(x, x)));
    }
  }
  for (; o < end; o += 4) {
    const x = load<f32>(g + o);
    store<f32>(s + o, load<f32>(s + o) + x * x);
  }
}

/** s[i] = max(s[i] − g[i]·g[i], 0) over `len` f32 (NaN stays NaN): V from S and G. */
export function subtractSquares(s: usize, g: usize, len: usize): void {
  let o: usize = 0;
  const end = len << 2;
  if (ASC_FEATURE_SIMD) {
    for (const vecEnd = end & ~(<usize>15); o < vecEnd; o += 16) {
      const x = v128.load(g + o);
      v128.store(s + o, f32x4.pmax(f32x4.sub(v128.load(s + o), f32x4.mul(x, x)), f32x4.splat(0)));
    }
  }
  for (; o < end; o += 4) {
    const x = load<f32>(g + o);
    const v = load<f32>(s + o) - x * x;
    store<f32>(s + o, v < 0 ? 0 : v);
  }
}

/** The largest |x| bits of the n f32 at `src` (not inlined: one copy serves every format). */
function maxAbsBitsOf(src: usize, n: usize): u32 {
  const end = n << 2;
  let o: usize = 0;
  let m: u32 = 0;
  if (ASC_FEATURE_SIMD) {
    const vecEnd = end & ~(<usize>15);
    let acc = i32x4.splat(0);
    for (; o < vecEnd; o += 16) acc = i32x4.max_u(acc, v128.and(v128.load(src + o), i32x4.splat(0x7fffffff)));
    m = max<u32>(max<u32>(i32x4.extract_lane(acc, 0), i32x4.extract_lane(acc, 1)), max<u32>(i32x4.extract_lane(acc, 2), i32x4.extract_lane(acc, 3)));
  }
  for (; o < end; o += 4) m = max<u32>(m, load<u32>(src + o) & 0x7fffffff);
  return m;
}

@inline function quantizeAs(format: u32, src: usize, n: usize, codes: usize, scales: usize): void {
  for (let start: usize = 0, b: usize = 0; start < n; start += QBLOCK, b++) {
    const len = min<usize>(QBLOCK, n - start);
    const r = roundingOffset(false, 0, 0, format);
    const scale = scaleBits(maxAbsBitsOf(src + (start << 2), len), r, format);
    store<u32>(scales + (b << 2), scale);
    encodeBlock(src + (start << 2), len, codes + start, r - decodeBias(scale, format), format);
  }
}

@inline function dequantizeAs(format: u32, codes: usize, scales: usize, n: usize, out: usize): void {
  for (let start: usize = 0, b: usize = 0; start < n; start += QBLOCK, b++) {
    const len = min<usize>(QBLOCK, n - start);
    const bias = decodeBias(load<u32>(scales + (b << 2)), format);
    let i = start;
    if (ASC_FEATURE_SIMD) {
      const biasV = i32x4.splat(bias);
      for (const vecEnd = start + (len & ~(<usize>3)); i < vecEnd; i += 4) {
        v128.store(out + (i << 2), decodeLanes<v128, v128>(loadCodes<v128>(codes + i), biasV, format));
      }
    }
    for (const end = start + len; i < end; i++) {
      store<f32>(out + (i << 2), decodeLanes<f32, i32>(loadCodes<i32>(codes + i), bias, format));
    }
  }
}

/**
 * Quantizes the n f32 at `src` block by block, rounding to nearest: the codes to the n bytes
 * at `codes`, each block's scale to the f32 at scales + 4·b (⌈n / QBLOCK⌉ of them). Reads
 * `src` only. `format` is FORMAT_U8E5M3, FORMAT_S8E3M4 or FORMAT_S8E4M3.
 */
export function quantize_blockwise_8bit(format: u32, src: usize, n: usize, codes: usize, scales: usize): void {
  if (format == FORMAT_U8E5M3) quantizeAs(FORMAT_U8E5M3, src, n, codes, scales);
  else if (format == FORMAT_S8E3M4) quantizeAs(FORMAT_S8E3M4, src, n, codes, scales);
  else quantizeAs(FORMAT_S8E4M3, src, n, codes, scales);
}

/** The n f32 the codes and scales stand for, to `out` (4-byte aligned). Exact. */
export function dequantize_blockwise_8bit(format: u32, codes: usize, scales: usize, n: usize, out: usize): void {
  if (format == FORMAT_U8E5M3) dequantizeAs(FORMAT_U8E5M3, codes, scales, n, out);
  else if (format == FORMAT_S8E3M4) dequantizeAs(FORMAT_S8E3M4, codes, scales, n, out);
  else dequantizeAs(FORMAT_S8E4M3, codes, scales, n, out);
}
