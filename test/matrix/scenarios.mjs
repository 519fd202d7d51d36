// The engine matrix's scenarios, written once in plain JavaScript: this file runs unchanged
// in Node, Deno, Bun, a browser page, a module worker and a bundle. It imports only the
// seeded PRNG; each environment hands it `createRmsprop`, loaded as it loads packages.
// It returns every final array as f32 bits; the tests compare them with Node's.
import { rng } from "../helpers/rng.mjs";

// Zeros of both signs, subnormals, tiny and huge magnitudes (3e38 squares to ∞ in f32).
const specials = [0, -0, 1e-40, -1e-40, 1.4e-45, 1e-30, -1e-30, 1e18, -1e18, 3e38, -3e38, 1e-3, -7];

function awkwardFloats(n, seed, { share = 0.2, decades = 8 } = {}) {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = r() < share ? specials[Math.floor(r() * specials.length)] : (r() * 2 - 1) * 10 ** (r() * decades - 5);
  }
  return out;
}

/**
 * The option sets: the default, PyTorch's conventions, everything on (the training recipe
 * too), and the NaN makers. Each adds 15 optimizers that live until the end of a run, and a
 * browser reserves address space for each memory: keep the set small.
 */
export const variants = {
  default: {},
  pytorch: { beta: 0.99, epsInSqrt: false, momentum: 0.9, weightDecay: 0.01 },
  everything: {
    centered: true,
    momentum: 0.9,
    nesterov: true,
    lrInMomentum: true,
    weightDecay: 0.05,
    decoupledWeightDecay: true,
    biasCorrection: true,
    maximize: true,
    epsInSqrt: false,
    initialScale: 0.5,
    // The training recipe: a loss scale undone, all gradients clipped by their joint norm (a
    // sum of squares in f64 that must not depend on the engine), and an EMA of the weights.
    gradScale: 0.5,
    globalClipNorm: 1,
    emaDecay: 0.9,
    // Schedules, as the plain objects a checkpoint stores: a warmup joined to a cosine (a
    // cos(π·p) of + − × ÷ only), β decaying with a fractional exponent (e^(p·ln rate), the
    // same), the momentum OneCycleLR cycles, and an lrScale for every group.
    lr: {
      kind: "join",
      schedules: [{ kind: "linear", from: 0.001, to: 0.01, steps: 1 }, { kind: "cosine", from: 0.01, to: 0.002, steps: 2 }],
      boundaries: [1],
    },
    beta: { kind: "exponential", from: 0.9, rate: 1.05, every: 3, end: 0.99 },
    momentum: { kind: "oneCycleMomentum", steps: 4, pctStart: 0.5 },
    lrScale: { kind: "warmupCosine", init: 0.5, peak: 1.5, warmup: 1, steps: 3, end: 0.7 },
  },
  // tfjs's centered form, unclamped: elements whose variance is below ε become NaN.
  tfjsCentered: { centered: true, centeredEps: "subtract", clampVariance: false, momentum: 0.5, eps: 1e-12 },
  // Step 2 has an ∞ gradient: the scan (split across threads) finds it and the step is skipped.
  nonFinite: { nonFinite: "skip", eps: 0 },
  // 8-bit state (stochastic rounding from a hash of the index and the step), on 4096 more
  // parameters than the others (fewer stay f32): S − G², M and G as codes and block scales.
  eightBit: { stateBits: 8, momentum: 0.9, centered: true, biasCorrection: true, weightDecay: 0.01 },
};

/** The parameters of a case of `variant` at length n: 8-bit state needs 4096 or more. */
export const sizeOf = (variant, n) => (variants[variant].stateBits === 8 ? n + 4096 : n);

/** Lengths around the SIMD width: 1, a remainder of 3, and several vectors plus 2. */
export const lengths = [1, 7, 1030];

/** Backends with the thread counts each supports ("js" is the reference: one thread). */
export const runs = [
  ["simd", 1],
  ["simd", 2],
  ["scalar", 1],
  ["scalar", 2],
  ["js", 1],
];

const STEPS = 3;

/** A case's name, the key its results are compared by. */
export function caseKey(backend, threads, variant, n) {
  return `${backend}/${threads}t/${variant}/n=${n}`;
}

/** f32 bits as base64 (little-endian), every NaN written as the one quiet NaN. */
function bits(view) {
  const words = new Uint32Array(view.slice().buffer);
  for (let i = 0; i < words.length; i++) if (Number.isNaN(view[i])) words[i] = 0x7fc00000;
  return base64(new Uint8Array(words.buffer));
}

