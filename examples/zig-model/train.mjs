// Trains examples/zig-model/model.zig, examples/c-model's perceptron written in Zig, whose
// own code calls the rmsprop-wasm kernel: the kernel is instantiated on the model's memory
// and passed in as its "rmsprop-wasm" import. Run: npm run example:zig-model (needs Zig 0.11
// from bash scripts/install-test-deps.sh).
import { instantiateKernel } from "rmsprop-wasm";
import { zigWasm } from "./build.mjs";

/** Pages of the memory the model imports: its stack, then its statics. */
export const MODEL_PAGES = 8;

let bytes;
/** Compiles model.zig (cached per process) and instantiates it with the kernel on one memory. */
export async function loadModel({ backend = "auto" } = {}) {
  bytes ??= zigWasm({ source: new URL("model.zig", import.meta.url), name: "zig-model", pages: MODEL_PAGES });
  const memory = new WebAssembly.Memory({ initial: MODEL_PAGES });
  const kernel = await instantiateKernel(memory, { backend });
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory }, "rmsprop-wasm": kernel });
  return { memory, model: instance.exports };
}

/** Trains one variant for `steps` full-batch steps; returns the loss curve and the accuracy. */
export async function train({ variant = 0, steps = 400, seed = 1 } = {}) {
  const { model } = await loadModel();
  model.model_init(variant, seed);
  const losses = [];
  for (let t = 0; t < steps; t++) {
    losses.push(model.model_loss_and_grad());
    const status = model.model_step();
    if (status !== -1) throw new Error(`model_step returned ${status} at step ${t + 1}`);
  }
  return { losses, finalLoss: model.model_loss_and_grad(), accuracy: model.model_accuracy() };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { VARIANTS } = await import("../c-model/train.mjs");
  for (const [variant, { name }] of VARIANTS.entries()) {
    const { losses, finalLoss, accuracy } = await train({ variant });
    const curve = [0, 100, 200, 300].map((t) => losses[t].toFixed(3)).join(" → ");
    console.log(`${name.padEnd(34)} loss ${curve} → ${finalLoss.toFixed(3)}, accuracy ${(100 * accuracy).toFixed(1)}%`);
  }
}
