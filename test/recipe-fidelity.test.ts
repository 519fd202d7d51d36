// The training recipe against real PyTorch 1.13: fixtures made by
// scripts/torch-recipe-fixtures.py with Debian's python3-torch (clip_grad_norm_ over two
// tensors, per tensor, clip_grad_value_, a loss scale undone before clipping, an EMA from
// θ0, each around torch.optim.RMSprop.step()) on an ill-conditioned quadratic. And Keras 3's
// and optax's clipping formulas, transcribed from their sources, against PyTorch's, which
// this package uses: how far apart they are is documented in docs/recipe.md.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { createRmsprop, presets, type RmspropOptions, type StepResult } from "../src/index.ts";

interface Case {
  thetas: number[][];
  emas: number[][];
  gradNorms: (number | null)[];
}
const fixture = JSON.parse(readFileSync(new URL("fixtures/torch-recipe.json", import.meta.url), "utf8")) as {
  sizes: [number, number];
  lr: number;
  alpha: number;
  eps: number;
  a: number[];
  c: number[];
  theta0: number[];
  cases: Record<string, Case>;
};
const [nW, nB] = fixture.sizes;
const n = nW + nB;
const f = Math.fround;
const tensors = [{ name: "w", size: nW }, { name: "b", size: nB }];

const recipes: Record<string, { options: RmspropOptions; lossScale?: number }> = {
  global: { options: { globalClipNorm: 1 } },
  perTensor: { options: { groups: [{ name: "w", clipNorm: 1, tensors: [tensors[0]] }, { name: "b", clipNorm: 0.5, tensors: [tensors[1]] }] } },
  value: { options: { clipValue: 0.5 } },
  "gradScale+global": { options: { globalClipNorm: 1, gradScale: 1 / 1024 }, lossScale: 1024 },
  "ema+global": { options: { globalClipNorm: 1, emaDecay: 0.9 } },
};

describe("the recipe matches PyTorch 1.13 over 25 steps", () => {
  it.each(Object.keys(recipes))("%s: θ within 1e-5, gradNorm within 1e-6 of clip_grad_norm_", async (name) => {
    const want = fixture.cases[name];
    const { options, lossScale = 1 } = recipes[name];
    for (const backend of ["simd", "js"] as const) {
      const opt = await createRmsprop(n, { ...presets.pytorch, lr: fixture.lr, beta: fixture.alpha, eps: fixture.eps, ...options, backend });
      opt.params.set(fixture.theta0);
      for (let t = 0; t < want.thetas.length; t++) {
        // ∇ of Σ a·(θ − c)²/2 (times the loss scale), in f32 as torch computes it.
        for (let i = 0; i < n; i++) opt.grads[i] = f(f(fixture.a[i] * f(opt.params[i] - fixture.c[i])) * lossScale);
        const result = opt.step() as StepResult;
        const norm = want.gradNorms[t];
        if (norm === null) expect(result.gradNorm).toBeUndefined();
        else expect(Math.abs(result.gradNorm! - norm) / norm, `step ${t + 1}`).toBeLessThan(1e-6);
        const worst = Math.max(...want.thetas[t].map((x, i) => Math.abs(x - opt.params[i])));
        expect(worst, `θ at step ${t + 1}`).toBeLessThan(1e-5);
        if (want.emas.length) {
          const worstEma = Math.max(...want.emas[t].map((x, i) => Math.abs(x - opt.state.ema![i])));
          expect(worstEma, `EMA at step ${t + 1}`).toBeLessThan(1e-5);
        }
      }
      opt.dispose();
    }
  });
});

/** PyTorch's clip_grad_norm_: g·min(1, max/(norm + 1e-6)) (torch/nn/utils/clip_grad.py). */
const torchClip = (g: number, norm: number, max: number) => g * Math.min(1, max / (norm + 1e-6));
/** Keras 3 clip_by_global_norm: g·(c·min(1/norm, 1/c)) (keras/src/optimizers/base_optimizer.py). */
const kerasGlobal = (g: number, norm: number, max: number) => g * (max * Math.min(1 / norm, 1 / max));
/** Keras 3 _clip_by_norm (clipnorm): (g·c) / max(norm, c). */
const kerasPerTensor = (g: number, norm: number, max: number) => (g * max) / Math.max(norm, max);
/** optax clip_by_global_norm: g when norm < max, else (g / norm)·max (optax/_src/clipping.py). */
const optaxGlobal = (g: number, norm: number, max: number) => (norm < max ? g : (g / norm) * max);

describe("Keras 3's and optax's clipping against PyTorch's", () => {
  it("agree to within 1e-6/norm relative when clipping, and exactly when the norm is below the bound", () => {
    for (const [norm, max] of [[2602.75, 1], [10, 1], [1.5, 1], [1e-3, 1], [0.5, 1]] as const) {
      for (const g of [1, -0.37, 123.4]) {
        const ours = torchClip(g, norm, max);
        for (const other of [kerasGlobal, kerasPerTensor, optaxGlobal]) {
          const theirs = other(g, norm, max);
          // Below the bound every formula leaves g alone, up to rounding (Keras's c·(1/c)):
          // PyTorch's 1e-6 only shows when norm + 1e-6 > max > norm.
          const bound = norm < max ? 4e-16 : 1e-6 / norm + 4e-16;
          expect(Math.abs(ours - theirs) / Math.abs(g), `${other.name}: g ${g}, norm ${norm}`).toBeLessThanOrEqual(bound);
        }
      }
    }
  });
});
