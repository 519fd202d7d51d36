// Trains a logistic regression whose forward/backward pass is its own wasm module
// (model.ts) and whose update is the rmsprop-wasm kernel, both on one WebAssembly.Memory:
// the model reads the optimizer's params and writes its grads in place, nothing is copied.
// Run: npm run example:logistic-regression
import { readFileSync } from "node:fs";
import { createRmsprop } from "rmsprop-wasm";

const PAGE = 65536;

/** Seeded, linearly separable-with-noise data: y = 1 when w*·x + b* + noise > 0. */
export function makeData(m, d, seed = 1) {
  let a = seed >>> 0;
  const rand = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const truth = Float32Array.from({ length: d }, () => rand() * 4 - 2);
  const x = new Float32Array(m * d);
  const y = new Float32Array(m);
  for (let i = 0; i < m; i++) {
    let z = 0.5;
    for (let j = 0; j < d; j++) {
      x[i * d + j] = rand() * 2 - 1;
      z += truth[j] * x[i * d + j];
    }
    y[i] = z + (rand() - 0.5) * 0.5 > 0 ? 1 : 0;
  }
  return { x, y };
}

/** Trains for `epochs` full-batch steps and returns the loss curve and the accuracy. */
export async function train({ m = 2000, d = 16, epochs = 300, lr = 0.05, modelBytes } = {}) {
  const bytes = modelBytes ?? readFileSync(new URL("../../build/logistic_regression.wasm", import.meta.url));
  const { x, y } = makeData(m, d);
  // Layout of the one memory: page 0 belongs to the model's own static data (the tables of
  // its exp; its memory import asks for that one page), then the data, then the
  // optimizer's block (64-byte aligned).
  const xAt = PAGE;
  const yAt = xAt + x.byteLength;
  const optAt = Math.ceil((yAt + y.byteLength) / 64) * 64;
  const memory = new WebAssembly.Memory({ initial: Math.ceil((optAt + 4096 + 16 * (d + 1) + 4096) / PAGE) });
  new Float32Array(memory.buffer, xAt, x.length).set(x);
  new Float32Array(memory.buffer, yAt, y.length).set(y);
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
  const { loss_and_grad } = instance.exports;

  const opt = await createRmsprop(d + 1, { memory, offset: optAt, lr });
  opt.params.fill(0);
  const losses = [];
  for (let epoch = 0; epoch < epochs; epoch++) {
    // The model reads θ from opt.params and writes ∇L into opt.grads, in place.
    losses.push(loss_and_grad(xAt, yAt, m, d, opt.params.byteOffset, opt.grads.byteOffset));
    opt.step();
  }
  const finalLoss = loss_and_grad(xAt, yAt, m, d, opt.params.byteOffset, opt.grads.byteOffset);
  let correct = 0;
  for (let i = 0; i < m; i++) {
    let z = opt.params[d];
    for (let j = 0; j < d; j++) z += x[i * d + j] * opt.params[j];
    correct += Number((z > 0) === (y[i] === 1));
  }
  const weights = opt.params.slice();
  opt.dispose();
  return { losses, finalLoss, accuracy: correct / m, weights };
}

const isMain = process.argv[1] && import.meta.url === new URL(process.argv[1], "file:").href;
if (isMain) {
  const { losses, finalLoss, accuracy } = await train();
  for (const epoch of [0, 10, 50, 100, 200]) console.log(`epoch ${String(epoch).padStart(3)}  loss ${losses[epoch].toFixed(4)}`);
  console.log(`final     loss ${finalLoss.toFixed(4)}  accuracy ${(accuracy * 100).toFixed(1)}%`);
}
