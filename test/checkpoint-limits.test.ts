// What a checkpoint may ask for, and what restoring it costs: crafted bytes with a correct
// CRC cannot ask for more groups, tensors or options JSON than the limits allow, nor for
// threads or a placement (the caller's), nor load state no run of the receiving optimizer
// produces, nor state laid out by other groups; and every refusal comes before anything is
// allocated.
import { afterEach, describe, expect, it } from "vitest";
import { createRmsprop, restoreRmsprop, type RmspropOptions } from "../src/index.ts";
import { encodeCheckpoint, MAX_OPTIONS_BYTES } from "../src/checkpoint.ts";
import { crc32 } from "../src/crc32.ts";
import { machineOverride } from "../src/machine.ts";
import { MAX_GROUPS, MAX_TENSORS } from "../src/options.ts";
import { uniformFloats } from "./helpers/data.ts";

/** Counts the WebAssembly memories created while `run` runs. */
async function memoriesCreated(run: () => Promise<unknown>): Promise<number> {
  const Memory = WebAssembly.Memory;
  let count = 0;
  WebAssembly.Memory = new Proxy(Memory, {
    construct(target, args, newTarget) {
      count++;
      return Reflect.construct(target, args, newTarget);
    },
  });
  try {
    await run().catch(() => undefined);
  } finally {
    WebAssembly.Memory = Memory;
  }
  return count;
}

/** A checkpoint of n parameters with these options, whose arrays hold `fill`, and a correct CRC. */
function crafted(n: number, options: Record<string, unknown>, arrays: ("params" | "sqAvg" | "momentumBuffer")[] = ["params", "sqAvg"], fill = 0.5) {
  return encodeCheckpoint({ n, stepCount: 3, options, arrays: Object.fromEntries(arrays.map((a) => [a, new Float32Array(n).fill(fill)])) });
}

afterEach(() => {
  machineOverride.threads = undefined;
});

