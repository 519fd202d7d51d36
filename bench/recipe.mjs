// The training recipe's section: what clipping, a gradient scale and an EMA cost on top of
// the default step, fused, against the same recipe written as a user would today, in plain
// JS passes and in TensorFlow.js ops. Every contender steps the same seeded data; the rows
// share the interleaved rounds of bench/measure.mjs, so each ratio is taken within a round.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
import { createRmsprop, createTrafficProbe } from "rmsprop-wasm";
import { seededArray } from "./data.mjs";
import { median } from "./stats.mjs";
import { roundRatios } from "./shares.mjs";

export const RECIPE = "recipe";
const MAX_NORM = 1;
const DECAY = 0.999;

export const R = {
  default: "default step",
  global: "globalClipNorm",
  clipValue: "clipValue",
  ema: "emaDecay (EMA)",
  whole: "global clip + step + EMA",
  plain: "global clip + step + EMA, plain JS passes",
  tfjs: "global clip + step + EMA, tfjs ops (wasm)",
  probe: "traffic probe (no math)",
};
const two = (name) => `${name}, 2 threads`;

// Bytes per parameter: a default step moves 20 and its NaN scan (the norm's sum, with a
// norm) reads g once more; the EMA reads and writes 8 more.
const bytes = (ema) => 24 + (ema ? 8 : 0);

async function ours(name, n, options, threads = 1) {
  const opt = await createRmsprop(n, { ...options, ...(threads > 1 && { threads, minParamsPerThread: 1 }) });
  opt.params.set(seededArray(n, 1));
  opt.grads.set(seededArray(n, 2));
  return {
    name: threads > 1 ? two(name) : name,
    threads: opt.threads,
    bytesPerParam: bytes(options.emaDecay !== undefined),
    bytesHeld: opt.byteLength,
    step: () => opt.step(),
    dispose: () => opt.dispose(),
  };
}

// The recipe as a user writes it in JS today: the norm in one pass (f64 sum), the scale in
// another, the RMSProp loop, then the EMA in a fourth. Compiled once per contender, like
// the plain JS loop of contenders.mjs.
const plainRecipeSource = `
  const lr = 0.01, beta = 0.9, eps = 1e-8, maxNorm = ${MAX_NORM}, d = ${DECAY};
  return function step() {
    let sum = 0;
    for (let i = 0; i < grads.length; i++) sum += grads[i] * grads[i];
    const c = Math.min(1, maxNorm / (Math.sqrt(sum) + 1e-6));
    for (let i = 0; i < grads.length; i++) clipped[i] = grads[i] * c;
    for (let i = 0; i < params.length; i++) {
      const g = clipped[i];
      const s = beta * sqAvg[i] + (1 - beta) * g * g;
      sqAvg[i] = s;
      params[i] -= (lr * g) / Math.sqrt(s + eps);
    }
    for (let i = 0; i < params.length; i++) ema[i] = d * ema[i] + (1 - d) * params[i];
  };`;

function plainRecipe(n) {
  const make = new Function("params", "grads", "clipped", "sqAvg", "ema", plainRecipeSource);
  const params = seededArray(n, 1);
  return {
    name: R.plain,
    threads: 1,
    bytesPerParam: bytes(true),
    step: make(params, seededArray(n, 2), new Float32Array(n), new Float32Array(n), params.slice()),
    dispose: () => {},
  };
}

/** tf.train.rmsprop with the clip and the EMA in tf ops, on tfjs-backend-wasm (one thread). */
async function tfjsRecipe(n) {
  await tf.setBackend("wasm");
  await tf.ready();
  const variable = tf.variable(tf.tensor1d(seededArray(n, 1)));
  const ema = tf.variable(variable.clone());
  const grad = tf.tensor1d(seededArray(n, 2));
  const optimizer = tf.train.rmsprop(0.01, 0.9, 0, 1e-8, false);
  const step = () => {
    const clipped = tf.tidy(() => {
      const norm = tf.sqrt(tf.sum(tf.square(grad)));
      return tf.mul(grad, tf.minimum(1, tf.div(MAX_NORM, tf.add(norm, 1e-6))));
    });
    optimizer.applyGradients({ [variable.name]: clipped });
    clipped.dispose();
    tf.tidy(() => ema.assign(tf.add(tf.mul(ema, DECAY), tf.mul(variable, 1 - DECAY))));
  };
  step(); // creates the optimizer's slots outside the timing
  const tensors = tf.memory().numTensors;
  step();
  if (tf.memory().numTensors !== tensors) throw new Error("the tfjs recipe leaks tensors per step");
  return {
    name: R.tfjs,
    threads: 1,
    bytesPerParam: bytes(true),
    beforeAll: async () => {
      await tf.setBackend("wasm");
    },
    step,
    dispose: () => {
      optimizer.dispose();
      variable.dispose();
      ema.dispose();
      grad.dispose();
    },
  };
}

