// Each preset against its framework's update rule, transcribed in f64 from the framework's
// source (test/helpers/frameworks.ts): ≥ 20 steps of a seeded, ill-conditioned, noisy
// quadratic, for the default, centered, momentum and weight-decay cases the framework has.
// The f32 package must stay within a relative 1e-5 of the f64 trajectory at every step.
import { describe, expect, it } from "vitest";
import { createRmsprop, presets, type RmspropOptions } from "../src/index.ts";
import { rng } from "./helpers/data.ts";
import {
  f64State,
  kerasStep,
  optaxStep,
  pytorchStep,
  tensorflow1Step,
  tfjsStep,
  type F64Hyper,
  type F64Step,
} from "./helpers/frameworks.ts";

const N = 64;
const STEPS = 25;

/** L(θ) = ½ Σ aᵢ(θᵢ − cᵢ)², curvatures aᵢ from 1e-2 to 1e2, plus seeded gradient noise. */
function problem(seed: number, scale = 1) {
  const r = rng(seed);
  const a = Float64Array.from({ length: N }, () => 10 ** (4 * r() - 2));
  const c = Float64Array.from({ length: N }, () => 2 * r() - 1);
  const p0 = Float64Array.from({ length: N }, () => Math.fround(4 * r() - 2));
  const noise = Array.from({ length: STEPS }, () => Float64Array.from({ length: N }, () => 0.2 * (r() - 0.5)));
  const grad = (p: ArrayLike<number>, t: number) =>
    Float64Array.from({ length: N }, (_, i) => scale * (a[i] * (p[i] - c[i]) + noise[t][i]));
  return { p0, grad };
}

/** A learning rate that changes every step, so lr-in-momentum conventions show. */
const schedule = (lr: number, t: number) => lr * (0.5 + (t % 3) * 0.5);

interface Case {
  name: string;
  options: RmspropOptions & { lr: number };
  scheduled?: boolean;
  /** Scales every gradient; at 1e-4, g² is near ε and where ε goes decides the step. */
  gradScale?: number;
}

