// Worker threads over shared memory: bit-identical to one thread for every variant and
// size, the non-finite policies across slices, the crossover, and dispose.
import { afterAll, describe, expect, it } from "vitest";
import { createRmsprop, type Rmsprop, type RmspropOptions } from "../src/index.ts";
import { awkwardFloats, bitReport } from "./helpers/data.ts";
import { everyKernelVariant } from "./helpers/optimizers.ts";

const made: Rmsprop[] = [];
afterAll(() => {
  for (const opt of made) {
    try {
      opt.dispose();
    } catch {
      // already disposed by the test
    }
  }
});

async function make(n: number, options: RmspropOptions): Promise<Rmsprop> {
  const opt = await createRmsprop(n, { nonFinite: "ignore", minParamsPerThread: 1, ...options });
  made.push(opt);
  return opt;
}

async function expectSameAsOneThread(n: number, options: RmspropOptions, threads: number, seed: number) {
  const one = await make(n, { ...options, threads: 1 });
  const many = await make(n, { ...options, threads });
  expect(many.threads).toBe(Math.min(threads, n));
  for (const opt of [one, many]) opt.params.set(awkwardFloats(n, seed));
  for (let t = 0; t < 3; t++) {
    const grads = awkwardFloats(n, seed + 10 + t);
    for (const opt of [one, many]) {
      opt.grads.set(grads);
      await opt.step(t === 1 ? { lr: 0.002 } : undefined);
    }
  }
  const report = [
    bitReport("params", many.params, one.params),
    bitReport("sqAvg", many.state.sqAvg, one.state.sqAvg),
    one.state.momentumBuffer ? bitReport("momentumBuffer", many.state.momentumBuffer!, one.state.momentumBuffer) : "",
    one.state.gradAvg ? bitReport("gradAvg", many.state.gradAvg!, one.state.gradAvg) : "",
  ].filter(Boolean);
  expect(report, `${JSON.stringify(options)}, n = ${n}, threads = ${threads}`).toEqual([]);
  one.dispose();
  many.dispose();
}

