// The compute ceiling of one thread: the kernel's own arithmetic (a default step, its f32x4
// loop with one √ and one ÷ per element) on arrays small enough to stay in L1, so memory
// never waits. It calls the raw `step(flags, args)` export of the SIMD build, from
// instantiateKernel: the optimizer's wrapper would add its own cost, and the ceiling is
// about the arithmetic.
import { defaultOptions, instantiateKernel, kernelFlags, stepScalars, STEP_ARGS_BYTES } from "rmsprop-wasm";
// An internal of the built package: the one writer of the StepArgs layout, so this probe
// cannot disagree with the optimizer about a field.
import { writeStepArgs } from "../dist/kernel-abi.js";
import { seededArray } from "./data.mjs";
import { COMPUTE_PROBE } from "./names.mjs";

// θ, g and S of 2,048 parameters are 24 KiB: they fit the 32 KiB L1 of common x86 and
// Arm cores, and one call (about 1.3 µs) dwarfs the few ns a JS→wasm call costs.
const PROBE_N = 2048;
// Calls per timed sample: about 20 µs, far above the timer's own cost.
const CALLS = 16;
const ALIGN = 64;
const F32 = 4;

const PAGE = 65536;

/**
 * Two StepArgs blocks (the probe's at 0, and one with n = 0 right after it, to time the
 * call alone) and three 64-byte-aligned arrays of `n` f32.
 */
function probeLayout(n) {
  const arrayBytes = Math.ceil((n * F32) / ALIGN) * ALIGN;
  const params = Math.ceil((2 * STEP_ARGS_BYTES) / ALIGN) * ALIGN;
  return {
    args: 0,
    emptyArgs: STEP_ARGS_BYTES,
    arrays: { params, grads: params + arrayBytes, sqAvg: params + 2 * arrayBytes, momentumBuffer: 0, gradAvg: 0 },
    end: params + 3 * arrayBytes,
  };
}

/** A bound SIMD kernel on a fresh memory, its two StepArgs blocks filled for a default step. */
async function l1Kernel(n) {
  const layout = probeLayout(n);
  const memory = new WebAssembly.Memory({ initial: Math.ceil(layout.end / PAGE) });
  const kernel = await instantiateKernel(memory, { backend: "simd" });
  const u32 = new Uint32Array(memory.buffer);
  const f32 = new Float32Array(memory.buffer);
  const scalars = stepScalars(defaultOptions, 1, defaultOptions.lr);
  writeStepArgs(u32, f32, layout.args, layout.arrays, n, scalars);
  writeStepArgs(u32, f32, layout.emptyArgs, layout.arrays, 0, scalars);
  const view = (at) => f32.subarray(at / F32, at / F32 + n);
  const { params, grads, sqAvg } = layout.arrays;
  return { kernel, layout, params: view(params), grads: view(grads), sqAvg: view(sqAvg) };
}

/**
 * Throws unless every value is a normal f32 or zero. Subnormals take a slow path on many
 * cores and a NaN would end the run's meaning: either would make the ceiling wrong.
 */
function assertNormal(name, values) {
  for (const x of values) {
    if (!Number.isFinite(x) || (x !== 0 && Math.abs(x) < 2 ** -126)) {
      throw new Error(`compute probe: ${name} holds ${x}, so the ceiling it measured is not the normal-data one`);
    }
  }
}

/** The median over a few tries of what `calls` calls of step(flags, args) take, per call. */
function perCall(step, flags, args, calls) {
  const tries = [];
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) step(flags, args);
    tries.push((performance.now() - t0) / calls);
  }
  return tries.sort((a, b) => a - b)[2];
}

/** The compute probe as a contender: each timed sample runs CALLS default steps of PROBE_N. */
export async function computeProbeContender() {
  const { kernel, layout, params, grads, sqAvg } = await l1Kernel(PROBE_N);
  const start = seededArray(PROBE_N, 1);
  grads.set(seededArray(PROBE_N, 2));
  const flags = kernelFlags(defaultOptions);
  const { step } = kernel;
  const reset = () => {
    params.set(start);
    sqAvg.fill(0);
  };
  return {
    name: COMPUTE_PROBE,
    role: "compute",
    threads: 1,
    work: PROBE_N * CALLS,
    bytesPerParam: 0,
    // θ moves by about η per step; starting each round from the seeded values keeps it in
    // a narrow normal range however many calls the round makes.
    beforeAll: reset,
    step: () => {
      for (let c = 0; c < CALLS; c++) step(flags, layout.args);
    },
    /** Throws if the data left the normal range, which would void the measurement. */
    check: () => {
      assertNormal("θ", params);
      assertNormal("S", sqAvg);
    },
    /** What the JS→wasm call alone (n = 0) costs, as a fraction of one probe call. */
    callShare: () => {
      const share = perCall(step, flags, layout.emptyArgs, 20000) / perCall(step, flags, layout.args, 2000);
      reset();
      return share;
    },
    dispose: () => {},
  };
}
