// rmsprop-wasm/tfjs against input no run produces and input tfjs users write: setWeights
// refuses an iteration count or state values that no run reaches (as load() does), a scalar
// variable steps as tf.train.rmsprop steps it, and applyGradients on something that is not
// gradients says so. Refused input changes nothing.
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, describe, expect, it } from "vitest";
import { createRmsprop, presets } from "../src/index.ts";
import { tfjsRmsprop } from "../src/tfjs/index.ts";
import { useBackend } from "./helpers/tfjs-models.ts";

afterAll(() => useBackend("cpu"));

describe("setWeights refuses state no run produces, and changes nothing", () => {
  async function stepped(tag: string, nonFinite: "throw" | "ignore" = "throw") {
    await useBackend("cpu");
    const v = tf.variable(tf.tensor1d([1, 2, 3]), true, `hostile_${tag}`);
    const optimizer = await tfjsRmsprop([v], { momentum: 0.5, nonFinite });
    optimizer.applyGradients({ [v.name]: tf.tensor1d([0.5, -1, 2]) });
    const weights = await optimizer.getWeights();
    const before = weights.map((w) => [...w.tensor.dataSync()]);
    /** The weights as getWeights() gave them, with `values` as tensor k (k = 0: the iteration count). */
    const edited = (k: number, values: number[]) =>
      weights.map((w, i) => (i === k ? { name: w.name, tensor: tf.tensor(values, w.tensor.shape, k === 0 ? "float32" : w.tensor.dtype) } : w));
    return { v, optimizer, before, edited };
  }

  it.each([
    ["an rms of -1", 1, [-1, 0, 0], /setWeights: "hostile_rms-1\/rms"\[0\] is -1, which no run produces \(an average of squared gradients is ≥ 0 and never NaN/],
    ["an rms of NaN", 1, [0, Number.NaN, 0], /"hostile_rmsNaN\/rms"\[1\] is NaN, which no run produces/],
    ["an iteration count of 1e30", 0, [1e30], /setWeights: the iteration count must be an integer from 0 to 2147483647.*got 1\.0*\d*e\+30; nothing was changed/],
    ["an iteration count of -1", 0, [-1], /the iteration count must be an integer .*got -1/],
    ["an iteration count of 1.5", 0, [1.5], /the iteration count must be an integer .*got 1.5/],
    ["an iteration count of NaN", 0, [Number.NaN], /the iteration count must be an integer .*got NaN/],
  ] as const)("%s", async (what, k, values, message) => {
    const tag = what.replace(/^an? (rms|iteration count) of /, (_, w: string) => (w === "rms" ? "rms" : "iter"));
    const { v, optimizer, before, edited } = await stepped(tag);
    await expect(optimizer.setWeights(edited(k, [...values]))).rejects.toThrow(message);
    expect((await optimizer.getWeights()).map((w) => [...w.tensor.dataSync()])).toEqual(before);
    expect(optimizer.iterations).toBe(1);
    optimizer.dispose();
    v.dispose();
  });

  it('under nonFinite "ignore" a NaN rms loads (a run can make it), a negative one does not', async () => {
    const { v, optimizer, edited } = await stepped("ignore", "ignore");
    await expect(optimizer.setWeights(edited(1, [-1, 0, 0]))).rejects.toThrow(/is -1, which no run produces/);
    await optimizer.setWeights(edited(1, [Number.NaN, 0, 0]));
    const weights = await optimizer.getWeights();
    expect(weights[1].tensor.dataSync()[0]).toBeNaN();
    const negative = weights.map((w, i) => (i === 1 ? { name: w.name, tensor: tf.tensor1d([-1, 0, 0]) } : w));
    await expect(optimizer.setWeights(negative)).rejects.toThrow(/is -1, which no run produces \(an average of squared gradients is never negative\)/);
    optimizer.dispose();
    v.dispose();
  });

  it("an optimizer that has not met its variables yet refuses such state at once, not at its first step", async () => {
    await useBackend("cpu");
    const { TfjsRmsprop } = await import("../src/tfjs/optimizer.ts");
    const fresh = new TfjsRmsprop();
    const weights = [
      { name: "iter", tensor: tf.scalar(0, "int32") },
      { name: "x/rms", tensor: tf.tensor1d([-2]) },
    ];
    await expect(fresh.setWeights(weights)).rejects.toThrow(/"x\/rms"\[0\] is -2, which no run produces/);
    fresh.dispose();
  });
});

describe.each(["cpu", "wasm"])("a scalar variable on tfjs-backend-%s", (backend) => {
  it("steps as it would in a flat optimizer, and as tf.train.rmsprop steps it", async () => {
    await useBackend(backend);
    const s = tf.variable(tf.scalar(1.5), true, `scalar_${backend}`);
    const w = tf.variable(tf.tensor1d([1, -2]), true, `vector_${backend}`);
    const optimizer = await tfjsRmsprop([s, w], { ...presets.tfjs, lr: 0.1 });
    const flat = await createRmsprop(3, { ...presets.tfjs, lr: 0.1 });
    flat.params.set([1.5, 1, -2]);
    const reference = tf.train.rmsprop(0.1);
    const twin = tf.variable(tf.scalar(1.5), true, `scalar_twin_${backend}`);
    for (let t = 1; t <= 3; t++) {
      optimizer.applyGradients({ [s.name]: tf.scalar(t), [w.name]: tf.tensor1d([-t, 0.5]) });
      flat.grads.set([t, -t, 0.5]);
      flat.step();
      reference.applyGradients({ [twin.name]: tf.scalar(t) });
    }
    expect(s.shape).toEqual([]);
    expect([...s.dataSync(), ...w.dataSync()]).toEqual([...flat.params]);
    expect(s.dataSync()[0]).toBeCloseTo(twin.dataSync()[0], 6);
    const weights = await optimizer.getWeights();
    expect(weights[1].tensor.shape).toEqual([]); // the scalar's rms is a scalar
    await optimizer.setWeights(weights);
    optimizer.dispose();
    reference.dispose();
    flat.dispose();
    tf.dispose([s, w, twin]);
  });
});

describe("applyGradients on something that is not gradients", () => {
  it.each([
    [null, /applyGradients: variableGradients must be a map of variable names to gradients \(tf.NamedTensorMap\) or an array of \{ name, tensor \}; got null/],
    [undefined, /variableGradients must be .*; got undefined/],
    [42, /variableGradients must be .*; got number/],
    [new Map(), /applyGradients: variableGradients must be a plain object .*got a Map/],
    [[null], /applyGradients: variableGradients\[0\] must be \{ name: string, tensor \}/],
  ])("%s", async (value, message) => {
    await useBackend("cpu");
    const v = tf.variable(tf.tensor1d([1]), true);
    const optimizer = await tfjsRmsprop([v]);
    expect(() => optimizer.applyGradients(value as never)).toThrow(message);
    expect([optimizer.iterations, v.dataSync()[0]]).toEqual([0, 1]);
    optimizer.dispose();
    v.dispose();
  });
});

describe("a scalar tensor in createRmsprop's groups", () => {
  it("shape [] holds one parameter, as in every framework", async () => {
    const opt = await createRmsprop(3, { groups: [{ tensors: [{ name: "bias", shape: [] }, { name: "w", shape: [2] }] }] });
    expect(opt.tensors.bias.size).toBe(1);
    expect(opt.tensors.bias.shape).toEqual([]);
    expect(opt.tensors.w.offset).toBe(1);
    opt.dispose();
  });
});
