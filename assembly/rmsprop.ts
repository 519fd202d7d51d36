// The kernel: one RMSProp step over f32 arrays that live in an imported linear memory, and
// the scans the host runs before it (first_nonfinite_f32, first_nonfinite_scaled_f32,
// sum_squares_f32).
//
// One source, two binaries: built with `--enable simd` (build/rmsprop_simd.wasm) the main
// loop runs on f32x4 lanes and a scalar loop finishes the last n % 4 elements; built
// without it (build/rmsprop_scalar.wasm), the scalar loop does all of them. Both loops are
// the same generic body, instantiated for T = v128 and T = f32, so they cannot drift apart.
//
// Memory layout. The host (src/layout.ts) owns the memory and passes byte offsets:
//
//   params          n × f32   θ   read, written
//   grads           n × f32   g   read only
//   sqAvg           n × f32   S   read, written
//   momentumBuffer  n × f32   M   read, written (momentum kinds only; else ignored)
//   gradAvg         n × f32   G   read, written (centered only; else ignored)
//   ema             n × f32   Θ̄   read, written (EMA only; else ignored)
//
// Every offset must be a multiple of 4; a multiple of 16 keeps the vector loads aligned
// (faster, not required). Arrays must not overlap. The kernel allocates nothing, has no
// static data, and touches no byte outside the arrays it is given.
//
// With the flag Q8 (the 8-bit step, at the end of this file; docs/quantization.md) S, M and
// G are codes, and the block gives four more regions:
//
//   sqAvg           n × u8       S's codes (u8e5m3; for centered, V = S − G²'s)   read, written
//   momentumBuffer  n × u8       M's codes (s8e3m4)                               read, written
//   gradAvg         n × u8       G's codes (s8e4m3)                               read, written
//   sqAvgScales     ⌈n/512⌉ × f32  one scale per block of 512 codes, 4-aligned     read, written
//   momentumBufferScales, gradAvgScales   the same for M and G
//   scratch         Q8_SCRATCH_BYTES, 16-aligned, the call's own (a thread's)      written
//
// Codes have any alignment. Element 0 of a call must start a block (firstIndex, the index
// of element 0 in the whole array, is a multiple of 512), so threads cut on block
// boundaries. assembly/quantize.ts has the code maps and the scratch's layout.
//
// Operation order per element, every operation rounded to f32 (src/reference.ts repeats
// it line for line with Math.fround; the tests demand bit-identical results):
//
//   g  = grad · gSign                        gSign = ±gradScale (− maximizes), or ±1
//   g  = g · clipScale                       (CLIP: norm clipping factor, 1 for none)
//   g  = −c if g < −c ; c if c < g           (CLIP: c = clipValue, +∞ for none; NaN stays)
//   g  = g + wd·θ                            (weight decay L2)
//   θ  = θ − lrWd·θ                          (weight decay decoupled, lrWd = η·λ)
//   S  = β·S + (1−β)·(g·g)
//   G  = β·G + (1−β)·g                       (centered)
//   s  = S·invC                              invC = 1/(1 − β^t) with bias correction, else 1
//   v  = s                                   (not centered)
//   v  = s − (G·invC)·(G·invC); v = vFloor if v < vFloor   (centered; vFloor 0 clamps, −∞ does not)
//   d  = √(v + ε)                            (epsInSqrt)
//   d  = √v + ε                              (eps outside the root)
//   u  = g / d
//   θ  = θ − η·u                             (no momentum)
//   M  = μ·M + uScale·u ; θ = θ − θScale·M   (heavy ball)
//   M  = μ·M + uScale·u ; θ = θ − θScale·(μ·M + uScale·u)   (Nesterov)
//   Θ̄  = emaDecay·Θ̄ + (1−emaDecay)·θ        (EMA, with the new θ; EMA_INIT first sets Θ̄ = θ_old)
//
// uScale, θScale = (1, η) puts the learning rate outside the buffer (PyTorch) and (η, 1)
// inside it (TF1, Keras, tfjs, optax). No fused multiply-add exists in this instruction set,
// so every product is rounded before it is added, as in the reference.

