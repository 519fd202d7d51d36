// A step that is a Promise (a browser window's main thread with threads, reproduced here
// through the blocking hook of src/features.ts; test/browser/browser.test.ts runs the real
// one in Chromium) reads the gradients as they were when step() was called: a write to
// grads before its Promise settles neither slips past the scan nor reaches the step. And
// step() called from a getter of its own overrides is refused, on every path, so two steps
// never run with the same t and the "await it first" guard holds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRmsprop, type Rmsprop, type RmspropOptions, type StepResult } from "../src/index.ts";
import { blockingOverride } from "../src/features.ts";
import { machineOverride } from "../src/machine.ts";
import { testing } from "../src/pool/testing.ts";
import { bitReport, uniformFloats } from "./helpers/data.ts";

beforeAll(() => {
  machineOverride.threads = 2;
});
afterAll(() => {
  machineOverride.threads = undefined;
  blockingOverride.value = undefined;
  testing.threads = undefined;
});

const n = 1 << 16;

/** An optimizer that steps as a Promise on 2 threads, and a one-thread twin, from the same data. */
async function pair(options: RmspropOptions = {}): Promise<[Rmsprop, Rmsprop]> {
  blockingOverride.value = false;
  testing.threads = 2; // a region on the threads, the path that awaits between phases
  const pending = await createRmsprop(n, { ...options, threads: 2, minParamsPerThread: 1 });
  blockingOverride.value = undefined;
  const twin = await createRmsprop(n, options);
  for (const opt of [pending, twin]) {
    opt.params.set(uniformFloats(n, 1));
    opt.grads.set(uniformFloats(n, 2));
  }
  return [pending, twin];
}

describe("a step that is a Promise reads grads as they were when step() was called", () => {
  it.each([
    ["default", {}],
    ["globalClipNorm", { globalClipNorm: 0.5 }],
    ["gradScale 2", { gradScale: 2 }],
  ] as [string, RmspropOptions][])("%s: a NaN written while it is pending is not applied, and the next step refuses it", async (_, options) => {
    const [pending, twin] = await pair(options);
    expect(pending.threads).toBe(2);
    for (let t = 0; t < 5; t++) {
      const step = pending.step();
      expect(step).toBeInstanceOf(Promise);
      // Before the region starts, and while it awaits its workers.
      pending.grads[7] = Number.NaN;
      queueMicrotask(() => (pending.grads[n - 1] = Number.POSITIVE_INFINITY));
      const timer = setTimeout(() => (pending.grads[n >> 1] = Number.NaN), 0);
      expect((await step).applied).toBe(true);
      clearTimeout(timer);
      twin.step();
      expect(bitReport("params", pending.params, twin.params)).toBe("");
      expect(bitReport("sqAvg", pending.state.sqAvg, twin.state.sqAvg)).toBe("");
      await expect(Promise.resolve(pending.step())).rejects.toThrow(/^grads\[7\] is NaN; the step was not applied/);
      for (const opt of [pending, twin]) opt.grads.set(uniformFloats(n, 3 + t));
    }
    pending.dispose();
    twin.dispose();
  });

  it("a refused step names the value it read, not one written since", async () => {
    const [pending] = await pair({ gradScale: 4 });
    pending.grads[3] = 1e38; // ×4 overflows f32
    const step = Promise.resolve(pending.step());
    pending.grads[3] = 0.5;
    await expect(step).rejects.toThrow(/^grads\[3\] is 9\.99\d*e\+37, which overflows f32 when multiplied by gradScale/);
    pending.dispose();
  });
});

describe("step() from a getter of its own overrides", () => {
  it.each([
    ["a synchronous step", false],
    ["a step that is a Promise", true],
  ])("is refused in %s; the outer step runs once, and dispose() still waits for it", async (_, promise) => {
    const [pending, twin] = promise ? await pair() : [await createRmsprop(8), await createRmsprop(8)];
    let inner: unknown;
    const overrides = {
      get lr() {
        try {
          inner = pending.step();
        } catch (e) {
          inner = e;
        }
        return 0.01;
      },
    };
    const outer = pending.step(overrides);
    expect(String(inner)).toMatch(/step\(\): called from a getter of step\(\)'s overrides/);
    if (promise) {
      expect(() => pending.dispose()).toThrow(/dispose\(\): a step is still running; await it first/);
      expect(() => pending.step()).toThrow(/a step is still running/);
    }
    expect(((await outer) as StepResult).stepCount).toBe(1);
    expect(pending.stepCount).toBe(1);
    twin.step();
    expect(bitReport("params", pending.params, twin.params)).toBe("");
    pending.dispose();
    twin.dispose();
  });

  it("a getter that disposes the optimizer stops the step before it writes anything", async () => {
    const opt = await createRmsprop(8);
    const step = () => opt.step({ get lr() { opt.dispose(); return 0.01; } });
    expect(step).toThrow(/was disposed/);
  });
});
