// Options, groups, tensors, step overrides and the tfjs options are read from their own
// properties only, each once: a polluted Object.prototype changes nothing, an object that
// keeps its values elsewhere (a Map, a class instance, an object inheriting from another)
// is refused, and whatever throws while read (a getter, a revoked Proxy) becomes a TypeError
// that names the argument. Refused input changes nothing.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import { afterEach, describe, expect, it } from "vitest";
import { createRmsprop, createTrafficProbe, defaultOptions, instantiateKernel, restoreRmsprop, schedules, type Rmsprop } from "../src/index.ts";
import { tfjsRmsprop } from "../src/tfjs/index.ts";
import { uniformFloats } from "./helpers/data.ts";

const proto = Object.prototype as Record<string, unknown>;
const polluted: string[] = [];

/** Sets Object.prototype[key] for one test (afterEach removes it). */
function pollute(key: string, value: unknown): void {
  Object.defineProperty(proto, key, { value, configurable: true, writable: true, enumerable: false });
  polluted.push(key);
}

afterEach(() => {
  for (const key of polluted.splice(0)) delete proto[key];
});

/** Three steps of a two-group optimizer from seeded data; returns its params. */
async function run(create: () => Promise<Rmsprop>): Promise<Float32Array> {
  const opt = await create();
  opt.params.set(uniformFloats(opt.n, 1));
  for (let t = 0; t < 3; t++) {
    opt.grads.set(uniformFloats(opt.n, 2 + t));
    opt.step();
  }
  const params = opt.params.slice();
  opt.dispose();
  return params;
}

const twoGroups = () => createRmsprop(8, { groups: [{ size: 3 }, { tensors: [{ name: "w", shape: [5] }] }] });

describe("a polluted Object.prototype", () => {
  it('Object.prototype.nonFinite = "ignore" leaves the NaN guard on', async () => {
    pollute("nonFinite", "ignore");
    const opt = await createRmsprop(4);
    expect(opt.options.nonFinite).toBe("throw");
    opt.grads[2] = NaN;
    expect(() => opt.step()).toThrow(/grads\[2\] is NaN/);
    opt.dispose();
  });

  it("after setOptions, Object.prototype.lr still cannot keep a step's lr override from the optimizer", async () => {
    const opt = await createRmsprop(4);
    opt.setOptions({ momentum: 0 });
    opt.grads.fill(1);
    pollute("lr", 1e6);
    expect(opt.stepSync({ lr: 0.1 }).applied).toBe(true);
    // θ − 0.1·1/√(0.1 + 1e-8) from θ = 0: the override's lr, not the default's.
    expect(opt.params[0]).toBeCloseTo(-0.1 / Math.sqrt(0.1), 5);
    opt.dispose();
  });

  it("Object.prototype.lr = 1e6 never reaches step()", async () => {
    const clean = await run(twoGroups);
    pollute("lr", 1e6);
    expect(await run(twoGroups)).toEqual(clean);
  });

  // Every name an options object, a group, a tensor or the tfjs options may have, with a
  // value that would change the result, or break it, were it read.
  const names = [...Object.keys(defaultOptions), "name", "size", "tensors", "shape", "match", "variableGroups"];
  it.each(names)("Object.prototype.%s changes no optimizer", async (key) => {
    const clean = await run(twoGroups);
    const cleanRestored = await run(async () => restoreRmsprop((await twoGroups()).save()));
    pollute(key, key === "groups" || key === "tensors" ? [{ size: 1 }] : key === "memory" ? new WebAssembly.Memory({ initial: 1 }) : 7);
    expect(await run(twoGroups)).toEqual(clean);
    expect(await run(async () => restoreRmsprop((await twoGroups()).save()))).toEqual(cleanRestored);
  });

  /** Three tfjs steps of two variables in two groups; returns their values. */
  async function tfjsRun(): Promise<number[]> {
    await tf.setBackend("cpu");
    const w = tf.variable(tf.tensor1d([1, 2, 3]), true, "own_w");
    const b = tf.variable(tf.tensor1d([0.5]), true, "own_b");
    const opt = await tfjsRmsprop([w, b], { momentum: 0.5, variableGroups: [{ match: ["own_b"], lr: 0.1 }] });
    for (let t = 1; t <= 3; t++) opt.applyGradients({ [w.name]: tf.tensor1d([t, -t, 0.5]), [b.name]: tf.tensor1d([t]) });
    const values = [...w.dataSync(), ...b.dataSync()];
    opt.dispose();
    tf.dispose([w, b]);
    return values;
  }

  it.each(names)("Object.prototype.%s changes no tfjs optimizer", async (key) => {
    const clean = await tfjsRun();
    pollute(key, key === "match" || key === "variableGroups" ? [{ match: ["own"], lr: 100 }] : 7);
    expect(await tfjsRun()).toEqual(clean);
  });

  it("Object.prototype.nonFinite and .lr reach no tfjs optimizer", async () => {
    await tf.setBackend("cpu");
    pollute("nonFinite", "ignore");
    pollute("lr", 1e6);
    pollute("threads", 8); // refused by tfjsRmsprop, were it read
    const v = tf.variable(tf.tensor1d([1, 2]), true, "own_properties_tfjs");
    const opt = await tfjsRmsprop([v]);
    expect(() => opt.applyGradients({ [v.name]: tf.tensor1d([NaN, 1]) })).toThrow(/is NaN at index 0/);
    opt.applyGradients({ [v.name]: tf.tensor1d([1, 1]) });
    // lr 0.01, S = 0.1 after one step of g = 1: θ − 0.01·1/√(0.1 + 1e-8).
    expect(v.dataSync()[0]).toBeCloseTo(1 - 0.01 / Math.sqrt(0.1), 6);
    opt.dispose();
    v.dispose();
  });
});

