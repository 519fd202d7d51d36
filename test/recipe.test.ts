// The training recipe around the update: gradScale, clipValue, clipNorm, globalClipNorm and
// an EMA of the weights, fused into the step. Checked three ways: the options' rules; the
// semantics against an independent per-element model written here (norms summed naively in
// f64); and bit-identity across the simd, scalar and js backends and 1 or 2 threads.
import { afterAll, describe, expect, it } from "vitest";
import { createRmsprop, restoreRmsprop, type Rmsprop, type RmspropOptions, type StepResult } from "../src/index.ts";
import { kernelModule } from "../src/backend.ts";
import { bindKernel, KernelFlag, NORM_BLOCK, STEP_ARGS_V1_BYTES, writeStepArgs } from "../src/kernel-abi.ts";
import { defaultOptions } from "../src/options.ts";
import { referenceStep, referenceSumSquares } from "../src/reference.ts";
import { stepScalars } from "../src/step-scalars.ts";
import { awkwardFloats, bitReport, uniformFloats } from "./helpers/data.ts";
import { everyKernelVariant } from "./helpers/optimizers.ts";
import { machineOverride } from "../src/machine.ts";

// Some tests here assert 2 threads: the core count is fixed, whatever this machine has.
machineOverride.threads = 2;
afterAll(() => {
  machineOverride.threads = undefined;
});

const f = Math.fround;

describe("recipe options: clear errors, nothing allocated", () => {
  it.each([
    [{ gradScale: -1 }, /options\.gradScale must be a finite number ≥ 0/],
    [{ gradScale: 0 }, /options\.gradScale must be a finite number > 0/],
    [{ gradScale: NaN }, /options\.gradScale/],
    [{ gradScale: "2" }, /options\.gradScale must be a number/],
    [{ clipValue: -0.5 }, /options\.clipValue/],
    [{ clipNorm: Infinity }, /options\.clipNorm/],
    [{ globalClipNorm: 0 }, /options\.globalClipNorm must be a finite number > 0 .*or null/],
    [{ emaDecay: 1 }, /options\.emaDecay must be a finite number in \[0, 1\)/],
    [{ emaDecay: -0.1 }, /options\.emaDecay/],
    [{ clipValue: 1, clipNorm: 1 }, /options sets clipValue and clipNorm; at most one/],
    [{ clipNorm: 1, globalClipNorm: 1 }, /options sets clipNorm and globalClipNorm/],
    [{ globalClipNorm: 1, groups: [{ size: 4, clipValue: 1 }] }, /options\.groups\[0\] sets clipValue and globalClipNorm/],
    [{ groups: [{ size: 4, globalClipNorm: 1 }] }, /options\.groups\[0\]\.globalClipNorm: .*top level only/],
  ] as [Record<string, unknown>, RegExp][])("%j", async (options, message) => {
    await expect(createRmsprop(4, options as RmspropOptions)).rejects.toThrow(message);
  });

  it("step({ gradScale }) is checked like the option, before anything changes", async () => {
    const opt = await createRmsprop(4, { emaDecay: 0.9 });
    opt.grads.fill(1);
    const before = opt.params.slice();
    expect(() => opt.step({ gradScale: -2 })).toThrow(/step overrides\.gradScale/);
    expect(opt.params).toEqual(before);
    expect(opt.stepCount).toBe(0);
    opt.dispose();
  });

  it("null turns an option off, also in a group over a top-level value", async () => {
    const opt = await createRmsprop(8, { clipValue: 0.5, groups: [{ size: 4 }, { size: 4, clipValue: null }] });
    expect(opt.groups[0].options.clipValue).toBe(0.5);
    expect(opt.groups[1].options.clipValue).toBeNull();
    opt.dispose();
  });
});

