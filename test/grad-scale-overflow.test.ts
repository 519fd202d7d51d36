// A finite gradient that gradScale overflows is a non-finite gradient: nonFinite "throw" and
// "skip" judge each gradient after gradScale, as the kernel uses it, on one thread, on the
// pool and in the tfjs adapter; "ignore" lets IEEE arithmetic propagate.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRmsprop, type RmspropOptions } from "../src/index.ts";
import { machineOverride } from "../src/machine.ts";
import { testing } from "../src/pool/testing.ts";
import { tfjsRmsprop } from "../src/tfjs/index.ts";

// Times 2 this is ∞ in f32 (3e38 itself is finite).
const HUGE = 3e38;

beforeAll(() => {
  machineOverride.threads = 2;
});
afterAll(() => {
  machineOverride.threads = undefined;
  testing.threads = undefined;
});

/** The optimizers under test: one thread (three backends) and two threads. */
const setups: [string, RmspropOptions][] = [
  ["simd", { backend: "simd" }],
  ["scalar", { backend: "scalar" }],
  ["js", { backend: "js" }],
  ["2 threads", { threads: 2, minParamsPerThread: 1 }],
];

describe.each(setups)("gradScale overflow on %s", (_, setup) => {
  async function scaled(n: number, bad: number, extra: RmspropOptions = {}) {
    testing.threads = 2; // the pool's own scan, not the caller alone
    const opt = await createRmsprop(n, { ...setup, ...extra });
    expect(opt.threads).toBe(setup.threads ?? 1);
    opt.params.fill(0.5);
    opt.grads.fill(0.1);
    opt.grads[bad] = HUGE;
    const before = [opt.params.slice(), opt.state.sqAvg.slice()];
    return { opt, before };
  }

  it.each([4, 37, 4099])('"throw" refuses grads = [..., 3e38, ...] with step({ gradScale: 2 }) at n = %i', async (n) => {
    const bad = n - 2;
    const { opt, before } = await scaled(n, bad);
    expect(() => opt.stepSync({ gradScale: 2 })).toThrow(
      new RegExp(`grads\\[${bad}\\] is 3\\.0*\\d*e\\+38, which overflows f32 when multiplied by gradScale; the step was not applied`),
    );
    expect([opt.params, opt.state.sqAvg]).toEqual(before);
    expect(opt.stepCount).toBe(0);
    // Scaled by 1 the same gradient is finite, and steps.
    expect(opt.stepSync().applied).toBe(true);
    opt.dispose();
  });

  it('"skip" skips it, and a gradScale option set at creation counts the same', async () => {
    const { opt, before } = await scaled(64, 0, { nonFinite: "skip", gradScale: 4 });
    expect(opt.stepSync()).toEqual({ applied: false, nonFiniteIndex: 0, stepCount: 0 });
    expect([opt.params, opt.state.sqAvg]).toEqual(before);
    opt.dispose();
  });

  it("a group's own gradScale is the one its gradients are judged by", async () => {
    testing.threads = 2;
    const opt = await createRmsprop(80, { ...setup, nonFinite: "skip", groups: [{ size: 40 }, { size: 40, gradScale: 4 }] });
    opt.grads.fill(0.1);
    opt.grads[10] = HUGE; // group 0, scale 1: finite
    expect(opt.stepSync().applied).toBe(true);
    opt.grads[10] = 0.1;
    opt.grads[50] = HUGE; // group 1, scale 4: ∞
    expect(opt.stepSync()).toMatchObject({ applied: false, nonFiniteIndex: 50 });
    // A step override does not reach a group with its own gradScale.
    opt.grads[50] = 0.1;
    opt.grads[10] = HUGE;
    expect(opt.stepSync({ gradScale: 2 })).toMatchObject({ applied: false, nonFiniteIndex: 10 });
    opt.dispose();
  });

  it('"ignore" steps it, as IEEE arithmetic says', async () => {
    const { opt } = await scaled(8, 3, { nonFinite: "ignore" });
    expect(opt.stepSync({ gradScale: 2 }).applied).toBe(true);
    expect(opt.state.sqAvg[3]).toBe(Infinity);
    expect(Number.isNaN(opt.params[3])).toBe(true);
    opt.dispose();
  });
});

describe("gradScale overflow in the tfjs adapter", () => {
  it.each(["simd", "js"] as const)('"throw" and "skip" judge the scaled gradient (%s)', async (backend) => {
    await tf.setBackend("cpu");
    const v = tf.variable(tf.tensor1d([0.5, 0.5, 0.5, 0.5]), true, `overflow_${backend}`);
    const opt = await tfjsRmsprop([v], { backend });
    const grads = { [v.name]: tf.tensor1d([HUGE, 0.1, 0.1, 0.1]) };
    expect(() => opt.applyGradients(grads, { gradScale: 2 })).toThrow(/index 0, which overflows f32 when multiplied by gradScale/);
    expect(Array.from(v.dataSync())).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(opt.iterations).toBe(0);
    const skip = await tfjsRmsprop([v], { backend, nonFinite: "skip", gradScale: 2 });
    skip.applyGradients(grads);
    expect(Array.from(v.dataSync())).toEqual([0.5, 0.5, 0.5, 0.5]);
    expect(skip.iterations).toBe(0);
    opt.dispose();
    skip.dispose();
    v.dispose();
  });
});
