// The tfjs preset against the real TensorFlow.js optimizer (tf.train.rmsprop on the CPU
// backend), on the same problem, and the quirk of its centered branch: √(ms − (mg² + ε)).
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { beforeAll, describe, expect, it } from "vitest";
import { createRmsprop, presets } from "../src/index.ts";
import { rng } from "./helpers/data.ts";

beforeAll(async () => {
  await tf.setBackend("cpu");
});

const N = 48;

function problem(seed: number) {
  const r = rng(seed);
  const a = Float32Array.from({ length: N }, () => 10 ** (3 * r() - 1.5));
  const p0 = Float32Array.from({ length: N }, () => 4 * r() - 2);
  const grad = (p: ArrayLike<number>, t: number) =>
    Float32Array.from({ length: N }, (_, i) => a[i] * p[i] + 0.1 * Math.sin(7 * i + t));
  return { p0, grad };
}

/** Runs tf.train.rmsprop and our tfjs preset side by side; returns the worst relative gap. */
async function compare(lr: number, momentum: number, centered: boolean, steps = 25) {
  const { p0, grad } = problem(centered ? 2 : 1);
  const variable = tf.variable(tf.tensor1d(p0));
  const tfOpt = tf.train.rmsprop(lr, 0.9, momentum, undefined, centered);
  const ours = await createRmsprop(N, { ...presets.tfjs, lr, momentum, centered, nonFinite: "ignore" });
  ours.params.set(p0);
  let worst = 0;
  for (let t = 0; t < steps; t++) {
    const theirs = variable.dataSync();
    tf.tidy(() => tfOpt.applyGradients({ [variable.name]: tf.tensor1d(grad(theirs, t)) }));
    ours.grads.set(grad(ours.params, t));
    ours.step();
    const want = variable.dataSync();
    let diff = 0, norm = 0;
    for (let i = 0; i < N; i++) {
      // Where tfjs's centered root goes NaN, ours must too; compare the rest.
      expect(Number.isNaN(ours.params[i]), `element ${i} at step ${t}`).toBe(Number.isNaN(want[i]));
      if (Number.isNaN(want[i])) continue;
      diff += (ours.params[i] - want[i]) ** 2;
      norm += want[i] ** 2;
    }
    worst = Math.max(worst, Math.sqrt(diff / norm));
  }
  tfOpt.dispose();
  variable.dispose();
  return { worst, moved: Math.abs(ours.params[0] - p0[0]) };
}

describe("presets.tfjs against @tensorflow/tfjs-core", () => {
  it.each([
    ["plain", 0, false],
    ["momentum", 0.9, false],
    ["centered", 0, true],
    ["centered with momentum", 0.5, true],
  ] as const)("%s: within 1e-5 of tf.train.rmsprop over 25 steps", async (_name, momentum, centered) => {
    const { worst, moved } = await compare(0.01, momentum, centered);
    expect(worst).toBeLessThan(1e-5);
    expect(moved).toBeGreaterThan(1e-3);
  });

  it("tfjs's centered root subtracts ε: a zero first gradient gives NaN there, as with the preset", async () => {
    const variable = tf.variable(tf.tensor1d([1, 1]));
    const tfOpt = tf.train.rmsprop(0.1, 0.9, 0, undefined, true);
    tf.tidy(() => tfOpt.applyGradients({ [variable.name]: tf.tensor1d([0, 0.5]) }));
    const theirs = variable.dataSync();
    expect(Number.isNaN(theirs[0])).toBe(true);

    const preset = await createRmsprop(2, { ...presets.tfjs, lr: 0.1, centered: true, nonFinite: "ignore" });
    preset.params.set([1, 1]);
    preset.grads.set([0, 0.5]);
    preset.step();
    expect(Number.isNaN(preset.params[0])).toBe(true);
    expect(preset.params[1]).toBeCloseTo(theirs[1], 6);

    // Our own defaults add ε and clamp the variance: a finite, unchanged θ.
    const ours = await createRmsprop(2, { lr: 0.1, centered: true });
    ours.params.set([1, 1]);
    ours.grads.set([0, 0.5]);
    ours.step();
    expect(ours.params[0]).toBe(1);
    tfOpt.dispose();
    variable.dispose();
  });
});