import {
  CENTERED, CLIP, EMA, EMA_INIT, EPS_IN_SQRT, FLAGS_IN_ARGS, MOM_HEAVY, MOM_NESTEROV, Q8, STEP_ARGS_V2_BYTES, StepArgs, TRAFFIC_PROBE,
  WD_DECOUPLED, WD_L2,
} from "./abi";
import {
  addSquares, arraySeed, decodeBlock, FORMAT_S8E3M4, FORMAT_S8E4M3, FORMAT_U8E5M3, Q8_ARGS_AT, QBLOCK, requantizeBlock, subtractSquares,
} from "./quantize";

// Option switches, fixed at compile time. `step` dispatches once per call to a generic
// instance per combination; inside an instance every `if (sizeof<…>() == …)` is a constant
// the compiler folds away, so the hot loop tests no option.
type No = u8;
type Yes = u16;
type WdNone = u8;
type WdL2 = u16;
type WdDecoupled = u32;
type MomNone = u8;
type MomHeavy = u16;
type MomNesterov = u32;

// ---- lane-generic arithmetic: T is v128 (four f32 lanes) or f32 ----

@inline function splat<T>(x: f32): T {
  if (isVector<T>()) return f32x4.splat(x);
  else return x as T;
}
@inline function add<T>(a: T, b: T): T {
  if (isVector<T>()) return f32x4.add(a, b);
  else return a + b;
}
@inline function sub<T>(a: T, b: T): T {
  if (isVector<T>()) return f32x4.sub(a, b);
  else return a - b;
}
@inline function mul<T>(a: T, b: T): T {
  if (isVector<T>()) return f32x4.mul(a, b);
  else return a * b;
}
@inline function div<T>(a: T, b: T): T {
  if (isVector<T>()) return f32x4.div(a, b);
  else return a / b;
}
@inline function sqrt<T>(a: T): T {
  if (isVector<T>()) return f32x4.sqrt(a);
  else return Mathf.sqrt(a as f32) as T;
}
@inline function clampBelow<T>(a: T, floor: T): T {
  // a < floor ? floor : a, the "pseudo-max": one instruction on x86 and ARM, where
  // f32x4.max needs several for its NaN rules. A NaN a stays NaN, as it should here.
  if (isVector<T>()) return f32x4.pmax(a, floor);
  else return select<f32>(floor as f32, a as f32, (a as f32) < (floor as f32)) as T;
}
@inline function clampAbove<T>(a: T, ceiling: T): T {
  // ceiling < a ? ceiling : a, the "pseudo-min"; a NaN a stays NaN.
  if (isVector<T>()) return f32x4.pmin(a, ceiling);
  else return select<f32>(ceiling as f32, a as f32, (ceiling as f32) < (a as f32)) as T;
}

