// rmsprop-wasm/tfjs with values that change per step: the same schedules, overrides and
// setOptions as createRmsprop, with its bits, and the learningRate setter. Schedules through
// model.save and tf.loadLayersModel are in test/tfjs-save.test.ts.
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, describe, expect, it } from "vitest";
import { createRmsprop, schedules, type Rmsprop, type StepOverrides } from "../src/index.ts";
import { tfjsRmsprop, type TfjsRmsprop, type TfjsRmspropOptions } from "../src/tfjs/index.ts";
import { rng } from "./helpers/data.ts";
import { useBackend } from "./helpers/tfjs-models.ts";

afterAll(() => useBackend("cpu"));

const { linear, cosine, exponential, oneCycleMomentum, warmupCosine, valueAt } = schedules;
const SIZES = [12, 5];
let unique = 0;

/** Seeded values for every variable of step `t` (t = 0: initial θ). */
function values(t: number): Float32Array[] {
  const r = rng(500 + t);
  return SIZES.map((n) => Float32Array.from({ length: n }, () => (r() - 0.5) * 4));
}

/** What happens between steps: a setOptions, say, on the tfjs optimizer and on createRmsprop's. */
type Between = (t: number, tfjs: TfjsRmsprop, flat: Rmsprop) => void;

/**
 * Steps `steps` times through tfjsRmsprop and through createRmsprop over the same numbers
 * (one group per variable group, the rest "default"), and returns both as bits.
 */
async function both(options: TfjsRmspropOptions, steps: number, between: Between = () => {}, overrides?: (t: number) => StepOverrides | undefined) {
  const run = unique++;
  const variables = values(0).map((v, i) => tf.variable(tf.tensor(v), true, `sched${run}/v${i}`));
  const optimizer = await tfjsRmsprop(variables, options);
  const { variableGroups = [], ...top } = options;
  const flat = await createRmsprop(SIZES[0] + SIZES[1], {
    ...top,
    groups: [
      ...variableGroups.map(({ match: _, ...own }) => ({ ...own, tensors: [{ name: "v0", size: SIZES[0] }] })),
      { name: "default", tensors: [{ name: "v1", size: SIZES[1] }] },
    ],
  });
  flat.params.set(values(0).flatMap((v) => [...v]));
  for (let t = 1; t <= steps; t++) {
    between(t - 1, optimizer, flat);
    const grads = values(t).map((g, i) => ({ name: variables[i].name, tensor: tf.tensor(g) }));
    optimizer.applyGradients(grads, overrides?.(t - 1));
    tf.dispose(grads.map((g) => g.tensor));
    flat.grads.set(values(t).flatMap((g) => [...g]));
    flat.step(overrides?.(t - 1));
  }
  const bits = (a: Float32Array) => [...new Uint32Array(a.slice().buffer)];
  const result = {
    tfjs: variables.flatMap((v) => bits(v.dataSync() as Float32Array)),
    flat: bits(flat.params),
  };
  optimizer.dispose();
  flat.dispose();
  tf.dispose(variables);
  return result;
}

const scheduled: TfjsRmspropOptions = {
  lr: warmupCosine({ init: 1e-3, peak: 0.05, warmup: 2, steps: 8 }),
  momentum: oneCycleMomentum({ steps: 8 }),
  beta: linear({ from: 0.8, to: 0.95, steps: 6 }),
  lrScale: exponential({ from: 1, rate: 0.9 }),
  variableGroups: [{ name: "first", match: ["/v0"], lr: cosine({ from: 0.02, to: 0.001, steps: 6 }), weightDecay: linear({ from: 0, to: 0.1, steps: 4 }) }],
};

describe.each(["cpu", "wasm"])("on tfjs-backend-%s", (backend) => {
  it("schedules at the top level and in a variable group: createRmsprop's bits", async () => {
    await useBackend(backend);
    const { tfjs, flat } = await both(scheduled, 9);
    expect(tfjs).toEqual(flat);
  });

  it("setOptions, at the top level and in a group by name, and every per-step override: createRmsprop's bits", async () => {
    await useBackend(backend);
    const between: Between = (t, tfjs, flat) => {
      if (t === 3) {
        tfjs.setOptions({ lr: 0.01, eps: 1e-4 });
        flat.setOptions({ lr: 0.01, eps: 1e-4 });
        tfjs.setOptions({ momentum: 0, lr: exponential({ from: 0.03, rate: 0.8 }) }, "first");
        flat.groups[0].setOptions({ momentum: 0, lr: exponential({ from: 0.03, rate: 0.8 }) });
      }
      if (t === 5) {
        tfjs.learningRate = 0.002; // tfjs's own optimizers' setter: setOptions({ lr })
        flat.setOptions({ lr: 0.002 });
      }
    };
    const overrides = (t: number): StepOverrides | undefined => (t === 1 ? { beta: 0.5, gradScale: 0.25, weightDecay: 0.3, lrScale: 2 } : undefined);
    const { tfjs, flat } = await both(scheduled, 8, between, overrides);
    expect(tfjs).toEqual(flat);
  });
});

