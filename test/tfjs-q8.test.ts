// rmsprop-wasm/tfjs with stateBits 8: the bits of createRmsprop with one group per variable
// (a variable is a tensor: its blocks start at its first element, and one of fewer than
// 4096 elements stays f32), on both tfjs backends and every kernel backend; getWeights()
// gives the decoded values, and setWeights() of them gives back the same codes and scales.
import * as tf from "@tensorflow/tfjs-core";
import * as tfl from "@tensorflow/tfjs-layers";
import { afterAll, describe, expect, it } from "vitest";
import { createRmsprop, type RmspropOptions } from "../src/index.ts";
import { TfjsRmsprop, tfjsRmsprop, type TfjsRmspropOptions } from "../src/tfjs/index.ts";
import { rng } from "./helpers/data.ts";
import { CLASSES, dataset, FEATURES, fitLosses, saveToMemory, useBackend, weightValues } from "./helpers/tfjs-models.ts";

afterAll(() => useBackend("cpu"));

// 10 whole blocks; 9 blocks, the last short; two variables below 4096 (f32 whatever stateBits).
const SHAPES = [[64, 80], [4500], [7], [3, 5]];
const SIZES = SHAPES.map((s) => s.reduce((a, b) => a * b, 1));
const STEPS = 4;
let unique = 0;

/** Seeded values for every variable at step `t` (t = 0: initial θ), spread over many magnitudes. */
function values(t: number): Float32Array[] {
  const r = rng(300 + t);
  return SIZES.map((n) => Float32Array.from({ length: n }, () => (r() - 0.5) * 4 * 2 ** Math.floor(r() * -12)));
}

async function variablesAndOptimizer(options: TfjsRmspropOptions) {
  const run = unique++;
  const variables = values(0).map((v, i) => tf.variable(tf.tensor(v, SHAPES[i]), true, `q8_${run}/v${i}`));
  return { variables, optimizer: await tfjsRmsprop(variables, options) };
}

/** Steps t = from..to of the seeded gradients (or the gradients of step `only` at every step). */
function train(optimizer: TfjsRmsprop, variables: tf.Variable[], from: number, to: number, only?: number): void {
  for (let t = from; t <= to; t++) {
    const grads = values(only ?? t).map((g, i) => ({ name: variables[i].name, tensor: tf.tensor(g, SHAPES[i]) }));
    optimizer.applyGradients(grads);
    tf.dispose(grads.map((g) => g.tensor));
  }
}

const stateOf = async (optimizer: TfjsRmsprop) => (await optimizer.getWeights()).slice(1).map((w) => w.tensor.dataSync() as Float32Array);

/** θ of every variable, then the state as getWeights() lists it, after STEPS steps. */
async function runTfjs(options: TfjsRmspropOptions): Promise<Float32Array[]> {
  const { variables, optimizer } = await variablesAndOptimizer(options);
  train(optimizer, variables, 1, STEPS);
  const out = [...variables.map((v) => v.dataSync() as Float32Array), ...(await stateOf(optimizer))];
  optimizer.dispose();
  tf.dispose(variables);
  return out;
}

/** The same through createRmsprop, the variables as groups in `order`, in the getWeights layout. */
async function runFlat(options: RmspropOptions, order = SIZES.map((_, i) => i), groupOptions: RmspropOptions[] = []): Promise<Float32Array[]> {
  const groups = order.map((i) => ({ name: `v${i}`, size: SIZES[i], ...groupOptions[i] }));
  const opt = await createRmsprop(SIZES.reduce((a, b) => a + b), { ...options, nonFinite: "ignore", groups });
  const starts = order.map((_, k) => order.slice(0, k).reduce((a, j) => a + SIZES[j], 0));
  const at = (i: number) => starts[order.indexOf(i)];
  const flat = (arrays: Float32Array[]) => {
    const out = new Float32Array(opt.params.length);
    arrays.forEach((a, i) => out.set(a, at(i)));
    return out;
  };
  const split = (a: Float32Array) => SIZES.map((n, i) => a.slice(at(i), at(i) + n));
  opt.params.set(flat(values(0)));
  for (let t = 1; t <= STEPS; t++) {
    opt.grads.set(flat(values(t)));
    opt.step();
  }
  // getWeights lists an array for the variables that keep it, in variable order.
  const own = (i: number) => ({ ...options, ...groupOptions[i] });
  const keeps = { sqAvg: () => true, momentumBuffer: (i: number) => ((own(i).momentum as number | undefined) ?? 0) > 0, gradAvg: (i: number) => own(i).centered === true };
  const kept = (name: keyof typeof keeps) => SIZES.map((_, i) => i).filter(keeps[name]);
  const out = [...split(opt.params)];
  for (const name of ["sqAvg", "momentumBuffer", "gradAvg"] as const) if (kept(name).length) out.push(...kept(name).map((i) => split(opt.readState(name)!)[i]));
  return out;
}

