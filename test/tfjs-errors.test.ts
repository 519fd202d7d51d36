// rmsprop-wasm/tfjs on bad input: clear errors that name the variable, option or backend,
// with nothing applied; and every nonFinite policy through model.fit.
import * as tf from "@tensorflow/tfjs-core";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { afterAll, describe, expect, it } from "vitest";
import { tfjsRmsprop } from "../src/tfjs/index.ts";
import { classifier, dataset, fitLosses, useBackend, weightValues } from "./helpers/tfjs-models.ts";

afterAll(() => useBackend("cpu"));

/** Two owned variables a and b, and one stranger c, on the current backend. */
function variables(tag: string) {
  const make = (name: string, shape: number[]) => tf.variable(tf.ones(shape), true, `${tag}/${name}`);
  return { a: make("a", [3]), b: make("b", [2, 2]), c: make("c", [3]) };
}

describe.each(["cpu", "wasm"])("bad input on tfjs-backend-%s", (backend) => {
  it("a gradient for a variable it does not own, or of the wrong shape or dtype: nothing applied", async () => {
    await useBackend(backend);
    const { a, b, c } = variables(`bad${backend}`);
    const optimizer = await tfjsRmsprop([a, b], { lr: 0.1 });
    const g = { a: tf.ones([3]), b: tf.ones([2, 2]) };
    expect(() => optimizer.applyGradients({ [a.name]: g.a, [c.name]: tf.ones([3]) })).toThrow(
      new RegExp(`a gradient for variable "${c.name}", which this optimizer does not own`),
    );
    expect(() => optimizer.applyGradients([{ name: a.name, tensor: g.a }, { name: b.name, tensor: tf.ones([4]) }])).toThrow(
      new RegExp(`the gradient of variable "${b.name}" has shape \\[4\\], the variable \\[2,2\\]`),
    );
    expect(() => optimizer.applyGradients({ [a.name]: g.a, [b.name]: tf.ones([2, 2], "int32") })).toThrow(
      new RegExp(`the gradient of variable "${b.name}" is int32; it must be float32`),
    );
    expect([...a.dataSync()]).toEqual([1, 1, 1]);
    expect(optimizer.iterations).toBe(0);

    // The array form steps too; a null gradient leaves its variable alone, as in tfjs.
    optimizer.applyGradients([{ name: a.name, tensor: g.a }, { name: b.name, tensor: null as unknown as tf.Tensor }]);
    expect(a.dataSync()[0]).toBeLessThan(1);
    expect([...b.dataSync()]).toEqual([1, 1, 1, 1]);

    // A variable disposed and made again under its name, with another shape, is not ours.
    b.dispose();
    const b2 = tf.variable(tf.ones([5]), true, b.name);
    expect(() => optimizer.applyGradients({ [b2.name]: tf.ones([5]) })).toThrow(new RegExp(`variable "${b.name}" was disposed or replaced`));
    optimizer.dispose();
    expect(() => optimizer.applyGradients({ [a.name]: g.a })).toThrow(/was disposed/);
    optimizer.dispose(); // idempotent
    tf.dispose([a, b2, c, g.a, g.b]);
  });

  it("variables and options are checked before anything is compiled or allocated", async () => {
    await useBackend(backend);
    const int = tf.variable(tf.ones([2], "int32"), true, `int${backend}`);
    await expect(tfjsRmsprop([int])).rejects.toThrow(new RegExp(`variable "int${backend}" is int32; rmsprop-wasm steps float32 variables only`));
    await expect(tfjsRmsprop([])).rejects.toThrow(/variables must be a non-empty array/);
    await expect(tfjsRmsprop([{} as tf.Variable])).rejects.toThrow(/variables\[0\] must be a tf.Variable or a tfjs-layers LayerVariable/);
    const v = tf.variable(tf.ones([2]), true, `opts${backend}`);
    await expect(tfjsRmsprop([v, v])).rejects.toThrow(new RegExp(`variables holds "opts${backend}" twice`));
    await expect(tfjsRmsprop([v], { threads: 2 } as object)).rejects.toThrow(/options.threads is not an option of tfjsRmsprop/);
    await expect(tfjsRmsprop([v], { groups: [] } as object)).rejects.toThrow(/use variableGroups/);
    await expect(tfjsRmsprop([v], { lr: -1 })).rejects.toThrow(/options.lr must be/);
    await expect(tfjsRmsprop([v], { variableGroups: [{ match: [] }] })).rejects.toThrow(/options.variableGroups\[0\].match must be a non-empty array/);
    await expect(tfjsRmsprop([v], { variableGroups: [{ match: ["x"], rho: 0.9 } as object as { match: string[] }] })).rejects.toThrow(
      /options.variableGroups\[0\] has an unknown key "rho" \(did you mean "beta"\?\)/,
    );
    tf.dispose([int, v]);
  });
});

