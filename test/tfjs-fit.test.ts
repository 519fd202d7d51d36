// rmsprop-wasm/tfjs inside model.fit: the same losses as tf.train.rmsprop from the same
// weights, on tfjs-backend-cpu (a memory of its own, one copy each way) and on
// tfjs-backend-wasm (in place in the backend's heap); and tfjs's centered NaN.
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, describe, expect, it } from "vitest";
import { presets } from "../src/index.ts";
import { tfjsRmsprop } from "../src/tfjs/index.ts";
import { classifier, dataset, fitLosses, useBackend, weightValues, worstRelative } from "./helpers/tfjs-models.ts";

const EPOCHS = 6;
const LR = 0.01;

afterAll(() => useBackend("cpu"));

describe.each(["cpu", "wasm"])("model.fit on tfjs-backend-%s", (backend) => {
  it.each([
    ["plain", 0],
    ["momentum", 0.6],
  ] as const)("%s: the loss of every epoch within 1e-5 of tf.train.rmsprop", async (_name, momentum) => {
    await useBackend(backend);
    const data = dataset(64, 7);
    const theirs = classifier(1);
    theirs.compile({ optimizer: tf.train.rmsprop(LR, 0.9, momentum), loss: "categoricalCrossentropy" });
    const ours = classifier(1);
    const optimizer = await tfjsRmsprop(ours.trainableWeights, { ...presets.tfjs, lr: LR, momentum });
    ours.compile({ optimizer, loss: "categoricalCrossentropy" });

    const want = await fitLosses(theirs, data, EPOCHS);
    const got = await fitLosses(ours, data, EPOCHS);
    expect(worstRelative(got, want)).toBeLessThan(1e-5);
    expect(got[EPOCHS - 1]).toBeLessThan(0.9 * got[0]); // it did train
    expect(optimizer.iterations).toBe(EPOCHS * 4);
    optimizer.dispose();
  });

  it("centered: presets.tfjs reproduces tfjs's NaN; the default options train to a finite, falling loss", async () => {
    await useBackend(backend);
    // Feature 0 is always 0, so kernel row 0 gets a gradient of exactly 0: in tfjs's
    // centered root, √(0 − (0 + ε)) is NaN, and so is every loss after the first step.
    const data = dataset(64, 8, true);
    const theirs = classifier(2);
    theirs.compile({ optimizer: tf.train.rmsprop(LR, 0.9, 0, undefined, true), loss: "categoricalCrossentropy" });
    const preset = classifier(2);
    preset.compile({
      optimizer: await tfjsRmsprop(preset.trainableWeights, { ...presets.tfjs, lr: LR, centered: true, nonFinite: "ignore" }),
      loss: "categoricalCrossentropy",
    });
    const want = await fitLosses(theirs, data, 3);
    const got = await fitLosses(preset, data, 3);
    // The same losses: NaN on the CPU backend; tfjs-backend-wasm's clip in the cross-entropy
    // turns NaN probabilities into finite numbers, and both runs get the same ones.
    expect(worstRelative(got, want)).toBeLessThan(1e-5);
    expect(got.every(backend === "cpu" ? Number.isNaN : Number.isFinite)).toBe(true);
    const nans = (m: typeof preset) => weightValues(m).map((w) => w.map((x) => Number(Number.isNaN(x))).join(""));
    expect(nans(preset)).toEqual(nans(theirs));
    expect(Number.isNaN(weightValues(preset)[0][0])).toBe(true); // kernel row 0 first

    const ours = classifier(2);
    ours.compile({ optimizer: await tfjsRmsprop(ours.trainableWeights, { lr: LR, centered: true }), loss: "categoricalCrossentropy" });
    const losses = await fitLosses(ours, data, EPOCHS);
    expect(losses.every(Number.isFinite)).toBe(true);
    for (let e = 1; e < EPOCHS; e++) expect(losses[e]).toBeLessThan(losses[e - 1]);
    const row0 = (m: typeof ours) => [...weightValues(m)[0].subarray(0, 12)]; // kernel [6, 12]: feature 0's row
    expect(row0(ours)).toEqual(row0(classifier(2))); // a zero gradient leaves θ alone
  });
});
