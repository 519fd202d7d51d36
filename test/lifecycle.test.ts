// Views, many optimizers side by side, backends, and dispose.
import { afterAll, describe, expect, it } from "vitest";
import { createRmsprop, hasSimd, type Rmsprop } from "../src/index.ts";
import { uniformFloats } from "./helpers/data.ts";
import { machineOverride } from "../src/machine.ts";

// Some tests here assert 2 threads: the core count is fixed, whatever this machine has.
machineOverride.threads = 2;
afterAll(() => {
  machineOverride.threads = undefined;
});

describe("optimizer lifecycle", () => {
  it("params, grads and state are zero-copy views of one memory", async () => {
    const opt = await createRmsprop(10, { momentum: 0.9, centered: true, backend: "simd" });
    const { params, grads, state } = opt;
    expect(params).toBeInstanceOf(Float32Array);
    expect(params.length).toBe(10);
    expect(grads.buffer).toBe(params.buffer);
    expect(state.sqAvg.buffer).toBe(params.buffer);
    expect(state.momentumBuffer!.buffer).toBe(params.buffer);
    expect(state.gradAvg!.buffer).toBe(params.buffer);
    for (const view of [params, grads, state.sqAvg, state.momentumBuffer!, state.gradAvg!]) {
      expect(view.byteOffset % 64).toBe(0);
    }
    params[3] = 5;
    grads[3] = 1;
    opt.step();
    expect(opt.params).toBe(params);
    expect(params[3]).toBeLessThan(5);
    expect(state.sqAvg[3]).toBeCloseTo(0.1, 7);
  });

  it("state arrays exist only where the options need them", async () => {
    const opt = await createRmsprop(4);
    expect(Object.keys(opt.state)).toEqual(["sqAvg"]);
    const tf1 = await createRmsprop(4, { initialScale: 1 });
    expect([...tf1.state.sqAvg]).toEqual([1, 1, 1, 1]);
  });

  it("auto picks SIMD on an engine that has it, and says which", async () => {
    expect(hasSimd()).toBe(true); // Node 20 has SIMD; the scalar build is tested explicitly
    expect((await createRmsprop(1)).backend).toBe("simd");
    expect((await createRmsprop(1, { backend: "scalar" })).backend).toBe("scalar");
    expect((await createRmsprop(1, { backend: "js" })).backend).toBe("js");
  });

  it("views stay valid while other optimizers are created and disposed", async () => {
    const a = await createRmsprop(1000);
    a.params.set(uniformFloats(1000, 1));
    const snapshot = a.params.slice();
    const others = await Promise.all(Array.from({ length: 20 }, (_, i) => createRmsprop(50_000 + i)));
    for (const o of others) {
      o.params.fill(9);
      o.grads.fill(1);
      o.step();
      o.dispose();
    }
    expect(a.params).toEqual(snapshot);
    expect(a.params.length).toBe(1000);
  });

  it("after dispose every use throws an Error that says so", async () => {
    const opt = await createRmsprop(8);
    opt.dispose();
    for (const use of [
      () => opt.n,
      () => opt.backend,
      () => opt.threads,
      () => opt.byteLength,
      () => opt.options,
      () => opt.groups,
      () => opt.tensors,
      () => opt.save(),
      () => opt.load(new Uint8Array(8)),
      () => opt.params,
      () => opt.grads,
      () => opt.state,
      () => opt.stepCount,
      () => opt.step(),
    ]) {
      expect(use).toThrow(/disposed/);
    }
  });

  it("dispose() is idempotent, threads included: a second call does nothing", async () => {
    const opt = await createRmsprop(1024, { threads: 2, minParamsPerThread: 256 });
    expect(opt.threads).toBe(2);
    opt.dispose();
    expect(() => opt.dispose()).not.toThrow();
    expect(() => opt[Symbol.dispose]()).not.toThrow();
    expect(() => opt.step()).toThrow(/disposed/);
  });

  it("`using` frees the optimizer at the end of its scope", async () => {
    let escaped: Rmsprop | undefined;
    {
      using opt = await createRmsprop(1024, { threads: 2, minParamsPerThread: 256 });
      opt.grads.fill(1);
      await opt.step();
      escaped = opt;
      expect(opt.stepCount).toBe(1);
    }
    expect(() => escaped.params).toThrow(/disposed/);
  });

  it("tensor names are data, not object keys with meaning", async () => {
    const opt = await createRmsprop(3, { groups: [{ tensors: [{ name: "__proto__", size: 1 }, { name: "constructor", size: 2 }] }] });
    expect(Object.keys(opt.tensors)).toEqual(["__proto__", "constructor"]);
    expect(opt.tensors["constructor"].size).toBe(2);
    expect((opt.tensors as Record<string, unknown>).toString).toBeUndefined();
  });

  it("stepCount counts applied steps", async () => {
    const opt = await createRmsprop(3);
    opt.grads.fill(0.5);
    expect(opt.stepCount).toBe(0);
    expect(opt.step()).toEqual({ applied: true, nonFiniteIndex: -1, stepCount: 1 });
    opt.step();
    expect(opt.stepCount).toBe(2);
  });
});
