// Option objects that reproduce other libraries' RMSProp, to be spread:
//   createRmsprop(n, { ...presets.pytorch, lr: 1e-3 })
// Each sets that library's defaults and conventions; the sources are cited in docs/fidelity.md
// and transcribed in test/fidelity.test.ts. Presets keep each framework's exact behaviour,
// so none clamps the centered variance.
import type { RmspropOptions } from "./options.ts";

/** PyTorch `torch.optim.RMSprop` (torch/optim/rmsprop.py). */
const pytorch = Object.freeze({
  lr: 0.01,
  beta: 0.99, // alpha
  eps: 1e-8,
  epsInSqrt: false, // √S + ε
  lrInMomentum: false, // buf = μ·buf + g/d; θ −= η·buf
  decoupledWeightDecay: false, // g += λ·θ
  clampVariance: false,
} satisfies RmspropOptions);

/** Keras 3 `keras.optimizers.RMSprop` (keras/src/optimizers/rmsprop.py). */
const keras = Object.freeze({
  lr: 0.001,
  beta: 0.9, // rho
  eps: 1e-7,
  epsInSqrt: true, // lr·g/√(v + ε), despite the docstring's "epsilon hat"
  lrInMomentum: true, // m = μ·m + η·g/d; θ −= m
  decoupledWeightDecay: true, // base_optimizer: θ −= θ·λ·η before the step
  clampVariance: false,
} satisfies RmspropOptions);

/** TensorFlow 1 `tf.compat.v1.train.RMSPropOptimizer` (learning_rate has no default there). */
const tensorflow1 = Object.freeze({
  beta: 0.9, // decay
  eps: 1e-10,
  epsInSqrt: true,
  lrInMomentum: true, // mom = μ·mom + η·g/√(ms + ε); θ −= mom
  initialScale: 1, // the rms slot starts at ones
  clampVariance: false,
} satisfies RmspropOptions);

/** TensorFlow.js `tf.train.rmsprop` (learningRate has no default there; ε = backend epsilon, 1e-7 in f32). */
const tfjs = Object.freeze({
  beta: 0.9, // decay
  eps: 1e-7,
  epsInSqrt: true,
  lrInMomentum: true,
  centeredEps: "subtract", // √(ms − (mg² + ε)), as tfjs computes it
  clampVariance: false,
} satisfies RmspropOptions);

/** optax `optax.rmsprop` (learning_rate has no default there). */
const optax = Object.freeze({
  beta: 0.9, // decay
  eps: 1e-8,
  epsInSqrt: true,
  initialScale: 0,
  lrInMomentum: true, // scale_by_learning_rate comes before trace in the chain
  biasCorrection: false,
  clampVariance: false,
} satisfies RmspropOptions);

/** Plain option objects reproducing other libraries' RMSProp conventions and defaults. */
export const presets: Readonly<{
  pytorch: Readonly<RmspropOptions>;
  keras: Readonly<RmspropOptions>;
  tensorflow1: Readonly<RmspropOptions>;
  tfjs: Readonly<RmspropOptions>;
  optax: Readonly<RmspropOptions>;
}> = Object.freeze({ pytorch, keras, tensorflow1, tfjs, optax });
