// stateBits: 8 in the optimizer: the option and its checks, the groups that stay f32, the
// step against the hand-driven 8-bit reference (test/helpers/q8-harness.ts, which runs
// src/reference-q8.ts) on every backend and awkward lengths, threads against one thread,
// and the views and reads of the state. Bytes and limits: test/state-bits-memory.test.ts.
import { afterAll, describe, expect, it } from "vitest";
import { createRmsprop, type Rmsprop, type RmspropOptions } from "../src/index.ts";
import { machineOverride } from "../src/machine.ts";
import { testing } from "../src/pool/testing.ts";
import { dequantizeBlockwise, QUANT_BLOCK } from "../src/quantization.ts";
import { createQ8Harness, type Q8ArrayName } from "./helpers/q8-harness.ts";
import { bitReport, uniformFloats } from "./helpers/data.ts";
import { Q8_ROWS, type RmspropState8 } from "../src/state-arrays.ts";

machineOverride.threads = 64;
afterAll(() => {
  machineOverride.threads = undefined;
});

const VARIANTS: RmspropOptions[] = [
  { lr: 0.01 },
  { lr: 0.01, momentum: 0.9, weightDecay: 0.01 },
  { lr: 0.005, centered: true, momentum: 0.5, nesterov: true, emaDecay: 0.9 },
  { lr: 0.01, centered: true, epsInSqrt: false, biasCorrection: true, clipValue: 0.5 },
];

/** Codes and scales equal, element by element. */
function expectSameCodes(name: string, got: { codes: Uint8Array; scales: Float32Array }, want: { codes: Uint8Array; scales: Float32Array }): void {
  expect(bitReport(`${name} scales`, got.scales, want.scales)).toBe("");
  const i = got.codes.findIndex((c, k) => c !== want.codes[k]);
  expect(i, `${name} code ${i}: ${got.codes[i]} != ${want.codes[i]}`).toBe(-1);
  expect(got.codes.length).toBe(want.codes.length);
}

/** Steps `opt` and the reference harness with the same gradients; returns the optimizer. */
async function againstReference(n: number, options: RmspropOptions, backend: "js" | "scalar" | "simd", steps = 4): Promise<void> {
  const opt = await createRmsprop(n, { ...options, stateBits: 8, backend });
  const ref = await createQ8Harness(n, options, "js");
  const start = uniformFloats(n, 7);
  opt.params.set(start);
  ref.params.set(start);
  for (let t = 0; t < steps; t++) {
    const g = uniformFloats(n, 100 + t, 0.1 * (t + 1));
    opt.grads.set(g);
    ref.grads.set(g);
    await opt.step();
    ref.step();
  }
  expect(bitReport("params", opt.params, ref.params)).toBe("");
  for (const name of Object.keys(ref.quantized) as Q8ArrayName[]) {
    expectSameCodes(name, opt.state8[name]!, ref.quantized[name]!);
    expect(bitReport(`readState ${name}`, opt.readState(name), ref.decoded(name))).toBe("");
  }
  if (ref.ema) expect(bitReport("ema", opt.state.ema!, ref.ema)).toBe("");
  opt.dispose();
}