const bits = (arrays: Float32Array[]) => arrays.map((a) => [...new Uint32Array(a.slice().buffer)]);

const variants: [string, RmspropOptions][] = [
  ["default", {}],
  ["momentum, centered, decoupled weight decay, bias correction", { momentum: 0.9, centered: true, weightDecay: 0.1, decoupledWeightDecay: true, biasCorrection: true }],
  ["nesterov, maximize, L2, eps outside the root", { momentum: 0.5, nesterov: true, maximize: true, weightDecay: 0.01, epsInSqrt: false, initialScale: 1 }],
];

describe.each(["cpu", "wasm"])("stateBits 8 on tfjs-backend-%s", (backend) => {
  it.each(variants)("%s: the bits of createRmsprop (a group per variable) for θ and the decoded state, on every kernel", async (_name, options) => {
    await useBackend(backend);
    const want = bits(await runFlat({ lr: 0.05, stateBits: 8, ...options }));
    for (const kernel of ["simd", "scalar", "js"] as const) {
      expect(bits(await runTfjs({ lr: 0.05, stateBits: 8, ...options, backend: kernel })), kernel).toEqual(want);
    }
  });
});

/** A classifier whose first kernel (6 × 1024) keeps 8-bit state; its other weights are below 4096. */
function wideClassifier(): tfl.Sequential {
  const model = tfl.sequential({
    layers: [tfl.layers.dense({ inputShape: [FEATURES], units: 1024, activation: "tanh" }), tfl.layers.dense({ units: CLASSES, activation: "softmax" })],
  });
  const r = rng(17);
  model.setWeights(model.getWeights().map((w) => tf.tensor(Float32Array.from({ length: w.size }, () => (r() - 0.5) * 0.2), w.shape)));
  return model;
}

describe.each(["cpu", "wasm"])("stateBits 8 saved with a model on tfjs-backend-%s", (backend) => {
  it("model.save({ includeOptimizer }) then tf.loadLayersModel trains on with the same losses and weights", async () => {
    await useBackend(backend);
    const data = dataset(48, 11);
    const model = wideClassifier();
    const optimizer = await tfjsRmsprop(model.trainableWeights, { lr: 0.01, momentum: 0.9, stateBits: 8 });
    model.compile({ optimizer, loss: "categoricalCrossentropy" });
    await fitLosses(model, data, 2);
    const artifacts = await saveToMemory(model);
    // The optimizer's weights are float32, of the variables' shapes: what tfjs saves of any optimizer.
    const specs = artifacts.weightSpecs!.filter((w) => w.group === "optimizer");
    expect(specs.filter((w) => w.name.endsWith("/rms")).map((w) => [w.dtype, w.shape])).toEqual(model.trainableWeights.map((w) => ["float32", w.shape]));
    const uninterrupted = await fitLosses(model, data, 2);
    const restored = await tfl.loadLayersModel(tf.io.fromMemory(artifacts));
    expect(restored.optimizer).toBeInstanceOf(TfjsRmsprop);
    expect(restored.optimizer.getConfig().stateBits).toBe(8);
    expect(await fitLosses(restored, data, 2)).toEqual(uninterrupted);
    expect(weightValues(restored).map((w) => [...w])).toEqual(weightValues(model).map((w) => [...w]));
    optimizer.dispose();
    (restored.optimizer as TfjsRmsprop).dispose();
  });
});

