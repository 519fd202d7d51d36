// The training recipe's section: what clipping, a gradient scale and an EMA cost on top of
// the default step, fused, against the same recipe written as a user would today, in plain
// JS passes and in TensorFlow.js ops. Every contender steps the same seeded data; the rows
// share the interleaved rounds of bench/measure.mjs, so each ratio is taken within a round.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-wasm";
import { createRmsprop, createTrafficProbe } from "rmsprop-wasm";
import { seededArray } from "./data.mjs";

import { R, RECIPE, two } from "./recipe-targets.mjs";

export { RECIPE };
const MAX_NORM = 1;
const DECAY = 0.999;

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


/** What the recipe costs a user, for the default run: the default step, the whole recipe fused, and as plain JS passes. */
export async function recipeCostContenders(n) {
  return [await ours(R.default, n, {}), await ours(R.whole, n, { globalClipNorm: MAX_NORM, emaDecay: DECAY }), plainRecipe(n)];
}
