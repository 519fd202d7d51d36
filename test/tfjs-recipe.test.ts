// The training recipe through rmsprop-wasm/tfjs: gradScale, clipValue, clipNorm per
// variable, globalClipNorm over a step's variables, and the EMA of the weights. Step by
// step the same bits as createRmsprop over the same variables laid out as one group of
// tensors (the norm's blocks straddle variables); through model.fit, within 1e-5 of a
// transcription of the recipe in f64; the EMA in getWeights(), model.save and swapEma().
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { createRmsprop, presets, type RmspropOptions, type StepResult } from "../src/index.ts";
import { TfjsRmsprop, tfjsRmsprop, type TfjsRmspropOptions } from "../src/tfjs/index.ts";
import { REFUSED_OPTIONS } from "../src/tfjs/options.ts";
import { rng } from "./helpers/data.ts";
import { classifier, dataset, fitLosses, saveToMemory, useBackend, weightValues } from "./helpers/tfjs-models.ts";

afterAll(() => useBackend("cpu"));

// 1500 + 700 + 3 + 1200 + 2049 elements: blocks of 1024 that straddle every boundary.
const SHAPES = [[1500], [700], [3], [40, 30], [2049]];
const SIZES = SHAPES.map((s) => s.reduce((a, b) => a * b, 1));
const STEPS = 5;
let unique = 0;

/** Seeded values of every variable for step t (t = 0: initial θ); step 3 has large gradients, so clipping bites. */
function values(t: number): Float32Array[] {
  const r = rng(300 + t);
  const scale = t === 3 ? 50 : 2;
  return SIZES.map((n) => Float32Array.from({ length: n }, () => (r() - 0.5) * scale));
}

const bits = (a: Float32Array) => [...new Uint32Array(a.slice().buffer)];
const offsets = SIZES.map((_, i) => SIZES.slice(0, i).reduce((a, b) => a + b, 0));

/** θ, S and the EMA after STEPS steps through tfjsRmsprop, with the norm of every step. */
async function runTfjs(options: TfjsRmspropOptions, skip: number[] = []) {
  const run = unique++;
  const variables = values(0).map((v, i) => tf.variable(tf.tensor(v, SHAPES[i]), true, `recipe${run}/v${i}`));
  const optimizer = await tfjsRmsprop(variables, options);
  const norms: (number | null)[] = [];
  for (let t = 1; t <= STEPS; t++) {
    // Variables listed in `skip` get a null gradient at step 2: they do not step, and count as zeros in the norm.
    const grads = values(t).map((g, i) => ({ name: variables[i].name, tensor: t === 2 && skip.includes(i) ? null : tf.tensor(g, SHAPES[i]) }));
    optimizer.applyGradients(grads as { name: string; tensor: tf.Tensor }[]);
    norms.push(optimizer.lastGradNorm);
    tf.dispose(grads.map((g) => g.tensor).filter((x) => x !== null));
  }
  const weights = await optimizer.getWeights();
  const out = {
    params: variables.map((v) => v.dataSync() as Float32Array),
    state: Object.fromEntries(weights.slice(1).map((w) => [w.name.slice(w.name.indexOf("/") + 1), w.tensor.dataSync() as Float32Array])),
    norms,
  };
  optimizer.dispose();
  tf.dispose(variables);
  return out;
}

