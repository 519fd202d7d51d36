// Values that change per step, through the one path of src/per-step.ts: schedules give the
// same bits as the same values passed step by step as overrides; setOptions changes them
// from the next step on; lrScale scales every group; a checkpoint saved mid-schedule
// continues with the bits of the run that was never interrupted; zeroGrad and gradient
// accumulation; and a step that reuses the last one's values and jobs gives the bits of a
// fresh optimizer's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRmsprop, restoreRmsprop, schedules, type Rmsprop, type RmspropOptions, type Schedule, type StateName, type StepOverrides } from "../src/index.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../src/checkpoint.ts";
import { groupStep, planGroups } from "../src/groups.ts";
import { machineOverride } from "../src/machine.ts";
import { MIN_8BIT_SIZE } from "../src/state-bits.ts";
import { resolveOptions } from "../src/options.ts";
import { resolveOverrides } from "../src/per-step.ts";
import { uniformFloats } from "./helpers/data.ts";

const { constant, linear, cosine, exponential, piecewise, join, oneCycle, oneCycleMomentum, warmupCosine, valueAt } = schedules;
const N = 1030;
const bits = (a: Float32Array) => [...new Uint32Array(a.slice().buffer)];

beforeAll(() => {
  machineOverride.threads = 64; // 2 threads even on a 1-core machine
});
afterAll(() => {
  machineOverride.threads = undefined;
});

/** Steps `opt` `count` times from step `from` on, with gradients of that step's seed and the overrides `at` gives. */
async function run(opt: Rmsprop, from: number, count: number, at: (t: number) => StepOverrides | undefined = () => undefined) {
  for (let t = from; t < from + count; t++) {
    opt.grads.set(uniformFloats(opt.n, 100 + t, 2));
    await opt.step(at(t));
  }
}

/** θ and every state array (8-bit ones decoded), as bits. */
function snapshot(opt: Rmsprop): number[][] {
  return [bits(opt.params), ...[...Object.keys(opt.state), ...Object.keys(opt.state8)].map((k) => bits(opt.readState(k as StateName)))];
}

async function start(options: RmspropOptions): Promise<Rmsprop> {
  const opt = await createRmsprop(N, options);
  opt.params.set(uniformFloats(N, 1, 3));
  return opt;
}

describe("a schedule is its values, given step by step", () => {
  const scheduled: Record<string, Schedule> = {
    lr: warmupCosine({ init: 1e-4, peak: 0.02, warmup: 3, steps: 12 }),
    beta: linear({ from: 0.8, to: 0.99, steps: 9 }),
    momentum: oneCycleMomentum({ steps: 12 }),
    weightDecay: piecewise({ boundaries: [4, 8], values: [0.01, 0, 0.02] }),
    eps: exponential({ from: 1e-3, rate: 0.5, every: 3, end: 1e-8 }),
    gradScale: join([constant(0.5), constant(0.25)], [6]),
    clipValue: cosine({ from: 2, to: 0.5, steps: 12 }),
    emaDecay: linear({ from: 0.5, to: 0.99, steps: 12 }),
    lrScale: exponential({ from: 1, rate: 0.9 }),
  };
  const numbers = { lr: 0.1, beta: 0.5, momentum: 0.1, weightDecay: 0.5, eps: 0.5, gradScale: 1, clipValue: 1e9, emaDecay: 0.1, lrScale: 1 };
  const overridesAt = (t: number) => Object.fromEntries(Object.entries(scheduled).map(([k, s]) => [k, valueAt(s, t)])) as StepOverrides;

  it.each([
    ["js", 1],
    ["scalar", 1],
    ["simd", 1],
    ["simd", 2],
  ] as const)("every per-step option as a schedule on %s, %i thread(s): the same bits as numbers overridden each step", async (backend, threads) => {
    const common = { backend, threads, minParamsPerThread: 1, nesterov: true, biasCorrection: true, epsInSqrt: false } as const;
    const a = await start({ ...common, ...scheduled });
    const b = await start({ ...common, ...numbers });
    await run(a, 0, 14);
    await run(b, 0, 14, overridesAt);
    expect(snapshot(a)).toEqual(snapshot(b));
    expect(a.stepCount).toBe(14);
    a.dispose();
    b.dispose();
  });

  const clipNorm = linear({ from: 3, to: 0.5, steps: 6 });
  const globalClipNorm = cosine({ from: 5, to: 1, steps: 6 });
  it.each([
    ["clipNorm per tensor", { clipNorm, groups: [{ name: "w", tensors: [{ name: "w1", size: 600 }, { name: "w2", size: 300 }] }, { name: "b", size: 130 }] }, { clipNorm }],
    ["globalClipNorm", { globalClipNorm }, { globalClipNorm }],
  ] as [string, RmspropOptions, Record<string, Schedule>][])("%s as a schedule on 2 threads: the same bits as one thread given it each step", async (_, options, scheduledBounds) => {
    const a = await start({ ...options, backend: "simd", threads: 2, minParamsPerThread: 1 });
    expect(a.threads).toBe(2);
    const fixed = JSON.parse(JSON.stringify(options).replaceAll(JSON.stringify(clipNorm), "1").replaceAll(JSON.stringify(globalClipNorm), "1")) as RmspropOptions;
    const b = await start({ ...fixed, backend: "simd" });
    const norms: number[][] = [[], []];
    for (let t = 0; t < 8; t++) {
      const bounds = Object.fromEntries(Object.entries(scheduledBounds).map(([k, s]) => [k, valueAt(s, t)]));
      for (const [k, opt] of [a, b].entries()) {
        opt.grads.set(uniformFloats(N, 100 + t, 2));
        const r = await opt.step(k === 1 ? bounds : undefined);
        norms[k].push(r.gradNorm!);
      }
    }
    expect(snapshot(a)).toEqual(snapshot(b));
    expect(norms[0]).toEqual(norms[1]);
    a.dispose();
    b.dispose();
  });
});

