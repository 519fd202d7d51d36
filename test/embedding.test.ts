// The kernel inside other wasm tools: the optimizer on a memory someone else owns, the raw
// .wasm files through the package's exports and their documented ABI, the AssemblyScript
// entry compiled into another module, and the logistic-regression example.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createRmsprop, defaultOptions, KernelFlag, referenceStep, stepScalars } from "../src/index.ts";
import { writeStepArgs } from "../src/kernel-abi.ts";
import { awkwardFloats, bitReport } from "./helpers/data.ts";
// @ts-expect-error: a plain .mjs example without types
import { train } from "../examples/logistic-regression/train.mjs";
import { machineOverride } from "../src/machine.ts";

// Some tests here assert 2 threads: the core count is fixed, whatever this machine has.
machineOverride.threads = 2;
afterAll(() => {
  machineOverride.threads = undefined;
});

const require = createRequire(import.meta.url);

describe("options.memory: a memory another tool owns", () => {
  it("steps in place at options.offset, bit-identical to an own memory, touching nothing else", async () => {
    const n = 1029;
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 4 });
    const bytes = new Uint8Array(memory.buffer);
    bytes.fill(0xa5); // someone else's data everywhere
    const opt = await createRmsprop(n, { memory, offset: 4096, momentum: 0.9 });
    const own = await createRmsprop(n, { momentum: 0.9 });
    expect(opt.params.buffer).toBe(memory.buffer);
    expect(opt.params.byteOffset).toBeGreaterThanOrEqual(4096);
    expect([...opt.state.sqAvg.subarray(0, 3)]).toEqual([0, 0, 0]); // state cleared, θ and g not
    for (const o of [opt, own]) o.params.set(awkwardFloats(n, 1));
    const before = bytes.slice();
    for (let t = 0; t < 3; t++) {
      for (const o of [opt, own]) {
        o.grads.set(awkwardFloats(n, 10 + t));
        o.step();
      }
    }
    expect(bitReport("params", opt.params, own.params)).toBe("");
    expect(bitReport("momentumBuffer", opt.state.momentumBuffer!, own.state.momentumBuffer!)).toBe("");
    const end = opt.state.momentumBuffer!.byteOffset + 4 * n;
    const outside = [...bytes.keys()].filter((i) => (i < 4096 || i >= end) && bytes[i] !== before[i]);
    expect(outside).toEqual([]);
  });

  it("follows the memory when its owner grows it", async () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 8 });
    const opt = await createRmsprop(100, { memory, offset: 64 });
    opt.params.fill(2);
    const old = opt.params;
    memory.grow(3);
    expect(old.length).toBe(0); // the old view detached with the old buffer
    expect(opt.params.length).toBe(100);
    expect(opt.params[99]).toBe(2);
    opt.grads.fill(1);
    opt.step();
    expect(opt.params[0]).toBeCloseTo(2 - 0.01 / Math.sqrt(0.1 + 1e-8), 6);
  });

  it("runs threads on a shared memory", async () => {
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 16, shared: true });
    const opt = await createRmsprop(4099, { memory, offset: 128, threads: 2, minParamsPerThread: 1 });
    const own = await createRmsprop(4099);
    expect(opt.threads).toBe(2);
    for (const o of [opt, own]) {
      o.params.set(awkwardFloats(4099, 3));
      o.grads.set(awkwardFloats(4099, 4));
      await o.step();
    }
    expect(bitReport("params", opt.params, own.params)).toBe("");
    opt.dispose();
  });

  it.each([
    [{ memory: {} }, TypeError, /options.memory must be a WebAssembly.Memory; got an object/],
    [{ offset: 64 }, TypeError, /options.offset needs options.memory/],
    [{ memory: new WebAssembly.Memory({ initial: 1 }), offset: 100 }, RangeError, /options.offset must be a multiple of 64; got 100/],
    [{ memory: new WebAssembly.Memory({ initial: 1 }) }, RangeError, /options.memory holds 65536 bytes, but n = 100000 .* grow it first \(memory.grow\(\d+\)\)/],
    [{ memory: new WebAssembly.Memory({ initial: 8 }), threads: 2 }, RangeError, /needs options.memory to be shared/],
    [{ memory: new WebAssembly.Memory({ initial: 1 }), backend: "js" }, RangeError, /options.memory needs a wasm backend/],
  ])("%o is refused before anything is touched", async (options, type, message) => {
    const err = await createRmsprop(100_000, options as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    expect((err as Error).message).toMatch(message);
  });

  it("a checkpoint from an external memory restores into an own one", async () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const opt = await createRmsprop(10, { memory, offset: 1024 });
    opt.grads.fill(1);
    opt.step();
    const bytes = opt.save();
    expect(JSON.stringify(opt.options.offset)).toBe("1024");
    expect(new TextDecoder().decode(bytes)).not.toMatch(/"offset"|"memory"/);
  });
});

