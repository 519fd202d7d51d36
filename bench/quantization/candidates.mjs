// The 8-bit formats the choice was made between, as plain JavaScript models: each encodes a
// block of values to 8-bit codes and one scale, and decodes them back. Models, not kernels:
// they decide the format by its error (bench/quantization/error.mjs); the chosen one is
// implemented exactly, bit for bit, in src/quantization.ts and assembly/quantized.ts.
//
//   dynamic     bitsandbytes' dynamic map (create_dynamic_map): 256 values, the block scaled
//               by its absolute maximum, the nearest value found by binary search
//   linear      absmax int8: 127 (signed) or 255 (unsigned) even steps of absmax
//   float EeMm  a float with e exponent and m mantissa bits (and a sign bit when signed),
//               scaled by a power of two from the block's maximum; √ stores √S and squares it

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOf = (x) => ((f32[0] = x), u32[0]);
const fromBits = (b) => ((u32[0] = b), f32[0]);
const fround = Math.fround;

/**
 * bitsandbytes' create_dynamic_map(signed, max_exponent_bits = 7, total_bits = 8): for each
 * exponent i, 2^i (signed) or 2^(i+1) (unsigned) midpoints of an even split of [0.1, 1],
 * times 10^(i − 6); then 0 and 1, padded with zeros to 256 and sorted.
 */
export function dynamicMap(signed) {
  const data = [];
  const linspace = (a, b, k) => Array.from({ length: k }, (_, j) => fround(a + ((b - a) * j) / (k - 1)));
  for (let i = 0; i < 7; i++) {
    const items = signed ? 2 ** i + 1 : 2 ** (i + 1) + 1;
    const bounds = linspace(0.1, 1, items);
    for (let j = 0; j + 1 < bounds.length; j++) {
      const mean = fround((bounds[j] + bounds[j + 1]) / 2);
      data.push(fround(10 ** (i - 6) * mean));
      if (signed) data.push(-fround(10 ** (i - 6) * mean));
    }
  }
  data.push(0, 1);
  while (data.length < 256) data.push(0);
  return Float64Array.from(data.sort((a, b) => a - b));
}

/** Index of the value of a sorted table nearest x (ties to the upper), or stochastic. */
function nearestIndex(table, x, random) {
  let lo = 0, hi = table.length - 1;
  if (x <= table[lo]) return lo;
  if (x >= table[hi]) return hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (table[mid] <= x) lo = mid;
    else hi = mid;
  }
  const a = table[lo], b = table[hi];
  if (random === undefined) return x - a < b - x ? lo : hi;
  return random() < (x - a) / (b - a) ? hi : lo;
}

/** A table-based format scaled by the block's absolute maximum (dynamic, linear). */
function tableFormat(name, table) {
  return {
    name,
    encode(xs, codes, random) {
      let absmax = 0;
      for (const x of xs) absmax = Math.max(absmax, Math.abs(x));
      const scale = fround(absmax);
      for (let i = 0; i < xs.length; i++) codes[i] = scale === 0 ? nearestIndex(table, 0) : nearestIndex(table, fround(xs[i] / scale), random);
      return scale;
    },
    decode(codes, scale, out) {
      for (let i = 0; i < codes.length; i++) out[i] = fround(table[codes[i]] * scale);
    },
  };
}

export const dynamic = (signed) => tableFormat(signed ? "dynamic (signed, as bnb's RMSprop)" : "dynamic (unsigned)", dynamicMap(signed));

export function linear(signed) {
  const steps = signed ? 127 : 255;
  const table = Float64Array.from({ length: signed ? 255 : 256 }, (_, j) => (signed ? j - 127 : j) / steps);
  return tableFormat(`linear int8 (${signed ? "signed" : "unsigned"})`, table);
}

/**
 * A float of `e` exponent bits and `m` mantissa bits (plus a sign bit when signed, so e + m
 * is 7; else 8), relative to a power-of-two scale from the block's maximum: the top binade
 * holds the maximum, code 0 is 0, and a positive value below the range is 0 (or the
 * smallest code with `floor`). Rounds to nearest (ties up) or stochastically.
 */
export function floatFormat({ e, m, signed, floor = false, sqrt = false }) {
  const maxCode = (1 << (e + m)) - 1;
  const shift = 23 - m;
  const top = (1 << e) - 1;
  const name = `${sqrt ? "√ " : ""}float e${e}m${m}${signed ? " signed" : ""}${floor ? ", floor" : ""}`;
  const enc = (xs, codes, random) => {
    let maxBits = 0;
    for (const x of xs) maxBits = Math.max(maxBits, bitsOf(Math.abs(x)));
    const k = Math.min(128, Math.max(top + 1 - 126, (maxBits >>> 23) - 126));
    const scaleBits = (k - 1 + 127) << 23;
    const bias = scaleBits - (top << 23);
    for (let i = 0; i < xs.length; i++) {
      const bits = bitsOf(xs[i]);
      const abs = bits & 0x7fffffff;
      const r = random === undefined ? 1 << (shift - 1) : Math.floor(random() * (1 << shift));
      let q = (abs - bias + r) >> shift;
      q = Math.min(maxCode, Math.max(0, q));
      if (floor && q === 0 && abs !== 0) q = 1;
      codes[i] = signed && bits >>> 31 && q ? q | (1 << (e + m)) : q;
    }
    return fromBits(scaleBits);
  };
  const dec = (codes, scale, out) => {
    const bias = bitsOf(scale) - (top << 23);
    for (let i = 0; i < codes.length; i++) {
      const q = codes[i] & maxCode;
      const v = q === 0 ? 0 : fromBits((q << shift) + bias);
      out[i] = signed && codes[i] > maxCode ? -v : v;
    }
  };
  if (!sqrt) return { name, encode: enc, decode: dec };
  return {
    name,
    encode(xs, codes, random) {
      return enc(xs.map((x) => fround(Math.sqrt(x))), codes, random);
    },
    decode(codes, scale, out) {
      dec(codes, scale, out);
      for (let i = 0; i < out.length; i++) out[i] = fround(out[i] * out[i]);
    },
  };
}

/** The candidates for S (never negative) and for M and G (signed). */
export const S_CANDIDATES = [
  dynamic(true),
  dynamic(false),
  linear(false),
  floatFormat({ e: 4, m: 4, signed: false }),
  floatFormat({ e: 4, m: 4, signed: false, floor: true }),
  floatFormat({ e: 5, m: 3, signed: false, floor: true }),
  floatFormat({ e: 3, m: 5, signed: false, floor: true }),
  floatFormat({ e: 4, m: 4, signed: false, floor: true, sqrt: true }),
  floatFormat({ e: 3, m: 5, signed: false, floor: true, sqrt: true }),
];

export const M_CANDIDATES = [
  dynamic(true),
  linear(true),
  floatFormat({ e: 4, m: 3, signed: true }),
  floatFormat({ e: 3, m: 4, signed: true }),
  floatFormat({ e: 5, m: 2, signed: true }),
];
