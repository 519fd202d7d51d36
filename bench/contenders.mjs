// The implementations the benchmark runs side by side, each set up on the same seeded
// data. Every contender is { name, threads, bytesPerParam, step(), dispose() }, and may
// have a role ("compute" or "traffic" for the probes that make the ceiling), a tag (what
// the row is to the user's answer: ONE or MANY, see names.mjs), the params one step works
// on (`work`, n unless said), tinybench hooks and a `check()` after a round.
import { createRmsprop, createTrafficProbe, referenceStep, stepScalars, kernelFlags, defaultOptions } from "rmsprop-wasm";
import { seededArray } from "./data.mjs";
import { tfjsContender } from "./peers.mjs";
import { computeProbeContender } from "./compute-probe.mjs";
import { inTrainingLoop } from "./evict.mjs";
import { VARIANT_KEYS } from "./user-options.mjs";
import {
  AUTO, BASELINE, IGNORE, IGNORE_2, MANY, ONE, ONE_THREAD, PLAIN_VARIANT_PREFIX, SCALAR, SIMD, SIMD_2, SIMD_2_HOT, VARIANT_PREFIX,
  forcedThreads, threadsName, trafficProbeName,
} from "./names.mjs";

// Bytes one step moves per parameter: reads θ, g, S (12) and writes θ, S (8); each of the
// momentum buffer and the gradient average adds a read and a write (8); the non-finite
// check reads g once more (4).
const STEP_BYTES = 20;
const EXTRA_ARRAY_BYTES = 8;
const CHECK_BYTES = 4;

/** An optimizer of this package (or its traffic probe, with `create`) on a given backend and options. */
async function wasmContender(name, n, options, { create = createRmsprop, role, tag } = {}) {
  const opt = await create(n, options);
  opt.params.set(seededArray(n, 1));
  opt.grads.set(seededArray(n, 2));
  const checks = opt.options.nonFinite !== "ignore";
  const extraArrays = Object.keys(opt.state).length - 1;
  return {
    name,
    role,
    tag,
    bytesPerParam: STEP_BYTES + extraArrays * EXTRA_ARRAY_BYTES + (checks ? CHECK_BYTES : 0),
    bytesHeld: opt.byteLength,
    threads: opt.threads,
    step: () => opt.step(),
    // How a threaded optimizer's choice stood at a round's end: read once a round, not per
    // step (opt.threading copies an object, which would weigh on a 70 µs step).
    ...(opt.threads > 1 && { roundEnd: () => wayAtEnd(opt.threading) }),
    dispose: () => opt.dispose(),
  };
}

/** The way the last step ran (threads) and the choice's estimates (µs a step alone, and warm on the most threads). */
function wayAtEnd({ lastStep, estimates }) {
  const us = (ms) => (ms >= 0 ? Math.round(1000 * ms * 10) / 10 : undefined);
  return { threads: lastStep?.threads, aloneUs: us(estimates?.alone), warmUs: us(estimates?.threaded.at(-1)?.warm) };
}

/** The Math.fround reference on plain Float32Arrays, as the package exports it. */
function referenceContender(n) {
  const arrays = { params: seededArray(n, 1), grads: seededArray(n, 2), sqAvg: new Float32Array(n) };
  const flags = kernelFlags(defaultOptions);
  const scalars = stepScalars(defaultOptions, 1, defaultOptions.lr);
  return {
    name: "Math.fround reference",
    threads: 1,
    bytesPerParam: STEP_BYTES,
    step: () => referenceStep(flags, scalars, arrays),
    dispose: () => {},
  };
}

// The loop a user would write by hand: Float32Arrays, f64 arithmetic, no fround. It is
// compiled from source once per contender, so it gets JIT feedback from its own arrays
// only, as in a user's program, not from the other sizes this process has run.
const plainLoopSource = `
  const lr = 0.01, beta = 0.9, eps = 1e-8;
  return function step() {
    for (let i = 0; i < params.length; i++) {
      const g = grads[i];
      const s = beta * sqAvg[i] + (1 - beta) * g * g;
      sqAvg[i] = s;
      params[i] -= (lr * g) / Math.sqrt(s + eps);
    }
  };`;

