// Parameter groups: one optimizer, several contiguous ranges with their own options, each
// tensor its own view; the result equals separate optimizers run on each range.
import { describe, expect, it } from "vitest";
import { createRmsprop, restoreRmsprop, type GroupSpec, type RmspropOptions } from "../src/index.ts";
import { bitReport, uniformFloats } from "./helpers/data.ts";

const groups: GroupSpec[] = [
  { name: "weights", weightDecay: 0.01, momentum: 0.9, tensors: [{ name: "w1", shape: [3, 5] }, { name: "w2", size: 7 }] },
  { name: "embeddings", lr: 0.001, centered: true, tensors: [{ name: "emb", shape: [2, 9] }] },
  { name: "biases", tensors: [{ name: "b1", size: 5 }, { name: "b2", size: 1 }] },
];
const N = 15 + 7 + 18 + 6;

describe("parameter groups", () => {
  it("expose each tensor as a view at its place in params and grads", async () => {
    const opt = await createRmsprop(N, { groups });
    expect(opt.groups.map((g) => [g.name, g.offset, g.size])).toEqual([
      ["weights", 0, 22],
      ["embeddings", 22, 18],
      ["biases", 40, 6],
    ]);
    const emb = opt.tensors.emb;
    expect(emb).toMatchObject({ group: "embeddings", offset: 22, size: 18, shape: [2, 9] });
    emb.params[0] = 42;
    emb.grads[17] = 7;
    expect(opt.params[22]).toBe(42);
    expect(opt.grads[39]).toBe(7);
    expect(emb.params.buffer).toBe(opt.params.buffer);
    expect(Object.keys(opt.tensors)).toEqual(["w1", "w2", "emb", "b1", "b2"]);
    expect(opt.groups[1].options).toMatchObject({ lr: 0.001, centered: true, momentum: 0 });
    expect(opt.groups[0].options).toMatchObject({ lr: 0.01, weightDecay: 0.01, momentum: 0.9 });
  });

  it.each(["simd", "scalar", "js"] as const)(
    "one grouped step on %s equals separate optimizers per group, bit for bit",
    async (backend) => {
      const base: RmspropOptions = { backend, lr: 0.02, beta: 0.95 };
      const opt = await createRmsprop(N, { ...base, groups });
      const alone = await Promise.all(
        opt.groups.map((g) => {
          const { name: _name, tensors: _tensors, size: _size, ...own } = groups[opt.groups.indexOf(g)];
          return createRmsprop(g.size, { ...base, ...own });
        }),
      );
      opt.params.set(uniformFloats(N, 1));
      opt.groups.forEach((g, i) => alone[i].params.set(g.params));
      for (let t = 0; t < 5; t++) {
        opt.grads.set(uniformFloats(N, 10 + t));
        opt.groups.forEach((g, i) => alone[i].grads.set(g.grads));
        const lr = t % 2 ? 0.05 : undefined; // an override reaches the groups without their own lr
        opt.step({ lr });
        for (const a of alone) a.step({ lr: a === alone[1] ? undefined : lr });
      }
      opt.groups.forEach((g, i) => {
        expect(bitReport(`${g.name} params`, g.params, alone[i].params)).toBe("");
        expect(bitReport(`${g.name} sqAvg`, opt.state.sqAvg.subarray(g.offset, g.offset + g.size), alone[i].state.sqAvg)).toBe("");
      });
    },
  );

  it("a checkpoint carries the groups, and restoreRmsprop rebuilds them", async () => {
    const opt = await createRmsprop(N, { groups });
    opt.params.set(uniformFloats(N, 3));
    opt.grads.set(uniformFloats(N, 4));
    opt.step();
    const copy = await restoreRmsprop(opt.save());
    expect(copy.groups.map((g) => [g.name, g.size, g.options.lr])).toEqual(opt.groups.map((g) => [g.name, g.size, g.options.lr]));
    expect(copy.tensors.emb.shape).toEqual([2, 9]);
    expect(copy.params).toEqual(opt.params);
  });

  it.each([
    [{ groups: [{ size: 10 }] }, /options.groups add up to 10 parameters but n is 46/],
    [{ groups: [{ size: 40 }, { size: 6, beta: 2 }] }, /options.groups\[1\].beta must be a finite number in \[0, 1\); got 2/],
    [{ groups: [{ size: 46, learningRate: 1 }] }, /options.groups\[0\] has an unknown key "learningRate" \(did you mean "lr"\?\)/],
    [{ groups: [{ name: "x" }] }, /options.groups\[0\] needs a size or tensors/],
    [{ groups: [{ tensors: [{ name: "a", size: 23 }, { name: "a", size: 23 }] }] }, /"a" is used by another tensor/],
    [{ groups: [{ tensors: [{ name: "a", shape: [2, 0] }] }] }, /tensors\[0\].shape\[1\] must be an integer/],
    [{ groups: [{ size: 5, tensors: [{ name: "a", size: 4 }] }] }, /size is 5 but its tensors add up to 4/],
    [{ groups: [{ size: 46, nesterov: true }] }, /options.groups\[0\].nesterov needs options.groups\[0\].momentum > 0/],
    [{ groups: {} }, /options.groups must be an array/],
  ])("%j is refused with a clear error", async (options, message) => {
    await expect(createRmsprop(N, options as RmspropOptions)).rejects.toThrow(message);
  });
});
