// npm run bench:tfjs [-- --quick]   (also a section of npm run bench)
//
// rmsprop-wasm/tfjs against tf.train.rmsprop on a 1M-parameter dense model, on
// tfjs-backend-cpu and tfjs-backend-wasm: the optimizer step alone (applyGradients with a
// fixed gradient), the kernel alone on the same n (what the step costs without tfjs), and a
// whole trainOnBatch at batch 32 (fit's default; the targets) and at batch 8 (a lighter
// forward and backward pass). Interleaved rounds; each ratio is taken within a round.
import { pathToFileURL } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import * as tfl from "@tensorflow/tfjs-layers";
import { createRmsprop, presets } from "rmsprop-wasm";
import { tfjsRmsprop } from "rmsprop-wasm/tfjs";
import { seededArray } from "./data.mjs";
import { measure as measureRows } from "./measure.mjs";
import { roundRatios, summary } from "./shares.mjs";
import { TFJS_BASELINE, tfjsTable } from "./tfjs-table.mjs";

export { TFJS_BASELINE, tfjsTable };

tf.env().set("PROD", true); // no debug checks, as in a production app
// One thread for tfjs-backend-wasm, like our kernel (and its spinning pool would slow the
// next contender on a 2-core machine). It must be set before the backend starts.
setThreadsCount(1);

const INPUTS = 1000;
const UNITS = 1000; // 1000·1000 + 1000 = 1,001,000 parameters
/** Batch sizes of the trainOnBatch rows; the targets are checked at the first. */
const BATCHES = [32, 8];
const LR = 1e-3;
const OURS = "rmsprop-wasm/tfjs";

/** A dense model with seeded weights and one seeded batch. */
function denseModel() {
  const model = tfl.sequential({ layers: [tfl.layers.dense({ inputShape: [INPUTS], units: UNITS })] });
  model.setWeights(model.getWeights().map((w, i) => tf.tensor(seededArray(w.size, 10 + i).map((x) => x * 0.05), w.shape)));
  return model;
}

/** The contenders of one backend: { name, group, bytesPerParam, step(), dispose() }. */
async function contenders(backend) {
  await tf.setBackend(backend);
  await tf.ready();
  const batches = BATCHES.map((size) => ({
    size,
    xs: tf.tensor2d(seededArray(size * INPUTS, 3), [size, INPUTS]),
    ys: tf.tensor2d(seededArray(size * UNITS, 4), [size, UNITS]),
  }));
  const [{ xs, ys }] = batches;
  const list = [];
  for (const name of [TFJS_BASELINE, OURS]) {
    const model = denseModel();
    const optimizer =
      name === OURS ? await tfjsRmsprop(model.trainableWeights, { ...presets.tfjs, lr: LR }) : tf.train.rmsprop(LR, 0.9, 0, 1e-7);
    model.compile({ optimizer, loss: "meanSquaredError" });
    const grads = model.trainableWeights.map((w, i) => {
      const v = w.read();
      return { name: v.name, tensor: tf.tensor(seededArray(v.size, 20 + i), v.shape) };
    });
    // Warm-up outside the timing (tfjs creates its slots on the first step), then a leak check:
    // a contender that leaked tensors per step would be timed unfairly.
    optimizer.applyGradients(grads);
    await model.trainOnBatch(xs, ys);
    const tensors = tf.memory().numTensors;
    optimizer.applyGradients(grads);
    await model.trainOnBatch(xs, ys);
    if (tf.memory().numTensors !== tensors) throw new Error(`${name} on tfjs-backend-${backend} leaks tensors per step`);
    const dispose = () => {
      optimizer.dispose();
      model.dispose();
      tf.dispose(grads.map((g) => g.tensor));
    };
    list.push({ name: `step: ${name}`, group: "step", bytesPerParam: 20, step: () => optimizer.applyGradients(grads), dispose });
    for (const b of batches) {
      const group = `trainOnBatch, batch ${b.size}`;
      list.push({ name: `${group}: ${name}`, group, bytesPerParam: 0, step: () => model.trainOnBatch(b.xs, b.ys), dispose: () => {} });
    }
  }
  const n = INPUTS * UNITS + UNITS;
  const kernel = await createRmsprop(n, { ...presets.tfjs, lr: LR });
  kernel.params.set(seededArray(n, 1));
  kernel.grads.set(seededArray(n, 2));
  list.push({ name: "step: kernel alone (createRmsprop)", group: "step", bytesPerParam: 20, step: () => kernel.step(), dispose: () => kernel.dispose() });
  return { n, list, dispose: () => tf.dispose(batches.flatMap((b) => [b.xs, b.ys])) };
}

