// Memory: an optimizer holds its state arrays plus a small header, and creating and
// disposing many optimizers does not grow the process without bound.
import { afterAll, describe, expect, it } from "vitest";
import { createRmsprop } from "../src/index.ts";
import { computeLayout, WASM_PAGE_BYTES } from "../src/layout.ts";
import { machineOverride } from "../src/machine.ts";

// Some tests here assert 2 threads: the core count is fixed, whatever this machine has.
machineOverride.threads = 2;
afterAll(() => {
  machineOverride.threads = undefined;
});

describe("memory", () => {
  it("the wrapper adds a header of well under 1 KiB to the state arrays", () => {
    for (const set of [{ momentumBuffer: false, gradAvg: false }, { momentumBuffer: true, gradAvg: true }]) {
      const layout = computeLayout(1_000_003, set, { units: 1 });
      const arrays = (3 + Number(set.momentumBuffer) + Number(set.gradAvg)) * 1_000_003 * 4;
      expect(layout.headerBytes).toBeLessThanOrEqual(1024);
      // Alignment of each array to 64 bytes adds < 64 bytes per array.
      expect(layout.bytes - arrays - layout.headerBytes).toBeLessThan(64 * 5);
    }
    // The 576-byte guard (src/guard.ts), and one 120-byte StepArgs block (ABI v3) per unit,
    // whatever the threads: they share a unit's block, each stepping a range of it.
    expect(computeLayout(10, { momentumBuffer: false, gradAvg: false }, { units: 3 }).headerBytes).toBe(Math.ceil((576 + 3 * 120) / 64) * 64);
  });

  it("byteLength is the arrays, the header and the rounding to whole 64 KiB pages", async () => {
    const n = 1_000_003;
    const opt = await createRmsprop(n, { momentum: 0.9 });
    const arrays = 4 * n * 4;
    expect(opt.byteLength).toBeGreaterThanOrEqual(arrays);
    expect(opt.byteLength - arrays).toBeLessThan(WASM_PAGE_BYTES + 1024);
    expect(opt.byteLength % WASM_PAGE_BYTES).toBe(0);
    opt.dispose();
  });

  it("creating and disposing 1,000 optimizers of 1.2 MB each does not grow memory", async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    const rss = () => {
      gc?.();
      return process.memoryUsage().rss;
    };
    const warm = await createRmsprop(100_000);
    warm.dispose();
    const before = rss();
    let peak = before;
    for (let i = 0; i < 1000; i++) {
      const opt = await createRmsprop(100_000);
      opt.grads.fill(1);
      opt.step();
      opt.dispose();
      if (i % 100 === 0) peak = Math.max(peak, rss());
    }
    const after = rss();
    // 1,000 leaked optimizers would hold 1.2 GB; allow the collector some slack.
    expect(after - before).toBeLessThan(300e6);
    expect(peak - before).toBeLessThan(600e6);
  });

  it("optimizers with threads can be created, stepped and disposed repeatedly, each one right", async () => {
    // One default step from θ = 1, g = 1, S = 0: S = (1 − β)·1, θ = 1 − η·1/√(S + ε), in f32.
    const f = Math.fround;
    const s = f(f(0.9 * 0) + f(f(1 - 0.9) * 1));
    const expected = f(1 - f(f(0.01) * f(1 / f(Math.sqrt(f(s + f(1e-8)))))));
    for (let i = 0; i < 20; i++) {
      const opt = await createRmsprop(4096, { threads: 2, minParamsPerThread: 1 });
      expect(opt.threads).toBe(2);
      opt.params.fill(1);
      opt.grads.fill(1);
      expect(opt.step()).toEqual({ applied: true, nonFiniteIndex: -1, stepCount: 1 });
      expect(opt.state.sqAvg.every((v) => v === s)).toBe(true);
      expect(opt.params.every((v) => v === expected)).toBe(true);
      opt.dispose();
      expect(() => opt.params).toThrow(/disposed/);
    }
  });
});
