// The ABI of the kernel: the flag bits of `step` and the StepArgs block it reads. Shared by
// assembly/rmsprop.ts and by AssemblyScript projects that import "rmsprop-wasm/assembly".
// One source of truth: the table STEP_ARGS_FIELDS and KernelFlag in src/kernel-abi.ts;
// test/abi-sources.test.ts parses this file, include/rmsprop-wasm.h and docs/embedding.md
// and checks each against that table.

/** Bits of `flags` in `step`. */
export const EPS_IN_SQRT: u32 = 1;
export const CENTERED: u32 = 2;
export const WD_L2: u32 = 4;
export const WD_DECOUPLED: u32 = 8;
export const MOM_HEAVY: u32 = 16;
export const MOM_NESTEROV: u32 = 32;
export const TRAFFIC_PROBE: u32 = 64;
/** v2: g = g·clipScale, then clamped to [−clipValue, clipValue]; reads bytes 76–83. */
export const CLIP: u32 = 128;
/** v2: after θ, ema = emaDecay·ema + (1 − emaDecay)·θ; reads bytes 72–75 and 84–91. */
export const EMA: u32 = 256;
/** v2, with EMA: the EMA starts as θ before this step (the first step). */
export const EMA_INIT: u32 = 512;
/** v2: ignore the other bits and take the flags from the block's `flags` field. */
export const FLAGS_IN_ARGS: u32 = 1024;
/** v3: S (V = S − G² when centered), M and G are 8-bit codes with a scale per block; reads bytes 96–119. */
export const Q8: u32 = 2048;

/** Bytes of a StepArgs block that uses no v2 flag (the first version of the ABI). */
export const STEP_ARGS_V1_BYTES: u32 = 72;
/** Bytes of a StepArgs block that uses no v3 flag (the second version of the ABI). */
export const STEP_ARGS_V2_BYTES: u32 = 96;
/** Bytes of a StepArgs block that may use every flag. */
export const STEP_ARGS_BYTES: u32 = 120;

/**
 * The arguments of one step, read from linear memory so that an embedder (or a worker
 * thread) fills the block and calls `step(flags, args)`. Field order is the ABI. Scalars
 * must already be rounded to f32. Fields from byte 72 on are read only under the v2 flags
 * (CLIP, EMA), so a 72-byte block from the first version of the ABI keeps working; fields
 * from byte 96 on only under Q8.
 */
@unmanaged export class StepArgs {
  params: u32;           //  0  byte offset of θ
  grads: u32;            //  4  byte offset of g
  sqAvg: u32;            //  8  byte offset of S
  momentumBuffer: u32;   // 12  byte offset of M (momentum kinds only)
  gradAvg: u32;          // 16  byte offset of G (centered only)
  n: u32;                // 20  element count
  lr: f32;               // 24  η
  beta: f32;             // 28  β
  oneMinusBeta: f32;     // 32  1 − β, rounded once by the host
  eps: f32;              // 36  ε
  gSign: f32;            // 40  gradient multiplier: ±1, or ±gradScale (− maximizes)
  wd: f32;               // 44  λ (L2)
  lrWd: f32;             // 48  η·λ (decoupled)
  invC: f32;             // 52  1/(1 − β^t), or 1
  vFloor: f32;           // 56  lower clamp of the centered variance (0, or −∞ for none)
  mu: f32;               // 60  μ
  uScale: f32;           // 64  scale of u entering M: 1, or η
  thetaScale: f32;       // 68  scale of M leaving to θ: η, or 1
  ema: u32;              // 72  byte offset of the EMA of θ (EMA only)
  clipScale: f32;        // 76  norm-clipping factor min(1, max/(‖g‖ + 1e-6)) (CLIP only)
  clipValue: f32;        // 80  element clip bound, +∞ for none (CLIP only)
  emaDecay: f32;         // 84  d (EMA only)
  oneMinusEmaDecay: f32; // 88  1 − d, rounded once by the host (EMA only)
  flags: u32;            // 92  the flags, read only when `step` is given FLAGS_IN_ARGS
  sqAvgScales: u32;      // 96  byte offset of the f32 scales of S's blocks (Q8 only)
  momentumBufferScales: u32; // 100 byte offset of the f32 scales of M's blocks (Q8, momentum kinds)
  gradAvgScales: u32;    // 104 byte offset of the f32 scales of G's blocks (Q8, centered)
  scratch: u32;          // 108 byte offset of the caller's scratch, Q8_SCRATCH_BYTES (Q8 only)
  firstIndex: u32;       // 112 index of element 0 in the whole array: the rounding counter (Q8 only)
  roundingSeed: u32;     // 116 any u32 that changes from step to step (Q8 only)
}
