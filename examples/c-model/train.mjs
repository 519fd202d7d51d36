// Trains examples/c-model/model.c, a two-layer perceptron in C whose own code calls the
// rmsprop-wasm kernel: the kernel is instantiated on the model's memory and passed in as
// its "rmsprop-wasm" import. Run: npm run example:c-model (needs clang and lld).
import { instantiateKernel } from "rmsprop-wasm";
import { clangWasm } from "./build.mjs";

/** Pages of the memory the model imports: its static arrays and its stack. */
export const MODEL_PAGES = 8;

/** The options of model.c's variants, in its order, as createRmsprop takes them. */
export const VARIANTS = [
  { name: "default", options: {} },
  { name: "momentum, L2 (PyTorch)", options: { lr: 0.003, beta: 0.99, epsInSqrt: false, momentum: 0.9, weightDecay: 1e-4 } },
  { name: "centered, lr in momentum", options: { lr: 0.005, centered: true, momentum: 0.5, lrInMomentum: true, eps: 1e-7 } },
  { name: "decoupled weight decay (Keras)", options: { lr: 0.005, eps: 1e-7, weightDecay: 0.01, decoupledWeightDecay: true } },
  { name: "Nesterov, bias correction (optax)", options: { lr: 0.003, momentum: 0.9, nesterov: true, lrInMomentum: true, biasCorrection: true } },
  { name: "S starts at 1 (TF1)", options: { lr: 0.01, eps: 1e-10, initialScale: 1 } },
  { name: "loss scale, global clip, EMA", options: { lr: 0.01, gradScale: 0.25, globalClipNorm: 0.05, emaDecay: 0.9 } },
];

/**
 * The perceptron's runner for any language's build of it (C here; examples/rust-model and
 * examples/zig-model reuse it): `compile()` gives the module's bytes, compiled once.
 */
export function perceptronExample(compile) {
  let bytes;
  /** Instantiates the model with the kernel on one memory. */
  async function loadModel({ backend = "auto" } = {}) {
    bytes ??= compile();
    const memory = new WebAssembly.Memory({ initial: MODEL_PAGES });
    const kernel = await instantiateKernel(memory, { backend });
    const { instance } = await WebAssembly.instantiate(bytes, { env: { memory }, "rmsprop-wasm": kernel });
    return { memory, model: instance.exports };
  }

  /** Trains one variant for `steps` full-batch steps; returns the loss curve and the accuracy. */
  async function train({ variant = 0, steps = 400, seed = 1 } = {}) {
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

  /** Trains each of `variants` and prints its loss curve and accuracy. */
  async function printVariants(variants) {
    for (const [variant, { name }] of variants.entries()) {
      const { losses, finalLoss, accuracy } = await train({ variant });
      const curve = [0, 100, 200, 300].map((t) => losses[t].toFixed(3)).join(" → ");
      console.log(`${name.padEnd(34)} loss ${curve} → ${finalLoss.toFixed(3)}, accuracy ${(100 * accuracy).toFixed(1)}%`);
    }
  }
  return { loadModel, train, printVariants };
}

/** The variants of the first version of the block (72 bytes), which the Rust and Zig ports bind. */
export const PORTED_VARIANTS = VARIANTS.filter((v) => !("globalClipNorm" in v.options));

const c = perceptronExample(() =>
  clangWasm({
    source: new URL("model.c", import.meta.url),
    name: "c-model",
    pages: MODEL_PAGES,
    exports: [
      "model_variant_count", "model_param_count", "model_params", "model_grads", "model_sq_avg",
      "model_momentum_buffer", "model_grad_avg", "model_ema", "model_grad_norm", "model_init", "model_loss_and_grad", "model_step", "model_accuracy",
    ],
  }),
);
export const { loadModel, train } = c;

if (import.meta.url === `file://${process.argv[1]}`) await c.printVariants(VARIANTS);
