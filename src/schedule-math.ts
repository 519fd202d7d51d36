// The transcendental functions the schedules need, written with + − × ÷ only. Math.cos and
// Math.pow are not required to be correctly rounded, and engines differ in the last bit
// (V8 and SpiderMonkey use fdlibm ports, JavaScriptCore the system's libm); a schedule's
// value is rounded to f32, which hides such a difference almost always, but not always.
// IEEE 754 rounds each basic operation exactly, so these give the same bits everywhere:
// every engine, every thread, and C with the same operations in the same order. Their error
// is a few units in the last place of the f64 result, far below the f32 rounding after them.

/**
 * 1/k! for k = 0..20, each a correctly rounded quotient. Every k! up to 22! is exact in f64
 * (its odd part is below 2^53), so the products that make them are exact too.
 */
const INV_FACTORIAL: number[] = [];
for (let k = 0, factorial = 1; k <= 20; k++) {
  INV_FACTORIAL.push(1 / factorial);
  factorial *= k + 1;
}

/** π rounded to f64 (Math.PI is specified as that value). */
const PI = Math.PI;

/** Horner's rule over `coefficients` (lowest degree first) at z. */
function horner(coefficients: readonly number[], z: number): number {
  let sum = 0;
  for (let k = coefficients.length - 1; k >= 0; k--) sum = sum * z + coefficients[k];
  return sum;
}

// cos x = Σ (−1)^k x^{2k}/(2k)!,  sin x = x·Σ (−1)^k x^{2k}/(2k+1)!, for |x| ≤ π/4, where the
// terms left out (from x^20/20!) are below 2^−60 of the result.
const COS_SERIES = Array.from({ length: 10 }, (_, k) => (k % 2 ? -1 : 1) * INV_FACTORIAL[2 * k]);
const SIN_SERIES = Array.from({ length: 10 }, (_, k) => (k % 2 ? -1 : 1) * INV_FACTORIAL[2 * k + 1]);

/**
 * cos(π·p) for p in [0, 1]: p is reduced to [0, 1/4] exactly (p − 1/2 and 1 − p are exact
 * there), so only π·q is rounded before the series.
 */
export function cosPi(p: number): number {
  if (p <= 0.25) {
    const x = PI * p;
    return horner(COS_SERIES, x * x);
  }
  if (p <= 0.75) {
    const x = PI * (p - 0.5);
    return -(x * horner(SIN_SERIES, x * x));
  }
  const x = PI * (1 - p);
  return -horner(COS_SERIES, x * x);
}

// ln 2 split so that k·LN2_HI is exact for |k| < 2^21 (fdlibm's split).
const LN2_HI = 6.93147180369123816490e-1;
const LN2_LO = 1.90821492927058770002e-10;
const LN2 = 0.6931471805599453;
const SQRT2 = 1.4142135623730951;

const scratch = new DataView(new ArrayBuffer(8));

/** 2^k for an integer k in [−1022, 1023], built from its bits. */
function twoTo(k: number): number {
  scratch.setUint32(0, (k + 1023) << 20);
  scratch.setUint32(4, 0);
  return scratch.getFloat64(0);
}

/** x = m·2^e with m in [√½, √2), for a finite x > 0. */
function frexp(x: number): [m: number, e: number] {
  let e = 0;
  if (x < 2.2250738585072014e-308) {
    x *= 18014398509481984; // 2^54: a subnormal becomes normal
    e = -54;
  }
  scratch.setFloat64(0, x);
  const high = scratch.getUint32(0);
  e += ((high >>> 20) & 0x7ff) - 1023;
  scratch.setUint32(0, (high & 0x800fffff) | (1023 << 20));
  let m = scratch.getFloat64(0);
  if (m >= SQRT2) {
    m /= 2;
    e += 1;
  }
  return [m, e];
}

// ln(1 + f) = 2·atanh(s) with s = f/(2 + f), |s| ≤ 0.1716: 2s·Σ s^{2k}/(2k+1), terms to s^24.
const ATANH_SERIES = Array.from({ length: 12 }, (_, k) => 1 / (2 * k + 1));

/** The natural logarithm of a finite x > 0. */
export function ln(x: number): number {
  const [m, e] = frexp(x);
  const f = m - 1; // exact: m is within a factor 2 of 1
  const s = f / (2 + f);
  const lnM = 2 * s * horner(ATANH_SERIES, s * s);
  return e * LN2_HI + (lnM + e * LN2_LO);
}

// e^r = Σ r^k/k! for |r| ≤ ln2/2, terms to r^17 (the rest is below 2^−70).
const EXP_SERIES = INV_FACTORIAL.slice(0, 18);

/** e^y, 0 below the smallest subnormal and +∞ above the largest f64. */
export function exp(y: number): number {
  if (y > 709.782712893384) return Infinity;
  if (y < -745.1332191019412) return 0;
  const k = Math.round(y / LN2);
  const r = y - k * LN2_HI - k * LN2_LO;
  const er = horner(EXP_SERIES, r);
  // 2^k in two factors where it leaves the normal range.
  if (k > 1023) return er * twoTo(1023) * twoTo(k - 1023);
  if (k < -1022) return er * twoTo(-1022) * twoTo(k + 1022);
  return er * twoTo(k);
}

/**
 * base^t for an integer t ≥ 0 by binary exponentiation in f64. Math.pow may differ from a
 * C libm's pow in the last place, so both this and include/rmsprop-wasm.h use these same
 * squarings and products, and agree bit for bit.
 */
export function powU32(base: number, t: number): number {
  let result = 1;
  for (let e = t; e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) result *= base;
    base *= base;
  }
  return result;
}

/** base^p for a finite base > 0 and p ≥ 0: powU32 for a whole p, e^{p·ln base} otherwise. */
export function pow(base: number, p: number): number {
  return Number.isInteger(p) ? powU32(base, p) : exp(p * ln(base));
}