describe("limits on groups and tensors", () => {
  it(`a checkpoint of 500,000 groups of size 1 is refused at the limit of ${MAX_GROUPS}, with nothing allocated`, async () => {
    const bytes = crafted(500_000, { groups: Array.from({ length: 500_000 }, () => ({ size: 1 })) });
    let error: unknown;
    const created = await memoriesCreated(() => restoreRmsprop(bytes).catch((e: unknown) => (error = e)));
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toMatch(`options.groups holds 500000 groups; at most ${MAX_GROUPS} are allowed`);
    expect(created).toBe(0);
    // load() into an optimizer of that n refuses it too, and changes nothing.
    const opt = await createRmsprop(500_000);
    expect(() => opt.load(bytes)).toThrow(/its options are not valid \(options.groups holds 500000 groups/);
    expect(opt.stepCount).toBe(0);
    opt.dispose();
  });

  it("createRmsprop takes MAX_GROUPS groups and refuses one more, and MAX_TENSORS tensors and one more", async () => {
    const groups = (count: number) => Array.from({ length: count }, () => ({ size: 1 }));
    const opt = await createRmsprop(MAX_GROUPS, { groups: groups(MAX_GROUPS) });
    expect(opt.groups.length).toBe(MAX_GROUPS);
    opt.dispose();
    await expect(createRmsprop(MAX_GROUPS + 1, { groups: groups(MAX_GROUPS + 1) })).rejects.toThrow(
      new RegExp(`options.groups holds ${MAX_GROUPS + 1} groups; at most ${MAX_GROUPS}`),
    );
    const tensors = (count: number, from = 0) => Array.from({ length: count }, (_, i) => ({ name: `t${from + i}`, size: 1 }));
    const half = MAX_TENSORS / 2;
    const two = await createRmsprop(MAX_TENSORS, { groups: [{ tensors: tensors(half) }, { tensors: tensors(half, half) }] });
    expect(Object.keys(two.tensors).length).toBe(MAX_TENSORS);
    two.dispose();
    await expect(createRmsprop(MAX_TENSORS + 1, { groups: [{ tensors: tensors(half) }, { tensors: tensors(half + 1, half) }] })).rejects.toThrow(
      new RegExp(`options.groups list ${MAX_TENSORS + 1} tensors up to options.groups\\[1\\]; at most ${MAX_TENSORS}`),
    );
  });

  it("a sparse array of length 2^32 − 1 is refused at once, before any element is read", async () => {
    const sparse: unknown[] = [];
    sparse.length = 2 ** 32 - 1;
    await expect(createRmsprop(4, { groups: sparse as never })).rejects.toThrow(/options.groups holds 4294967295 groups; at most 4096/);
    await expect(createRmsprop(4, { groups: [{ tensors: [{ name: "a", shape: sparse as never }] }] })).rejects.toThrow(
      /options.groups\[0\].tensors\[0\].shape holds 4294967295 integers ≥ 1; at most 64/,
    );
  });

  it(`options JSON over ${MAX_OPTIONS_BYTES} bytes is refused before it is parsed`, async () => {
    // JSON may hold any amount of white space; the header fields, the JSON, two arrays of n = 2 and the CRC.
    const body = new TextEncoder().encode(`{"lr":0.01${" ".repeat(MAX_OPTIONS_BYTES)}}`);
    const header = Math.ceil((36 + body.length) / 4) * 4;
    const out = new Uint8Array(header + 2 * 8 + 4);
    out.set(crafted(2, {}).subarray(0, 36));
    const view = new DataView(out.buffer);
    view.setUint32(12, header, true);
    view.setUint32(32, body.length, true);
    out.set(body, 36);
    out.fill(0x20, 36 + body.length, header);
    view.setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
    await expect(restoreRmsprop(out)).rejects.toThrow(new RegExp(`its options are ${body.length} bytes of JSON; at most ${MAX_OPTIONS_BYTES}`));
  });
});

describe("what restore takes from the bytes, and what from the caller", () => {
  it("threads, threadSpinMs, backend and minParamsPerThread are the caller's, never the file's", async () => {
    machineOverride.threads = 2;
    const opt = await createRmsprop(4096, { threads: 2, minParamsPerThread: 1, threadSpinMs: 5, backend: "scalar", lr: 0.05 });
    expect(opt.threads).toBe(2);
    const bytes = opt.save();
    const json = JSON.parse(new TextDecoder().decode(bytes.subarray(36, 36 + new DataView(bytes.buffer).getUint32(32, true)))) as object;
    expect(Object.keys(json)).not.toEqual(expect.arrayContaining(["threads"]));
    for (const key of ["threads", "threadSpinMs", "backend", "minParamsPerThread", "memory", "offset"]) expect(json).not.toHaveProperty(key);
    const copy = await restoreRmsprop(bytes);
    expect([copy.threads, copy.options.threadSpinMs, copy.options.backend, copy.options.lr]).toEqual([1, 0.2, "auto", 0.05]);
    const threaded = await restoreRmsprop(bytes, { threads: 2, minParamsPerThread: 1 });
    expect(threaded.threads).toBe(2);
    expect(threaded.params).toEqual(opt.params);
    // A checkpoint written by an older version, with the placement in its options: ignored.
    const old = crafted(8, { lr: 0.05, threads: 64, threadSpinMs: 1000, backend: "scalar", minParamsPerThread: 1 });
    const fromOld = await restoreRmsprop(old);
    expect([fromOld.threads, fromOld.options.threadSpinMs, fromOld.options.backend, fromOld.options.lr]).toEqual([1, 0.2, "auto", 0.05]);
    for (const o of [opt, copy, threaded, fromOld]) o.dispose();
  });

  it("overrides that change the state arrays or the groups are refused before anything is allocated", async () => {
    const opt = await createRmsprop(8, { groups: [{ size: 3 }, { size: 5 }] });
    const bytes = opt.save();
    for (const [overrides, message] of [
      [{ momentum: 0.9 }, /the checkpoint lacks momentumBuffer, this optimizer has it.*nothing was changed/],
      [{ groups: [{ size: 5 }, { size: 3 }] }, /the checkpoint has 2 group\(s\) of sizes \[3, 5\], this optimizer 2 of sizes \[5, 3\]/],
      [{ groups: [] }, /sizes \[3, 5\], this optimizer 1 of sizes \[8\]/],
      [new Map([["lr", 1]]), /overrides must be a plain object .*got a Map/],
    ] as [RmspropOptions, RegExp][]) {
      let error: unknown;
      expect(await memoriesCreated(() => restoreRmsprop(bytes, overrides).catch((e: unknown) => (error = e)))).toBe(0);
      expect((error as Error).message).toMatch(message);
    }
    opt.dispose();
  });
});

describe("state no run of the receiving optimizer produces (PyTorch's load_state_dict checks, and more)", () => {
  /** A checkpoint of options `{ nonFinite: "ignore" }` with sqAvg[0] = `s`. */
  const poisoned = (s: number) =>
    encodeCheckpoint({ n: 4, stepCount: 3, options: { nonFinite: "ignore" }, arrays: { params: new Float32Array(4).fill(0.5), sqAvg: new Float32Array([s, 0, 0, 0]) } });

  it('a checkpoint whose options say nonFinite "ignore" does not skip the check of a "throw" optimizer', async () => {
    const opt = await createRmsprop(4);
    opt.params.fill(2);
    expect(() => opt.load(poisoned(NaN))).toThrow(/sqAvg\[0\] is NaN, which no run produces .*this optimizer's nonFinite is "throw", not "ignore"/);
    expect(() => opt.load(poisoned(-1))).toThrow(/sqAvg\[0\] is -1, which no run produces/);
    expect([...opt.params, ...opt.state.sqAvg, opt.stepCount]).toEqual([2, 2, 2, 2, 0, 0, 0, 0, 0]);
    // restoreRmsprop takes the file's policy, "ignore", unless overridden: NaN loads there.
    const ignoring = await restoreRmsprop(poisoned(NaN));
    expect(ignoring.state.sqAvg[0]).toBeNaN();
    ignoring.dispose();
    let error: unknown;
    expect(await memoriesCreated(() => restoreRmsprop(poisoned(NaN), { nonFinite: "throw" }).catch((e: unknown) => (error = e)))).toBe(0);
    expect((error as Error).message).toMatch(/sqAvg\[0\] is NaN/);
    opt.dispose();
  });

  it('a negative sqAvg, which no run makes (NaN gradients make NaN, never −1), is refused even under "ignore"', async () => {
    const ignoring = await createRmsprop(4, { nonFinite: "ignore" });
    expect(() => ignoring.load(poisoned(-1))).toThrow(/sqAvg\[0\] is -1, which no run produces \(an average of squared gradients is never negative\)/);
    await expect(restoreRmsprop(poisoned(-1))).rejects.toThrow(/sqAvg\[0\] is -1/);
    ignoring.load(poisoned(Infinity));
    expect(ignoring.state.sqAvg[0]).toBe(Infinity);
    ignoring.dispose();
  });

  it("a checkpoint whose groups differ is refused, as PyTorch refuses other param groups", async () => {
    const grouped = await createRmsprop(8, { groups: [{ size: 3, lr: 0.1 }, { size: 5 }] });
    grouped.params.set(uniformFloats(8, 1));
    const flat = await createRmsprop(8);
    flat.params.fill(2);
    expect(() => flat.load(grouped.save())).toThrow(/the checkpoint has 2 group\(s\) of sizes \[3, 5\], this optimizer 1 of sizes \[8\].*nothing was changed/);
    const swapped = await createRmsprop(8, { groups: [{ size: 5 }, { size: 3 }] });
    expect(() => swapped.load(grouped.save())).toThrow(/sizes \[3, 5\], this optimizer 2 of sizes \[5, 3\]/);
    const tensors = await createRmsprop(8, { groups: [{ tensors: [{ name: "a", size: 1 }, { name: "b", size: 2 }] }, { size: 5 }] });
    const otherTensors = await createRmsprop(8, { groups: [{ tensors: [{ name: "a", size: 2 }, { name: "b", size: 1 }] }, { size: 5 }] });
    expect(() => otherTensors.load(tensors.save())).toThrow(/group 0 of the checkpoint has tensors of sizes \[1, 2\], this optimizer's \[2, 1\]/);
    // Same layout, other hyperparameters: an optimizer keeps its own through load.
    const same = await createRmsprop(8, { groups: [{ size: 3 }, { size: 5, lr: 0.5 }] });
    same.load(grouped.save());
    expect(same.params).toEqual(grouped.params);
    expect(same.groups[1].options.lr).toBe(0.5);
    expect(flat.params.every((v) => v === 2)).toBe(true);
    for (const o of [grouped, flat, swapped, tensors, otherTensors, same]) o.dispose();
  });

  it("a checkpoint whose options do not validate is refused", async () => {
    const opt = await createRmsprop(4);
    expect(() => opt.load(crafted(4, { lr: -1 }))).toThrow(/its options are not valid \(options.lr must be a finite number ≥ 0/);
    expect(() => opt.load(crafted(4, { __proto__: 1 } as never))).not.toThrow(); // a literal's __proto__ sets the prototype: no key
    expect(() => opt.load(crafted(4, JSON.parse('{"__proto__": {"lr": 1}}') as Record<string, unknown>))).toThrow(/unknown key "__proto__"/);
    opt.dispose();
  });
});