describe("objects that keep their values where own properties do not show them", () => {
  class Config {
    #lr = 0.5;
    get lr() {
      return this.#lr;
    }
  }
  it.each([
    ["a Map", new Map([["lr", 1]]), /options must be a plain object .*got a Map/],
    ["a class instance with accessors", new Config(), /options must be a plain object .*got a Config/],
    ["an object inheriting options", Object.create({ lr: 0.5 }), /options must be a plain object .*got an object inheriting from another/],
    ["a function", () => 1, /options must be an object or undefined; got a function/],
    ["a symbol key", { lr: 0.1, [Symbol("x")]: 1 }, /options has the symbol key Symbol\(x\); its keys must be strings/],
    ["a getter that throws", { get lr(): number { throw new Error("boom"); } }, /options.lr could not be read: it threw Error: boom/],
  ])("%s is refused with a TypeError that names it", async (_, options, message) => {
    const err = await createRmsprop(4, options as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect((err as Error).message).toMatch(message);
  });

  it("a revoked Proxy is refused as options, a group, overrides, restore overrides and tfjs options", async () => {
    const revoked = () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    };
    await expect(createRmsprop(4, revoked())).rejects.toThrow(/^options is a revoked Proxy$/);
    await expect(createRmsprop(4, { groups: [revoked()] })).rejects.toThrow(/^options.groups\[0\] is a revoked Proxy$/);
    await expect(createRmsprop(4, { groups: revoked() as never })).rejects.toThrow(/^options.groups is a revoked Proxy$/);
    const opt = await createRmsprop(4);
    expect(() => opt.step(revoked())).toThrow(/^step overrides is a revoked Proxy$/);
    await expect(restoreRmsprop(opt.save(), revoked())).rejects.toThrow(/^overrides is a revoked Proxy$/);
    await expect(tfjsRmsprop([tf.variable(tf.scalar(1))], revoked())).rejects.toThrow(/^options is a revoked Proxy$/);
    expect(opt.stepCount).toBe(0);
    opt.dispose();
  });

  it("a getter on the object itself is called once, and a Proxy of a plain object is read like it", async () => {
    let reads = 0;
    const options = {
      get lr() {
        reads++;
        return 0.5;
      },
    };
    const opt = await createRmsprop(4, options);
    expect([opt.options.lr, reads]).toEqual([0.5, 1]);
    const proxied = await createRmsprop(4, new Proxy({ lr: 0.25, groups: new Proxy([{ size: 4 }], {}) }, {}));
    expect([proxied.options.lr, proxied.groups[0].size]).toEqual([0.25, 4]);
    reads = 0;
    const overrides = {
      get lr() {
        reads++;
        return reads === 1 ? 0.1 : Number.NaN; // a second read would be refused
      },
    };
    expect(opt.stepSync(overrides).applied).toBe(true);
    expect(reads).toBe(1);
    opt.dispose();
    proxied.dispose();
  });

  it("step overrides: a Map, a symbol key or a throwing getter is refused and nothing changes", async () => {
    const opt = await createRmsprop(4);
    opt.grads.fill(1);
    const before = [opt.params.slice(), opt.state.sqAvg.slice()];
    expect(() => opt.step(new Map([["lr", 1]]) as never)).toThrow(/step overrides must be a plain object .*got a Map/);
    expect(() => opt.step({ [Symbol.iterator]: 1 } as never)).toThrow(/step overrides has the symbol key Symbol\(Symbol.iterator\)/);
    expect(() => opt.step({ get lr(): number { throw new RangeError("no"); } })).toThrow(/step overrides.lr could not be read: it threw RangeError: no/);
    expect([opt.params, opt.state.sqAvg]).toEqual(before);
    expect(opt.stepCount).toBe(0);
    opt.dispose();
  });

  it("a hole in an array is a missing element, whatever Array.prototype holds", async () => {
    pollute("0", { size: 4 });
    await expect(createRmsprop(4, { groups: [, { size: 4 }] as never })).rejects.toThrow(/options.groups\[0\] must be an object; got undefined/);
  });

  it("createTrafficProbe, restoreRmsprop and instantiateKernel read their options the same way", async () => {
    await expect(createTrafficProbe(4, new Map() as never)).rejects.toThrow(/options must be a plain object .*got a Map/);
    await expect(createTrafficProbe(4, { lr: 1 } as never)).rejects.toThrow(/options has an unknown key "lr"; known keys: backend, threads, minParamsPerThread/);
    const opt = await createRmsprop(4);
    await expect(restoreRmsprop(opt.save(), Object.create({ lr: 1 }))).rejects.toThrow(/overrides must be a plain object/);
    await expect(instantiateKernel(new WebAssembly.Memory({ initial: 1 }), new Map() as never)).rejects.toThrow(/options must be a plain object .*got a Map/);
    opt.dispose();
  });

  it("the tfjs options: a Map, and keys named after Object.prototype's members, are refused clearly", async () => {
    await tf.setBackend("cpu");
    const v = tf.variable(tf.tensor1d([1, 2]), true, "own_properties_tfjs_keys");
    await expect(tfjsRmsprop([v], new Map() as never)).rejects.toThrow(/options must be a plain object .*got a Map/);
    for (const key of ["constructor", "toString", "hasOwnProperty", "__proto__"]) {
      const options = JSON.parse(`{"${key}": 1}`) as object;
      const err = (await tfjsRmsprop([v], options).catch((e: unknown) => e)) as Error;
      expect(err.message).toMatch(new RegExp(`^options has an unknown key "${key}"; known keys: lr, `));
      expect(err.message).not.toMatch(/native code/);
    }
    v.dispose();
  });

  it("a schedule is read as options are: own properties, a plain object; Object.prototype fills no field of it", async () => {
    pollute("steps", 5);
    // A cosine schedule without its steps is refused, whatever Object.prototype holds.
    await expect(createRmsprop(4, { lr: { kind: "cosine", from: 0.1, to: 0 } as never })).rejects.toThrow(/options.lr.steps is missing/);
    await expect(createRmsprop(4, { lr: new Map([["kind", "constant"]]) as never })).rejects.toThrow(/options.lr must be a plain object .*got a Map/);
    await expect(createRmsprop(4, { lr: { kind: "constant", value: 0.1, toString: 1 } as never })).rejects.toThrow(/options.lr has an unknown key "toString"/);
    const opt = await createRmsprop(4, { lr: schedules.cosine({ from: 0.1, to: 0, steps: 10 }) });
    expect(opt.options.lr).toMatchObject({ kind: "cosine", steps: 10 });
    // setOptions names an option it does not know as unknown, not by Object.prototype's members.
    expect(() => opt.setOptions({ constructor: 1 } as never)).toThrow(/has an unknown key "constructor"/);
    expect(() => opt.setOptions({ constructor: 1 } as never)).not.toThrow(/native code/);
    opt.dispose();
  });
});