/** The default step (epsInSqrt, no momentum) per element, written out here with the recipe around it. */
function modelStep(
  theta: Float32Array, sq: Float32Array, ema: Float32Array | null, grads: Float32Array,
  o: { lr: number; beta: number; eps: number; gradScale: number; clipValue: number | null; emaDecay: number | null },
  factor: (i: number) => number, first: boolean,
): void {
  if (ema && first) ema.set(theta);
  for (let i = 0; i < theta.length; i++) {
    let g = f(grads[i] * f(o.gradScale));
    const c = factor(i);
    if (c !== 1) g = f(g * c);
    if (o.clipValue !== null) g = Math.min(f(o.clipValue), Math.max(-f(o.clipValue), g));
    const s = f(f(f(o.beta) * sq[i]) + f(f(1 - o.beta) * f(g * g)));
    sq[i] = s;
    theta[i] = f(theta[i] - f(f(o.lr) * f(g / f(Math.sqrt(f(s + f(o.eps)))))));
    if (ema) ema[i] = f(f(f(o.emaDecay!) * ema[i]) + f(f(1 - o.emaDecay!) * theta[i]));
  }
}

/** ‖x·scale‖ summed naively in f64, in index order: another way than the kernel's blocks. */
function naiveNorm(x: Float32Array, scale: number): number {
  let total = 0;
  for (const v of x) total += f(v * f(scale)) ** 2;
  return Math.sqrt(total);
}

const torchFactor = (max: number, norm: number) => f(Math.min(1, max / (norm + 1e-6)));

describe("recipe semantics against a per-element model", () => {
  const n = 2500; // three norm blocks, the last one partial
  const base = { lr: 0.01, beta: 0.9, eps: 1e-8 };

  it.each([
    ["gradScale", { gradScale: 1 / 64 }],
    ["clipValue", { clipValue: 0.3 }],
    ["gradScale + clipValue", { gradScale: 0.5, clipValue: 0.3 }],
    ["globalClipNorm", { globalClipNorm: 1 }],
    ["gradScale + globalClipNorm", { gradScale: 0.25, globalClipNorm: 1 }],
    ["emaDecay", { emaDecay: 0.9 }],
    ["everything", { gradScale: 0.5, globalClipNorm: 2, emaDecay: 0.99 }],
  ] as [string, RmspropOptions][])("%s: 5 steps bit for bit, gradNorm within 1e-12", async (_, recipe) => {
    for (const backend of ["simd", "scalar", "js"] as const) {
      const opt = await createRmsprop(n, { ...base, ...recipe, backend });
      const o = { ...base, gradScale: 1, clipValue: null, emaDecay: null, ...recipe } as Parameters<typeof modelStep>[4];
      const theta = uniformFloats(n, 1, 2), sq = new Float32Array(n), ema = o.emaDecay === null ? null : new Float32Array(n);
      opt.params.set(theta);
      for (let t = 1; t <= 5; t++) {
        const grads = uniformFloats(n, 10 + t, 3);
        opt.grads.set(grads);
        const result = opt.step() as StepResult;
        let factor = 1;
        if (recipe.globalClipNorm !== undefined) {
          const norm = naiveNorm(grads, o.gradScale);
          expect(Math.abs(result.gradNorm! - norm) / norm).toBeLessThan(1e-12);
          factor = torchFactor(recipe.globalClipNorm as number, result.gradNorm!);
          expect(factor, "these gradients are clipped").toBeLessThan(1);
        } else {
          expect(result.gradNorm).toBeUndefined();
        }
        modelStep(theta, sq, ema, grads, o, () => factor, t === 1);
      }
      expect(bitReport(`${backend} params`, opt.params, theta)).toBe("");
      expect(bitReport(`${backend} sqAvg`, opt.state.sqAvg, sq)).toBe("");
      if (ema) expect(bitReport(`${backend} ema`, opt.state.ema!, ema)).toBe("");
      else expect(opt.state.ema).toBeUndefined();
      opt.dispose();
    }
  });

  it("clipNorm clips each tensor by its own norm, and a group without tensors as one", async () => {
    const sizes = [700, 1500, 300];
    const opt = await createRmsprop(3000, {
      ...base,
      groups: [
        { name: "a", clipNorm: 0.5, tensors: [{ name: "w", size: sizes[0] }, { name: "b", size: sizes[1] }] },
        { name: "c", size: sizes[2], clipNorm: 0.2 },
        { name: "d", size: 500 },
      ],
    });
    const theta = uniformFloats(3000, 3, 1), sq = new Float32Array(3000);
    opt.params.set(theta);
    const grads = uniformFloats(3000, 4, 1);
    opt.grads.set(grads);
    const result = opt.step() as StepResult;
    const ranges = [[0, 700, 0.5], [700, 2200, 0.5], [2200, 2500, 0.2], [2500, 3000, null]] as const;
    const factors = ranges.map(([from, to, max]) => (max === null ? 1 : torchFactor(max, naiveNorm(grads.subarray(from, to), 1))));
    expect(factors.slice(0, 3).every((c) => c < 1)).toBe(true);
    const factorAt = (i: number) => factors[ranges.findIndex(([from, to]) => i >= from && i < to)];
    modelStep(theta, sq, null, grads, { ...base, gradScale: 1, clipValue: null, emaDecay: null }, factorAt, true);
    expect(bitReport("params", opt.params, theta)).toBe("");
    // The joint norm of all gradients, before clipping, as clip_grad_norm_ returns it.
    expect(Math.abs(result.gradNorm! - naiveNorm(grads, 1)) / result.gradNorm!).toBeLessThan(1e-12);
    opt.dispose();
  });

  it("gradNorm is the norm after gradScale, whether or not the step clips", async () => {
    const opt = await createRmsprop(100, { globalClipNorm: 1e9, gradScale: 0.5 });
    const grads = uniformFloats(100, 5, 1);
    opt.grads.set(grads);
    const r = opt.step() as StepResult;
    expect(r.gradNorm).toBeCloseTo(naiveNorm(grads, 0.5), 12);
    opt.dispose();
  });
});