/** Updates byte range [from, to) of every array with lanes of type T. */
@inline function updateRange<T, EpsInSqrt, Centered, Wd, Mom, Ema>(a: StepArgs, from: usize, to: usize, clip: bool): void {
  const params = <usize>a.params, grads = <usize>a.grads, sqAvg = <usize>a.sqAvg;
  const momentumBuffer = <usize>a.momentumBuffer, gradAvg = <usize>a.gradAvg;
  // Splat every scalar once, outside the loop.
  const lrT = splat<T>(a.lr);
  const betaT = splat<T>(a.beta);
  const oneMinusBetaT = splat<T>(a.oneMinusBeta);
  const epsT = splat<T>(a.eps);
  const gSignT = splat<T>(a.gSign);
  const wdT = splat<T>(a.wd);
  const lrWdT = splat<T>(a.lrWd);
  const invCT = splat<T>(a.invC);
  const vFloorT = splat<T>(a.vFloor);
  const muT = splat<T>(a.mu);
  const uScaleT = splat<T>(a.uScale);
  const thetaScaleT = splat<T>(a.thetaScale);
  // The v2 fields exist only in blocks whose flags ask for them: read them only then.
  let clipScaleT = splat<T>(1), clipT = splat<T>(Infinity), negClipT = splat<T>(-Infinity);
  if (clip) {
    clipScaleT = splat<T>(a.clipScale);
    clipT = splat<T>(a.clipValue);
    negClipT = splat<T>(-a.clipValue);
  }
  let ema: usize = 0, emaDecayT = splat<T>(0), oneMinusEmaDecayT = splat<T>(1);
  if (sizeof<Ema>() == sizeof<Yes>()) {
    ema = <usize>a.ema;
    emaDecayT = splat<T>(a.emaDecay);
    oneMinusEmaDecayT = splat<T>(a.oneMinusEmaDecay);
  }
  for (let o = from; o < to; o += sizeof<T>()) {
    let theta = load<T>(params + o);
    let g = mul<T>(load<T>(grads + o), gSignT);
    if (clip) {
      g = mul<T>(g, clipScaleT);
      g = clampAbove<T>(clampBelow<T>(g, negClipT), clipT);
    }
    if (sizeof<Wd>() == sizeof<WdL2>()) g = add<T>(g, mul<T>(wdT, theta));
    if (sizeof<Wd>() == sizeof<WdDecoupled>()) theta = sub<T>(theta, mul<T>(lrWdT, theta));
    const s = add<T>(mul<T>(betaT, load<T>(sqAvg + o)), mul<T>(oneMinusBetaT, mul<T>(g, g)));
    store<T>(sqAvg + o, s);
    let v = mul<T>(s, invCT);
    if (sizeof<Centered>() == sizeof<Yes>()) {
      const gAvg = add<T>(mul<T>(betaT, load<T>(gradAvg + o)), mul<T>(oneMinusBetaT, g));
      store<T>(gradAvg + o, gAvg);
      const m = mul<T>(gAvg, invCT);
      v = clampBelow<T>(sub<T>(v, mul<T>(m, m)), vFloorT);
    }
    let d: T;
    if (sizeof<EpsInSqrt>() == sizeof<Yes>()) d = sqrt<T>(add<T>(v, epsT));
    else d = add<T>(sqrt<T>(v), epsT);
    const u = div<T>(g, d);
    if (sizeof<Mom>() == sizeof<MomNone>()) {
      theta = sub<T>(theta, mul<T>(lrT, u));
    } else {
      const scaled = mul<T>(uScaleT, u);
      const buf = add<T>(mul<T>(muT, load<T>(momentumBuffer + o)), scaled);
      store<T>(momentumBuffer + o, buf);
      if (sizeof<Mom>() == sizeof<MomNesterov>()) {
        theta = sub<T>(theta, mul<T>(thetaScaleT, add<T>(mul<T>(muT, buf), scaled)));
      } else {
        theta = sub<T>(theta, mul<T>(thetaScaleT, buf));
      }
    }
    store<T>(params + o, theta);
    if (sizeof<Ema>() == sizeof<Yes>()) {
      store<T>(ema + o, add<T>(mul<T>(emaDecayT, load<T>(ema + o)), mul<T>(oneMinusEmaDecayT, theta)));
    }
  }
}

/** Byte range [from, end) of every array: whole vectors from `from` on, then the scalar tail. */
function stepInstance<EpsInSqrt, Centered, Wd, Mom, Ema>(a: StepArgs, clip: bool, from: usize, end: usize): void {
  let vecEnd: usize = from;
  if (ASC_FEATURE_SIMD) {
    vecEnd = from + ((end - from) & ~(<usize>15));
    updateRange<v128, EpsInSqrt, Centered, Wd, Mom, Ema>(a, from, vecEnd, clip);
  }
  updateRange<f32, EpsInSqrt, Centered, Wd, Mom, Ema>(a, vecEnd, end, clip);
}

// The dispatch below is a tree of generic calls: each level fixes one switch, so the
// compiler emits exactly one specialised loop per combination (2 · 2 · 3 · 3 · 2 = 72).
// Clipping is the one runtime switch, a branch on a loop invariant: as a type parameter it
// doubled the code (a page's download, docs/bundle-size.md) and measured no faster.

function byEma<EpsInSqrt, Centered, Wd, Mom>(flags: u32, a: StepArgs, from: usize, end: usize): void {
  const clip = (flags & CLIP) != 0;
  if (flags & EMA) stepInstance<EpsInSqrt, Centered, Wd, Mom, Yes>(a, clip, from, end);
  else stepInstance<EpsInSqrt, Centered, Wd, Mom, No>(a, clip, from, end);
}

