// A NaN or ±∞ gradient never silently corrupts state: "throw" and "skip" leave params
// and state exactly as they were; "ignore" propagates IEEE values like PyTorch.
import { describe, expect, it } from "vitest";
import { createRmsprop } from "../src/index.ts";
import { uniformFloats } from "./helpers/data.ts";

describe.each(["simd", "scalar", "js"] as const)("nonFinite on %s", (backend) => {
  async function poisoned(nonFinite: "throw" | "skip" | "ignore") {
    const opt = await createRmsprop(37, { backend, nonFinite, momentum: 0.5, centered: true });
    opt.params.set(uniformFloats(37, 1));
    opt.grads.set(uniformFloats(37, 2));
    opt.step();
    opt.grads[29] = Infinity;
    opt.grads[33] = NaN;
    const before = [opt.params, opt.state.sqAvg, opt.state.momentumBuffer!, opt.state.gradAvg!].map((a) => a.slice());
    return { opt, before };
  }

  it('"throw" (the default) names the first bad index and changes nothing', async () => {
    const { opt, before } = await poisoned("throw");
    expect(() => opt.step()).toThrow(/grads\[29\] is Infinity; the step was not applied/);
    expect([opt.params, opt.state.sqAvg, opt.state.momentumBuffer, opt.state.gradAvg]).toEqual(before);
    expect(opt.stepCount).toBe(1);
    expect((await createRmsprop(1)).options.nonFinite).toBe("throw");
  });

  it('"skip" reports the skipped step and changes nothing', async () => {
    const { opt, before } = await poisoned("skip");
    expect(opt.step()).toEqual({ applied: false, nonFiniteIndex: 29, stepCount: 1 });
    expect([opt.params, opt.state.sqAvg, opt.state.momentumBuffer, opt.state.gradAvg]).toEqual(before);
    opt.grads[29] = 0;
    opt.grads[33] = 0;
    expect((await opt.step()).applied).toBe(true);
    expect(opt.stepCount).toBe(2);
  });

  it('"ignore" lets the values propagate where they land, and nowhere else', async () => {
    const { opt, before } = await poisoned("ignore");
    expect((await opt.step()).applied).toBe(true);
    expect(Number.isNaN(opt.params[29])).toBe(true); // ∞/∞
    expect(Number.isNaN(opt.params[33])).toBe(true);
    expect(opt.state.sqAvg[29]).toBe(Infinity);
    expect(opt.params.filter((x) => Number.isNaN(x)).length).toBe(2);
    expect(opt.params[0]).not.toBe(before[0][0]);
  });
});