describe("the learningRate setter and getter", () => {
  it("reads the next step's η of the groups without their own lr, and sets lr (a number or a schedule) as setOptions does", async () => {
    await useBackend("cpu");
    const v = tf.variable(tf.tensor1d([1, 2]), true, `lr${unique++}/v`);
    const lr = cosine({ from: 0.1, to: 0, steps: 4 });
    const optimizer = await tfjsRmsprop([v], { lr });
    expect(optimizer.learningRate).toBe(0.1);
    optimizer.applyGradients({ [v.name]: tf.ones([2]) });
    expect(optimizer.learningRate).toBe(valueAt(lr, 1));
    optimizer.learningRate = 0.5;
    expect(optimizer.learningRate).toBe(0.5);
    expect(optimizer.getConfig().lr).toBe(0.5);
    optimizer.learningRate = linear({ from: 1, to: 0, steps: 10 }) as never;
    expect(optimizer.learningRate).toBe(valueAt(linear({ from: 1, to: 0, steps: 10 }), 1));
    expect(() => (optimizer.learningRate = -1)).toThrow(/setOptions\(partial\): options\.lr must be a finite number ≥ 0/);
    optimizer.dispose();
    v.dispose();
  });
});

describe("setOptions refuses what the state was made for", () => {
  it("names the reason, and changes nothing", async () => {
    await useBackend("cpu");
    const v = tf.variable(tf.tensor1d([1, 2]), true, `refuse${unique++}/v`);
    const optimizer = await tfjsRmsprop([v], { lr: 0.1, variableGroups: [{ name: "g", match: ["/v"], momentum: 0, lr: 0.2 }] });
    const config = optimizer.getConfig();
    expect(() => optimizer.setOptions({ centered: true })).toThrow(/setOptions\(partial\): options\.centered cannot go from false to true/);
    // Switching a norm clip or the EMA on points to the tfjs way, not to restoreRmsprop.
    expect(() => optimizer.setOptions({ clipNorm: 1 })).toThrow(/options\.clipNorm cannot go from null to 1: .*create a tfjsRmsprop with the new value and setWeights\(getWeights\(\)\) into it$/);
    expect(() => optimizer.setOptions({ emaDecay: 0.9 })).toThrow(/options\.emaDecay cannot go from null to 0\.9: .*setWeights\(getWeights\(\)\) into it \(turned on, the EMA starts from θ/);
    expect(() => optimizer.setOptions({ momentum: 0.9 }, "g")).toThrow(/setOptions\(partial, "g"\): these options need the momentumBuffer array/);
    expect(() => optimizer.setOptions({ lr: 1 }, "nope")).toThrow(/no variable group is named "nope"; they are "g"/);
    expect(() => optimizer.setOptions({ variableGroups: [] } as never)).toThrow(/variableGroups cannot change after creation/);
    expect(() => optimizer.setOptions({ beta: 2 })).toThrow(/options\.beta must be a finite number in \[0, 1\)/);
    expect(() => optimizer.applyGradients({ [v.name]: tf.ones([2]) }, { lr: 0.1 })).toThrow(/step overrides\.lr reaches no group: every group sets its own lr/);
    expect(optimizer.getConfig()).toEqual(config);
    optimizer.dispose();
    v.dispose();
  });

  it("the way its message names works: the EMA turned on by moving the weights to a new optimizer", async () => {
    await useBackend("cpu");
    const v = tf.variable(tf.tensor1d([1, -2, 3]), true, `ema-on${unique++}/v`);
    const before = await tfjsRmsprop([v], { lr: 0.1 });
    before.applyGradients({ [v.name]: tf.tensor1d([0.5, 0.25, -1]) });
    const after = await tfjsRmsprop([v], { lr: 0.1, emaDecay: 0.5 });
    await after.setWeights(await before.getWeights());
    const moved = await after.getWeights();
    expect(moved.map((w) => w.name.split("/").pop())).toEqual(["iter", "rms", "ema"]);
    expect(Array.from(await moved[1].tensor.data())).toEqual(Array.from(await (await before.getWeights())[1].tensor.data()));
    // The EMA starts from θ as it was moved, then averages: 0.5 θ₁ + 0.5 θ₂ after the next step.
    const theta1 = Array.from(await v.data());
    after.applyGradients({ [v.name]: tf.tensor1d([0.5, 0.25, -1]) });
    const theta2 = Array.from(await v.data());
    const [, , ema] = await after.getWeights();
    Array.from(await ema.tensor.data()).forEach((e, i) => expect(e).toBeCloseTo(0.5 * theta1[i] + 0.5 * theta2[i], 6));
    // And off again: the weights without the "/ema" tensors.
    await before.setWeights((await after.getWeights()).filter((w) => !w.name.endsWith("/ema")));
    expect(before.iterations).toBe(2);
    for (const o of [before, after]) o.dispose();
    v.dispose();
  });
});