describe("GPU backends", () => {
  it.each(["webgl", "webgpu"])("%s is refused by name, at creation and at a step", async (gpu) => {
    // A stand-in registered under the GPU backend's name: the check is by name.
    tf.registerBackend(gpu, () => new MathBackendCPU(), 0);
    try {
      await useBackend("cpu");
      const v = tf.variable(tf.ones([2]), true, `gpu${gpu}`);
      const optimizer = await tfjsRmsprop([v]);
      await useBackend(gpu);
      const message = new RegExp(`does not run on the tfjs backend "${gpu}": its tensors live on the GPU`);
      await expect(tfjsRmsprop([v])).rejects.toThrow(message);
      expect(() => optimizer.applyGradients({ [v.name]: tf.ones([2]) })).toThrow(message);
      await useBackend("cpu");
      optimizer.dispose();
      v.dispose();
    } finally {
      await useBackend("cpu");
      tf.removeBackend(gpu);
    }
  });
});

describe.each(["cpu", "wasm"])("nonFinite through model.fit on tfjs-backend-%s", (backend) => {
  /** 64 samples: the first batch of 16 has a NaN input, so its gradients are NaN. */
  function poisoned() {
    const { xs, ys } = dataset(64, 21);
    const x = xs.arraySync();
    x[0][1] = NaN;
    return { xs: tf.tensor2d(x), ys };
  }

  it('"throw" reaches the caller of fit, naming the variable, and no weight changed', async () => {
    await useBackend(backend);
    const model = classifier(9);
    const start = weightValues(model);
    model.compile({ optimizer: await tfjsRmsprop(model.trainableWeights, { lr: 0.01 }), loss: "categoricalCrossentropy" });
    await expect(fitLosses(model, poisoned(), 1)).rejects.toThrow(/the gradient of variable "[^"]+" is NaN at index \d+; the step was not applied/);
    expect(weightValues(model)).toEqual(start);
    // The model trains on afterwards.
    const losses = await fitLosses(model, dataset(64, 21), 2);
    expect(losses[1]).toBeLessThan(losses[0]);
  });

  it('"skip" skips the bad batch: the same weights as training without it', async () => {
    await useBackend(backend);
    const skipping = classifier(9);
    skipping.compile({ optimizer: await tfjsRmsprop(skipping.trainableWeights, { lr: 0.01, nonFinite: "skip" }), loss: "categoricalCrossentropy" });
    await fitLosses(skipping, poisoned(), 1);
    const clean = classifier(9);
    clean.compile({ optimizer: await tfjsRmsprop(clean.trainableWeights, { lr: 0.01 }), loss: "categoricalCrossentropy" });
    const { xs, ys } = dataset(64, 21);
    await fitLosses(clean, { xs: tf.slice(xs, [16, 0]), ys: tf.slice(ys, [16, 0]) }, 1);
    expect(weightValues(skipping)).toEqual(weightValues(clean));
    expect(skipping.optimizer.iterations).toBe(3);
  });

  it('"ignore" lets NaN into the weights, as tf.train.rmsprop does', async () => {
    await useBackend(backend);
    const model = classifier(9);
    model.compile({ optimizer: await tfjsRmsprop(model.trainableWeights, { lr: 0.01, nonFinite: "ignore" }), loss: "categoricalCrossentropy" });
    await fitLosses(model, poisoned(), 1);
    expect(weightValues(model)[0].some(Number.isNaN)).toBe(true);
  });
});