function relError(got: ArrayLike<number>, want: ArrayLike<number>): number {
  let diff = 0, norm = 0;
  for (let i = 0; i < want.length; i++) {
    diff += (got[i] - want[i]) ** 2;
    norm += want[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

async function expectFaithful(step: F64Step, preset: RmspropOptions, c: Case, seed: number) {
  const { p0, grad } = problem(seed, c.gradScale);
  const o = { ...preset, ...c.options, nonFinite: "ignore" as const };
  const h: F64Hyper = {
    // These presets and cases give numbers, never schedules.
    lr: o.lr as number,
    rho: o.beta as number,
    eps: o.eps as number,
    momentum: (o.momentum ?? 0) as number,
    centered: o.centered ?? false,
    weightDecay: (o.weightDecay ?? 0) as number,
    nesterov: o.nesterov ?? false,
    biasCorrection: o.biasCorrection ?? false,
  };
  const ref = f64State(p0, o.initialScale ?? 0);
  const opt = await createRmsprop(N, o);
  opt.params.set(p0);
  let worst = 0;
  for (let t = 0; t < STEPS; t++) {
    const lr = c.scheduled ? schedule(o.lr, t) : o.lr;
    opt.grads.set(grad(opt.params, t));
    opt.step({ lr });
    step(ref, grad(ref.p, t), { ...h, lr });
    worst = Math.max(worst, relError(opt.params, ref.p), relError(opt.state.sqAvg, ref.v));
  }
  expect(worst, `${c.name}: worst relative error over ${STEPS} steps`).toBeLessThan(1e-5);
  // The trajectory moved: a test of a frozen optimizer would prove nothing.
  expect(relError(ref.p, p0)).toBeGreaterThan(c.gradScale ? 1e-4 : 1e-3);
}

const common: Case[] = [
  { name: "default", options: { lr: 0.01 } },
  { name: "centered", options: { lr: 0.01, centered: true } },
  { name: "momentum", options: { lr: 0.01, momentum: 0.9 } },
  { name: "momentum, lr schedule", options: { lr: 0.01, momentum: 0.9 }, scheduled: true },
  { name: "tiny gradients (where ε goes matters)", options: { lr: 0.01, eps: 1e-8 }, gradScale: 1e-4 },
];

const suites: [string, F64Step, RmspropOptions, Case[]][] = [
  ["pytorch", pytorchStep, presets.pytorch, [
    ...common,
    { name: "L2 weight decay", options: { lr: 0.01, weightDecay: 0.05 } },
    { name: "centered, momentum, weight decay", options: { lr: 0.01, centered: true, momentum: 0.5, weightDecay: 0.01 } },
  ]],
  ["keras", kerasStep, presets.keras, [
    ...common,
    { name: "decoupled weight decay", options: { lr: 0.01, weightDecay: 0.05 } },
    { name: "centered, momentum, weight decay", options: { lr: 0.01, centered: true, momentum: 0.5, weightDecay: 0.01 } },
  ]],
  ["tensorflow1", tensorflow1Step, presets.tensorflow1, common],
  ["tfjs", tfjsStep, presets.tfjs, common],
  ["optax", optaxStep(true), presets.optax, [
    ...common,
    { name: "nesterov", options: { lr: 0.01, momentum: 0.9, nesterov: true } },
    { name: "bias correction", options: { lr: 0.01, biasCorrection: true } },
    // Not "centered, bias correction": at t = 1 its variance is g² − g² = 0 exactly, so
    // optax itself divides by √ε or takes √ of a rounding error (NaN); see docs/fidelity.md.
    { name: "centered, nesterov", options: { lr: 0.01, centered: true, momentum: 0.9, nesterov: true } },
  ]],
  ["optax eps_in_sqrt=False", optaxStep(false), { ...presets.optax, epsInSqrt: false }, [
    common[0],
    common[1],
  ]],
];

describe.each(suites)("preset %s against its framework's source", (_name, step, preset, cases) => {
  it.each(cases.map((c, i) => [c.name, c, i] as const))("%s", async (_label, c, i) => {
    await expectFaithful(step, preset, c, 100 + i);
  });
});

describe("presets", () => {
  it("are plain frozen option objects with each library's defaults", () => {
    expect(presets.pytorch).toMatchObject({ lr: 0.01, beta: 0.99, eps: 1e-8, epsInSqrt: false });
    expect(presets.keras).toMatchObject({ lr: 0.001, beta: 0.9, eps: 1e-7, epsInSqrt: true, decoupledWeightDecay: true });
    expect(presets.tensorflow1).toMatchObject({ beta: 0.9, eps: 1e-10, initialScale: 1, lrInMomentum: true });
    expect(presets.tfjs).toMatchObject({ beta: 0.9, eps: 1e-7, centeredEps: "subtract" });
    expect(presets.optax).toMatchObject({ beta: 0.9, eps: 1e-8, epsInSqrt: true, initialScale: 0 });
    for (const p of Object.values(presets)) {
      expect(Object.isFrozen(p)).toBe(true);
      expect(p.clampVariance).toBe(false);
    }
  });

  it("lr schedules separate PyTorch's momentum convention from the others", async () => {
    // Same problem, same schedule: lrInMomentum changes the trajectory, as in the frameworks.
    const run = async (lrInMomentum: boolean) => {
      const opt = await createRmsprop(4, { momentum: 0.9, lrInMomentum });
      opt.params.fill(1);
      for (let t = 0; t < 5; t++) {
        opt.grads.set(opt.params);
        opt.step({ lr: schedule(0.1, t) });
      }
      return opt.params.slice();
    };
    const outside = await run(false), inside = await run(true);
    expect(relError(outside, inside)).toBeGreaterThan(1e-3);
  });
});