function byMomentum<EpsInSqrt, Centered, Wd>(flags: u32, a: StepArgs, from: usize, end: usize): void {
  if (flags & MOM_NESTEROV) byEma<EpsInSqrt, Centered, Wd, MomNesterov>(flags, a, from, end);
  else if (flags & MOM_HEAVY) byEma<EpsInSqrt, Centered, Wd, MomHeavy>(flags, a, from, end);
  else byEma<EpsInSqrt, Centered, Wd, MomNone>(flags, a, from, end);
}

function byWeightDecay<EpsInSqrt, Centered>(flags: u32, a: StepArgs, from: usize, end: usize): void {
  if (flags & WD_DECOUPLED) byMomentum<EpsInSqrt, Centered, WdDecoupled>(flags, a, from, end);
  else if (flags & WD_L2) byMomentum<EpsInSqrt, Centered, WdL2>(flags, a, from, end);
  else byMomentum<EpsInSqrt, Centered, WdNone>(flags, a, from, end);
}

function byCentered<EpsInSqrt>(flags: u32, a: StepArgs, from: usize, end: usize): void {
  if (flags & CENTERED) byWeightDecay<EpsInSqrt, Yes>(flags, a, from, end);
  else byWeightDecay<EpsInSqrt, No>(flags, a, from, end);
}

/**
 * The 8-bit step, block by block: decode S (V + G² when centered), M and G into the scratch,
 * run the f32 step above on the block with its state there, then give each array its new
 * block scale and codes (assembly/quantize.ts). The update is the f32 step's, untouched.
 */
function stepQ8(flags: u32, a: StepArgs, first: u32, count: u32): void {
  // A range starts on a block: its scale and its rounding are the block's.
  if (first % <u32>QBLOCK != 0) unreachable();
  const n = <usize>first + <usize>count;
  const centered = (flags & CENTERED) != 0;
  const momentum = (flags & (MOM_HEAVY | MOM_NESTEROV)) != 0;
  const withEma = (flags & EMA) != 0;
  const scratch = <usize>a.scratch;
  const newS = scratch, newM = scratch + QBLOCK * 4, newG = scratch + QBLOCK * 8;
  // The f32 step reads its arrays from a block of its own in the scratch, one per block here.
  const b32 = changetype<StepArgs>(scratch + Q8_ARGS_AT);
  memory.copy(scratch + Q8_ARGS_AT, changetype<usize>(a), STEP_ARGS_V2_BYTES);
  b32.sqAvg = <u32>newS;
  b32.momentumBuffer = momentum ? <u32>newM : 0;
  b32.gradAvg = centered ? <u32>newG : 0;
  const f32Flags = flags & ~(Q8 | EMA_INIT);
  const seedS = arraySeed(a.roundingSeed, 0), seedM = arraySeed(a.roundingSeed, 1), seedG = arraySeed(a.roundingSeed, 2);
  for (let start = <usize>first, b = start / QBLOCK; start < n; start += QBLOCK, b++) {
    const len = min<usize>(QBLOCK, n - start);
    const sCodes = <usize>a.sqAvg + start, sScale = <usize>a.sqAvgScales + (b << 2);
    const mCodes = <usize>a.momentumBuffer + start, mScale = <usize>a.momentumBufferScales + (b << 2);
    const gCodes = <usize>a.gradAvg + start, gScale = <usize>a.gradAvgScales + (b << 2);
    decodeBlock(sCodes, load<u32>(sScale), len, newS, FORMAT_U8E5M3);
    if (momentum) decodeBlock(mCodes, load<u32>(mScale), len, newM, FORMAT_S8E3M4);
    if (centered) {
      decodeBlock(gCodes, load<u32>(gScale), len, newG, FORMAT_S8E4M3);
      addSquares(newS, newG, len);
    }
    b32.params = a.params + <u32>(start << 2);
    b32.grads = a.grads + <u32>(start << 2);
    if (withEma) b32.ema = a.ema + <u32>(start << 2);
    b32.n = <u32>len;
    if (f32Flags & EPS_IN_SQRT) byCentered<Yes>(f32Flags, b32, 0, len << 2);
    else byCentered<No>(f32Flags, b32, 0, len << 2);
    const index = a.firstIndex + <u32>start;
    if (centered) {
      subtractSquares(newS, newG, len);
      requantizeBlock(newG, len, gCodes, gScale, seedG, index, FORMAT_S8E4M3);
    }
    requantizeBlock(newS, len, sCodes, sScale, seedS, index, FORMAT_U8E5M3);
    if (momentum) requantizeBlock(newM, len, mCodes, mScale, seedM, index, FORMAT_S8E3M4);
  }
}