/** The recipe section's contenders at n, on 1 and 2 threads. */
export async function recipeContenders(n) {
  const probe = await createTrafficProbe(n);
  probe.grads.set(seededArray(n, 2));
  const list = [];
  for (const threads of [1, 2]) {
    list.push(await ours(R.default, n, {}, threads));
    list.push(await ours(R.global, n, { globalClipNorm: MAX_NORM }, threads));
    list.push(await ours(R.clipValue, n, { clipValue: 1e-3 }, threads));
  }
  list.push(await ours(R.ema, n, { emaDecay: DECAY }));
  list.push(await ours(R.whole, n, { globalClipNorm: MAX_NORM, emaDecay: DECAY }));
  list.push({ name: R.probe, role: "recipe-traffic", threads: 1, bytesPerParam: 20, step: () => probe.step(), dispose: () => probe.dispose() });
  list.push(plainRecipe(n));
  list.push(await tfjsRecipe(n));
  return list;
}

/** The recipe's targets, from the rows of the section (median over rounds of per-round ratios). */
export function recipeSummary(rows) {
  const lines = [];
  const at = (n, name) => rows.find((r) => r.section === RECIPE && r.n === n && r.name === name);
  const ratio = (a, b) => median(roundRatios(b, a)); // time of a / time of b = rate of b / rate of a
  const check = (label, value, limit, atMost, bound) => {
    const met = atMost ? value <= limit : value >= limit;
    lines.push(`target: ${label} ${atMost ? "≤" : "≥"} ${limit}×: ${value.toFixed(2)}× — ${met ? "met" : `MISSED; bound: ${bound}`}`);
  };
  for (const n of [...new Set(rows.filter((r) => r.section === RECIPE).map((r) => r.n))]) {
    const label = n >= 1e7 ? "1e7" : n >= 1e6 ? "1e6" : String(n);
    for (const name of [(x) => x, two]) {
      const base = at(n, name(R.default)), global = at(n, name(R.global)), value = at(n, name(R.clipValue));
      if (!base || !global || !value) continue;
      const threads = base.threads;
      check(
        `globalClipNorm step time / default step at n = ${label}, ${threads} thread${threads > 1 ? "s" : ""}`,
        ratio(global, base), n >= 1e7 ? 1.05 : 1.1, true,
        threads > 1 ? "the norm is summed by the calling thread before the region, one pass over g on one core" : "the f64 sum of squares in the scan",
      );
      check(
        `clipValue step time / default step at n = ${label}, ${threads} thread${threads > 1 ? "s" : ""}`,
        ratio(value, base), 1.03, true,
        "a multiply and two clamps per element in a loop the divider already keeps busy",
      );
    }
    const ema = at(n, R.ema), probe = at(n, R.probe);
    if (ema && probe) {
      // The probe moves 20 bytes per parameter; the EMA step 28 (with the scan 32): its
      // ceiling is the probe's byte rate spread over the EMA step's bytes.
      const share = median(ema.roundRates.map((rate, r) => rate / ((probe.roundRates[r] * 20) / ema.bytesPerParam)));
      lines.push(`EMA step at n = ${label}: ${(100 * share).toFixed(0)}% of its own traffic ceiling (${ema.bytesPerParam} bytes per parameter)`);
    }
    const whole = at(n, R.whole), plain = at(n, R.plain), tfjsRow = at(n, R.tfjs);
    if (whole && plain) check(`the fused recipe against plain JS passes at n = ${label}`, ratio(plain, whole), 5, false, "memory traffic of the fused step against four JS passes");
    if (whole && tfjsRow) check(`the fused recipe against tfjs ops at n = ${label}`, ratio(tfjsRow, whole), 8, false, "tfjs's own passes over the tensors");
  }
  return lines;
}
