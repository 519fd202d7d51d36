// Checkpoint integrity at memory speed, and state no run produces: the CRC-32 (zlib's where
// the runtime has it, slicing-by-8 elsewhere) gives the value of the byte-at-a-time
// definition on every length and alignment, and load() refuses a checkpoint whose CRC is
// right but whose state is impossible, saying which field and why.
import { describe, expect, it } from "vitest";
import { createRmsprop, type RmspropOptions } from "../src/index.ts";
import { crc32, crc32Js } from "../src/crc32.ts";
import { rng, uniformFloats } from "./helpers/data.ts";

/** CRC-32 by its definition, one bit at a time (no table). */
function crcBitwise(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** A checkpoint of `options` after 3 steps, with `edit` applied to its arrays and its CRC made right again. */
async function edited(options: RmspropOptions, edit: (arrays: Float32Array, n: number, view: DataView) => void): Promise<Uint8Array> {
  const n = 64;
  const opt = await createRmsprop(n, options);
  opt.params.set(uniformFloats(n, 1));
  for (let t = 0; t < 3; t++) {
    opt.grads.set(uniformFloats(n, 2 + t));
    opt.step();
  }
  const bytes = opt.save();
  const view = new DataView(bytes.buffer);
  const header = view.getUint32(12, true);
  edit(new Float32Array(bytes.buffer, header, (bytes.length - 4 - header) / 4), n, view);
  view.setUint32(bytes.length - 4, crcBitwise(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

describe("checkpoint CRC-32", () => {
  it("gives the check value and the bitwise definition's value on every length and alignment", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    expect(crc32Js(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    const random = rng(7);
    const data = new Uint8Array(300).map(() => Math.floor(random() * 256));
    const shared = new Uint8Array(new SharedArrayBuffer(300));
    shared.set(data);
    for (let start = 0; start < 9; start++) {
      for (const length of [0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 64, 100, 255]) {
        const want = crcBitwise(data.subarray(start, start + length));
        expect(crc32(data.subarray(start, start + length)), `start ${start}, length ${length}`).toBe(want);
        expect(crc32Js(data.subarray(start, start + length)), `start ${start}, length ${length}`).toBe(want);
        expect(crc32(shared.subarray(start, start + length)), `shared, start ${start}, length ${length}`).toBe(want);
      }
    }
  });
});

describe("checkpoint state", () => {
  const options: RmspropOptions = { centered: true, momentum: 0.9 };
  it.each([
    ["a negative sqAvg", (a: Float32Array, n: number) => (a[n + 5] = -1e-3), /sqAvg\[5\] is -0\.001.*an average of squared gradients is ≥ 0/],
    ["a NaN sqAvg", (a: Float32Array, n: number) => (a[n + 63] = NaN), /sqAvg\[63\] is NaN/],
    ["-∞ in sqAvg", (a: Float32Array, n: number) => (a[n] = -Infinity), /sqAvg\[0\] is -Infinity/],
    ["a NaN gradAvg", (a: Float32Array, n: number) => (a[3 * n + 7] = NaN), /gradAvg\[7\] is NaN.*never NaN/],
    [
      "a step count at 2^53 − 1",
      (_: Float32Array, __: number, view: DataView) => view.setFloat64(24, Number.MAX_SAFE_INTEGER, true),
      /step count 9007199254740991 is not one a run reaches/,
    ],
  ] as const)("load() refuses %s, says which, and changes nothing", async (_, edit, message) => {
    const bytes = await edited(options, edit);
    const opt = await createRmsprop(64, options);
    opt.params.fill(2);
    expect(() => opt.load(bytes)).toThrow(message);
    expect(() => opt.load(bytes)).toThrow(/the optimizer is unchanged/);
    expect(opt.params.every((v) => v === 2)).toBe(true);
    expect(opt.stepCount).toBe(0);
    opt.dispose();
  });

  it("loads what a run can produce: +∞ in sqAvg from a finite gradient whose square overflows f32, -0, and NaN under nonFinite \"ignore\"", async () => {
    const opt = await createRmsprop(4, options);
    opt.grads.set([1e20, -1e20, 0, 1]);
    opt.step();
    expect(opt.state.sqAvg[0]).toBe(Infinity); // the run itself got there
    const again = await createRmsprop(4, options);
    again.load(opt.save());
    expect(again.state.sqAvg[0]).toBe(Infinity);
    const negativeZero = await edited(options, (a, n) => (a[n + 1] = -0));
    const zero = await createRmsprop(64, options);
    zero.load(negativeZero);
    expect(Object.is(zero.state.sqAvg[1], -0)).toBe(true);
    const ignore = { ...options, nonFinite: "ignore" } as const;
    const nan = await edited(ignore, (a, n) => (a[n + 2] = NaN));
    const loaded = await createRmsprop(64, ignore);
    loaded.load(nan);
    expect(loaded.state.sqAvg[2]).toBeNaN();
  });
});
