// The implementations the benchmark runs side by side, each set up on the same seeded
// data. Every contender is { name, bytesPerParam, step(), dispose() }.
import { createRmsprop, referenceStep, stepScalars, kernelFlags, defaultOptions } from "rmsprop-wasm";

/** Seeded gradients and weights in a range that stays finite over many steps. */
export function seededArray(n, seed) {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}

// Bytes one step moves per parameter: reads θ, g, S (12) and writes θ, S (8); each of the
// momentum buffer and the gradient average adds a read and a write (8); the non-finite
// check reads g once more (4).
const STEP_BYTES = 20;
const EXTRA_ARRAY_BYTES = 8;
const CHECK_BYTES = 4;

/** An optimizer of this package on a given backend and options. */
async function wasmContender(name, n, options) {
  const opt = await createRmsprop(n, options);
  opt.params.set(seededArray(n, 1));
  opt.grads.set(seededArray(n, 2));
  const checks = opt.options.nonFinite !== "ignore";
  const extraArrays = Object.keys(opt.state).length - 1;
  return {
    name,
    bytesPerParam: STEP_BYTES + extraArrays * EXTRA_ARRAY_BYTES + (checks ? CHECK_BYTES : 0),
    step: () => opt.step(),
    dispose: () => opt.dispose(),
  };
}

/** The Math.fround reference on plain Float32Arrays. */
function referenceContender(n) {
  const arrays = { params: seededArray(n, 1), grads: seededArray(n, 2), sqAvg: new Float32Array(n) };
  const flags = kernelFlags(defaultOptions);
  const scalars = stepScalars(defaultOptions, 1, defaultOptions.lr);
  return {
    name: "Math.fround reference",
    bytesPerParam: STEP_BYTES,
    step: () => referenceStep(flags, scalars, arrays),
    dispose: () => {},
  };
}

/** The loop a user would write by hand: Float32Arrays, f64 arithmetic, no fround. */
function plainJsContender(n) {
  const params = seededArray(n, 1);
  const grads = seededArray(n, 2);
  const sqAvg = new Float32Array(n);
  const lr = 0.01, beta = 0.9, eps = 1e-8;
  return {
    name: "plain JS loop",
    bytesPerParam: STEP_BYTES,
    step: () => {
      for (let i = 0; i < params.length; i++) {
        const g = grads[i];
        const s = beta * sqAvg[i] + (1 - beta) * g * g;
        sqAvg[i] = s;
        params[i] -= (lr * g) / Math.sqrt(s + eps);
      }
    },
    dispose: () => {},
  };
}

/** The contenders for one size, baseline (plain JS) last. */
export async function sizeContenders(n) {
  return [
    await wasmContender("wasm SIMD (default)", n, {}),
    await wasmContender("wasm SIMD, nonFinite ignore", n, { nonFinite: "ignore" }),
    await wasmContender("wasm scalar", n, { backend: "scalar" }),
    referenceContender(n),
    plainJsContender(n),
  ];
}

export const BASELINE = "plain JS loop";

/** Every option that selects a different kernel path, at one size, each a contender. */
export const VARIANTS = {
  "default": {},
  "eps outside the root": { epsInSqrt: false },
  "momentum": { momentum: 0.9 },
  "momentum, lrInMomentum": { momentum: 0.9, lrInMomentum: true },
  "nesterov": { momentum: 0.9, nesterov: true },
  "centered": { centered: true },
  "centered, no clamp": { centered: true, clampVariance: false },
  "weight decay (L2)": { weightDecay: 0.01 },
  "weight decay (decoupled)": { weightDecay: 0.01, decoupledWeightDecay: true },
  "maximize": { maximize: true },
  "bias correction": { biasCorrection: true },
  "all at once": {
    centered: true, momentum: 0.9, nesterov: true, weightDecay: 0.01,
    decoupledWeightDecay: true, biasCorrection: true, maximize: true,
  },
};

export async function variantContenders(n) {
  const list = [];
  for (const [name, options] of Object.entries(VARIANTS)) list.push(await wasmContender(`variant: ${name}`, n, options));
  list.push(plainJsContender(n));
  return list;
}

/** 1,000 tensors of seeded mixed sizes (10 … 10,000 parameters, log-uniform). */
export function mixedTensors(count, seed) {
  const r = seededArray(count, seed);
  return Array.from(r, (x, i) => ({ name: `t${i}`, size: Math.round(10 ** (2.5 + 1.5 * x)) }));
}

/** A grouped optimizer (1,000 tensors in two groups) against a flat one of the same size. */
export async function groupContenders(count = 1000) {
  const tensors = mixedTensors(count, 5);
  const n = tensors.reduce((sum, t) => sum + t.size, 0);
  const half = count >> 1;
  const groups = [
    { name: "decay", weightDecay: 0.01, tensors: tensors.slice(0, half) },
    { name: "no_decay", lr: 0.001, tensors: tensors.slice(half) },
  ];
  return {
    n,
    list: [
      await wasmContender(`flat, n = ${n}`, n, {}),
      await wasmContender(`${count} tensors in 2 groups`, n, { groups }),
      plainJsContender(n),
    ],
  };
}