describe("the raw kernels, as exported files", () => {
  it.each([
    ["rmsprop-wasm/wasm/simd", false],
    ["rmsprop-wasm/wasm/scalar", false],
    ["rmsprop-wasm/wasm/simd-shared", true],
    ["rmsprop-wasm/wasm/scalar-shared", true],
  ])("%s: imports env.memory, exports step, step_range, the scans and the 8-bit codec, matches the reference", async (specifier, shared) => {
    const module = new WebAssembly.Module(readFileSync(require.resolve(specifier)));
    expect(WebAssembly.Module.imports(module)).toEqual([{ module: "env", name: "memory", kind: "memory" }]);
    expect(WebAssembly.Module.exports(module).map((e) => e.name).sort()).toEqual([
      "dequantize_blockwise_8bit", "first_nonfinite_f32", "first_nonfinite_scaled_f32", "quantize_blockwise_8bit", "step", "step_range", "sum_squares_f32",
    ]);
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared } as WebAssembly.MemoryDescriptor);
    const { step } = new WebAssembly.Instance(module, { env: { memory } }).exports as { step: (f: number, a: number) => void };
    // Fill a StepArgs block by hand at 0 and the arrays after it, as an embedder would.
    const n = 13, params = 1024, grads = 2048, sqAvg = 3072;
    const view = (at: number) => new Float32Array(memory.buffer, at, n);
    view(params).set(awkwardFloats(n, 5));
    view(grads).set(awkwardFloats(n, 6));
    const want = { params: view(params).slice(), grads: view(grads).slice(), sqAvg: new Float32Array(n) };
    const scalars = stepScalars(defaultOptions, 1, 0.01);
    writeStepArgs(new Uint32Array(memory.buffer), new Float32Array(memory.buffer), 0, { params, grads, sqAvg, momentumBuffer: 0, gradAvg: 0 }, n, scalars);
    step(KernelFlag.epsInSqrt, 0);
    referenceStep(KernelFlag.epsInSqrt, scalars, want);
    expect(bitReport("params", view(params), want.params)).toBe("");
  });
});

describe("the AssemblyScript entry", () => {
  it('compiles into another module via import "rmsprop-wasm/assembly" and gives the same bits', async () => {
    const asc = (await import("assemblyscript/asc")).default;
    const dir = mkdtempSync(join(tmpdir(), "rmsprop-as-"));
    try {
      mkdirSync(join(dir, "node_modules"));
      symlinkSync(resolve("."), join(dir, "node_modules", "rmsprop-wasm"), "dir");
      writeFileSync(join(dir, "consumer.ts"), readFileSync("test/fixtures/as-consumer.ts"));
      const { error, stderr } = await asc.main(
        ["consumer.ts", "--baseDir", dir, "--enable", "simd", "-O3", "--runtime", "stub", "--importMemory", "--noAssert", "--use", "abort=", "-o", "consumer.wasm"],
        {},
      );
      expect(error, String(stderr)).toBeFalsy();
      const memory = new WebAssembly.Memory({ initial: 1 });
      const { instance } = await WebAssembly.instantiate(readFileSync(join(dir, "consumer.wasm")), { env: { memory } });
      const rmsprop_step = instance.exports.rmsprop_step as (...a: number[]) => void;
      const n = 1031, params = 4096, grads = params + 4 * n, sqAvg = grads + 4 * n;
      const view = (at: number) => new Float32Array(memory.buffer, at, n);
      view(params).set(awkwardFloats(n, 7));
      view(grads).set(awkwardFloats(n, 8));
      const opt = await createRmsprop(n, { lr: 0.05, beta: 0.95, eps: 1e-6, nonFinite: "ignore" });
      opt.params.set(view(params));
      opt.grads.set(view(grads));
      rmsprop_step(0, params, grads, sqAvg, n, 0.05, 0.95, Math.fround(1 - 0.95), 1e-6);
      opt.step();
      expect(bitReport("params", view(params), opt.params)).toBe("");
      expect(bitReport("sqAvg", view(sqAvg), opt.state.sqAvg)).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("examples/logistic-regression", () => {
  it("trains a wasm model with the kernel on the same memory to a loss below 0.25 and 95% accuracy", async () => {
    const { losses, finalLoss, accuracy } = await train();
    expect(losses[0]).toBeCloseTo(Math.log(2), 4); // all-zero weights: p = ½ everywhere
    expect(finalLoss).toBeLessThan(0.25);
    expect(accuracy).toBeGreaterThan(0.95);
    for (let i = 50; i < losses.length; i += 50) expect(losses[i]).toBeLessThan(losses[i - 50] + 1e-3);
  });
});