/** Bytes as base64. */
function base64(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x2000) text += String.fromCharCode(...bytes.subarray(i, i + 0x2000));
  return btoa(text);
}

/**
 * Runs one case: n parameters, three steps (the second with an lr override). The optimizer
 * is returned, not disposed: runScenarios disposes every one at the end (see there).
 */
async function runCase(createRmsprop, backend, threads, variant, length) {
  const n = sizeOf(variant, length);
  const opt = await createRmsprop(n, { ...variants[variant], backend, threads, minParamsPerThread: 1 });
  const seed = n * 7919 + Object.keys(variants).indexOf(variant) * 104729;
  // 8-bit state (see the gradients below): weight decay brings θ into g, so θ is tamer too.
  const tame = variants[variant].stateBits === 8 ? { share: 0.002, decades: 3 } : {};
  opt.params.set(awkwardFloats(n, seed, tame));
  const steps = [];
  for (let t = 1; t <= STEPS; t++) {
    // 8-bit state: one special value in 500 and magnitudes over 3 decades, so that most
    // blocks have codes to round (a block's codes span about 7 decades of S below its
    // largest; one holding ∞, 3e38 squared, codes the rest as 0) and a few hold the extremes.
    opt.grads.set(awkwardFloats(n, seed + t, tame));
    if (variant === "nonFinite" && t === 2) opt.grads[n >> 1] = Infinity;
    const pending = opt.step(t === 2 ? { lr: 0.003 } : undefined);
    const promised = pending instanceof Promise;
    const { applied, nonFiniteIndex, gradNorm } = await pending;
    steps.push({ applied, nonFiniteIndex, promised, ...(gradNorm !== undefined && { gradNorm: String(gradNorm) }) });
  }
  const arrays = { params: bits(opt.params) };
  // opt.state lists the f32 state only (an 8-bit array's view throws): the codes and scales then.
  if (variants[variant].stateBits === 8) {
    for (const [name, q] of Object.entries(opt.state8)) {
      arrays[`${name}Codes`] = base64(q.codes);
      arrays[`${name}Scales`] = bits(q.scales);
    }
  } else {
    for (const [name, view] of Object.entries(opt.state)) arrays[name] = bits(view);
  }
  return { opt, result: { backend: opt.backend, threads: opt.threads, stepCount: opt.stepCount, steps, arrays } };
}

/** Where this runs: the runtime, its version, and whether it is a window or a worker. */
export function describeRuntime() {
  const g = globalThis;
  const scope = typeof g.document === "object" ? "window" : typeof g.WorkerGlobalScope === "function" ? "worker" : "main";
  if (g.Deno) return { runtime: "deno", version: g.Deno.version.deno, engine: `V8 ${g.Deno.version.v8}`, scope };
  if (g.Bun) return { runtime: "bun", version: g.Bun.version, engine: "JavaScriptCore", scope };
  if (g.process?.versions?.node && scope === "main") {
    return { runtime: "node", version: g.process.versions.node, engine: `V8 ${g.process.versions.v8}`, scope };
  }
  return { runtime: "browser", version: g.navigator.userAgent, engine: "", scope, crossOriginIsolated: g.crossOriginIsolated === true };
}

/**
 * Runs every case and returns { runtime, autoBackend, cases }, cases keyed by caseKey. A
 * case whose creation fails (threads on a page without COOP/COEP) records the error.
 * Every optimizer with threads lives until all cases have run: Firefox (ESR 153) stops
 * starting a worker's nested workers once it has ended some, so no thread ends before the
 * last starts.
 */
export async function runScenarios(createRmsprop) {
  const cases = {};
  const live = [];
  try {
    for (const [backend, threads] of runs) {
      for (const variant of Object.keys(variants)) {
        for (const n of lengths) {
          const key = caseKey(backend, threads, variant, n);
          try {
            const { opt, result } = await runCase(createRmsprop, backend, threads, variant, n);
            // One thread has no worker to end: its memory can go now, which keeps Chromium's
            // address space for wasm memories from running out.
            if (opt.threads > 1) live.push(opt);
            else opt.dispose();
            cases[key] = result;
          } catch (error) {
            cases[key] = { error: String(error?.message ?? error) };
          }
        }
      }
    }
    const probe = await createRmsprop(1);
    live.push(probe);
    return { runtime: describeRuntime(), autoBackend: probe.backend, cases };
  } finally {
    for (const opt of live) opt.dispose();
  }
}