describe("stateBits: the option", () => {
  it("defaults to 32, and 8 or 32 is all it takes, at the top level and per group", async () => {
    const opt = await createRmsprop(10);
    expect(opt.options.stateBits).toBe(32);
    opt.dispose();
    await expect(createRmsprop(10, { stateBits: 16 as 8 })).rejects.toThrow(RangeError);
    await expect(createRmsprop(10, { stateBits: 16 as 8 })).rejects.toThrow(/options\.stateBits must be 32 .* or 8 .*; got 16/);
    await expect(createRmsprop(10, { stateBits: "8" as unknown as 8 })).rejects.toThrow(TypeError);
    await expect(createRmsprop(10, { groups: [{ size: 10, stateBits: 4 as 8 }] })).rejects.toThrow(/options\.groups\[0\]\.stateBits must be 32/);
  });

  it("setOptions refuses it, saying it changes the storage and what to do instead", async () => {
    const opt = await createRmsprop(5000, { stateBits: 8, groups: [{ size: 5000 }] });
    expect(() => opt.setOptions({ stateBits: 32 })).toThrow(/options\.stateBits cannot go from 8 to 32: it decides how S, M and G are stored; restoreRmsprop/);
    expect(() => opt.groups[0].setOptions({ stateBits: 32 })).toThrow(/options\.groups\[0\]\.stateBits cannot go from 8 to 32/);
    expect(opt.options.stateBits).toBe(8);
    opt.dispose();
  });

  it("a group of fewer than 4096 parameters keeps f32 state (bitsandbytes' min_8bit_size)", async () => {
    const small = await createRmsprop(4095, { stateBits: 8 });
    expect(small.state.sqAvg).toBeInstanceOf(Float32Array);
    expect(small.state8).toEqual({});
    small.dispose();
    const mixed = await createRmsprop(4096 + 100, { stateBits: 8, momentum: 0.9, groups: [{ size: 4096 }, { size: 100 }] });
    expect(mixed.groups[0].state8.sqAvg!.codes.length).toBe(4096);
    expect(mixed.groups[0].state8.momentumBuffer!.scales.length).toBe(4096 / QUANT_BLOCK);
    expect(mixed.groups[1].state.sqAvg!.length).toBe(100);
    expect(mixed.groups[1].state8).toEqual({});
    expect(() => mixed.state.sqAvg).toThrow(/some groups keep S in 8 bits and others in f32; opt\.readState\("sqAvg"\)/);
    mixed.dispose();
  });
});

describe("stateBits: 8, the step", () => {
  for (const backend of ["js", "scalar", "simd"] as const) {
    for (const [v, options] of VARIANTS.entries()) {
      // Not a multiple of 4, of 512, and one that is.
      for (const n of [4099, 9 * QUANT_BLOCK + 7, 10 * QUANT_BLOCK]) {
        it(`${backend}, variant ${v}, n = ${n}: the reference's bits`, async () => {
          await againstReference(n, options, backend);
        });
      }
    }
  }

  it("groups: an 8-bit group beside an f32 one, each as its own optimizer", async () => {
    const n8 = 4096 + 300, n32 = 5000;
    const o8: RmspropOptions = { lr: 0.02, momentum: 0.9 };
    const o32: RmspropOptions = { lr: 0.01, momentum: 0.5 };
    const both = await createRmsprop(n8 + n32, { groups: [{ size: n8, ...o8, stateBits: 8 }, { size: n32, ...o32 }] });
    const ref8 = await createQ8Harness(n8, o8, "js");
    const ref32 = await createRmsprop(n32, { ...o32, backend: "js" });
    const start = uniformFloats(n8 + n32, 3);
    both.params.set(start);
    ref8.params.set(start.subarray(0, n8));
    ref32.params.set(start.subarray(n8));
    for (let t = 0; t < 3; t++) {
      const g = uniformFloats(n8 + n32, 50 + t);
      both.grads.set(g);
      ref8.grads.set(g.subarray(0, n8));
      ref32.grads.set(g.subarray(n8));
      both.step();
      ref8.step();
      ref32.step();
    }
    expect(bitReport("8-bit group", both.groups[0].params, ref8.params)).toBe("");
    expect(bitReport("f32 group", both.groups[1].params, ref32.params)).toBe("");
    expectSameCodes("S", both.groups[0].state8.sqAvg!, ref8.quantized.sqAvg!);
    expect(bitReport("f32 M", both.groups[1].state.momentumBuffer!, ref32.state.momentumBuffer!)).toBe("");
    const s = both.readState("sqAvg");
    expect(bitReport("readState, 8-bit part", s.subarray(0, n8), ref8.decoded("sqAvg"))).toBe("");
    expect(bitReport("readState, f32 part", s.subarray(n8), ref32.state.sqAvg)).toBe("");
    both.dispose();
    ref32.dispose();
  });

  it("units clipped per tensor start their own blocks, and step as the f32 optimizer does, within the format's error", async () => {
    const sizes = [4096 + 5, 3000];
    const groups = [{ size: sizes[0] + sizes[1], tensors: [{ name: "a", size: sizes[0] }, { name: "b", size: sizes[1] }] }];
    const o8 = await createRmsprop(sizes[0] + sizes[1], { lr: 0.01, clipNorm: 0.5, stateBits: 8, groups });
    const o32 = await createRmsprop(sizes[0] + sizes[1], { lr: 0.01, clipNorm: 0.5, groups });
    for (const opt of [o8, o32]) {
      opt.grads.set(uniformFloats(sizes[0] + sizes[1], 9));
      opt.step();
    }
    expect(o8.state8.sqAvg!.scales.length).toBe(Math.ceil(sizes[0] / QUANT_BLOCK) + Math.ceil(sizes[1] / QUANT_BLOCK));
    // Each tensor clipped by its own norm: S is (1 − β)·(f·g)² with its own factor f, to 3 bits of mantissa.
    const got = o8.readState("sqAvg"), want = o32.state.sqAvg;
    for (let i = 0; i < got.length; i++) if (want[i] > 1e-20) expect(Math.abs(got[i] - want[i]) / want[i]).toBeLessThan(0.13);
    o8.dispose();
    o32.dispose();
  });
});

