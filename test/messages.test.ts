// Errors a careless caller meets say what was passed and what to pass instead: bytes that
// are not a Uint8Array, a Proxy of one, a kernel asked for on a memory with no pages.
import { describe, expect, it } from "vitest";
import { createRmsprop, instantiateKernel, restoreRmsprop } from "../src/index.ts";

describe("load(bytes) and restoreRmsprop(bytes) name what they got", () => {
  it.each([
    ["an ArrayBuffer", (b: Uint8Array) => b.buffer.slice(0), /\(what save\(\) returns\); got an ArrayBuffer \(pass new Uint8Array\(buffer\)\)/],
    ["a Proxy of a Uint8Array", (b: Uint8Array) => new Proxy(b, {}), /got a Proxy of a Uint8Array \(pass the Uint8Array\)/],
    ["an object inheriting from Uint8Array.prototype", () => Object.create(Uint8Array.prototype), /a Proxy of a Uint8Array/],
    ["a Float32Array", (b: Uint8Array) => new Float32Array(b.buffer.slice(0, 8)), /got a Float32Array \(pass its bytes as a Uint8Array\)/],
    ["a DataView", (b: Uint8Array) => new DataView(b.buffer), /got a DataView/],
    ["null", () => null, /got null$/],
    ["a string", () => "RMSPwasm", /got "RMSPwasm"$/],
    ["an array of numbers", (b: Uint8Array) => [...b], /got an array$/],
  ])("%s", async (_, make, message) => {
    const opt = await createRmsprop(4);
    const bytes = opt.save();
    opt.params.fill(3);
    expect(() => opt.load(make(bytes) as never)).toThrow(new RegExp(`^load\\(bytes\\): bytes must be a Uint8Array.*${message.source}`));
    await expect(restoreRmsprop(make(bytes) as never)).rejects.toThrow(new RegExp(`^restoreRmsprop\\(bytes\\): bytes must be a Uint8Array.*${message.source}`));
    expect(opt.params.every((v) => v === 3)).toBe(true);
    // A Node Buffer is a Uint8Array, and loads.
    opt.load(Buffer.from(bytes));
    expect(opt.params.every((v) => v === 0)).toBe(true);
    opt.dispose();
  });
});

describe("instantiateKernel", () => {
  it("refuses a memory of 0 pages, where every call would trap, and names a non-memory", async () => {
    await expect(instantiateKernel(new WebAssembly.Memory({ initial: 0 }))).rejects.toThrow(
      /^instantiateKernel\(memory\): memory has 0 pages; .*grow it first/,
    );
    await expect(instantiateKernel(new WebAssembly.Memory({ initial: 0, maximum: 1, shared: true }))).rejects.toThrow(/0 pages/);
    await expect(instantiateKernel(new ArrayBuffer(8) as never)).rejects.toThrow(/memory must be a WebAssembly.Memory; got an ArrayBuffer/);
    const grown = new WebAssembly.Memory({ initial: 0 });
    grown.grow(1);
    expect(Object.keys(await instantiateKernel(grown)).sort()).toEqual([
      "dequantize_blockwise_8bit", "first_nonfinite_f32", "first_nonfinite_scaled_f32", "quantize_blockwise_8bit", "step", "step_range", "sum_squares_f32",
    ]);
  });
});