describe("the EMA", () => {
  it("starts at θ before the first step, skipped and thrown steps leave it alone, and swapEma swaps bits", async () => {
    const opt = await createRmsprop(6, { emaDecay: 0.5, lr: 0.1, nonFinite: "skip" });
    opt.params.set([1, 2, 3, 4, 5, 6]);
    opt.grads.fill(NaN);
    expect((opt.step() as StepResult).applied).toBe(false);
    expect([...opt.state.ema!]).toEqual([0, 0, 0, 0, 0, 0]); // not started: no step was applied
    opt.grads.fill(1);
    opt.step();
    const theta1 = opt.params.slice();
    const want = Float32Array.from([1, 2, 3, 4, 5, 6], (x, i) => f(f(0.5 * x) + f(0.5 * theta1[i])));
    expect(bitReport("ema", opt.state.ema!, want)).toBe("");
    opt.grads[2] = Infinity;
    opt.step();
    expect(bitReport("ema after a skip", opt.state.ema!, want)).toBe("");
    // A bit-exact exchange, a NaN payload included.
    new Uint32Array(opt.state.ema!.buffer, opt.state.ema!.byteOffset, 6)[5] = 0x7fc0beef;
    const p = new Uint32Array(opt.params.buffer, opt.params.byteOffset, 6).slice();
    const e = new Uint32Array(opt.state.ema!.buffer, opt.state.ema!.byteOffset, 6).slice();
    opt.swapEma();
    expect([...new Uint32Array(opt.params.buffer, opt.params.byteOffset, 6)]).toEqual([...e]);
    expect([...new Uint32Array(opt.state.ema!.buffer, opt.state.ema!.byteOffset, 6)]).toEqual([...p]);
    opt.swapEma();
    expect([...new Uint32Array(opt.params.buffer, opt.params.byteOffset, 6)]).toEqual([...p]);
    opt.dispose();
  });

  it("swapEma swaps only the groups that keep an EMA, and says so when none does", async () => {
    const opt = await createRmsprop(4, { groups: [{ size: 2, emaDecay: 0.9 }, { size: 2 }] });
    opt.params.set([1, 2, 3, 4]);
    opt.grads.fill(0.5);
    opt.step();
    const ema = opt.state.ema!.slice(0, 2), theta = opt.params.slice();
    opt.swapEma();
    expect([...opt.params]).toEqual([...ema, theta[2], theta[3]]);
    opt.dispose();
    const plain = await createRmsprop(4);
    expect(() => plain.swapEma()).toThrow(/keeps no EMA.*emaDecay/);
    plain.dispose();
  });

  it("checkpoints carry the EMA and the recipe; one without an EMA starts it at its weights", async () => {
    const opts = { emaDecay: 0.9, globalClipNorm: 1.5, gradScale: 0.5 };
    const a = await createRmsprop(50, opts);
    a.params.set(uniformFloats(50, 8, 1));
    for (let t = 0; t < 3; t++) {
      a.grads.set(uniformFloats(50, 20 + t, 2));
      a.step();
    }
    const b = await restoreRmsprop(a.save());
    expect(b.options.globalClipNorm).toBe(1.5);
    expect(b.options.emaDecay).toBe(0.9);
    expect(bitReport("ema", b.state.ema!, a.state.ema!)).toBe("");
    a.grads.set(uniformFloats(50, 30, 2));
    b.grads.set(a.grads);
    expect((b.step() as StepResult).gradNorm).toBe((a.step() as StepResult).gradNorm);
    expect(bitReport("params", b.params, a.params)).toBe("");
    const plain = await createRmsprop(50);
    plain.params.set(uniformFloats(50, 9, 1));
    a.load(plain.save());
    expect(bitReport("ema from a checkpoint without one", a.state.ema!, plain.params)).toBe("");
    expect(() => plain.load(b.save())).toThrow(/has ema, this optimizer lacks it/);
    for (const o of [a, b, plain]) o.dispose();
  });
});

