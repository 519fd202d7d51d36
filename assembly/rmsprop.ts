// rmsprop_f32: one RMSProp step over f32 arrays that live in an imported linear memory.
//
// One source, two binaries: built with `--enable simd` the main loop runs on f32x4 lanes
// (rmsprop_f32_simd) and a scalar loop finishes the last n % 4 elements; built without it,
// the scalar loop does all of them (rmsprop_f32_scalar). Both loops are the same generic
// body, instantiated for T = v128 and T = f32, so they cannot drift apart.
//
// Memory layout. The host (src/layout.ts) owns the memory and passes byte offsets:
//
//   params          n × f32   θ   read, written
//   grads           n × f32   g   read only
//   sqAvg           n × f32   S   read, written
//   momentumBuffer  n × f32   M   read, written (momentum kinds only; else ignored)
//   gradAvg         n × f32   G   read, written (centered only; else ignored)
//
// Every offset must be a multiple of 4; a multiple of 16 keeps the vector loads aligned
// (faster, not required). Arrays must not overlap. The kernel allocates nothing, has no
// static data, and touches no byte outside the arrays it is given.
//
// Operation order per element, every operation rounded to f32 (src/reference.ts repeats
// it line for line with Math.fround; the tests demand bit-identical results):
//
//   g  = grad · gSign                        gSign = −1 maximizes, +1 otherwise
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
//
// uScale, θScale = (1, η) puts the learning rate outside the buffer (PyTorch) and (η, 1)
// inside it (TF1, Keras, tfjs, optax). No fused multiply-add exists in this instruction set,
// so every product is rounded before it is added, as in the reference.

import {
  CENTERED, EPS_IN_SQRT, MOM_HEAVY, MOM_NESTEROV, StepArgs, TRAFFIC_PROBE, WD_DECOUPLED, WD_L2,
} from "./abi";

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

/** Updates byte range [from, to) of every array with lanes of type T. */
@inline function updateRange<T, EpsInSqrt, Centered, Wd, Mom>(a: StepArgs, from: usize, to: usize): void {
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
  for (let o = from; o < to; o += sizeof<T>()) {
    let theta = load<T>(params + o);
    let g = mul<T>(load<T>(grads + o), gSignT);
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
  }
}

function stepInstance<EpsInSqrt, Centered, Wd, Mom>(a: StepArgs): void {
  const end = <usize>a.n << 2;
  let vecEnd: usize = 0;
  if (ASC_FEATURE_SIMD) {
    vecEnd = end & ~(<usize>15);
    updateRange<v128, EpsInSqrt, Centered, Wd, Mom>(a, 0, vecEnd);
  }
  updateRange<f32, EpsInSqrt, Centered, Wd, Mom>(a, vecEnd, end);
}

// The dispatch below is a tree of generic calls: each level fixes one switch, so the
// compiler emits exactly one specialised loop per combination (2 · 2 · 3 · 3 = 36).

function byMomentum<EpsInSqrt, Centered, Wd>(flags: u32, a: StepArgs): void {
  if (flags & MOM_NESTEROV) stepInstance<EpsInSqrt, Centered, Wd, MomNesterov>(a);
  else if (flags & MOM_HEAVY) stepInstance<EpsInSqrt, Centered, Wd, MomHeavy>(a);
  else stepInstance<EpsInSqrt, Centered, Wd, MomNone>(a);
}

function byWeightDecay<EpsInSqrt, Centered>(flags: u32, a: StepArgs): void {
  if (flags & WD_DECOUPLED) byMomentum<EpsInSqrt, Centered, WdDecoupled>(flags, a);
  else if (flags & WD_L2) byMomentum<EpsInSqrt, Centered, WdL2>(flags, a);
  else byMomentum<EpsInSqrt, Centered, WdNone>(flags, a);
}

function byCentered<EpsInSqrt>(flags: u32, a: StepArgs): void {
  if (flags & CENTERED) byWeightDecay<EpsInSqrt, Yes>(flags, a);
  else byWeightDecay<EpsInSqrt, No>(flags, a);
}

/**
 * The memory-traffic probe: the loads and stores of a default step (read θ, g, S; write θ,
 * S) with the arithmetic replaced by one bitwise xor, compiled with the same flags. Its
 * speed is the ceiling the memory system puts on a step. It scrambles θ and S.
 */
function trafficProbe(a: StepArgs): void {
  const params = <usize>a.params, grads = <usize>a.grads, sqAvg = <usize>a.sqAvg;
  const end = <usize>a.n << 2;
  let o: usize = 0;
  if (ASC_FEATURE_SIMD) {
    const vecEnd = end & ~(<usize>15);
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
 * WD_DECOUPLED (8), MOM_HEAVY (16), MOM_NESTEROV (32), or TRAFFIC_PROBE (64) alone for the
 * probe; `args` is the byte offset of a StepArgs block (72 bytes, 4-byte aligned).
 */
export function step(flags: u32, args: usize): void {
  const a = changetype<StepArgs>(args);
  if (flags & TRAFFIC_PROBE) {
    trafficProbe(a);
    return;
  }
  if (flags & EPS_IN_SQRT) byCentered<Yes>(flags, a);
  else byCentered<No>(flags, a);
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
