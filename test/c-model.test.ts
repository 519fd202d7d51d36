// examples/c-model: a C model that calls the kernel itself through include/rmsprop-wasm.h,
// with the kernel from instantiateKernel on the model's own memory. It must train, and
// match createRmsprop fed the same gradients bit for bit, for every variant it carries.
// Also instantiateKernel's own contract.
import { describe, expect, it } from "vitest";
import { defaultOptions, instantiateKernel, KernelFlag, referenceStep, stepScalars } from "../src/index.ts";
import { writeStepArgs } from "../src/kernel-abi.ts";
import { awkwardFloats, bitReport } from "./helpers/data.ts";
import { expectNanSkipped, expectTrains, expectVariantBits } from "./helpers/wasm-model.ts";
// @ts-expect-error: a plain .mjs example without types
import { loadModel, train, VARIANTS } from "../examples/c-model/train.mjs";


describe("examples/c-model", () => {
  it("trains the C perceptron from a loss above 1 to below 0.06 and 98% accuracy", () => expectTrains({ train }), 60_000);

  it.each((VARIANTS as { name: string }[]).map((v, i) => [v.name, i, (["auto", "simd", "scalar"] as const)[i % 3]] as const))(
    "%s: the C model's own steps give createRmsprop's bits on the same gradients (kernel %s)",
    (_, variant, backend) => expectVariantBits({ loadModel }, VARIANTS, variant, backend),
    60_000,
  );

  it("skips a step with a NaN gradient through rmsprop_first_nonfinite_f32, changing nothing", () => expectNanSkipped({ loadModel }));
});

describe("instantiateKernel", () => {
  it.each([
    [false, "simd"],
    [false, "scalar"],
    [true, "simd"],
    [true, "scalar"],
  ] as const)("on a memory with shared = %s, backend %s: the exports step like the reference", async (shared, backend) => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2, shared });
    const kernel = await instantiateKernel(memory, { backend, shared });
    expect(Object.keys(kernel).sort()).toEqual([
      "dequantize_blockwise_8bit", "first_nonfinite_f32", "first_nonfinite_scaled_f32", "quantize_blockwise_8bit", "step", "step_range", "sum_squares_f32",
    ]);
    const n = 37, params = 1024, grads = 2048, sqAvg = 3072;
    const view = (at: number) => new Float32Array(memory.buffer, at, n);
    view(params).set(awkwardFloats(n, 21));
    view(grads).set(awkwardFloats(n, 22));
    const want = { params: view(params).slice(), grads: view(grads).slice(), sqAvg: new Float32Array(n) };
    const s = stepScalars({ ...defaultOptions, biasCorrection: true }, 3, 0.02);
    writeStepArgs(new Uint32Array(memory.buffer), new Float32Array(memory.buffer), 0, { params, grads, sqAvg, momentumBuffer: 0, gradAvg: 0 }, n, s);
    kernel.step(KernelFlag.epsInSqrt, 0);
    referenceStep(KernelFlag.epsInSqrt, s, want);
    expect(bitReport("params", view(params), want.params)).toBe("");
    view(grads)[30] = Infinity;
    expect(kernel.first_nonfinite_f32(grads, n)).toBe(30);
  });

  const plain = new WebAssembly.Memory({ initial: 1 });
  it.each([
    [{}, undefined, TypeError, /memory must be a WebAssembly.Memory; got an object/],
    [null, undefined, TypeError, /memory must be a WebAssembly.Memory; got null/],
    [new ArrayBuffer(8), undefined, TypeError, /memory must be a WebAssembly.Memory/],
    [plain, { backend: "js" }, RangeError, /options.backend "js" has no wasm kernel/],
    [plain, { backend: "gpu" }, TypeError, /options.backend must be one of "auto", "simd", "scalar"; got "gpu"/],
    [plain, { backend: null }, TypeError, /options.backend must be one of "auto", "simd", "scalar"; got null/],
    [plain, { threads: 2 }, TypeError, /options has an unknown key "threads"; known keys: backend, shared/],
    [plain, "simd", TypeError, /options must be an object or undefined/],
    [plain, { shared: true }, RangeError, /options.shared is true but the memory is not shared/],
    [new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }), { shared: false }, RangeError, /options.shared is false but the memory is shared/],
    [plain, { shared: 1 }, TypeError, /options.shared must be true or false/],
  ])("refuses %o with options %o", async (memory, options, type, message) => {
    const err = await instantiateKernel(memory as WebAssembly.Memory, options as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(type);
    expect((err as Error).message).toMatch(message);
  });
});