describe("stateBits: 8 with the other options that place or guard a step", () => {
  it("in a memory another tool owns, at an offset: the bits of an optimizer in its own memory", async () => {
    const n = 5000;
    const memory = new WebAssembly.Memory({ initial: 4 });
    const placed = await createRmsprop(n, { momentum: 0.9, stateBits: 8, memory, offset: 64 * 100 });
    const own = await createRmsprop(n, { momentum: 0.9, stateBits: 8 });
    for (let t = 0; t < 3; t++) {
      for (const opt of [placed, own]) {
        opt.grads.set(uniformFloats(n, 60 + t));
        opt.step();
      }
    }
    expect(bitReport("params", placed.params, own.params)).toBe("");
    expectSameCodes("M", placed.state8.momentumBuffer!, own.state8.momentumBuffer!);
    placed.dispose();
    own.dispose();
  });

  it('nonFinite "skip": a step with a NaN gradient leaves the codes and scales as they were', async () => {
    const n = 4100;
    const opt = await createRmsprop(n, { momentum: 0.9, stateBits: 8, nonFinite: "skip" });
    opt.grads.set(uniformFloats(n, 1));
    opt.step();
    const codes = opt.state8.sqAvg!.codes.slice(), scales = opt.state8.sqAvg!.scales.slice();
    opt.grads[4099] = NaN;
    expect(opt.stepSync().applied).toBe(false);
    expect(opt.state8.sqAvg!.codes).toEqual(codes);
    expect(opt.state8.sqAvg!.scales).toEqual(scales);
    opt.dispose();
  });
});