describe("stateBits 8 in tfjs", () => {
  it("the 8-bit state is not the f32 state, and is within the 8-bit grid of it", async () => {
    await useBackend("cpu");
    const q8 = await runTfjs({ lr: 0.05, stateBits: 8 });
    const f32 = await runTfjs({ lr: 0.05 });
    const s8 = q8[SIZES.length], s32 = f32[SIZES.length];
    expect(bits([s8])).not.toEqual(bits([s32]));
    // The small variables stay f32: the same bits as the f32 optimizer's.
    expect(bits(q8.slice(2, 4))).toEqual(bits(f32.slice(2, 4)));
    expect(bits(q8.slice(SIZES.length + 2))).toEqual(bits(f32.slice(SIZES.length + 2)));
  });

  it("variableGroups: per group, in group order (the rounding counter is createRmsprop's over the same groups)", async () => {
    await useBackend("cpu");
    // v1 forms group "first" with stateBits 8 and momentum; the rest take the top level's 32 bits.
    const want = bits(await runFlat({ lr: 0.05 }, [1, 0, 2, 3], [{}, { stateBits: 8, momentum: 0.5 }]));
    const got = await runTfjs({ lr: 0.05, variableGroups: [{ name: "first", match: ["/v1"], stateBits: 8, momentum: 0.5 }] });
    expect(bits(got)).toEqual(want);
  });

  /**
   * Trains an optimizer `a` over steps 1..until (`prepare`), hands its getWeights() to a new
   * `b`, and checks that b lists the same bits and trains on 4 more steps with a's bits.
   * Returns what a saved.
   */
  async function roundTrip(opts: TfjsRmspropOptions, prepare: (a: TfjsRmsprop, v: tf.Variable[]) => number, check = (_saved: Float32Array[]) => {}) {
    const a = await variablesAndOptimizer(opts);
    const until = prepare(a.optimizer, a.variables);
    const saved = await a.optimizer.getWeights();
    const values = saved.slice(1).map((w) => w.tensor.dataSync() as Float32Array);
    check(values);
    const b = await variablesAndOptimizer(opts);
    b.variables.forEach((v, i) => v.assign(a.variables[i]));
    await b.optimizer.setWeights(saved.map((w) => ({ name: w.name, tensor: w.tensor.clone() })));
    expect(bits(await stateOf(b.optimizer))).toEqual(bits(values));
    train(a.optimizer, a.variables, until + 1, until + 4);
    train(b.optimizer, b.variables, until + 1, until + 4);
    expect(bits(b.variables.map((v) => v.dataSync() as Float32Array))).toEqual(bits(a.variables.map((v) => v.dataSync() as Float32Array)));
    expect(bits(await stateOf(b.optimizer))).toEqual(bits(await stateOf(a.optimizer)));
    for (const o of [a, b]) {
      o.optimizer.dispose();
      tf.dispose(o.variables);
    }
  }

  it.each(variants)("%s: getWeights → setWeights gives back the same codes: the same weights, and the same training after", async (_name, options) => {
    await useBackend("cpu");
    await roundTrip({ lr: 0.05, stateBits: 8, ...options }, (o, v) => (train(o, v, 1, 2), 2));
  });

  it("centered, after a constant gradient (S − G² below half an ulp of S): the same values and training after a round trip", async () => {
    await useBackend("cpu");
    const opts = { lr: 0.01, beta: 0.5, centered: true, stateBits: 8 as const };
    // The step reads S as V + G² rounded to f32, the value getWeights gives: the same bits after.
    await roundTrip(opts, (o, v) => (train(o, v, 1, 40, 1), 40), (saved) => {
      const [s, g] = [saved[0], saved[SIZES.length]];
      // S as f32 cannot carry S − G² there: the codes written back hold a smaller S − G² (0).
      expect(s.filter((x, i) => x > 0 && Math.fround(x - Math.fround(g[i] * g[i])) === 0).length).toBeGreaterThan(10);
    });
  });

  it.each([
    ["momentum", { momentum: 0.9 }],
    ["mg", { centered: true }],
  ] as const)("setWeights of any values, then getWeights → setWeights → getWeights: the same bits (rms and %s; −0, tiny and huge values)", async (second, options) => {
    await useBackend("cpu");
    const { variables, optimizer } = await variablesAndOptimizer({ stateBits: 8, ...options });
    const r = rng(7);
    const wild = (n: number, signed: boolean) =>
      Float32Array.from({ length: n }, (_, i) => {
        if (i % 97 === 0) return signed ? -0 : 0;
        const x = 2 ** (Math.floor(r() * 120) - 60) * (1 + r());
        return signed && r() < 0.5 ? -x : x;
      });
    const weights = (arrays: Float32Array[]) => [
      { name: "iter", tensor: tf.scalar(3, "int32") },
      ...arrays.map((a, k) => ({ name: `${variables[k % SIZES.length].name}/${k < SIZES.length ? "rms" : second}`, tensor: tf.tensor(a) })),
    ];
    await optimizer.setWeights(weights([...SIZES.map((n) => wild(n, false)), ...SIZES.map((n) => wild(n, true))]));
    const once = await stateOf(optimizer);
    expect(once[SIZES.length].some((x) => Object.is(x, -0))).toBe(true);
    await optimizer.setWeights(weights(once));
    expect(bits(await stateOf(optimizer))).toEqual(bits(once));
    optimizer.dispose();
    tf.dispose(variables);
  });

  it("refuses a bad stateBits with the option's name and rule, and a switch of stateBits in setOptions", async () => {
    await useBackend("cpu");
    const v = tf.variable(tf.zeros([4096]), true, `q8_bad${unique++}`);
    await expect(tfjsRmsprop([v], { stateBits: 16 as 8 })).rejects.toThrow(/options\.stateBits must be 32 .* or 8 .*got 16/);
    await expect(tfjsRmsprop([v], { variableGroups: [{ match: ["q8"], stateBits: "8" as unknown as 8 }] })).rejects.toThrow(
      TypeError,
    );
    await expect(tfjsRmsprop([v], { variableGroups: [{ match: ["q8"], stateBits: "8" as unknown as 8 }] })).rejects.toThrow(
      /options\.variableGroups\[0\]\.stateBits must be 32/,
    );
    const optimizer = await tfjsRmsprop([v], { stateBits: 8 });
    expect(() => optimizer.setOptions({ stateBits: 32 } as never)).toThrow(/stateBits cannot go from 8 to 32: .*setWeights\(getWeights\(\)\)/);
    optimizer.dispose();
    v.dispose();
  });
});
