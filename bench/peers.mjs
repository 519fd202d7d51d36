// What users would otherwise pick: tf.train.rmsprop on TensorFlow.js's wasm and CPU
// backends, on a variable of the same size, in the same process.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { getThreadsCount, setThreadsCount } from "@tensorflow/tfjs-backend-wasm";
import { seededArray } from "./data.mjs";

tf.env().set("PROD", true); // no debug checks, as in a production app
tf.env().set("IS_TEST", true); // silences the "install tfjs-node" banner of the CPU backend
// One thread, like our default: the comparison is kernel against kernel. (Its thread pool
// also spin-waits between ops, which would slow whatever runs next on a 2-core machine.)
setThreadsCount(1);

/**
 * A tfjs peer: the same update through applyGradients (η 0.01, β 0.9, ε 1e-8, no momentum,
 * or what `options` set of lr, beta, eps, momentum and centered, the ones tfjs has).
 */
export async function tfjsContender(backend, n, options = {}) {
  await tf.setBackend(backend);
  await tf.ready();
  const variable = tf.variable(tf.tensor1d(seededArray(n, 1)));
  const grad = tf.tensor1d(seededArray(n, 2));
  const given = (key, fallback) => options[key] ?? fallback;
  const optimizer = tf.train.rmsprop(given("lr", 0.01), given("beta", 0.9), given("momentum", 0), given("eps", 1e-8), given("centered", false));
  const grads = { [variable.name]: grad };
  optimizer.applyGradients(grads); // creates its slots: warm-up outside the timing
  // A peer that leaked tensors per step would be timed unfairly (and run out of memory).
  const tensors = tf.memory().numTensors;
  optimizer.applyGradients(grads);
  if (tf.memory().numTensors !== tensors) throw new Error(`tfjs-backend-${backend} leaks tensors per step`);
  if (backend === "wasm" && getThreadsCount() !== 1) throw new Error("tfjs-backend-wasm ignored setThreadsCount(1)");
  return {
    name: `tfjs-backend-${backend}`,
    threads: 1,
    bytesPerParam: 20,
    // Each task runs on its own backend; switching is cheap once a backend is ready.
    beforeAll: async () => {
      await tf.setBackend(backend);
    },
    step: () => optimizer.applyGradients(grads),
    dispose: () => {
      optimizer.dispose();
      variable.dispose();
      grad.dispose();
    },
  };
}
