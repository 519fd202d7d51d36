// include/rmsprop-wasm.h against the TypeScript writer: a C module compiled with clang
// fills StepArgs blocks for hundreds of seeded option sets and step numbers, and each must
// hold exactly the bits src/step-scalars.ts and src/kernel-abi.ts write, with the same flags.
// Options the package refuses must be refused by the header too.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { createRmsprop, defaultOptions, kernelFlags, schedules, stepScalars, type RmspropOptions, type Schedule } from "../src/index.ts";
import { cosPi } from "../src/schedule-math.ts";
import { STEP_ARGS_BYTES, writeStepArgs } from "../src/kernel-abi.ts";
import { resolveOptions } from "../src/options.ts";
import { powU32 } from "../src/step-scalars.ts";
import { rng } from "./helpers/data.ts";
// @ts-expect-error: a plain .mjs build script without types
import { clangWasm } from "../examples/c-model/build.mjs";

const RMSPROP_INVALID = 0x80000000;
// The fixture's bits for the int options and for arrays it leaves out (c-header-probe.c).
const SWITCHES = {
  epsInSqrt: 1, lrInMomentum: 2, nesterov: 4, centered: 8, clampVariance: 16,
  centeredEpsSubtract: 32, decoupledWeightDecay: 64, maximize: 128, biasCorrection: 256,
} as const;
const OMIT = { momentumBuffer: 1, gradAvg: 2, params: 4, misalignedGrads: 8, args: 16, options: 32 } as const;

interface Probe {
  memory: WebAssembly.Memory;
  fill(
    t: number, lr: number, beta: number, eps: number, momentum: number, wd: number, initialScale: number,
    switches: number, n: number, omit: number, gradScale: number, clipValue: number,
  ): number;
  fill_defaults(t: number, n: number): number;
  args_at(): number;
  array_at(i: number): number;
  default_initial_scale(): number;
  cos_pi(p: number): number;
  schedule_linear(from: number, to: number, steps: number, t: number): number;
  schedule_cosine(from: number, to: number, steps: number, t: number): number;
  schedule_step(from: number, factor: number, every: number, t: number): number;
  schedule_exponential_staircase(from: number, rate: number, every: number, hasEnd: number, end: number, t: number): number;
  schedule_warmup_cosine(init: number, peak: number, warmup: number, steps: number, end: number, t: number): number;
  schedule_one_cycle(max: number, steps: number, pctStart: number, divFactor: number, finalDivFactor: number, t: number): number;
  schedule_one_cycle_momentum(base: number, max: number, steps: number, pctStart: number, t: number): number;
}

/** The schedule functions of include/rmsprop-wasm-schedules.h the probe exports. */
const SCHEDULE_EXPORTS = [
  "cos_pi", "schedule_linear", "schedule_cosine", "schedule_step", "schedule_exponential_staircase",
  "schedule_warmup_cosine", "schedule_one_cycle", "schedule_one_cycle_momentum",
];

let probe: Probe;

beforeAll(async () => {
  const bytes = clangWasm({
    source: new URL("fixtures/c-header-probe.c", import.meta.url),
    name: "c-header-probe",
    exports: ["fill", "fill_defaults", "args_at", "array_at", "default_initial_scale", ...SCHEDULE_EXPORTS],
    pages: 2,
  });
  const memory = new WebAssembly.Memory({ initial: 2 });
  // The fixture never steps: the kernel imports only have to exist for linking.
  const unused = () => {
    throw new Error("the probe must not call the kernel");
  };
  const { instance } = await WebAssembly.instantiate(bytes, {
    env: { memory },
    "rmsprop-wasm": { step: unused, first_nonfinite_f32: unused, sum_squares_f32: unused },
  });
  probe = { memory, ...(instance.exports as unknown as Omit<Probe, "memory">) };
}, 60_000);