function plainJsContender(n) {
  const makeStep = new Function("params", "grads", "sqAvg", plainLoopSource);
  return {
    name: BASELINE,
    threads: 1,
    bytesPerParam: STEP_BYTES,
    step: makeStep(seededArray(n, 1), seededArray(n, 2), new Float32Array(n)),
    dispose: () => {},
  };
}

/**
 * The traffic probes of 1 thread and of each other count in `threads`, forced at every n
 * (minParamsPerThread 1), so that a k-thread ceiling exists wherever a contender runs k.
 */
async function trafficProbes(n, threads = [2]) {
  const counts = [...new Set([1, ...threads])].sort((a, b) => a - b);
  const list = [];
  for (const k of counts) {
    const options = k > 1 ? { threads: k, minParamsPerThread: 1 } : {};
    list.push(await wasmContender(trafficProbeName(k), n, options, { create: createTrafficProbe, role: "traffic" }));
  }
  return list;
}

/**
 * The contenders for one size, with the probes that make the ceiling, baseline (plain JS)
 * last. Threaded ones use the default minParamsPerThread, as a user's optimizer does.
 */
export async function sizeContenders(n) {
  const auto = await wasmContender(AUTO, n, { threads: "auto" }, { tag: MANY });
  return [
    await wasmContender(SIMD, n, {}, { tag: ONE }),
    auto,
    await wasmContender(IGNORE, n, { nonFinite: "ignore" }),
    await wasmContender(SIMD_2, n, { threads: 2 }),
    await wasmContender(IGNORE_2, n, { threads: 2, nonFinite: "ignore" }),
    await wasmContender(SCALAR, n, { backend: "scalar" }),
    ...(await trafficProbes(n, [2, auto.threads])),
    await computeProbeContender(),
    await tfjsContender("wasm", n),
    // The CPU backend takes about 0.2 s per million parameters: above 1e6 it would take
    // minutes of the run for a ratio that stays the same.
    ...(n <= 1e6 ? [await tfjsContender("cpu", n)] : []),
    referenceContender(n),
    plainJsContender(n),
  ];
}

/**
 * The user's answer at one size: this package on 1 thread and on `threads` ("auto" unless
 * the user asked otherwise), both with the user's `options`; the probes of the limit for
 * the threads each ran; tfjs-backend-wasm; and the plain JS loop, written for the same
 * kernel variant where the options pick one (see plainLoopFor).
 */
export async function answerContenders(n, { threads = "auto", options = {} } = {}) {
  const one = await wasmContender(SIMD, n, { ...options, threads: 1 }, { tag: ONE });
  const many = threads === 1 ? undefined : await wasmContender(threadsName(threads), n, { ...options, threads }, { tag: MANY });
  return [
    one,
    ...(many ? [many] : []),
    ...(await trafficProbes(n, many ? [many.threads] : [])),
    await computeProbeContender(),
    await tfjsContender("wasm", n, options),
    plainLoopFor(n, options),
  ];
}

/**
 * The contenders of a training loop, each with the 64 MiB scratch streamed before every
 * timed step; the compute probe stays in L1 (it is the ceiling of the arithmetic alone).
 */
export async function trainingContenders(n) {
  const evicted = [
    await wasmContender(SIMD, n, {}),
    await wasmContender(SIMD_2, n, { threads: 2 }),
    await wasmContender(SIMD_2_HOT, n, { threads: 2, threadSpinMs: 20 }),
    ...(await trafficProbes(n)),
    await tfjsContender("wasm", n),
    plainJsContender(n),
  ];
  return [...evicted.map(inTrainingLoop), await computeProbeContender()];
}

/**
 * 1 thread and k forced (no crossover rule), to measure where k threads start to pay; the
 * plain JS loop too unless `plain` is false. `options` are the user's (the answer's run).
 */