describe("threads", () => {
  it.each([1, 2, 3, 4, 5, 7, 8, 9, 17, 1023, 1025])("n = %i on 2 and 3 threads equals 1 thread, bit for bit", async (n) => {
    await expectSameAsOneThread(n, {}, 2, n);
    await expectSameAsOneThread(n, { backend: "scalar" }, 3, n);
  });

  it("every kernel variant on 2 threads equals 1 thread", async () => {
    for (const variant of everyKernelVariant()) await expectSameAsOneThread(1031, variant, 2, 7);
  });

  it("parameter groups are split across threads too", async () => {
    const groups = [
      { size: 333, momentum: 0.9 },
      { size: 5, lr: 0.5, centered: true },
      { size: 700, weightDecay: 0.1 },
    ];
    await expectSameAsOneThread(1038, { groups }, 3, 11);
  });

  it("a large n runs on 2 threads by default crossover, a small one on 1", async () => {
    const big = await createRmsprop(32_768, { threads: 2 });
    const small = await createRmsprop(32_767, { threads: 2 });
    made.push(big, small);
    expect(big.threads).toBe(2);
    expect(small.threads).toBe(1);
    expect(big.options.minParamsPerThread).toBe(16384);
  });

  it.each(["throw", "skip"] as const)('nonFinite "%s" finds the first bad gradient in any slice and changes nothing', async (nonFinite) => {
    const n = 4099;
    const opt = await make(n, { threads: 3, nonFinite, momentum: 0.5 });
    opt.params.set(awkwardFloats(n, 1));
    opt.grads.set(awkwardFloats(n, 2));
    await opt.step();
    for (const bad of [0, 1366, 1367, 2800, 4098]) {
      const before = [opt.params.slice(), opt.state.sqAvg.slice(), opt.state.momentumBuffer!.slice()];
      opt.grads[bad] = NaN;
      if (bad + 1500 < n) opt.grads[bad + 1500] = -Infinity;
      if (nonFinite === "throw") {
        await expect(async () => opt.step()).rejects.toThrow(`grads[${bad}] is NaN`);
      } else {
        expect(await opt.step()).toEqual({ applied: false, nonFiniteIndex: bad, stepCount: 1 });
      }
      expect([opt.params, opt.state.sqAvg, opt.state.momentumBuffer]).toEqual(before);
      opt.grads.set(awkwardFloats(n, 2));
    }
    expect((await opt.step()).applied).toBe(true);
    expect(opt.stepCount).toBe(2);
  });

  it("thousands of back-to-back regions, with bad gradients among them, keep the bits of 1 thread", async () => {
    // Exercises the barrier and the counters while the workers stay awake (spinning).
    const n = 777;
    const one = await make(n, { nonFinite: "skip", centered: true });
    const three = await make(n, { nonFinite: "skip", centered: true, threads: 3 });
    expect(three.threads).toBe(3);
    const base = awkwardFloats(n, 5);
    for (const opt of [one, three]) opt.params.set(awkwardFloats(n, 6));
    const skipped: number[][] = [[], []];
    for (let t = 0; t < 3000; t++) {
      const bad = t % 7 === 3 ? (t * 131) % n : -1;
      [one, three].forEach((opt, k) => {
        opt.grads.set(base);
        opt.grads[(t * 17) % n] *= -1;
        if (bad >= 0) opt.grads[bad] = Infinity;
        const result = opt.step() as { applied: boolean; nonFiniteIndex: number };
        if (!result.applied) skipped[k].push(result.nonFiniteIndex);
      });
    }
    expect(skipped[1]).toEqual(skipped[0]);
    expect(skipped[0].length).toBe(429);
    expect(bitReport("params", three.params, one.params)).toBe("");
    expect(bitReport("gradAvg", three.state.gradAvg!, one.state.gradAvg!)).toBe("");
  });

  it("steps far apart wake sleeping workers, or run without them, and keep the bits of 1 thread", async () => {
    // Past the bounded spin the workers sleep on the futex. The caller then usually does
    // a sleeping worker's share itself, and the worker wakes to a region already over: it
    // must claim nothing, also after a skipped step, whose shares no one may step late.
    const n = 2053;
    const one = await make(n, { nonFinite: "skip", momentum: 0.9 });
    const three = await make(n, { nonFinite: "skip", momentum: 0.9, threads: 3 });
    for (const opt of [one, three]) opt.params.set(awkwardFloats(n, 8));
    for (let t = 0; t < 24; t++) {
      if (t % 2 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      const grads = awkwardFloats(n, 20 + t);
      if (t % 3 === 1) grads[(t * 97) % n] = NaN;
      const results = [one, three].map((opt) => {
        opt.grads.set(grads);
        return opt.step();
      });
      expect(results[1]).toEqual(results[0]);
    }
    expect(three.stepCount).toBe(16);
    expect(bitReport("params", three.params, one.params)).toBe("");
    expect(bitReport("sqAvg", three.state.sqAvg, one.state.sqAvg)).toBe("");
    expect(bitReport("momentumBuffer", three.state.momentumBuffer!, one.state.momentumBuffer!)).toBe("");
  });

  it("an idle threaded optimizer costs no CPU: its workers stop spinning and sleep", async () => {
    const opt = await make(100_000, { threads: 2 });
    opt.grads.fill(0.5);
    for (let t = 0; t < 50; t++) opt.step();
    await new Promise((resolve) => setTimeout(resolve, 20)); // past the spin
    const before = process.cpuUsage();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const used = process.cpuUsage(before);
    // A worker that kept spinning would burn the whole 300 ms of a core.
    expect((used.user + used.system) / 1000).toBeLessThan(60);
  });

  it("refuses threads with the js backend, and dispose ends the workers", async () => {
    await expect(createRmsprop(10, { threads: 2, backend: "js" })).rejects.toThrow(/options.threads = 2 needs a wasm backend/);
    const opt = await make(1000, { threads: 4 });
    expect(opt.threads).toBe(4);
    opt.dispose();
    expect(() => opt.step()).toThrow(/disposed/);
  });
});
