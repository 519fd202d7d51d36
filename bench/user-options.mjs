// What a user's `--options '{…}'` mean to the benchmark: which of them the comparison rows
// (the plain JS loop, tfjs-backend-wasm) can also run, and whether the limit still applies.
// Free of imports, so the report code and the CLI load without the package or tfjs.

/** Options that pick another kernel variant; the plain JS loop is written out for each (contenders.mjs). */
export const VARIANT_KEYS = [
  "epsInSqrt", "momentum", "lrInMomentum", "nesterov", "centered", "clampVariance", "weightDecay",
  "decoupledWeightDecay", "maximize", "biasCorrection",
];

/** Options that change neither the per-element work nor the bytes a step moves. */
const NEUTRAL_KEYS = ["lr", "beta", "eps", "centeredEps", "initialScale", "backend", "threads", "minParamsPerThread", "threadSpinMs", "nonFinite"];

/** The options tf.train.rmsprop takes, by our names (learningRate, decay, momentum, epsilon, centered). */
export const TFJS_KEYS = ["lr", "beta", "eps", "momentum", "centered"];

/** Options a benchmark of one flat vector of n cannot take: they need a caller's objects or fix n. */
export const REFUSED_KEYS = {
  memory: "it needs a WebAssembly.Memory, which JSON cannot give",
  offset: "it only means something with memory",
  groups: "the bench measures one flat parameter vector of each --n",
};

/** Keys of `options` whose value is not the default "off" (a given null or false changes nothing). */
const given = (options) => Object.keys(options).filter((k) => options[k] !== null && options[k] !== undefined);

/**
 * What each comparison row runs without: the options of `options` that change the step
 * and that the plain JS loop, or tf.train.rmsprop, has no form of.
 */
export function comparedWithout(options) {
  const math = given(options).filter((k) => !NEUTRAL_KEYS.includes(k));
  return {
    plain: math.filter((k) => !VARIANT_KEYS.includes(k)),
    tfjs: math.filter((k) => !TFJS_KEYS.includes(k)),
  };
}

/**
 * Whether `options` change the step the limit's probes stand for (a default step's
 * arithmetic and its 20 bytes per parameter); then no share of the limit is shown.
 */
export function changesTheStep(options) {
  return given(options).some((k) => !NEUTRAL_KEYS.includes(k));
}