describe("stateBits: 8 on threads", () => {
  const run = async (options: RmspropOptions, n: number, threads: number): Promise<Rmsprop> => {
    const opt = await createRmsprop(n, { ...options, stateBits: 8, threads, minParamsPerThread: 1 });
    opt.params.set(uniformFloats(n, 1));
    // Every step a region of `threads` (the choice may otherwise step alone).
    testing.threads = threads > 1 ? threads : undefined;
    try {
      for (let t = 0; t < 5; t++) {
        opt.grads.set(uniformFloats(n, 20 + t));
        await opt.step();
        if (threads > 1) expect(opt.threading.lastStep!.threads).toBe(threads);
      }
    } finally {
      testing.threads = undefined;
    }
    return opt;
  };
  const groups: RmspropOptions = {
    momentum: 0.9,
    groups: [
      { size: 6001 },
      { size: 1000, stateBits: 32 },
      { size: 4788, clipNorm: 1, tensors: [{ name: "a", size: 4096 }, { name: "b", size: 692 }] },
    ],
  };
  for (const [v, options] of [...VARIANTS, groups].entries()) {
    it(`variant ${v}: 2 and 3 threads give one thread's bits (shares on block boundaries)`, async () => {
      const n = 23 * QUANT_BLOCK + 13;
      const one = await run(options, n, 1);
      for (const threads of [2, 3]) {
        const many = await run(options, n, threads);
        expect(many.threads).toBe(threads);
        expect(bitReport("params", many.params, one.params)).toBe("");
        for (const name of Q8_ROWS.map((row) => row.name as keyof RmspropState8)) {
          if (one.groups[0].state8[name]) expectSameCodes(name, many.groups[0].state8[name]!, one.groups[0].state8[name]!);
          if (one.groups.length > 1 && one.groups[0].state8[name]) expect(bitReport(name, many.readState(name), one.readState(name))).toBe("");
        }
        many.dispose();
      }
      one.dispose();
    });
  }
});

describe("stateBits: 8, reading the state", () => {
  it("state8 holds live views of codes and scales; readState decodes them; opt.state says where they went", async () => {
    const n = 6000;
    const opt = await createRmsprop(n, { stateBits: 8, momentum: 0.9, emaDecay: 0.99 });
    expect(opt.state8.sqAvg!.format).toBe("u8e5m3");
    expect(opt.state8.momentumBuffer!.format).toBe("s8e3m4");
    expect(opt.state8.sqAvg!.codes).toBeInstanceOf(Uint8Array);
    expect(opt.state8.sqAvg!.codes.length).toBe(n);
    expect(opt.state8.sqAvg!.scales.length).toBe(Math.ceil(n / QUANT_BLOCK));
    expect(() => opt.state.sqAvg).toThrow(/opt\.state\.sqAvg: this optimizer keeps S in 8 bits \(stateBits: 8\); opt\.readState\("sqAvg"\)/);
    expect(opt.state.ema).toBeInstanceOf(Float32Array);
    // Before a step: S = initialScale = 0 is stored as the bottom code; M is exactly 0.
    expect(opt.readState("momentumBuffer").every((x) => x === 0)).toBe(true);
    opt.grads.set(uniformFloats(n, 4));
    opt.step();
    const codes = opt.state8.sqAvg!.codes;
    const byHand = new Float32Array(n);
    dequantizeBlockwise("u8e5m3", opt.state8.sqAvg!, byHand);
    expect(bitReport("readState", opt.readState("sqAvg"), byHand)).toBe("");
    // S after one step from 0 is (1 − β)·g²: within the format's relative error.
    const g = uniformFloats(n, 4);
    for (let i = 0; i < n; i += 37) {
      const want = 0.1 * g[i] * g[i];
      if (want > 1e-6) expect(Math.abs(byHand[i] - want) / want).toBeLessThan(0.13);
    }
    // A copy: writing it changes nothing.
    const copy = opt.readState("sqAvg");
    copy.fill(5);
    expect(opt.state8.sqAvg!.codes).toBe(codes);
    expect(opt.readState("sqAvg")).toEqual(byHand);
    expect(() => opt.readState("gradAvg")).toThrow(/readState\(name\): name must be a state array this optimizer keeps \("sqAvg", "momentumBuffer", "ema"\); got "gradAvg"/);
    expect(() => opt.readState("params" as "sqAvg")).toThrow(TypeError);
    opt.dispose();
    expect(() => opt.readState("sqAvg")).toThrow(/disposed/);
  });

  it("readState of an f32 optimizer is a copy of its views", async () => {
    const opt = await createRmsprop(100, { centered: true });
    opt.grads.set(uniformFloats(100, 2));
    opt.step();
    expect(opt.readState("gradAvg")).toEqual(opt.state.gradAvg);
    expect(opt.readState("sqAvg")).not.toBe(opt.state.sqAvg);
    opt.dispose();
  });
});