/** The same steps through createRmsprop, the variables as the tensors of one group; `zero` get zero gradients at step 2. */
async function runFlat(options: RmspropOptions, zero: number[] = []) {
  const tensors = SIZES.map((size, i) => ({ name: `v${i}`, size }));
  const opt = await createRmsprop(offsets.at(-1)! + SIZES.at(-1)!, { ...options, groups: [{ tensors }] });
  opt.params.set(values(0).flatMap((v) => [...v]));
  const norms: (number | undefined)[] = [];
  for (let t = 1; t <= STEPS; t++) {
    opt.grads.set(values(t).flatMap((g, i) => (t === 2 && zero.includes(i) ? [...g].fill(0) : [...g])));
    norms.push(((await opt.step()) as StepResult).gradNorm);
  }
  const split = (a: Float32Array) => SIZES.map((n, i) => a.slice(offsets[i], offsets[i] + n));
  const state: Record<string, Float32Array> = {};
  const names = { sqAvg: "rms", momentumBuffer: "momentum", gradAvg: "mg", ema: "ema" } as const;
  for (const [key, suffix] of Object.entries(names)) {
    const a = opt.state[key as keyof typeof names];
    if (a) split(a).forEach((part, i) => (state[`v${i}/${suffix}`] = part));
  }
  return { params: split(opt.params), state, norms };
}

const recipes: [string, RmspropOptions][] = [
  ["globalClipNorm, gradScale and the EMA", { globalClipNorm: 1, gradScale: 0.5, emaDecay: 0.9 }],
  ["clipNorm per variable, maximize", { clipNorm: 0.3, maximize: true, momentum: 0.5 }],
  ["clipValue and the EMA, centered", { clipValue: 0.4, emaDecay: 0.5, centered: true }],
];