describe("the same bits everywhere", () => {
  const recipes: RmspropOptions[] = [
    { clipValue: 1e-3 },
    { gradScale: 3, globalClipNorm: 10 },
    { globalClipNorm: 5, emaDecay: 0.9, momentum: 0.9, centered: true },
    { gradScale: 0.125, emaDecay: 0.999, weightDecay: 0.01, decoupledWeightDecay: true, nesterov: true, momentum: 0.5 },
    {
      groups: [
        { name: "w", clipNorm: 1, tensors: [{ name: "w1", size: 3001 }, { name: "w2", size: 17 }], emaDecay: 0.5 },
        { name: "b", size: 40_000 - 3018, gradScale: 0.5, clipValue: 0.01 },
      ],
    },
  ];
  it.each(recipes)("%j: simd, scalar, js and 2 threads agree, gradNorm too", async (recipe) => {
    const n = 40_000;
    const params = awkwardFloats(n, 1), opts: Rmsprop[] = [];
    for (const backend of ["simd", "scalar", "js"] as const) opts.push(await createRmsprop(n, { ...recipe, backend, nonFinite: "ignore" }));
    for (const backend of ["simd", "scalar"] as const) {
      opts.push(await createRmsprop(n, { ...recipe, backend, threads: 2, minParamsPerThread: 1, nonFinite: "ignore" }));
    }
    expect(opts[3].threads).toBe(2);
    for (const o of opts) o.params.set(params);
    for (let t = 0; t < 4; t++) {
      const grads = uniformFloats(n, 50 + t, 10 ** (t - 1));
      const norms = [];
      for (const o of opts) {
        o.grads.set(grads);
        norms.push((await o.step(t === 2 ? { gradScale: 2 } : undefined)).gradNorm);
      }
      expect(new Set(norms).size).toBe(1);
    }
    for (const o of opts.slice(1)) {
      expect(bitReport("params", o.params, opts[0].params)).toBe("");
      expect(bitReport("sqAvg", o.state.sqAvg, opts[0].state.sqAvg)).toBe("");
      if (opts[0].state.ema) expect(bitReport("ema", o.state.ema!, opts[0].state.ema)).toBe("");
    }
    for (const o of opts) o.dispose();
  });

  it("every kernel variant with clipValue and an EMA matches the reference on odd sizes", async () => {
    for (const variant of everyKernelVariant()) {
      for (const n of [1, 7, 1030]) {
        const options = { ...variant, clipValue: 0.05, emaDecay: 0.9, nonFinite: "ignore" as const };
        const [simd, scalar, js] = await Promise.all((["simd", "scalar", "js"] as const).map((backend) => createRmsprop(n, { ...options, backend })));
        for (const o of [simd, scalar, js]) o.params.set(awkwardFloats(n, n));
        for (let t = 0; t < 3; t++) {
          for (const o of [simd, scalar, js]) {
            o.grads.set(awkwardFloats(n, 7 * t + n));
            o.step();
          }
        }
        for (const o of [simd, scalar]) {
          expect(bitReport(`${JSON.stringify(variant)} n=${n} params`, o.params, js.params)).toBe("");
          expect(bitReport(`${JSON.stringify(variant)} n=${n} ema`, o.state.ema!, js.state.ema!)).toBe("");
        }
        for (const o of [simd, scalar, js]) o.dispose();
      }
    }
  });
});

