// Schedules against real PyTorch 1.13 (Debian's python3-torch): fixtures made by
// scripts/torch-schedule-fixtures.py, torch.optim.RMSprop over two tensors driven 40 steps by
// a fixed gradient sequence under CosineAnnealingLR, LinearLR as a warmup, StepLR,
// ExponentialLR, MultiStepLR, SequentialLR, OneCycleLR (rate and cycled momentum; the
// default and a three-phase linear one) and LambdaLR over two groups with different rates.
// Each step's lr and momentum must match the scheduler's, and θ must stay within 1e-5 (of
// the vector's scale) on every backend, on one thread and on two.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRmsprop, presets, schedules, type Rmsprop, type RmspropOptions } from "../src/index.ts";
import { machineOverride } from "../src/machine.ts";

interface Case {
  lrs: number[][];
  momentums: number[][];
  thetas: number[][];
}
const fixture = JSON.parse(readFileSync(new URL("fixtures/torch-schedules.json", import.meta.url), "utf8")) as {
  sizes: [number, number];
  steps: number;
  every: number;
  lr: number;
  alpha: number;
  eps: number;
  theta0: number[];
  grads: number[][];
  cases: Record<string, Case>;
};
const [nW, nB] = fixture.sizes;
const n = nW + nB;
const { lr, steps } = fixture;
const { cosine, linear, step, exponential, piecewise, join, oneCycle, oneCycleMomentum, valueAt } = schedules;

/** Each PyTorch scheduler as the options that reproduce it. */
const cases: Record<string, RmspropOptions> = {
  // CosineAnnealingLR(T_max=40, eta_min=0.001)
  cosine: { momentum: 0.5, lr: cosine({ from: lr, to: 0.001, steps: 40 }) },
  // LinearLR(start_factor=0.1, end_factor=1, total_iters=10): factors of the base rate
  linearWarmup: { lr: linear({ from: lr * 0.1, to: lr, steps: 10 }) },
  // StepLR(step_size=7, gamma=0.5)
  step: { lr: step({ from: lr, factor: 0.5, every: 7 }) },
  // ExponentialLR(gamma=0.95)
  exponential: { momentum: 0.9, lr: exponential({ from: lr, rate: 0.95 }) },
  // MultiStepLR(milestones=[10, 25], gamma=0.3)
  multiStep: { lr: piecewise({ boundaries: [10, 25], values: [lr, lr * 0.3, lr * 0.3 * 0.3] }) },
  // SequentialLR([LinearLR(0.01, 1, 8), CosineAnnealingLR(T_max=32, eta_min=1e-4)], milestones=[8])
  sequential: { lr: join([linear({ from: lr * 0.01, to: lr, steps: 8 }), cosine({ from: lr, to: 1e-4, steps: 32 })], [8]) },
  // OneCycleLR(max_lr=0.05, total_steps=40), which cycles RMSprop's momentum from 0.95 to 0.85 and back
  oneCycle: { lr: oneCycle({ max: lr, steps }), momentum: oneCycleMomentum({ steps }) },
  // OneCycleLR(..., pct_start=0.25, anneal_strategy="linear", three_phase=True)
  oneCycleThreePhase: {
    lr: oneCycle({ max: lr, steps, pctStart: 0.25, anneal: "linear", threePhase: true }),
    momentum: oneCycleMomentum({ steps, pctStart: 0.25, anneal: "linear", threePhase: true }),
  },
  // LambdaLR(lr_lambda=warmup over 4 steps, then 0.95 per step) over groups at 0.05 and 0.01
  lambdaGroups: {
    groups: [
      { name: "w", size: nW, lr },
      { name: "b", size: nB, lr: 0.01 },
    ],
    lrScale: join([linear({ from: 0.2, to: 1, steps: 4 }), exponential({ from: 1, rate: 0.95 })], [4]),
  },
};


/** Relative difference, against the larger magnitude. */
const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-300);

beforeAll(() => {
  machineOverride.threads = 64; // 2 threads even on a 1-core machine
});
afterAll(() => {
  machineOverride.threads = undefined;
});

describe("schedules against PyTorch 1.13's lr_scheduler, 40 steps of torch.optim.RMSprop", () => {
  it("the fixtures cover every scheduler the tests name", () => {
    expect(Object.keys(fixture.cases).sort()).toEqual(Object.keys(cases).sort());
  });

  it.each(Object.keys(cases))("%s: every step's lr and momentum within 1e-12 of the scheduler's", async (name) => {
    const want = fixture.cases[name];
    const opt = await createRmsprop(n, { ...presets.pytorch, beta: fixture.alpha, eps: fixture.eps, ...cases[name], backend: "js" });
    for (let t = 0; t < steps; t++) {
      opt.groups.forEach((g, k) => {
        const eta = valueAt(g.options.lr, t) * valueAt(opt.options.lrScale, t);
        expect(relative(eta, want.lrs[t][k]), `${g.name} lr at step ${t}`).toBeLessThan(1e-12);
        expect(relative(valueAt(g.options.momentum, t), want.momentums[t][k]) || 0, `${g.name} momentum at step ${t}`).toBeLessThan(1e-12);
      });
    }
    opt.dispose();
  });

  const runs = [
    ["js", 1],
    ["scalar", 1],
    ["simd", 1],
    ["scalar", 2],
    ["simd", 2],
  ] as const;
  it.each(Object.keys(cases))("%s: θ within 1e-5 of PyTorch's on every backend, on 1 and 2 threads", async (name) => {
    const want = fixture.cases[name];
    const finals: Float32Array[] = [];
    for (const [backend, threads] of runs) {
      const opt: Rmsprop = await createRmsprop(n, {
        ...presets.pytorch,
        beta: fixture.alpha,
        eps: fixture.eps,
        ...cases[name],
        backend,
        threads,
        minParamsPerThread: 1,
      });
      expect(opt.threads).toBe(threads);
      opt.params.set(fixture.theta0);
      for (let t = 0; t < steps; t++) {
        opt.grads.set(fixture.grads[t]);
        await opt.step();
        if ((t + 1) % fixture.every === 0) {
          const torch = want.thetas[(t + 1) / fixture.every - 1];
          const scale = Math.max(...torch.map(Math.abs));
          const worst = Math.max(...torch.map((x, i) => Math.abs(x - opt.params[i])));
          expect(worst / scale, `${backend}, ${threads} threads: θ after step ${t + 1}`).toBeLessThan(1e-5);
        }
      }
      finals.push(opt.params.slice());
      opt.dispose();
    }
    // And the same bits everywhere: every backend and thread count agrees with the reference.
    for (const f of finals.slice(1)) expect(new Uint32Array(f.buffer)).toEqual(new Uint32Array(finals[0].buffer));
  });
});