export async function threadContenders(n, { threads = 2, options = {}, plain = true } = {}) {
  return [
    await wasmContender(ONE_THREAD, n, { ...options, threads: 1 }),
    await wasmContender(forcedThreads(threads), n, { ...options, threads, minParamsPerThread: 1 }),
    ...(plain ? [plainJsContender(n)] : []),
  ];
}

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

/**
 * The plain JS loop a user would write for one variant: f64 arithmetic, only the lines
 * the options need (so no option is tested per element), bias correction left at t = 1.
 */
function plainVariantSource(o) {
  const lines = ["const lr = 0.01, beta = 0.9, eps = 1e-8, wd = 0.01, mu = 0.9, invC = 1 / (1 - beta);"];
  lines.push("return function step() {", "  for (let i = 0; i < params.length; i++) {");
  lines.push(`    let g = ${o.maximize ? "-" : ""}grads[i];`, "    let th = params[i];");
  if (o.weightDecay && !o.decoupledWeightDecay) lines.push("    g += wd * th;");
  if (o.weightDecay && o.decoupledWeightDecay) lines.push("    th -= lr * wd * th;");
  lines.push("    const s = beta * sqAvg[i] + (1 - beta) * g * g;", "    sqAvg[i] = s;");
  lines.push(`    let v = s${o.biasCorrection ? " * invC" : ""};`);
  if (o.centered) {
    lines.push("    const ga = beta * gradAvg[i] + (1 - beta) * g;", "    gradAvg[i] = ga;");
    lines.push(`    const m = ga${o.biasCorrection ? " * invC" : ""};`);
    lines.push(o.clampVariance === false ? "    v = v - m * m;" : "    v = Math.max(v - m * m, 0);");
  }
  lines.push(`    const u = g / ${o.epsInSqrt === false ? "(Math.sqrt(v) + eps)" : "Math.sqrt(v + eps)"};`);
  if (o.momentum) {
    lines.push(`    const buf = mu * mom[i] + ${o.lrInMomentum ? "lr * u" : "u"};`, "    mom[i] = buf;");
    const move = o.nesterov ? `(mu * buf + ${o.lrInMomentum ? "lr * u" : "u"})` : "buf";
    lines.push(`    th -= ${o.lrInMomentum ? move : `lr * ${move}`};`);
  } else {
    lines.push("    th -= lr * u;");
  }
  lines.push("    params[i] = th;", "  }", "};");
  return lines.join("\n");
}

function plainVariantContender(name, n, options) {
  const makeStep = new Function("params", "grads", "sqAvg", "mom", "gradAvg", plainVariantSource(options));
  const arrays = [seededArray(n, 1), seededArray(n, 2), new Float32Array(n), new Float32Array(n), new Float32Array(n)];
  const extraArrays = Number(Boolean(options.momentum)) + Number(Boolean(options.centered));
  return { name, threads: 1, bytesPerParam: STEP_BYTES + extraArrays * EXTRA_ARRAY_BYTES, step: makeStep(...arrays), dispose: () => {} };
}

/**
 * The plain JS loop a user of `options` would compare with: written for the same kernel
 * variant where the options pick one, else the default loop (user-options.mjs says what
 * it runs without).
 */
export function plainLoopFor(n, options) {
  const variant = Object.fromEntries(Object.entries(options).filter(([key]) => VARIANT_KEYS.includes(key)));
  return Object.keys(variant).length ? plainVariantContender(BASELINE, n, variant) : plainJsContender(n);
}

/** Each variant of the kernel and the plain JS loop written for that same variant. */
export async function variantContenders(n) {
  const list = [];
  for (const [name, options] of Object.entries(VARIANTS)) {
    list.push(await wasmContender(`${VARIANT_PREFIX}${name}`, n, options));
    list.push(plainVariantContender(`${PLAIN_VARIANT_PREFIX}${name}`, n, options));
  }
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