/**
 * The memory-traffic probe: the loads and stores of a default step (read θ, g, S; write θ,
 * S) with the arithmetic replaced by one bitwise xor, compiled with the same flags. Its
 * speed is the ceiling the memory system puts on a step. It scrambles θ and S.
 */
function trafficProbe(a: StepArgs, from: usize, end: usize): void {
  const params = <usize>a.params, grads = <usize>a.grads, sqAvg = <usize>a.sqAvg;
  let o: usize = from;
  if (ASC_FEATURE_SIMD) {
    const vecEnd = from + ((end - from) & ~(<usize>15));
    for (; o < vecEnd; o += 16) {
      const g = v128.load(grads + o);
      v128.store(params + o, v128.xor(v128.load(params + o), g));
      v128.store(sqAvg + o, v128.xor(v128.load(sqAvg + o), g));
    }
  }
  for (; o < end; o += 4) {
    const g = load<u32>(grads + o);
    store<u32>(params + o, load<u32>(params + o) ^ g);
    store<u32>(sqAvg + o, load<u32>(sqAvg + o) ^ g);
  }
}

/**
 * One RMSProp step. `flags` is a bitwise OR of EPS_IN_SQRT (1), CENTERED (2), WD_L2 (4),
 * WD_DECOUPLED (8), MOM_HEAVY (16), MOM_NESTEROV (32), CLIP (128), EMA (256) and EMA_INIT
 * (512), or TRAFFIC_PROBE (64) alone for the probe, or FLAGS_IN_ARGS (1024) alone to read
 * them from the block's `flags` field; `args` is the byte offset of a StepArgs
 * block (4-byte aligned; 72 bytes suffice without CLIP and EMA, else 96).
 */
export function step(flags: u32, args: usize): void {
  stepElements(flags, args, 0, changetype<StepArgs>(args).n);
}

/**
 * The step of elements [start, start + count) of the block's arrays only, clamped to its
 * n: what one thread's share of a step runs (the threads share one block per unit, each
 * taking a range of it). Every element's bits are those `step` gives it; a start that is a
 * multiple of 4 keeps the range on whole vectors.
 */
export function step_range(flags: u32, args: usize, start: u32, count: u32): void {
  const n = changetype<StepArgs>(args).n;
  const from = min<u32>(start, n);
  stepElements(flags, args, from, min<u32>(count, n - from));
}

function stepElements(flags: u32, args: usize, start: u32, count: u32): void {
  const a = changetype<StepArgs>(args);
  const from = <usize>start << 2, end = from + (<usize>count << 2);
  // Threads get their jobs once, at start; a job whose variant changes between steps (the
  // first EMA step, a clipping factor) carries its flags in the block the host rewrites.
  if (flags & FLAGS_IN_ARGS) flags = a.flags;
  if (flags & TRAFFIC_PROBE) {
    trafficProbe(a, from, end);
    return;
  }
  // The EMA starts as the weights the first step begins from (Keras 3, timm's ModelEmaV2).
  if ((flags & (EMA | EMA_INIT)) == (EMA | EMA_INIT)) memory.copy(<usize>a.ema + from, <usize>a.params + from, end - from);
  if (flags & Q8) stepQ8(flags, a, start, count);
  else if (flags & EPS_IN_SQRT) byCentered<Yes>(flags, a, from, end);
  else byCentered<No>(flags, a, from, end);
}

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

export { dequantize_blockwise_8bit, quantize_blockwise_8bit } from "./quantize";
