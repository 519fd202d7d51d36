// rmsprop-wasm/tfjs step by step: the same bits as createRmsprop on every backend and
// placement, the in-place path's safety rules on tfjs-backend-wasm, and per-variable groups.
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, describe, expect, it, vi } from "vitest";
import { createRmsprop, presets, type RmspropOptions } from "../src/index.ts";
import { tfjsRmsprop, type TfjsRmspropOptions } from "../src/tfjs/index.ts";
import { rng } from "./helpers/data.ts";
import { useBackend } from "./helpers/tfjs-models.ts";

afterAll(() => useBackend("cpu"));

const SHAPES = [[5, 3], [7], [1], [2, 2, 2]];
const STEPS = 4;
let unique = 0;

/** Seeded values for every tensor of step `t` (t = 0: initial θ). */
function values(t: number): Float32Array[] {
  const r = rng(100 + t);
  return SHAPES.map((s) => Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => (r() - 0.5) * 4));
}

/** Runs STEPS steps through tfjsRmsprop on the current backend; returns θ and the state. */
async function runTfjs(options: TfjsRmspropOptions): Promise<Float32Array[]> {
  const run = unique++;
  const variables = values(0).map((v, i) => tf.variable(tf.tensor(v, SHAPES[i]), true, `steps${run}/v${i}`));
  const optimizer = await tfjsRmsprop(variables, options);
  for (let t = 1; t <= STEPS; t++) {
    const grads = values(t).map((g, i) => ({ name: variables[i].name, tensor: tf.tensor(g, SHAPES[i]) }));
    optimizer.applyGradients(grads);
    tf.dispose(grads.map((g) => g.tensor));
  }
  const state = (await optimizer.getWeights()).slice(1).map((w) => w.tensor.dataSync() as Float32Array);
  const out = [...variables.map((v) => v.dataSync() as Float32Array), ...state];
  optimizer.dispose();
  tf.dispose(variables);
  return out;
}

/** The same steps through createRmsprop, one tensor per variable, in the getWeights layout. */
async function runFlat(options: RmspropOptions): Promise<Float32Array[]> {
  const sizes = SHAPES.map((s) => s.reduce((a, b) => a * b, 1));
  const opt = await createRmsprop(sizes.reduce((a, b) => a + b), { ...options, nonFinite: "ignore" });
  const split = (a: Float32Array) => sizes.map((_, i) => a.slice(sizes.slice(0, i).reduce((x, y) => x + y, 0)).subarray(0, sizes[i]));
  opt.params.set(values(0).flatMap((v) => [...v]));
  for (let t = 1; t <= STEPS; t++) {
    opt.grads.set(values(t).flatMap((g) => [...g]));
    opt.step();
  }
  const { sqAvg, momentumBuffer, gradAvg } = opt.state;
  return [opt.params, sqAvg, momentumBuffer, gradAvg].filter((a) => a !== undefined).flatMap(split);
}

const bits = (arrays: Float32Array[]) => arrays.map((a) => [...new Uint32Array(a.slice().buffer)].map((b) => ((b & 0x7fffffff) > 0x7f800000 ? "NaN" : b)));

const variants: [string, RmspropOptions][] = [
  ["default", {}],
  ["momentum, centered, decoupled weight decay, bias correction", { momentum: 0.9, centered: true, weightDecay: 0.1, decoupledWeightDecay: true, biasCorrection: true }],
  ["nesterov, maximize, L2, eps outside the root", { momentum: 0.5, nesterov: true, maximize: true, weightDecay: 0.01, epsInSqrt: false, initialScale: 1 }],
];

describe.each(["cpu", "wasm"])("on tfjs-backend-%s", (backend) => {
  it.each(variants)("%s: the bits of createRmsprop for θ and the state, on every kernel backend", async (_name, options) => {
    await useBackend(backend);
    const want = bits(await runFlat({ lr: 0.05, ...options }));
    for (const kernel of ["simd", "scalar", "js"] as const) {
      expect(bits(await runTfjs({ lr: 0.05, ...options, backend: kernel })), kernel).toEqual(want);
    }
  });

  it("minimize(f), with and without a varList: tf.train.rmsprop's values within 1e-5", async () => {
    await useBackend(backend);
    const run = unique++;
    const x = tf.tensor1d([0.5, -1, 2]);
    const make = (tag: string) => [
      tf.variable(tf.tensor1d([1, -2, 3]), true, `min${run}${tag}/a`),
      tf.variable(tf.tensor1d([0.5]), true, `min${run}${tag}/b`),
    ];
    const loss = ([a, b]: tf.Variable[]) => () => tf.sum(tf.square(tf.sub(tf.mul(a, x), b))) as tf.Scalar;
    const theirs = make("theirs");
    const ours = make("ours");
    const tfOpt = tf.train.rmsprop(0.05, 0.9, 0.5);
    const optimizer = await tfjsRmsprop(ours, { ...presets.tfjs, lr: 0.05, momentum: 0.5 });
    for (let t = 0; t < 6; t++) {
      // Every other step names the variables (in another order), as fit does.
      const varList = t % 2 ? [ours[1], ours[0]] : undefined;
      const want = tfOpt.minimize(loss(theirs), true)!;
      const got = optimizer.minimize(loss(ours), true, varList)!;
      expect(Math.abs(got.dataSync()[0] - want.dataSync()[0])).toBeLessThanOrEqual(1e-5 * Math.abs(want.dataSync()[0]));
      tf.dispose([want, got]);
    }
    for (let i = 0; i < 2; i++) {
      const want = theirs[i].dataSync();
      ours[i].dataSync().forEach((v, k) => expect(Math.abs(v - want[k])).toBeLessThan(1e-5 * Math.abs(want[k]) + 1e-7));
    }
    expect(optimizer.iterations).toBe(6);
    optimizer.dispose();
    tfOpt.dispose();
    tf.dispose([x, ...theirs, ...ours]);
  });

  it("variableGroups: the first matching group's options, the rest with the top-level ones", async () => {
    await useBackend(backend);
    const kernel = tf.variable(tf.tensor2d([[1, 2], [3, 4]]), true, `groups${backend}/kernel`);
    const bias = tf.variable(tf.tensor1d([1, 2]), true, `groups${backend}/bias`);
    const optimizer = await tfjsRmsprop([kernel, bias], { lr: 0.1, variableGroups: [{ name: "frozen", match: ["/bias"], lr: 0 }] });
    optimizer.applyGradients({ [kernel.name]: tf.ones([2, 2]), [bias.name]: tf.ones([2]) });
    expect([...bias.dataSync()]).toEqual([1, 2]);
    expect(kernel.dataSync()[0]).toBeCloseTo(1 - 0.1 / Math.sqrt(0.1), 5);
    optimizer.dispose();
  });
});