describe("the kernel's sum of squares and the v1 ABI", () => {
  it.each(["simd", "scalar"] as const)("%s sum_squares_f32 gives the reference's block sums and finds the bad block", async (backend) => {
    const memory = new WebAssembly.Memory({ initial: 2 });
    const kernel = bindKernel(await kernelModule(backend), memory);
    for (const n of [0, 1, 3, 4, 5, 1023, 1024, 1025, 3000]) {
      const x = new Float32Array(memory.buffer, 64, n);
      x.set(awkwardFloats(n, n));
      const blocks = Math.ceil(n / NORM_BLOCK), out = Math.ceil((64 + 4 * n) / 64) * 64 + 64;
      const want = new Float64Array(blocks);
      expect(kernel.sum_squares_f32(64, n, 0.75, out)).toBe(referenceSumSquares(x, 0.75, want));
      expect([...new Float64Array(memory.buffer, out, blocks)]).toEqual([...want]);
      if (n > 1100) {
        x[1100] = NaN;
        expect(kernel.sum_squares_f32(64, n, 1, out)).toBe(1);
      }
    }
  });

  it.each(["simd", "scalar"] as const)("%s: a 72-byte v1 block followed by garbage steps as before", async (backend) => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const kernel = bindKernel(await kernelModule(backend), memory);
    const u32 = new Uint32Array(memory.buffer), f32 = new Float32Array(memory.buffer);
    const n = 13, params = 1024, grads = 2048, sqAvg = 3072;
    const p = awkwardFloats(n, 3), g = awkwardFloats(n, 4);
    new Float32Array(memory.buffer, params, n).set(p);
    new Float32Array(memory.buffer, grads, n).set(g);
    const s = stepScalars(defaultOptions, 1, 0.01);
    writeStepArgs(u32, f32, 0, { params, grads, sqAvg, momentumBuffer: 0, gradAvg: 0 }, n, s);
    u32.fill(0xffffffff, STEP_ARGS_V1_BYTES / 4, 512 / 4); // what a v1 caller may have after its block
    kernel.step(KernelFlag.epsInSqrt, 0);
    const want = { params: p.slice(), grads: g, sqAvg: new Float32Array(n) };
    referenceStep(KernelFlag.epsInSqrt, s, want);
    expect(bitReport("params", new Float32Array(memory.buffer, params, n), want.params)).toBe("");
  });
});
