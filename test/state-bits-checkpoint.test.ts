// Checkpoints of 8-bit state (format version 2): codes and scales as they are (a smaller
// file), a run saved and restored mid-way continues with the same bits, an f32 checkpoint
// loads into an 8-bit optimizer (quantized to nearest) and an 8-bit one into f32 (decoded
// exactly, by restoreRmsprop), version 1 still loads, and a bad 8-bit part is refused with
// nothing changed.
import { describe, expect, it } from "vitest";
import { decodeCheckpoint, encodeCheckpoint } from "../src/checkpoint.ts";
import { crc32 } from "../src/crc32.ts";
import { createRmsprop, restoreRmsprop, type Rmsprop, type RmspropOptions } from "../src/index.ts";
import { dequantizeBlockwise, QUANT_BLOCK, quantizeBlockwise } from "../src/quantization.ts";
import { bitReport, uniformFloats } from "./helpers/data.ts";
import { Q8_ROWS, type RmspropState8 } from "../src/state-arrays.ts";

const n = 3 * QUANT_BLOCK + 4096 + 11;

function reseal(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

async function trained(options: RmspropOptions, steps = 3): Promise<Rmsprop> {
  const opt = await createRmsprop(n, options);
  opt.params.set(uniformFloats(n, 1));
  for (let t = 0; t < steps; t++) {
    opt.grads.set(uniformFloats(n, 10 + t));
    opt.step();
  }
  return opt;
}

/** The same next steps on each; their θ and their state's codes must agree bit for bit. */
function continueBoth(a: Rmsprop, b: Rmsprop): void {
  for (let t = 0; t < 3; t++) {
    const g = uniformFloats(n, 40 + t);
    a.grads.set(g);
    b.grads.set(g);
    a.step();
    b.step();
  }
  expect(b.stepCount).toBe(a.stepCount);
  expect(bitReport("params", b.params, a.params)).toBe("");
  for (const name of Q8_ROWS.map((row) => row.name as keyof RmspropState8)) {
    if (!a.state8[name]) continue;
    expect(b.state8[name]!.codes).toEqual(a.state8[name]!.codes);
    expect(bitReport(`${name} scales`, b.state8[name]!.scales, a.state8[name]!.scales)).toBe("");
  }
}

describe("checkpoints of 8-bit state", () => {
  const variants: RmspropOptions[] = [{ momentum: 0.9 }, { centered: true, momentum: 0.5, emaDecay: 0.9 }];

  for (const [v, o] of variants.entries()) {
    it(`variant ${v}: save() stores codes and scales, and a run restored mid-way continues with the same bits`, async () => {
      const a = await trained({ ...o, stateBits: 8 });
      const bytes = a.save();
      expect(new DataView(bytes.buffer).getUint32(8, true)).toBe(2);
      const content = decodeCheckpoint(bytes);
      expect(content.arrays.sqAvg).toBeUndefined();
      expect(content.quantized!.sqAvg!.codes).toEqual(a.state8.sqAvg!.codes);
      const f32 = await trained(o);
      expect(bytes.length / f32.save().length).toBeLessThan(0.6);
      const restored = await restoreRmsprop(bytes);
      const loaded = await createRmsprop(n, { ...o, stateBits: 8 });
      loaded.load(bytes);
      continueBoth(a, restored);
      // `loaded` took the same bytes: one more comparison against a run that was never saved.
      const b = await trained({ ...o, stateBits: 8 });
      continueBoth(b, loaded);
      for (const opt of [a, b, f32, restored, loaded]) opt.dispose();
    });
  }

  it("an f32 checkpoint loads into an 8-bit optimizer: each array quantized to nearest", async () => {
    const f32 = await trained({ momentum: 0.9 });
    const bytes = f32.save();
    const q8 = await restoreRmsprop(bytes, { stateBits: 8 });
    expect(q8.options.stateBits).toBe(8);
    expect(bitReport("params", q8.params, f32.params)).toBe("");
    for (const [name, format] of [["sqAvg", "u8e5m3"], ["momentumBuffer", "s8e3m4"]] as const) {
      const want = { codes: new Uint8Array(n), scales: new Float32Array(Math.ceil(n / QUANT_BLOCK)) };
      quantizeBlockwise(format, f32.state[name]!, want);
      expect(q8.state8[name]!.codes).toEqual(want.codes);
      expect(bitReport(`${name} scales`, q8.state8[name]!.scales, want.scales)).toBe("");
    }
    // And by load(), into an optimizer made with stateBits 8.
    const other = await createRmsprop(n, { momentum: 0.9, stateBits: 8 });
    other.load(bytes);
    expect(other.state8.sqAvg!.codes).toEqual(q8.state8.sqAvg!.codes);
    for (const opt of [f32, q8, other]) opt.dispose();
  });

  it("an 8-bit checkpoint loads into an f32 optimizer: the values its codes stand for, exactly", async () => {
    const q8 = await trained({ momentum: 0.9, centered: true, stateBits: 8 });
    const bytes = q8.save();
    const f32 = await restoreRmsprop(bytes, { stateBits: 32 });
    const m = new Float32Array(n);
    dequantizeBlockwise("s8e3m4", q8.state8.momentumBuffer!, m);
    expect(bitReport("momentumBuffer", f32.state.momentumBuffer!, m)).toBe("");
    // Centered: the codes hold V = S − G²; S reads as V + G², with G its own codes' value.
    const v = new Float32Array(n), g = new Float32Array(n);
    dequantizeBlockwise("u8e5m3", q8.state8.sqAvg!, v);
    dequantizeBlockwise("s8e4m3", q8.state8.gradAvg!, g);
    const s = v.map((x, i) => Math.fround(x + Math.fround(g[i] * g[i])));
    expect(bitReport("sqAvg", f32.state.sqAvg, s)).toBe("");
    expect(bitReport("gradAvg", f32.state.gradAvg!, g)).toBe("");
    // load() into an optimizer made without 8-bit state (whose page never loaded the code
    // maps) refuses, naming the conversion, and changes nothing.
    const f32Only = await createRmsprop(n, { momentum: 0.9, centered: true });
    expect(() => f32Only.load(bytes)).toThrow(/load\(bytes\): the checkpoint keeps 8-bit state .* restoreRmsprop\(bytes, \{ stateBits: 32 \}\) converts it/);
    expect(f32Only.state.sqAvg.every((x) => x === 0)).toBe(true);
    // An optimizer that restored it converts later 8-bit checkpoints with load() too.
    f32.load(bytes);
    expect(bitReport("load()", f32.state.sqAvg, s)).toBe("");
    for (const opt of [f32, q8, f32Only]) opt.dispose();
  });

  it("version 1 (f32) checkpoints still load", async () => {
    const f32 = await trained({ momentum: 0.9 });
    const v1 = f32.save();
    v1[8] = 1;
    const restored = await restoreRmsprop(reseal(v1));
    expect(bitReport("sqAvg", restored.state.sqAvg, f32.state.sqAvg)).toBe("");
    // Version 1 has no 8-bit bits: a mask with one is refused.
    const q8 = await trained({ stateBits: 8 });
    const bytes = q8.save();
    bytes[8] = 1;
    await expect(restoreRmsprop(reseal(bytes))).rejects.toThrow(/array mask \d+ is not valid/);
    for (const opt of [f32, restored, q8]) opt.dispose();
  });

  it("refuses a scale no quantization makes, or parts its options do not lay out, and changes nothing", async () => {
    const opt = await trained({ stateBits: 8 });
    const bytes = opt.save();
    const content = decodeCheckpoint(bytes);
    const before = opt.state8.sqAvg!.codes.slice();
    // The first scale of S: after its counts, its (no) f32 values and its codes padded to 4.
    const scalesAt = bytes.length - 4 - 4 * content.quantized!.sqAvg!.scales.length;
    const bad = bytes.slice();
    new DataView(bad.buffer).setFloat32(scalesAt, 3, true);
    expect(() => opt.load(reseal(bad))).toThrow(/sqAvg's block scale 0 is 3, which no quantization makes/);
    // Options that lay the state out in f32, over 8-bit parts.
    const lied = encodeCheckpoint({ ...content, options: { ...content.options, stateBits: 32 } });
    expect(() => opt.load(lied)).toThrow(/its 8-bit sqAvg has 0 f32, \d+ codes and \d+ scales, but its options lay out \d+, 0 and 0/);
    expect(opt.state8.sqAvg!.codes).toEqual(before);
    opt.dispose();
  });
});
