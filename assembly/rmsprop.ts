// The kernel: one RMSProp step over f32 arrays that live in an imported linear memory. The
// module's entry: it also exports the scans the host runs before a step (assembly/scans.ts)
// and the 8-bit codec (assembly/quantize.ts).
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

export { first_nonfinite_f32, first_nonfinite_scaled_f32, sum_squares_f32 } from "./scans";
export { dequantize_blockwise_8bit, quantize_blockwise_8bit } from "./quantize";
