// Small seeded tfjs-layers models and data for the rmsprop-wasm/tfjs tests: the same
// weights and batches on every run, on whichever tfjs backend is current.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs-backend-wasm";
import * as tfl from "@tensorflow/tfjs-layers";
import { rng } from "./data.ts";

// PROD silences the "install tfjs-node" banner of the CPU backend. Not IS_TEST, which would
// too: under it tfjs checks every kernel for leaked data ids, and tfjs-backend-wasm's fused
// matmul fails that check inside model.fit (with tf.train.rmsprop as well).
tf.env().set("PROD", true);

export const FEATURES = 6;
export const CLASSES = 3;

/** Switches tfjs to `backend` and waits until it is ready. */
export async function useBackend(backend: string): Promise<void> {
  await tf.setBackend(backend);
  await tf.ready();
}

/**
 * A two-layer classifier with seeded weights. `deadFeature` leaves input feature 0 at 0 in
 * the data, so the first layer's kernel row 0 always gets a gradient of exactly 0.
 */
export function classifier(seed: number): tfl.Sequential {
  const model = tfl.sequential({
    layers: [
      tfl.layers.dense({ inputShape: [FEATURES], units: 12, activation: "tanh" }),
      tfl.layers.dense({ units: CLASSES, activation: "softmax" }),
    ],
  });
  const r = rng(seed);
  model.setWeights(model.getWeights().map((w) => tf.tensor(Float32Array.from({ length: w.size }, () => r() - 0.5), w.shape)));
  return model;
}

/** Seeded inputs and one-hot labels that a classifier can learn; feature 0 is 0 with `deadFeature`. */
export function dataset(samples: number, seed: number, deadFeature = false): { xs: tf.Tensor2D; ys: tf.Tensor2D } {
  const r = rng(seed);
  const x = Float32Array.from({ length: samples * FEATURES }, (_, i) => (deadFeature && i % FEATURES === 0 ? 0 : 2 * r() - 1));
  const y = new Float32Array(samples * CLASSES);
  for (let s = 0; s < samples; s++) {
    const row = x.subarray(s * FEATURES, (s + 1) * FEATURES);
    const label = row[1] + row[2] > 0.3 ? 0 : row[3] - row[4] > 0 ? 1 : 2;
    y[s * CLASSES + label] = 1;
  }
  return { xs: tf.tensor2d(x, [samples, FEATURES]), ys: tf.tensor2d(y, [samples, CLASSES]) };
}

/** Trains `model` and returns the loss of each epoch. */
export async function fitLosses(model: tfl.LayersModel, data: { xs: tf.Tensor; ys: tf.Tensor }, epochs: number): Promise<number[]> {
  const history = await model.fit(data.xs, data.ys, { epochs, batchSize: 16, shuffle: false, verbose: 0 });
  return history.history.loss as number[];
}

/** The model's weights as plain arrays, in order. */
export function weightValues(model: tfl.LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}

/** Largest relative difference between two loss curves (NaN only where both are NaN). */
export function worstRelative(a: number[], b: number[]): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  a.forEach((x, i) => {
    if (Number.isNaN(x) || Number.isNaN(b[i])) worst = Number.isNaN(x) && Number.isNaN(b[i]) ? worst : Infinity;
    else worst = Math.max(worst, Math.abs(x - b[i]) / Math.abs(b[i]));
  });
  return worst;
}

/** Saves `model` with its optimizer to memory through tfjs's IO layer and returns the artifacts. */
export async function saveToMemory(model: tfl.LayersModel): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: "JSON" } };
    }),
    { includeOptimizer: true },
  );
  return saved!;
}