/** Interleaved rounds over one backend's contenders; ratios against tf.train.rmsprop of the same group. */
async function measure(backend, { rounds, timePerTaskMs }) {
  const { n, list, dispose } = await contenders(backend);
  const settings = { rounds, time: timePerTaskMs, iterations: 3, warmupTime: 0, warmupIterations: 1 };
  try {
    const rows = await measureRows(`tfjs-backend-${backend}`, n, list.map((c) => ({ ...c, threads: 1 })), settings);
    return rows.map((row, i) => {
      const baseline = `${list[i].group}: ${TFJS_BASELINE}`;
      const { median: m, range } = summary(roundRatios(row, rows.find((r) => r.name === baseline)));
      // Named as in bench/run.mjs's rows; here the baseline is tf.train.rmsprop, not plain JS.
      return { ...row, baseline, vsPlainJs: m, vsPlainJsRange: range };
    });
  } finally {
    dispose();
  }
}

const ratio = (x) => `${x.toFixed(2)}×`;

/** The target checks and where the time goes, as printed lines. */
export function summaryLines(rows) {
  const find = (backend, name) => rows.find((r) => r.section === `tfjs-backend-${backend}` && r.name === name);
  const lines = [];
  const train = `trainOnBatch, batch ${BATCHES[0]}`;
  // A missed target says what bounds it: the forward and backward pass, which the optimizer
  // does not touch; even a free step would only remove the step's own time.
  const verdict = (backend, ok) => {
    if (ok) return "met";
    const theirs = find(backend, `${train}: ${TFJS_BASELINE}`);
    const ours = find(backend, `${train}: ${OURS}`);
    const step = find(backend, `step: ${OURS}`);
    if (!theirs || !step) return "MISSED";
    const pass = ours.medianMs - step.medianMs;
    return `MISSED; bound: tfjs's forward and backward pass, ${pass.toFixed(0)} ms of the ${ours.medianMs.toFixed(0)} ms; ` +
      `with a step that took no time at all it would be ${ratio(theirs.medianMs / pass)}`;
  };
  const cpu = find("cpu", `${train}: ${OURS}`);
  if (cpu) lines.push(`target: ${train} with ${OURS} ≥ 2.5× ${TFJS_BASELINE} on tfjs-backend-cpu: ${ratio(cpu.vsPlainJs)} — ${verdict("cpu", cpu.vsPlainJs >= 2.5)}`);
  const wasm = find("wasm", `${train}: ${OURS}`);
  if (wasm) lines.push(`target: ${train} with ${OURS} faster than ${TFJS_BASELINE} on tfjs-backend-wasm: ${ratio(wasm.vsPlainJs)} — ${verdict("wasm", wasm.vsPlainJs > 1)}`);
  for (const backend of ["cpu", "wasm"]) {
    const step = find(backend, `step: ${OURS}`);
    const kernel = find(backend, "step: kernel alone (createRmsprop)");
    const whole = find(backend, `${train}: ${OURS}`);
    if (!step || !kernel || !whole) continue;
    lines.push(
      `tfjs-backend-${backend}: our step ${step.medianMs.toFixed(2)} ms (${ratio(step.vsPlainJs)} ${TFJS_BASELINE}'s) = kernel ` +
        `${kernel.medianMs.toFixed(2)} ms + ${Math.max(0, step.medianMs - kernel.medianMs).toFixed(2)} ms of tfjs bookkeeping and copies; ` +
        `the forward and backward pass is the other ${(whole.medianMs - step.medianMs).toFixed(0)} ms of a ${train}`,
    );
  }
  return lines;
}

/**
 * Runs the tfjs section and returns its rows (the shape of bench/run.mjs's rows, with
 * `baseline` naming what the ratio is against) and its summary lines.
 */
export async function tfjsSection({ quick = false, onBackend = (backend) => console.log(`tfjs: tfjs-backend-${backend}, n = ${INPUTS * UNITS + UNITS} …`) } = {}) {
  const settings = { rounds: quick ? 2 : 3, timePerTaskMs: quick ? 300 : 1000 };
  // Under IS_TEST (which bench/peers.mjs sets) tfjs checks every kernel for leaked data
  // ids, and tfjs-backend-wasm's fused matmul fails that check inside trainOnBatch.
  const isTest = tf.env().getBool("IS_TEST");
  tf.env().set("IS_TEST", false);
  const rows = [];
  try {
    for (const backend of ["cpu", "wasm"]) {
      onBackend(backend);
      rows.push(...(await measure(backend, settings)));
    }
  } finally {
    tf.env().set("IS_TEST", isTest);
  }
  return { rows, summary: summaryLines(rows) };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { rows, summary } = await tfjsSection({ quick: process.argv.includes("--quick") });
  console.log(`\n${tfjsTable(rows)}\n`);
  for (const line of summary) console.log(line);
}