describe.each(["cpu", "wasm"])("the recipe on tfjs-backend-%s", (backend) => {
  it.each(recipes)("%s: the bits of createRmsprop (θ, S, EMA, the norm), on every kernel backend", async (_name, options) => {
    await useBackend(backend);
    const want = await runFlat({ lr: 0.01, ...options });
    for (const kernel of ["simd", "scalar", "js"] as const) {
      const got = await runTfjs({ lr: 0.01, ...options, backend: kernel });
      expect(got.params.map(bits), kernel).toEqual(want.params.map(bits));
      expect(Object.keys(got.state).sort()).toEqual(Object.keys(want.state).sort());
      for (const [name, values] of Object.entries(want.state)) expect(bits(got.state[name]), `${kernel} ${name}`).toEqual(bits(values));
      expect(got.norms, kernel).toEqual(want.norms.map((n) => n ?? null));
    }
  });

  it("the clip factor really bit, and the norm is the joint L2 norm of the scaled gradients", async () => {
    await useBackend(backend);
    const got = await runTfjs({ lr: 0.01, globalClipNorm: 1, gradScale: 0.5 });
    const norm = Math.hypot(...values(3).flatMap((g) => [...g].map((x) => x * 0.5)));
    expect(got.norms[2]).toBeCloseTo(norm, 6);
    expect(got.norms[2]).toBeGreaterThan(100); // clipped by a factor below 1/100 at step 3
    const unclipped = await runTfjs({ lr: 0.01, gradScale: 0.5 });
    expect(got.params[0]).not.toEqual(unclipped.params[0]);
    expect(unclipped.norms).toEqual([null, null, null, null, null]);
  });

  it("a variable without a gradient counts as zeros in the global norm, and does not step", async () => {
    await useBackend(backend);
    const options = { lr: 0.01, globalClipNorm: 1, emaDecay: 0.5 };
    const got = await runTfjs(options, [1, 3]);
    // The norm of step 2 over the gradients present, computed another way (in f64).
    const present = values(2).filter((_, i) => i !== 1 && i !== 3);
    expect(got.norms[1]).toBeCloseTo(Math.hypot(...present.flatMap((g) => [...g])), 9);
    // createRmsprop with zero gradients there: the same norms, and the same bits for the
    // variables that stepped (zeros step the others: their S decays, so they differ).
    const want = await runFlat(options, [1, 3]);
    expect(got.norms).toEqual(want.norms);
    for (const i of [0, 2, 4]) {
      expect(bits(got.params[i])).toEqual(bits(want.params[i]));
      expect(bits(got.state[`v${i}/ema`])).toEqual(bits(want.state[`v${i}/ema`]));
    }
    expect(bits(got.state["v1/rms"])).not.toEqual(bits(want.state["v1/rms"]));
  });

  it("variableGroups: gradScale and clipNorm per group, with the bits of createRmsprop's groups", async () => {
    await useBackend(backend);
    const run = unique++;
    const variables = values(0).map((v, i) => tf.variable(tf.tensor(v, SHAPES[i]), true, `groups${run}/${i === 2 ? "bias" : `kernel${i}`}`));
    const optimizer = await tfjsRmsprop(variables, {
      lr: 0.01,
      clipNorm: 0.5,
      emaDecay: 0.8,
      variableGroups: [{ match: ["/bias"], gradScale: 2, clipNorm: null, clipValue: 0.1, emaDecay: null }],
    });
    const order = [2, 0, 1, 3, 4]; // the group's variable first, as createRmsprop's layout has it
    const opt = await createRmsprop(offsets.at(-1)! + SIZES.at(-1)!, {
      lr: 0.01,
      clipNorm: 0.5,
      emaDecay: 0.8,
      groups: [
        { tensors: [{ name: "b", size: 3 }], gradScale: 2, clipNorm: null, clipValue: 0.1, emaDecay: null },
        { tensors: order.slice(1).map((i) => ({ name: `v${i}`, size: SIZES[i] })) },
      ],
    });
    const flat = (a: Float32Array[]) => order.flatMap((i) => [...a[i]]);
    opt.params.set(flat(values(0)));
    for (let t = 1; t <= STEPS; t++) {
      optimizer.applyGradients(Object.fromEntries(values(t).map((g, i) => [variables[i].name, tf.tensor(g, SHAPES[i])])));
      opt.grads.set(flat(values(t)));
      const { gradNorm } = (await opt.step()) as StepResult;
      expect(optimizer.lastGradNorm).toBe(gradNorm);
    }
    expect(bits(Float32Array.from(flat(variables.map((v) => v.dataSync() as Float32Array))))).toEqual(bits(opt.params));
    const ema = (await optimizer.getWeights()).filter((w) => w.name.endsWith("/ema"));
    expect(ema.map((w) => w.name)).toEqual(variables.filter((_, i) => i !== 2).map((v) => `${v.name}/ema`));
    expect(bits(Float32Array.from(ema.flatMap((w) => [...w.tensor.dataSync()])))).toEqual(bits(opt.state.ema!.subarray(3)));
    optimizer.dispose();
    tf.dispose(variables);
  });

  it("getWeights: the EMA after the other state as <name>/ema; swapEma() swaps it in bit for bit, twice restores", async () => {
    await useBackend(backend);
    const a = tf.variable(tf.tensor1d([1, -2, 3]), true, `swap${backend}/a`);
    const b = tf.variable(tf.tensor2d([[0.5, 0.25]]), true, `swap${backend}/b`);
    const optimizer = await tfjsRmsprop([a, b], { lr: 0.1, momentum: 0.5, emaDecay: 0.75 });
    optimizer.swapEma(); // before any step the EMA is the weights themselves: nothing changes
    expect([...a.dataSync()]).toEqual([1, -2, 3]);
    const a0 = Float32Array.from([1, -2, 3]);
    for (let t = 0; t < 3; t++) optimizer.applyGradients({ [a.name]: tf.tensor1d([1, 2, -1]), [b.name]: tf.tensor2d([[1, 1]]) });
    const weights = await optimizer.getWeights();
    expect(weights.map((w) => w.name)).toEqual([
      "iter",
      `${a.name}/rms`, `${b.name}/rms`, `${a.name}/momentum`, `${b.name}/momentum`, `${a.name}/ema`, `${b.name}/ema`,
    ]);
    // The EMA computed another way: from θ0, then d·ema + (1 − d)·θ after each step, per element in f32.
    const thetas: Float32Array[] = [a0];
    {
      const replay = await tfjsRmsprop([tf.variable(tf.tensor1d([1, -2, 3]), true, `swap${backend}/replay`)], { lr: 0.1, momentum: 0.5 });
      const v = tf.engine().registeredVariables[`swap${backend}/replay`];
      for (let t = 0; t < 3; t++) {
        replay.applyGradients({ [v.name]: tf.tensor1d([1, 2, -1]) });
        thetas.push(v.dataSync() as Float32Array);
      }
      replay.dispose();
    }
    const f = Math.fround;
    const want = thetas.slice(1).reduce((ema, th) => ema.map((e, k) => f(f(f(0.75) * e) + f(f(0.25) * th[k]))), a0.slice());
    const emaA = weights[5].tensor.dataSync() as Float32Array;
    expect(bits(emaA)).toEqual(bits(want));
    const theta = a.dataSync().slice() as Float32Array;
    optimizer.swapEma();
    expect(bits(a.dataSync() as Float32Array)).toEqual(bits(emaA));
    expect(bits((await optimizer.getWeights())[5].tensor.dataSync() as Float32Array)).toEqual(bits(theta));
    optimizer.swapEma();
    expect(bits(a.dataSync() as Float32Array)).toEqual(bits(theta));
    expect(bits((await optimizer.getWeights())[5].tensor.dataSync() as Float32Array)).toEqual(bits(emaA));
    // setWeights round-trips it, and the restored EMA goes on (no second start from θ).
    const saved = (await optimizer.getWeights()).map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
    optimizer.applyGradients({ [a.name]: tf.tensor1d([1, 2, -1]), [b.name]: tf.tensor2d([[1, 1]]) });
    const after = bits((await optimizer.getWeights())[5].tensor.dataSync() as Float32Array);
    const other = await tfjsRmsprop([tf.variable(tf.tensor1d(theta), true, `swap${backend}/a2`), tf.variable(tf.tensor2d(b.dataSync(), [1, 2]), true, `swap${backend}/b2`)], {
      lr: 0.1, momentum: 0.5, emaDecay: 0.75,
    });
    await other.setWeights(saved);
    expect(other.iterations).toBe(3);
    other.applyGradients({ [`swap${backend}/a2`]: tf.tensor1d([1, 2, -1]) });
    expect(bits((await other.getWeights())[5].tensor.dataSync() as Float32Array)).toEqual(after);
    optimizer.dispose();
    other.dispose();
  });

  it("state saved without the EMA loads into an optimizer that keeps one: it starts from θ at the next step", async () => {
    await useBackend(backend);
    const v = tf.variable(tf.tensor1d([1, -2, 3, 0.5]), true, `noema${backend}/v`);
    const grad = () => ({ [v.name]: tf.tensor1d([1, 2, -1, 0.25]) });
    const before = await tfjsRmsprop([v], { lr: 0.1, momentum: 0.5 });
    before.applyGradients(grad());
    before.applyGradients(grad());
    const saved = (await before.getWeights()).map((w) => ({ name: w.name, tensor: w.tensor.clone() }));
    expect(saved.map((w) => w.name)).toEqual(["iter", `${v.name}/rms`, `${v.name}/momentum`]);
    before.dispose();
    const after = await tfjsRmsprop([v], { lr: 0.1, momentum: 0.5, emaDecay: 0.25 });
    await after.setWeights(saved);
    const theta0 = v.dataSync().slice() as Float32Array;
    after.applyGradients(grad());
    const theta1 = v.dataSync() as Float32Array;
    const f = Math.fround;
    const want = theta0.map((x, k) => f(f(f(0.25) * x) + f(f(0.75) * theta1[k])));
    const weights = await after.getWeights();
    expect(weights.map((w) => w.name)).toEqual(["iter", `${v.name}/rms`, `${v.name}/momentum`, `${v.name}/ema`]);
    expect(bits(weights[3].tensor.dataSync() as Float32Array)).toEqual(bits(want));
    expect(after.iterations).toBe(3);
    after.dispose();
    v.dispose();
  });

  it("model.fit with globalClipNorm and the EMA: the recipe transcribed in f64 within 1e-5, and createRmsprop's bits", async () => {
    await useBackend(backend);
    const data = dataset(64, 21);
    const model = classifier(9);
    const theta0 = weightValues(model).map((w) => w.slice());
    const options = { ...presets.tfjs, lr: 0.02, globalClipNorm: 0.2, emaDecay: 0.9 };
    const optimizer = await tfjsRmsprop(model.trainableWeights, options);
    // Record the gradients fit hands the optimizer, in variable order.
    const names = model.trainableWeights.map((w) => (w.read() as tf.Variable).name);
    const seen: Float32Array[][] = [];
    const norms: number[] = [];
    const apply = optimizer.applyGradients.bind(optimizer);
    optimizer.applyGradients = (grads) => {
      const map: tf.NamedTensorMap = Array.isArray(grads) ? Object.fromEntries(grads.map((g) => [g.name, g.tensor])) : grads;
      seen.push(names.map((n) => map[n].dataSync().slice() as Float32Array));
      apply(grads);
      norms.push(optimizer.lastGradNorm!);
    };
    model.compile({ optimizer, loss: "categoricalCrossentropy" });
    const losses = await fitLosses(model, data, 4);
    expect(losses.at(-1)).toBeLessThan(losses[0]);
    expect(seen.length).toBe(16);

    // The transcription: PyTorch's clip_grad_norm_ factor, tfjs's RMSProp, the EMA from θ0.
    const theta = theta0.map((w) => Float64Array.from(w));
    const ms = theta.map((w) => new Float64Array(w.length));
    const ema = theta.map((w) => w.slice());
    let clipped = 0;
    for (const [s, grads] of seen.entries()) {
      const norm = Math.sqrt(grads.reduce((sum, g) => sum + g.reduce((a, x) => a + x * x, 0), 0));
      expect(Math.abs(norms[s] - norm)).toBeLessThan(1e-6 * norm);
      const factor = Math.min(1, 0.2 / (norm + 1e-6));
      if (factor < 1) clipped++;
      grads.forEach((g, i) =>
        g.forEach((x, k) => {
          const c = x * factor;
          ms[i][k] = 0.9 * ms[i][k] + 0.1 * c * c;
          theta[i][k] -= (0.02 * c) / Math.sqrt(ms[i][k] + 1e-7);
          ema[i][k] = 0.9 * ema[i][k] + 0.1 * theta[i][k];
        }),
      );
    }
    expect(clipped).toBeGreaterThan(8); // the clip was in force
    const close = (got: Float32Array[], want: Float64Array[]) =>
      got.forEach((w, i) => w.forEach((x, k) => expect(Math.abs(x - want[i][k])).toBeLessThan(1e-5 * Math.abs(want[i][k]) + 1e-6)));
    close(weightValues(model), theta);
    optimizer.swapEma();
    close(weightValues(model), ema);
    const emaBits = weightValues(model).map(bits);
    optimizer.swapEma();

    // createRmsprop over the same gradients, the weights as the tensors of one group: the same bits.
    const sizes = theta0.map((w) => w.length);
    const flat = await createRmsprop(sizes.reduce((a, b) => a + b), {
      ...options,
      groups: [{ tensors: sizes.map((size, i) => ({ name: `w${i}`, size })) }],
    });
    flat.params.set(theta0.flatMap((w) => [...w]));
    for (const [s, grads] of seen.entries()) {
      flat.grads.set(grads.flatMap((g) => [...g]));
      expect(((await flat.step()) as StepResult).gradNorm).toBe(norms[s]);
    }
    expect(bits(Float32Array.from(weightValues(model).flatMap((w) => [...w])))).toEqual(bits(flat.params));
    expect(emaBits.flat()).toEqual(bits(flat.state.ema!));
    optimizer.dispose();
  });

  it("model.save({ includeOptimizer }) keeps the EMA, and a loaded model trains on with the same bits", async () => {
    await useBackend(backend);
    const data = dataset(32, 22);
    const model = classifier(10);
    const optimizer = await tfjsRmsprop(model.trainableWeights, { lr: 0.02, clipNorm: 0.1, emaDecay: 0.8 });
    model.compile({ optimizer, loss: "categoricalCrossentropy" });
    await fitLosses(model, data, 2);
    const artifacts = await saveToMemory(model);
    expect(artifacts.weightSpecs!.filter((s) => s.group === "optimizer").map((s) => s.name.split("/").at(-1))).toEqual([
      "iter", "rms", "rms", "rms", "rms", "ema", "ema", "ema", "ema",
    ]);
    const uninterrupted = await fitLosses(model, data, 2);
    const restored = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(restored.optimizer).toBeInstanceOf(TfjsRmsprop);
    expect(await fitLosses(restored, data, 2)).toEqual(uninterrupted);
    const emaOf = async (o: tf.Optimizer) => (await o.getWeights()).filter((w) => w.name.endsWith("/ema")).map((w) => bits(w.tensor.dataSync() as Float32Array));
    expect(await emaOf(restored.optimizer)).toEqual(await emaOf(optimizer));
    optimizer.dispose();
  });

  it("a NaN gradient with globalClipNorm: the error names the variable, and \"skip\" changes nothing, EMA included", async () => {
    await useBackend(backend);
    const a = tf.variable(tf.ones([1030]), true, `nan${backend}/a`);
    const b = tf.variable(tf.ones([5]), true, `nan${backend}/b`);
    const bad = tf.tensor1d(Float32Array.from({ length: 5 }, (_, i) => (i === 3 ? NaN : 1)));
    const throwing = await tfjsRmsprop([a, b], { globalClipNorm: 1, emaDecay: 0.5 });
    expect(() => throwing.applyGradients({ [a.name]: tf.ones([1030]), [b.name]: bad })).toThrow(
      new RegExp(`the gradient of variable "${b.name}" is NaN at index 3; the step was not applied`),
    );
    expect(throwing.lastGradNorm).toBeNaN();
    throwing.dispose();
    const skipping = await tfjsRmsprop([a, b], { globalClipNorm: 1, emaDecay: 0.5, nonFinite: "skip" });
    skipping.applyGradients({ [a.name]: tf.ones([1030]), [b.name]: tf.ones([5]) });
    const before = (await skipping.getWeights()).map((w) => bits(w.tensor.dataSync() as Float32Array));
    const theta = bits(a.dataSync() as Float32Array);
    skipping.applyGradients({ [a.name]: tf.ones([1030]), [b.name]: bad });
    expect((await skipping.getWeights()).map((w) => bits(w.tensor.dataSync() as Float32Array))).toEqual(before);
    expect(bits(a.dataSync() as Float32Array)).toEqual(theta);
    expect(skipping.iterations).toBe(1);
    // A finite gradient that overflows f32 once scaled is bad too, and says so.
    const scaled = await tfjsRmsprop([a, b], { globalClipNorm: 1, gradScale: 1e30 });
    expect(() => scaled.applyGradients({ [a.name]: tf.fill([1030], 1e10), [b.name]: tf.ones([5]) })).toThrow(
      /is 10000000000 at index 0, which overflows f32 when multiplied by gradScale/,
    );
    scaled.dispose();
    skipping.dispose();
    tf.dispose([a, b, bad]);
  });
});

