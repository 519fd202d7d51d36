// Views kept past dispose() do not train on silently over memory no optimizer uses: a
// memory of the optimizer's own that is not shared is detached (length 0, reads undefined,
// set() and fill() throw); a shared one, which cannot be detached, has its θ turned NaN. An
// external memory is its owner's, and left as it was.
import { afterAll, describe, expect, it } from "vitest";
import { createRmsprop, restoreRmsprop, type RmspropOptions } from "../src/index.ts";
import { machineOverride } from "../src/machine.ts";

machineOverride.threads = 2;
afterAll(() => {
  machineOverride.threads = undefined;
});

/** The worked example's five steps (L = θ²/2, θ0 = 2, η = 0.1), with these options. */
async function worked(options: RmspropOptions) {
  const opt = await createRmsprop(options.threads ? 4096 : 1, { lr: 0.1, ...options });
  opt.params.fill(2);
  for (let t = 0; t < 5; t++) {
    opt.grads.set(opt.params);
    await opt.step();
  }
  return opt;
}

describe.each([
  ["simd", { backend: "simd" }],
  ["scalar", { backend: "scalar" }],
  ["js", { backend: "js" }],
] as [string, RmspropOptions][])("an own memory on %s, not shared", (_, options) => {
  it("is detached at dispose(): kept views are empty, and writing through them throws", async () => {
    const opt = await worked(options);
    const { params, grads, state, groups } = opt;
    const bytes = opt.save();
    opt.dispose();
    for (const view of [params, grads, state.sqAvg, groups[0].params]) {
      expect(view.length).toBe(0);
      expect(view[0]).toBeUndefined();
      expect(() => view.set([1])).toThrow(TypeError);
      expect(() => view.fill(1)).toThrow(TypeError);
    }
    // The loop: restored, and trained through the views of the disposed one.
    const restored = await restoreRmsprop(bytes, options);
    expect(restored.stepCount).toBe(5);
    expect(() => grads.set([params[0]])).toThrow(TypeError);
    expect(Number.isNaN(params[0] * 2)).toBe(true);
    restored.dispose();
  });
});

describe("a shared memory", () => {
  it("of its own (threads): θ becomes NaN at dispose(), so computing through a kept view shows it", async () => {
    const opt = await worked({ threads: 2, minParamsPerThread: 1 });
    expect(opt.threads).toBe(2);
    const { params } = opt;
    expect(params.every(Number.isFinite)).toBe(true);
    opt.dispose();
    expect(params.every(Number.isNaN)).toBe(true);
  });

  it("of someone else's (options.memory): left as it was, the owner's", async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 4, shared: true });
    const opt = await createRmsprop(8, { memory });
    opt.params.set([1, 2, 3, 4, 5, 6, 7, 8]);
    const { params } = opt;
    opt.dispose();
    expect([...params]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const plain = new WebAssembly.Memory({ initial: 1 });
    const other = await createRmsprop(8, { memory: plain });
    other.params.fill(3);
    const kept = other.params;
    other.dispose();
    expect([...kept]).toEqual(new Array(8).fill(3));
    expect(kept.buffer).toBe(plain.buffer);
  });
});