/** The words of the block the C side filled. */
function cBlock(): Uint32Array {
  return new Uint32Array(probe.memory.buffer, probe.args_at(), STEP_ARGS_BYTES / 4).slice();
}

/** The block the TypeScript writer fills for the same arrays. */
function tsBlock(options: RmspropOptions, t: number, lr: number, n: number): Uint32Array {
  const o = resolveOptions(options);
  const block = new ArrayBuffer(STEP_ARGS_BYTES);
  const arrays = {
    params: probe.array_at(0),
    grads: probe.array_at(1),
    sqAvg: probe.array_at(2),
    momentumBuffer: (o.momentum as number) > 0 ? probe.array_at(3) : 0,
    gradAvg: o.centered ? probe.array_at(4) : 0,
  };
  writeStepArgs(new Uint32Array(block), new Float32Array(block), 0, arrays, n, stepScalars(o, t, lr), kernelFlags(o));
  return new Uint32Array(block);
}

function switchesOf(o: RmspropOptions): number {
  let s = 0;
  for (const key of Object.keys(SWITCHES) as (keyof typeof SWITCHES)[]) {
    const on = key === "centeredEpsSubtract" ? o.centeredEps === "subtract" : (o as Record<string, unknown>)[key] === true;
    if (on) s |= SWITCHES[key];
  }
  return s;
}

/** Fills through the header with `o`'s options at learning rate `lr`. */
function cFill(o: Required<Pick<RmspropOptions, "beta" | "eps" | "momentum" | "weightDecay" | "initialScale">> & RmspropOptions, t: number, lr: number, n: number, omit = 0): number {
  // The header takes numbers: the options here are never schedules.
  const num = (x: unknown) => x as number;
  const clipValue = o.clipValue === undefined || o.clipValue === null ? 0 : num(o.clipValue);
  return probe.fill(t, lr, num(o.beta), num(o.eps), num(o.momentum), num(o.weightDecay), o.initialScale, switchesOf(o), n, omit, num(o.gradScale ?? 1), clipValue) >>> 0;
}

/** Seeded option sets over every switch, with awkward numbers and some the package refuses. */
function randomCase(r: () => number) {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const logUniform = (lo: number, hi: number) => 10 ** (Math.log10(lo) + r() * (Math.log10(hi) - Math.log10(lo)));
  const positive = () => pick([0, 0, logUniform(1e-9, 10), logUniform(1e-9, 10), r(), 3e38, 1e20]);
  const bad = () => pick([-1e-3, NaN, Infinity, 1e39]);
  const momentum = r() < 0.5 ? 0 : pick([0.9, 0.99, r(), logUniform(1e-6, 1)]);
  const options = {
    beta: pick([0, 0.5, 0.9, 0.99, 0.999, r(), 1 - 1e-7, 0.9999999999999999]),
    eps: pick([0, 1e-8, 1e-7, 1e-10, logUniform(1e-12, 1), 3e38]),
    momentum,
    weightDecay: r() < 0.5 ? 0 : positive(),
    initialScale: pick([0, 1, 0.1]),
    epsInSqrt: r() < 0.5,
    lrInMomentum: r() < 0.5,
    nesterov: momentum > 0 ? r() < 0.5 : r() < 0.05, // sometimes without momentum: refused
    centered: r() < 0.5,
    clampVariance: r() < 0.5,
    centeredEps: r() < 0.5 ? "add" : "subtract",
    decoupledWeightDecay: r() < 0.5,
    maximize: r() < 0.5,
    biasCorrection: r() < 0.5,
    gradScale: r() < 0.6 ? 1 : pick([0.5, 1 / 1024, logUniform(1e-6, 1e6), 3e38]),
    clipValue: r() < 0.6 ? null : pick([1, 0.01, logUniform(1e-6, 1e6)]) as number | null,
  } satisfies RmspropOptions;
  // About one case in ten breaks one rule.
  if (r() < 0.1) {
    const key = pick(["beta", "eps", "momentum", "weightDecay", "initialScale", "gradScale", "clipValue"]);
    (options as Record<string, number | boolean | string | null>)[key] = key === "gradScale" ? pick([bad(), 0, 1e-50]) : key === "clipValue" ? pick([bad(), 1e-50]) : pick([bad(), 1]);
  }
  const lr = r() < 0.1 ? bad() : positive();
  const baseLr = r() < 0.5 ? lr : logUniform(1e-4, 1); // the other half is a per-step override
  const t = pick([1, 2, 3, 10, Math.floor(r() * 1000) + 1, Math.floor(r() * 2 ** 32) || 1, 2 ** 32 - 1, 1e6]);
  const n = Math.floor(r() * 8);
  return { options, lr, baseLr, t, n };
}