describe("the recipe's options on bad input", () => {
  it("errors name the option, before anything is compiled or allocated", async () => {
    await useBackend("cpu");
    const v = tf.variable(tf.ones([2]), true, "recipe-bad/v");
    const cases: [object, RegExp][] = [
      [{ clipValue: -1 }, /options.clipValue must be a finite number ≥ 0/],
      [{ clipNorm: NaN }, /options.clipNorm must be a finite number/],
      [{ globalClipNorm: "1" }, /options.globalClipNorm must be a number, null or a schedule \(see schedules\); got "1"/],
      [{ gradScale: 0 }, /options.gradScale must be a finite number > 0/],
      [{ emaDecay: 1 }, /options.emaDecay must be a finite number in \[0, 1\)/],
      [{ clipValue: 1, globalClipNorm: 1 }, /options sets clipValue and globalClipNorm; at most one/],
      [{ variableGroups: [{ match: ["x"], globalClipNorm: 1 }] }, /options.variableGroups\[0\].globalClipNorm: .* top level only/],
      [{ globalClipNorm: 1, variableGroups: [{ match: ["x"], clipNorm: 1 }] }, /options.variableGroups\[0\] sets clipNorm and globalClipNorm/],
      [{ variableGroups: [{ match: ["x"], emaDecay: -0.5 }] }, /options.variableGroups\[0\].emaDecay must be/],
    ];
    for (const [options, message] of cases) await expect(tfjsRmsprop([v], options as TfjsRmspropOptions), JSON.stringify(options)).rejects.toThrow(message);
    const optimizer = await tfjsRmsprop([v], {});
    expect(() => optimizer.swapEma()).toThrow(/swapEma\(\): this optimizer keeps no EMA of the weights; set options.emaDecay/);
    expect(() => optimizer.applyGradients({ [v.name]: tf.ones([2]) }, { gradScale: -1 })).toThrow(/overrides.gradScale must be/);
    expect(optimizer.iterations).toBe(0);
    optimizer.applyGradients({ [v.name]: tf.ones([2]) }, { gradScale: 0.5 });
    expect(optimizer.iterations).toBe(1);
    expect(optimizer.lastGradNorm).toBeNull(); // no norm clipping: no norm computed
    optimizer.dispose();
    v.dispose();
  });

  it("applyGradients(grads, { gradScale }) is options.gradScale for one step, except in a group that sets its own", async () => {
    await useBackend("cpu");
    const make = (tag: string) => [tf.variable(tf.tensor1d([1, 2]), true, `${tag}/kernel`), tf.variable(tf.tensor1d([3]), true, `${tag}/bias`)];
    const grads = (vs: tf.Variable[]) => ({ [vs[0].name]: tf.tensor1d([4, -8]), [vs[1].name]: tf.tensor1d([2]) });
    const group = { match: ["/bias"], gradScale: 0.25 };
    const [byOption, byOverride] = [make("scale-option"), make("scale-override")];
    const a = await tfjsRmsprop(byOption, { gradScale: 0.5, globalClipNorm: 1, variableGroups: [group] });
    const b = await tfjsRmsprop(byOverride, { globalClipNorm: 1, variableGroups: [group] });
    a.applyGradients(grads(byOption));
    b.applyGradients(grads(byOverride), { gradScale: 0.5 });
    expect(byOverride.map((v) => bits(v.dataSync() as Float32Array))).toEqual(byOption.map((v) => bits(v.dataSync() as Float32Array)));
    // The norm after gradScale: √((4·0.5)² + (8·0.5)² + (2·0.25)²).
    expect(b.lastGradNorm).toBeCloseTo(Math.hypot(2, 4, 0.5), 12);
    expect(b.lastGradNorm).toBe(a.lastGradNorm);
    a.dispose();
    b.dispose();
    tf.dispose([...byOption, ...byOverride]);
  });

  it("docs/tfjs.md lists exactly the options the code refuses", () => {
    const page = readFileSync(new URL("../docs/tfjs.md", import.meta.url), "utf8");
    const section = page.slice(page.indexOf("<!-- refused options -->"), page.indexOf("<!-- /refused options -->"));
    const listed = [...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(Object.keys(REFUSED_OPTIONS).sort());
  });
});
