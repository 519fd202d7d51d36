// The ABI of the kernel: the flag bits of `step` and the StepArgs block it reads. Shared by
// assembly/rmsprop.ts, by AssemblyScript projects that import "rmsprop-wasm/assembly", and
// mirrored on the host in src/kernel-abi.ts.

/** Bits of `flags` in `step`; src/kernel-abi.ts mirrors them. */
export const EPS_IN_SQRT: u32 = 1;
export const CENTERED: u32 = 2;
export const WD_L2: u32 = 4;
export const WD_DECOUPLED: u32 = 8;
export const MOM_HEAVY: u32 = 16;
export const MOM_NESTEROV: u32 = 32;
export const TRAFFIC_PROBE: u32 = 64;

/**
 * The arguments of one step, read from linear memory so that an embedder (or a worker
 * thread) fills 72 bytes and calls `step(flags, args)`. Field order is the ABI; the host
 * side is src/kernel-abi.ts. Scalars must already be rounded to f32.
 */
@unmanaged export class StepArgs {
  params: u32;          //  0  byte offset of θ
  grads: u32;           //  4  byte offset of g
  sqAvg: u32;           //  8  byte offset of S
  momentumBuffer: u32;  // 12  byte offset of M (momentum kinds only)
  gradAvg: u32;         // 16  byte offset of G (centered only)
  n: u32;               // 20  element count
  lr: f32;              // 24  η
  beta: f32;            // 28  β
  oneMinusBeta: f32;    // 32  1 − β, rounded once by the host
  eps: f32;             // 36  ε
  gSign: f32;           // 40  −1 to maximize, else +1
  wd: f32;              // 44  λ (L2)
  lrWd: f32;            // 48  η·λ (decoupled)
  invC: f32;            // 52  1/(1 − β^t), or 1
  vFloor: f32;          // 56  lower clamp of the centered variance (0, or −∞ for none)
  mu: f32;              // 60  μ
  uScale: f32;          // 64  scale of u entering M: 1, or η
  thetaScale: f32;      // 68  scale of M leaving to θ: η, or 1
}