describe("in place in tfjs-backend-wasm's heap", () => {
  it("steps an unshared variable where it lives, and gives a shared one a copy first", async () => {
    await useBackend("wasm");
    const start = tf.tensor1d([1, 2, 3, 4]);
    const shared = tf.variable(start, true, "inplace/shared"); // shares start's data while start lives
    const initial = tf.tensor1d([1, 2, 3, 4]);
    const alone = tf.variable(initial, true, "inplace/alone");
    initial.dispose(); // now the variable alone holds its data
    const before = alone.dataId;
    const optimizer = await tfjsRmsprop([shared, alone], { lr: 0.1 });
    optimizer.applyGradients({ [shared.name]: tf.ones([4]), [alone.name]: tf.ones([4]) });
    expect(alone.dataId).toBe(before); // no copy: the kernel wrote into the variable's own data
    expect([...start.dataSync()]).toEqual([1, 2, 3, 4]); // tensors stay immutable
    expect([...shared.dataSync()]).toEqual([...alone.dataSync()]);
    expect(alone.dataSync()[0]).toBeCloseTo(1 - 0.1 / Math.sqrt(0.1), 5);

    // A gradient that is a variable's own data is read before anything is written.
    optimizer.applyGradients({ [alone.name]: alone, [shared.name]: alone });
    expect([...shared.dataSync()]).toEqual([...alone.dataSync()]);
    optimizer.dispose();
  });

  it("the backend's cached matmul weights follow θ (tfjs-backend-wasm caches per tensor id)", async () => {
    await useBackend("wasm");
    const w = tf.variable(tf.tensor2d([[1, 0], [0, 1]]), true, "inplace/matmul");
    const x = tf.tensor2d([[1, 2]]);
    const optimizer = await tfjsRmsprop([w], { lr: 0.5 });
    for (let t = 0; t < 3; t++) {
      const y = tf.matMul(x, w); // XNNPACK packs w and keeps the operator for w's data id
      optimizer.applyGradients({ [w.name]: tf.ones([2, 2]) });
      const expected = tf.tensor2d(w.dataSync(), [2, 2]);
      expect([...tf.matMul(x, w).dataSync()]).toEqual([...tf.matMul(x, expected).dataSync()]);
      tf.dispose([y, expected]);
    }
    optimizer.dispose();
  });

  it("keeps its state in the backend's heap, and dispose() gives it back", async () => {
    await useBackend("wasm");
    const heap = (tf.backend() as unknown as { wasm: { _malloc(n: number): number; _free(p: number): void } }).wasm;
    const malloc = vi.spyOn(heap, "_malloc");
    const free = vi.spyOn(heap, "_free");
    const v = tf.variable(tf.zeros([1000]), true, "inplace/heap");
    const optimizer = await tfjsRmsprop([v], { momentum: 0.9 });
    // S and M for 1000 parameters, and one 72-byte StepArgs block, in one allocation.
    const block = malloc.mock.calls.findIndex(([bytes]) => bytes >= 2 * 4000 + 72);
    expect(block).toBeGreaterThanOrEqual(0);
    const at = malloc.mock.results[block].value as number;
    free.mockClear();
    optimizer.dispose();
    expect(free.mock.calls).toEqual([[at]]);
    malloc.mockRestore();
    free.mockRestore();
    v.dispose();
  });

  it("refuses to go on after the backend changed", async () => {
    await useBackend("wasm");
    const v = tf.variable(tf.tensor1d([1, 2]), true, "inplace/switch");
    const optimizer = await tfjsRmsprop([v], {});
    await useBackend("cpu");
    expect(() => optimizer.applyGradients({ [v.name]: tf.ones([2]) })).toThrow(/tfjs "wasm" backend it started on, but the backend is now "cpu"/);
    optimizer.dispose();
  });
});