describe("step(overrides): any per-step value, for one step, where it reaches", () => {
  const groups = [
    { name: "emb", size: 30, lr: 0.05 },
    { name: "rest", size: N - 30 },
  ];

  it("lr passes a group with its own lr by; lrScale scales every group's η", async () => {
    const a = await start({ backend: "js", groups, lr: 0.01 });
    const b = await start({ backend: "js", groups: [{ ...groups[0], lr: 0.025 }, groups[1]], lr: 0.005 });
    await run(a, 0, 3, () => ({ lrScale: 0.5 }));
    await run(b, 0, 3);
    expect(snapshot(a)).toEqual(snapshot(b));
    await run(a, 3, 2, () => ({ lr: 0.02, lrScale: 0.5 }));
    await run(b, 3, 2, () => ({ lr: 0.01 }));
    expect(snapshot(a)).toEqual(snapshot(b));
  });

  it("an override that reaches no group is refused, and nothing is applied", async () => {
    const opt = await start({ backend: "js", groups: [{ ...groups[0] }, { ...groups[1], lr: 0.1 }] });
    opt.grads.set(uniformFloats(N, 5));
    const before = snapshot(opt);
    expect(() => opt.step({ lr: 0.1 })).toThrow(/step overrides\.lr reaches no group: every group sets its own lr; .*setOptions\(\{ lr \}\), or scale every group's with lrScale; nothing was applied/);
    expect(() => opt.step({ emaDecay: 0.9 })).toThrow(/step overrides\.emaDecay reaches no group: emaDecay is off \(null\)/);
    expect(() => opt.step({ momentum: -1 })).toThrow(/step overrides\.momentum must be a finite number ≥ 0/);
    expect(() => opt.step({ lr: linear({ from: 1, to: 0, steps: 2 }) } as never)).toThrow(/step overrides\.lr must be a number; got an object/);
    expect(snapshot(opt)).toEqual(before);
    expect(opt.stepCount).toBe(0);
  });

  it("a product that overflows f32 (η = lr·lrScale) refuses the step before anything is written", async () => {
    const opt = await start({ backend: "js", lr: 3e38 });
    opt.grads.set(uniformFloats(N, 5));
    const before = snapshot(opt);
    expect(() => opt.step({ lrScale: 2 })).toThrow(/the step constant lr of group "default" overflows f32 to Infinity \(lr 3e\+38, .*lrScale 2.*, step 1\); nothing was applied/);
    expect(snapshot(opt)).toEqual(before);
    await expect(createRmsprop(4, { lr: 3e38, lrScale: 2 })).rejects.toThrow(/overflows f32/);
  });
});

describe("setOptions: from the next step on, validated as at creation", () => {
  it("changes the top level, and a group's own, as a schedule switching at that step would", async () => {
    const groups = [
      { name: "emb", size: 30, lr: 1e-3 },
      { name: "rest", size: N - 30, momentum: 0.9 },
    ];
    const a = await start({ backend: "simd", groups, lr: 0.01, beta: 0.9 });
    await run(a, 0, 3);
    // A schedule is a function of the optimizer's step count, set at creation or later.
    const beta = cosine({ from: 0.95, to: 0.9, steps: 6 });
    a.setOptions({ lr: 0.02, beta });
    a.groups[0].setOptions({ lr: 5e-3 });
    a.groups[1].setOptions({ momentum: 0 }); // PyTorch's momentum 0: M stays, unused
    expect(a.options.lr).toBe(0.02);
    expect(a.groups[0].options.lr).toBe(5e-3);
    expect(a.groups[1].options).toMatchObject({ lr: 0.02, momentum: 0 });
    await run(a, 3, 5);
    const b = await start({
      backend: "simd",
      groups: [
        { ...groups[0], lr: piecewise({ boundaries: [3], values: [1e-3, 5e-3] }) },
        { ...groups[1], momentum: piecewise({ boundaries: [3], values: [0.9, 0] }) },
      ],
      lr: piecewise({ boundaries: [3], values: [0.01, 0.02] }),
      beta: piecewise({ boundaries: [3, 4, 5, 6], values: [0.9, ...[3, 4, 5, 6].map((t) => valueAt(beta, t))] }),
    });
    await run(b, 0, 8);
    expect(snapshot(a)).toEqual(snapshot(b));
  });

  it("save() keeps what was set: restored, the run goes on with it", async () => {
    const a = await start({ backend: "js", momentum: 0.9, lr: 0.01 });
    await run(a, 0, 2);
    a.setOptions({ momentum: 0, lr: exponential({ from: 0.02, rate: 0.9 }) });
    const restored = await restoreRmsprop(a.save());
    expect(restored.options).toMatchObject({ momentum: 0, lr: exponential({ from: 0.02, rate: 0.9 }) });
    // momentum 0 no longer needs M, but the checkpoint has it: the restored optimizer keeps it.
    expect(restored.state.momentumBuffer).toBeDefined();
    await run(a, 2, 4);
    await run(restored, 2, 4);
    expect(snapshot(restored)).toEqual(snapshot(a));
  });

  const refused: [string, (opt: Rmsprop) => void, RegExp, RmspropOptions?][] = [
    ["centered", (o) => o.setOptions({ centered: true }), /setOptions\(partial\): options\.centered cannot go from false to true: it decides whether the gradient average G exists/],
    ["the EMA switched on", (o) => o.setOptions({ emaDecay: 0.9 }), /options\.emaDecay cannot go from null to 0\.9: whether it is on is fixed at creation \(its value may change, or be a schedule\); restoreRmsprop\(opt\.save\(\)/],
    ["clipNorm switched on", (o) => o.groups[1].setOptions({ clipNorm: 1 }), /groups\[1\]\.setOptions\(partial\): options\.groups\[1\]\.clipNorm cannot go from null to 1/, {}],
    ["globalClipNorm switched off", (o) => o.setOptions({ globalClipNorm: null }), /options\.globalClipNorm cannot go from 5 to null/],
    ["momentum without a buffer", (o) => o.setOptions({ momentum: 0.9 }), /these options need the momentumBuffer array \(M\), which was not made at creation/],
    ["initialScale", (o) => o.setOptions({ initialScale: 1 }), /options\.initialScale cannot go from 0 to 1: it is the value S starts from/],
    ["groups", (o) => o.setOptions({ groups: [] } as never), /setOptions\(partial\): groups cannot change after creation: the groups lay the parameters out/],
    ["threads", (o) => o.setOptions({ threads: 2 } as never), /threads cannot change after creation: .*restoreRmsprop\(opt\.save\(\), \{ threads \}\)/],
    ["backend", (o) => o.setOptions({ backend: "js" } as never), /backend cannot change after creation/],
    ["nonFinite", (o) => o.setOptions({ nonFinite: "skip" } as never), /nonFinite cannot change after creation/],
    ["memory", (o) => o.setOptions({ memory: null } as never), /memory cannot change after creation/],
    ["lrScale in a group", (o) => o.groups[0].setOptions({ lrScale: 2 } as never), /lrScale cannot change after creation: it is set at the top level only: opt\.setOptions\(\{ lrScale \}\)/],
    ["a group's size", (o) => o.groups[0].setOptions({ size: 3 } as never), /size cannot change after creation: a group's layout is fixed/],
    ["an unknown key", (o) => o.setOptions({ rho: 0.9 } as never), /setOptions\(partial\) has an unknown key "rho" \(did you mean "beta"\?\)/],
    ["a rule", (o) => o.setOptions({ beta: 1 }), /setOptions\(partial\): options\.beta must be a finite number in \[0, 1\); got 1/],
    ["a schedule's rule", (o) => o.groups[0].setOptions({ lr: linear({ from: 1, to: -1, steps: 2 }) }), /options\.groups\[0\]\.lr \(its linear schedule at step 2\) must be a finite number ≥ 0/],
    ["two clips in a group", (o) => o.groups[0].setOptions({ clipValue: 1 }), /options\.groups\[0\] sets clipValue and globalClipNorm; at most one/],
    ["nesterov without momentum", (o) => o.setOptions({ nesterov: true }), /setOptions\(partial\): options\.nesterov needs options\.momentum > 0/],
    ["not an object", (o) => o.setOptions(3 as never), /setOptions\(partial\) must be an object or undefined; got 3/],
  ];
  it.each(refused)("refuses %s, saying why, and changes nothing", async (_, change, message, options = { globalClipNorm: 5 }) => {
    const opt = await start({ backend: "js", ...options, groups: [{ size: 10 }, { size: N - 10 }] });
    const before = opt.options;
    const groupOptions = opt.groups.map((g) => g.options);
    expect(() => change(opt)).toThrow(message);
    expect(opt.options).toBe(before);
    expect(opt.groups.map((g) => g.options)).toEqual(groupOptions);
  });
});

describe("checkpoints mid-schedule", () => {
  const options: RmspropOptions = {
    lr: oneCycle({ max: 0.02, steps: 30 }),
    momentum: oneCycleMomentum({ steps: 30 }),
    beta: exponential({ from: 0.9, rate: 1.01, every: 4, end: 0.99 }),
    emaDecay: warmupCosine({ init: 0.5, peak: 0.99, warmup: 5, steps: 30 }),
    globalClipNorm: linear({ from: 10, to: 1, steps: 20 }),
  };

  it.each([
    ["js", 1],
    ["simd", 2],
  ] as const)("on %s, %i thread(s): restoreRmsprop and load continue with the bits of the run never interrupted", async (backend, threads) => {
    const common = { ...options, backend, threads, minParamsPerThread: 1 };
    const whole = await start(common);
    await run(whole, 0, 30);
    const first = await start(common);
    await run(first, 0, 13);
    const bytes = first.save();
    const restored = await restoreRmsprop(bytes);
    const loaded = await createRmsprop(N, common);
    loaded.load(bytes);
    expect(restored.options.lr).toEqual(options.lr);
    for (const opt of [first, restored, loaded]) {
      await run(opt, 13, 17);
      expect(opt.stepCount).toBe(30);
      expect(snapshot(opt)).toEqual(snapshot(whole));
    }
  });

  it("a checkpoint written before schedules (no lrScale in its options) still loads", async () => {
    const opt = await start({ backend: "js", lr: 0.05, momentum: 0.5 });
    await run(opt, 0, 2);
    const content = decodeCheckpoint(opt.save());
    const { lrScale: _, ...older } = content.options;
    const old = encodeCheckpoint({ ...content, options: older, arrays: { params: content.arrays.params!.slice(), sqAvg: content.arrays.sqAvg!.slice(), momentumBuffer: content.arrays.momentumBuffer!.slice() } });
    const restored = await restoreRmsprop(old);
    expect(restored.options.lrScale).toBe(1);
    await run(opt, 2, 3);
    await run(restored, 2, 3);
    expect(snapshot(restored)).toEqual(snapshot(opt));
  });
});

describe("zeroGrad and gradient accumulation", () => {
  it("zeroGrad sets every gradient to 0", async () => {
    const opt = await start({ backend: "js" });
    opt.grads.set(uniformFloats(N, 3));
    opt.zeroGrad();
    expect(opt.grads.every((g) => Object.is(g, 0))).toBe(true);
  });

  it("k micro-batches accumulated with +=, one step({ gradScale: 1 / k }), zeroGrad: the step of their mean", async () => {
    const k = 4;
    const opt = await start({ backend: "simd" });
    const mean = await start({ backend: "simd" });
    for (let t = 0; t < 3; t++) {
      const micro = Array.from({ length: k }, (_, m) => uniformFloats(N, 1000 * t + m, 2));
      for (const g of micro) for (let i = 0; i < N; i++) opt.grads[i] += g[i];
      await opt.step({ gradScale: 1 / k });
      opt.zeroGrad();
      // The same arithmetic by hand: the f32 sums, each times gradScale rounded to f32.
      for (let i = 0; i < N; i++) {
        let sum = 0;
        for (const g of micro) sum = Math.fround(sum + g[i]);
        mean.grads[i] = Math.fround(sum * Math.fround(1 / k));
      }
      await mean.step();
    }
    expect(snapshot(opt)).toEqual(snapshot(mean));
    expect(opt.grads.every((g) => g === 0)).toBe(true);
  });
});

describe("a step reuses what did not change since the last, and nothing else", () => {
  // A training loop's step reuses its groups' values and constants and its units' jobs
  // (src/groups.ts, src/unit-jobs.ts). Whatever came before, a step must give the bits of
  // the same step on an optimizer that never stepped in this process: one restored from a
  // checkpoint taken just before it.
  type Action = (opt: Rmsprop) => StepOverrides | undefined;
  const plain: Action = () => undefined;
  const history: Action[] = [
    plain, plain, plain,
    () => ({ lr: 0.03 }), // an override, then plain steps again
    plain, plain,
    (o) => (o.setOptions({ lr: 0.02, eps: 1e-6 }), undefined),
    plain,
    (o) => (o.groups[o.groups.length - 1].setOptions({ beta: 0.8 }), undefined),
    plain,
    () => ({}), // no overrides, given
    (o) => (o.setOptions({ lr: linear({ from: 0.02, to: 0.001, steps: 20 }) }), undefined),
    plain, plain,
    (o) => (o.setOptions({ lr: 0.01 }), undefined),
    plain, plain,
  ];
  const groups = [
    { name: "emb", size: 30, lr: 0.05, emaDecay: 0.9 },
    { name: "rest", size: N - 30, momentum: 0.9 },
  ];
  it.each([
    ["one thread", { lr: 0.01 }],
    ["2 threads", { lr: 0.01, threads: 2, minParamsPerThread: 1 }],
    ["groups with an EMA and momentum", { lr: 0.01, groups }],
    ["bias correction and centered", { lr: 0.01, biasCorrection: true, centered: true }],
    ["8-bit state (a rounding seed per step)", { lr: 0.01, stateBits: 8, momentum: 0.9 }],
    ["globalClipNorm (jobs made afresh)", { lr: 0.01, globalClipNorm: 0.5, groups }],
  ] as [string, RmspropOptions][])("%s", async (_, options) => {
    // 8-bit state needs a group of MIN_8BIT_SIZE; the others run on N.
    const n = options.stateBits === 8 ? MIN_8BIT_SIZE : N;
    const opt = await createRmsprop(n, options);
    opt.params.set(uniformFloats(n, 1, 3));
    expect(Object.keys(opt.state8).length > 0).toBe(options.stateBits === 8);
    for (let t = 0; t < history.length; t++) {
      const overrides = history[t](opt);
      const fresh = await restoreRmsprop(opt.save());
      for (const o of [opt, fresh]) o.grads.set(uniformFloats(n, 100 + t, 2));
      const [a, b] = [await opt.step(overrides), await fresh.step(overrides)];
      expect(a, `step ${t + 1}`).toEqual(b);
      expect(snapshot(opt), `step ${t + 1}`).toEqual(snapshot(fresh));
      fresh.dispose();
    }
    expect(opt.stepCount).toBe(history.length);
    opt.dispose();
  });

  it("a group's step is the same object while nothing changes, and a new one where anything does", async () => {
    const plan = planGroups(resolveOptions({ lr: 0.01 }), 8)[0];
    plan.options = Object.freeze({ ...plan.options }); // as the optimizer keeps them
    const first = groupStep(plan, 1);
    expect(groupStep(plan, 2)).toBe(first);
    expect(groupStep(plan, 3, resolveOverrides({}, [plan]))).toBe(first);
    const overridden = groupStep(plan, 4, resolveOverrides({ lr: 0.02 }, [plan]));
    expect(overridden).not.toBe(first);
    expect(overridden.scalars.lr).toBe(Math.fround(0.02));
    const again = groupStep(plan, 5);
    expect(again.scalars).toEqual(first.scalars);
    expect(groupStep(plan, 6)).toBe(again);
    plan.options = Object.freeze({ ...plan.options, lr: 0.03 }); // setOptions replaces them
    expect(groupStep(plan, 7).scalars.lr).toBe(Math.fround(0.03));
    // What changes with t is made at every step.
    for (const change of [{ biasCorrection: true }, { lr: linear({ from: 0.1, to: 0, steps: 10 }) }]) {
      plan.options = Object.freeze({ ...plan.options, ...change });
      const steps = [groupStep(plan, 8), groupStep(plan, 9)];
      expect(steps[1]).not.toBe(steps[0]);
      expect(steps[1].scalars).not.toEqual(steps[0].scalars);
    }
  });
});
