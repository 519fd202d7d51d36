// Saving and restoring rmsprop-wasm/tfjs through tfjs's own mechanism: model.save with
// includeOptimizer, tf.loadLayersModel, and training on as if never interrupted.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { afterAll, describe, expect, it } from "vitest";
import { presets, schedules } from "../src/index.ts";
import { TfjsRmsprop, tfjsRmsprop, type TfjsRmspropOptions } from "../src/tfjs/index.ts";
import { classifier, dataset, fitLosses, saveToMemory, useBackend, weightValues } from "./helpers/tfjs-models.ts";

afterAll(() => useBackend("cpu"));

const options: TfjsRmspropOptions = {
  ...presets.tfjs,
  // Schedules travel in the training config as plain objects, and go on from `iterations`.
  lr: schedules.join([schedules.linear({ from: 1e-3, to: 0.02, steps: 3 }), schedules.cosine({ from: 0.02, to: 1e-3, steps: 15 })], [3]),
  momentum: schedules.oneCycleMomentum({ steps: 18, base: 0.4, max: 0.6 }),
  centered: true,
  centeredEps: "add",
  // Names full of "_" travel through tfjs-layers' camel-casing of the training config.
  variableGroups: [{ name: "biases", match: ["/bias", "no_such_layer"], lr: schedules.oneCycle({ max: 0.01, steps: 18 }) }],
};

describe.each(["cpu", "wasm"])("save and restore on tfjs-backend-%s", (backend) => {
  it("model.save({ includeOptimizer }) then tf.loadLayersModel continues with the same losses", async () => {
    await useBackend(backend);
    const data = dataset(48, 11);
    const model = classifier(5);
    const optimizer = await tfjsRmsprop(model.trainableWeights, options);
    model.compile({ optimizer, loss: "categoricalCrossentropy" });
    await fitLosses(model, data, 3);
    const artifacts = await saveToMemory(model);
    const uninterrupted = await fitLosses(model, data, 3);

    const restored = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(restored.optimizer).toBeInstanceOf(TfjsRmsprop);
    expect(restored.optimizer.getConfig()).toEqual(optimizer.getConfig());
    expect(restored.optimizer.iterations).toBe(9);
    const resumed = await fitLosses(restored, data, 3);
    expect(resumed).toEqual(uninterrupted); // the same kernel on the same state: the same bits
    expect(weightValues(restored)).toEqual(weightValues(model));

    // And the state went through the weights, not the config: a fresh optimizer differs.
    const fresh = await tfl.loadLayersModel(tf.io.fromMemory({ ...artifacts, weightSpecs: artifacts.weightSpecs!.filter((s) => s.group !== "optimizer") }));
    fresh.compile({ optimizer: await tfjsRmsprop(fresh.trainableWeights, options), loss: "categoricalCrossentropy" });
    expect(await fitLosses(fresh, data, 1)).not.toEqual(uninterrupted.slice(0, 1));
    optimizer.dispose();
  });
});

describe("getWeights and setWeights", () => {
  it("list the iteration count, then S, M and G per variable, named as tfjs names them", async () => {
    await useBackend("cpu");
    const a = tf.variable(tf.tensor1d([1, 2, 3]), true, "save_a");
    const b = tf.variable(tf.tensor2d([[1], [2]]), true, "save_b");
    const optimizer = await tfjsRmsprop([a, b], { lr: 0.1, momentum: 0.9, centered: true });
    const grads = { save_a: tf.tensor1d([0.5, -1, 2]), save_b: tf.tensor2d([[3], [-4]]) };
    optimizer.applyGradients(grads);
    const weights = await optimizer.getWeights();
    expect(weights.map((w) => w.name)).toEqual([
      "iter", "save_a/rms", "save_b/rms", "save_a/momentum", "save_b/momentum", "save_a/mg", "save_b/mg",
    ]);
    expect(weights[0].tensor.dataSync()[0]).toBe(1);
    // After one step from zero: S = (1 − β)·g², G = (1 − β)·g.
    expect([...weights[1].tensor.dataSync()]).toEqual([0.5, -1, 2].map((g) => Math.fround(Math.fround(0.1) * Math.fround(g * g))));
    expect([...weights[5].tensor.dataSync()]).toEqual([0.5, -1, 2].map((g) => Math.fround(Math.fround(0.1) * g)));
    expect(weights[4].tensor.shape).toEqual([2, 1]);

    // A wrong list changes nothing.
    const before = weights.map((w) => [...w.tensor.dataSync()]);
    await expect(optimizer.setWeights(weights.slice(0, 4))).rejects.toThrow(/got 3 state tensors, but 2 variables with these options keep 6/);
    const swapped = [weights[0], weights[2], weights[1], ...weights.slice(3)];
    await expect(optimizer.setWeights(swapped)).rejects.toThrow(/should be "save_a\/rms" with 3 values; got "save_b\/rms" with 2/);
    expect((await optimizer.getWeights()).map((w) => [...w.tensor.dataSync()])).toEqual(before);
    optimizer.dispose();
    tf.dispose([a, b, ...Object.values(grads)]);
  });
});