/** The package's verdict: the options create an optimizer whose first step's constants fit f32. */
async function packageAccepts(options: RmspropOptions): Promise<boolean> {
  try {
    (await createRmsprop(1, { ...options, backend: "js" })).dispose();
    return true;
  } catch {
    return false;
  }
}

describe("include/rmsprop-wasm.h", () => {
  it("fills the same 96 bytes and flags as the TypeScript writer for 600 seeded option sets and steps", async () => {
    const r = rng(13);
    let valid = 0, refused = 0;
    for (let k = 0; k < 600; k++) {
      const c = randomCase(r);
      const flags = cFill(c.options, c.t, c.lr, c.n);
      const context = JSON.stringify({ ...c, lr: String(c.lr) });
      if (!(await packageAccepts({ ...c.options, lr: c.lr }))) {
        expect(flags, context).toBe(RMSPROP_INVALID);
        expect(cBlock()[5], context).toBe(0); // n = 0: a step on the refused block does nothing
        refused++;
        continue;
      }
      expect(flags, context).toBe(kernelFlags(resolveOptions(c.options)));
      expect([...cBlock()], context).toEqual([...tsBlock({ ...c.options, lr: c.baseLr }, c.t, c.lr, c.n)]);
      valid++;
    }
    expect(valid).toBeGreaterThan(400);
    expect(refused).toBeGreaterThan(30);
  });

  it("fills bias correction's 1/(1 − β^t) like the package, where Math.pow would not", () => {
    const o = { ...defaultOptions, biasCorrection: true };
    const steps = [...Array.from({ length: 2000 }, (_, i) => i + 1), 65535, 65536, 1e7, 2 ** 31, 2 ** 32 - 1];
    // Close to 1, β^t's last f64 bit survives 1/(1 − β^t) and the f32 rounding: there the
    // choice of algorithm shows, and Math.pow disagrees with the header at some steps.
    for (let t = 2001; t < 200_000; t += 37) steps.push(t);
    let mathPowDiffers = 0;
    for (const beta of [0.9, 0.99, 0.999, 0.9999, 0.9999999, 1 - 1e-8, 1 - 2 ** -40]) {
      for (const t of steps) {
        expect(cFill({ ...o, beta }, t, 0.01, 4)).toBe(1);
        const invC = new Float32Array(cBlock().buffer)[13];
        expect(invC, `beta ${beta}, t ${t}`).toBe(stepScalars({ ...o, beta }, t, 0.01).invC);
        if (invC !== Math.fround(1 / (1 - Math.pow(beta, t)))) mathPowDiffers++;
      }
    }
    expect(mathPowDiffers).toBeGreaterThan(10);
  });

  it("rmsprop_default_options() is the package's defaultOptions", () => {
    for (const t of [1, 7]) {
      expect(probe.fill_defaults(t, 5)).toBe(kernelFlags(defaultOptions));
      expect([...cBlock()]).toEqual([...tsBlock({}, t, defaultOptions.lr as number, 5)]);
    }
    expect(probe.default_initial_scale()).toBe(defaultOptions.initialScale);
  });

  it("powU32 is exact where exact arithmetic allows and within an ulp of Math.pow elsewhere", () => {
    expect(powU32(0.5, 10)).toBe(2 ** -10);
    expect(powU32(3, 20)).toBe(3 ** 20);
    expect(powU32(0.9, 0)).toBe(1);
    expect(powU32(0, 5)).toBe(0);
    const r = rng(7);
    for (let k = 0; k < 1000; k++) {
      const beta = r(), t = Math.floor(r() * 200) + 1;
      const want = Math.pow(beta, t);
      expect(Math.abs(powU32(beta, t) - want)).toBeLessThanOrEqual(want * 2 ** -46); // ≤ 2·log2(t) roundings
    }
  });

  const valid = { ...defaultOptions, momentum: 0.9, centered: true };
  it.each([
    ["a NULL args pointer", valid, 1, OMIT.args],
    ["a NULL options pointer", valid, 1, OMIT.options],
    ["step 0 (steps count from 1)", valid, 0, 0],
    ["NULL params", valid, 1, OMIT.params],
    ["grads off 4-byte alignment", valid, 1, OMIT.misalignedGrads],
    ["no momentum buffer with momentum", valid, 1, OMIT.momentumBuffer],
    ["no grad_avg when centered", valid, 1, OMIT.gradAvg],
    ["NaN lr", { ...valid, lr: NaN }, 1, 0],
    ["negative eps", { ...valid, eps: -1e-8 }, 1, 0],
    ["beta = 1", { ...valid, beta: 1 }, 1, 0],
    ["infinite momentum", { ...valid, momentum: Infinity }, 1, 0],
    ["nesterov without momentum", { ...valid, momentum: 0, nesterov: true }, 1, OMIT.momentumBuffer],
    ["η·λ beyond f32", { ...valid, lr: 1e30, weightDecay: 1e30 }, 1, 0],
  ])("refuses %s: RMSPROP_INVALID and a block with n = 0", (_, options, t, omit) => {
    expect(cFill(valid, 3, 0.01, 6)).not.toBe(RMSPROP_INVALID);
    expect(cBlock()[5]).toBe(6);
    expect(cFill(options, t, options.lr as number, 6, omit)).toBe(RMSPROP_INVALID);
    if (!(omit & OMIT.args)) expect(cBlock()[5]).toBe(0);
  });

  it("the C example of docs/embedding.md compiles, and imports only the memory and the kernel's step", () => {
    const section = readFileSync("docs/embedding.md", "utf8").split("## Embedding from C, C++, Rust or Zig")[1];
    const code = section?.match(/```c\n([\s\S]*?)```/)?.[1];
    expect(code, "docs/embedding.md has a C example").toBeTruthy();
    const source = new URL("../build/c/docs-example.c", import.meta.url);
    mkdirSync(new URL(".", source), { recursive: true });
    writeFileSync(source, `#define N 64\n${code}`);
    const module = new WebAssembly.Module(clangWasm({ source, name: "docs-example", exports: ["train_step"], pages: 2 }));
    const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name} (${i.kind})`);
    expect(imports.sort()).toEqual(["env.memory (memory)", "rmsprop-wasm.step (function)"]);
  });

  it("without momentum or centered, NULL buffers are fine and their offsets are 0", () => {
    const flags = cFill({ ...defaultOptions }, 1, 0.01, 3, OMIT.momentumBuffer | OMIT.gradAvg);
    expect(flags).toBe(kernelFlags(defaultOptions));
    expect([...cBlock()]).toEqual([...tsBlock({}, 1, 0.01, 3)]);
    expect(cBlock()[3]).toBe(0);
    expect(cBlock()[4]).toBe(0);
  });
});

describe("include/rmsprop-wasm-schedules.h", () => {
  const { linear, cosine, step, exponential, join, warmupCosine, oneCycle, oneCycleMomentum, valueAt } = schedules;
  /** Every step from 0 to 2·length: the C value has the bits of schedules.valueAt. */
  const same = (c: (t: number) => number, s: Schedule, until: number) => {
    for (let t = 0; t <= until; t++) expect(Object.is(c(t), valueAt(s, t)), `step ${t}: ${c(t)} vs ${valueAt(s, t)}`).toBe(true);
  };

  it("the schedule example of docs/embedding.md compiles and gives the join's values", async () => {
    const section = readFileSync("docs/embedding.md", "utf8").split("## Embedding from C, C++, Rust or Zig")[1];
    const code = [...section.matchAll(/```c\n([\s\S]*?)```/g)].map((m) => m[1]).find((c) => c.includes("rmsprop-wasm-schedules.h"));
    expect(code, "docs/embedding.md has a C schedule example").toBeTruthy();
    const source = new URL("../build/c/docs-schedule-example.c", import.meta.url);
    mkdirSync(new URL(".", source), { recursive: true });
    writeFileSync(source, code!);
    const bytes = clangWasm({ source, name: "docs-schedule-example", exports: ["lr_at"], pages: 2 });
    const unused = () => {
      throw new Error("the example must not call the kernel");
    };
    const { instance } = await WebAssembly.instantiate(bytes, {
      env: { memory: new WebAssembly.Memory({ initial: 2 }) },
      "rmsprop-wasm": { step: unused, first_nonfinite_f32: unused, sum_squares_f32: unused },
    });
    const lrAt = instance.exports.lr_at as (t: number) => number;
    const lr = join([linear({ from: 1e-5, to: 1e-3, steps: 100 }), cosine({ from: 1e-3, to: 0, steps: 900 })], [100]);
    for (const t of [1, 50, 100, 101, 102, 600, 1000, 1001, 5000]) expect(lrAt(t), `t = ${t}`).toBe(valueAt(lr, t - 1));
  });

  it("cos(π·p) has the bits of the package's series on 4097 points", () => {
    for (let i = 0; i <= 4096; i++) expect(probe.cos_pi(i / 4096)).toBe(cosPi(i / 4096));
  });

  it("each schedule it has gives schedules.valueAt's bits at every step", () => {
    const r = rng(29);
    for (let k = 0; k < 20; k++) {
      const [a, b] = [r() * 0.1, r() * 0.1];
      const n = 1 + Math.floor(r() * 60);
      same((t) => probe.schedule_linear(a, b, n, t), linear({ from: a, to: b, steps: n }), 2 * n);
      same((t) => probe.schedule_cosine(a, b, n, t), cosine({ from: a, to: b, steps: n }), 2 * n);
      const factor = 0.5 + r() * 0.5;
      const every = 1 + (k % 4);
      same((t) => probe.schedule_step(a, factor, every, t), step({ from: a, factor, every }), 3 * n);
      // A floor below a decay, or a ceiling above a growth, on every other case.
      const rate = 0.8 + r() * 0.4;
      const end = k % 2 ? (rate < 1 ? a / 10 : a * 10) : null;
      same((t) => probe.schedule_exponential_staircase(a, rate, every, end === null ? 0 : 1, end ?? 0, t), exponential({ from: a, rate, every, staircase: true, end }), 3 * n);
      const warmup = Math.floor(r() * n);
      same((t) => probe.schedule_warmup_cosine(b, a, warmup, n + warmup + 1, a / 100, t), warmupCosine({ init: b, peak: a, warmup, steps: n + warmup + 1, end: a / 100 }), 2 * n + warmup);
      const total = 10 + Math.floor(r() * 90);
      const pct = 0.2 + r() * 0.5;
      same((t) => probe.schedule_one_cycle(a, total, pct, 25, 1e4, t), oneCycle({ max: a, steps: total, pctStart: pct }), total + 5);
      same((t) => probe.schedule_one_cycle_momentum(0.85, 0.95, total, pct, t), oneCycleMomentum({ steps: total, pctStart: pct }), total + 5);
    }
  });
});

