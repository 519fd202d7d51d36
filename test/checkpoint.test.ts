// Checkpoints: a round trip resumes training bit for bit, and every kind of bad input
// (truncated, bit-flipped, oversized lengths, wrong n, wrong version, random bytes)
// throws a clear error and leaves the optimizer exactly as it was.
import { describe, expect, it } from "vitest";
import { createRmsprop, restoreRmsprop, type Rmsprop, type RmspropOptions } from "../src/index.ts";
import { crc32 } from "../src/crc32.ts";
import { rng, uniformFloats } from "./helpers/data.ts";

const options: RmspropOptions = { lr: 0.05, momentum: 0.9, centered: true, biasCorrection: true };

async function trained(n: number, steps: number, o: RmspropOptions = options): Promise<Rmsprop> {
  const opt = await createRmsprop(n, o);
  opt.params.set(uniformFloats(n, 1));
  for (let t = 0; t < steps; t++) {
    opt.grads.set(uniformFloats(n, 10 + t));
    opt.step();
  }
  return opt;
}

function snapshot(opt: Rmsprop) {
  const { sqAvg, momentumBuffer, gradAvg } = opt.state;
  return {
    params: opt.params.slice(),
    sqAvg: sqAvg.slice(),
    momentumBuffer: momentumBuffer?.slice(),
    gradAvg: gradAvg?.slice(),
    stepCount: opt.stepCount,
  };
}

/** Rewrites the trailing CRC so that only the field under test is wrong. */
function reseal(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(bytes.length - 4, crc32(bytes.subarray(0, bytes.length - 4)), true);
  return bytes;
}

describe("checkpoints", () => {
  it("round trip: a restored optimizer continues bit-identically", async () => {
    const a = await trained(1029, 7);
    const bytes = a.save();
    const b = await createRmsprop(1029, options);
    b.load(bytes);
    const c = await restoreRmsprop(bytes, { backend: "scalar" });
    expect(snapshot(b)).toEqual(snapshot(a));
    expect(c.options).toMatchObject({ ...options, backend: "scalar" });
    for (let t = 7; t < 12; t++) {
      for (const opt of [a, b, c]) {
        opt.grads.set(uniformFloats(1029, 10 + t));
        opt.step();
      }
    }
    expect(snapshot(b)).toEqual(snapshot(a));
    expect(snapshot(c)).toEqual(snapshot(a));
    expect(a.stepCount).toBe(12);
  });

  it("the header follows the documented layout", async () => {
    const opt = await trained(5, 3, {});
    const bytes = opt.save();
    const view = new DataView(bytes.buffer);
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe("RMSPwasm");
    expect(view.getUint32(8, true)).toBe(2);
    const headerBytes = view.getUint32(12, true);
    expect(view.getUint32(16, true)).toBe(5);
    expect(view.getUint32(20, true)).toBe(0b0011); // params and sqAvg
    expect(view.getFloat64(24, true)).toBe(3);
    const json = JSON.parse(new TextDecoder().decode(bytes.subarray(36, 36 + view.getUint32(32, true))));
    expect(json).toMatchObject({ lr: 0.01, beta: 0.9, eps: 1e-8 });
    expect(view.getFloat32(headerBytes, true)).toBe(opt.params[0]);
    expect(view.getFloat32(headerBytes + 20, true)).toBe(opt.state.sqAvg[0]);
    expect(bytes.length).toBe(headerBytes + 2 * 5 * 4 + 4);
    expect(view.getUint32(bytes.length - 4, true)).toBe(crc32(bytes.subarray(0, bytes.length - 4)));
    // crc32 itself, against the standard check value of "123456789".
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
  });

  it("thousands of damaged checkpoints all throw and change nothing", async () => {
    const opt = await trained(37, 4);
    const good = opt.save();
    const other = (await trained(38, 2)).save();
    // Move on so the optimizer's state differs from the checkpoint's.
    opt.grads.set(uniformFloats(37, 99));
    opt.step();
    const before = snapshot(opt);
    const r = rng(2024);
    const cases: [string, unknown][] = [];
    for (let k = 0; k < 1500; k++) {
      const flipped = good.slice();
      const bit = Math.floor(r() * flipped.length * 8);
      flipped[bit >> 3] ^= 1 << (bit & 7);
      cases.push([`bit ${bit} flipped`, flipped]);
    }
    for (let len = 0; len < good.length; len += 1 + Math.floor(r() * 3)) cases.push([`truncated to ${len}`, good.slice(0, len)]);
    for (let k = 0; k < 500; k++) {
      const random = Uint8Array.from({ length: Math.floor(r() * 2 * good.length) }, () => Math.floor(r() * 256));
      if (k % 2 && random.length >= 8) random.set(good.subarray(0, 8)); // even with the right magic
      cases.push([`random bytes ${k}`, random]);
    }
    for (const [offset, value] of [[8, 3], [8, 0], [12, 0xffffffff], [16, 0xffffffff], [16, 0], [20, 0xff], [20, 1], [32, 0x7fffffff], [32, 0]] as const) {
      const bad = good.slice();
      new DataView(bad.buffer).setUint32(offset, value, true);
      cases.push([`field at ${offset} set to ${value}, resealed`, reseal(bad)]);
    }
    const badStep = good.slice();
    new DataView(badStep.buffer).setFloat64(24, -1, true);
    cases.push(["negative step count, resealed", reseal(badStep)]);
    const badJson = good.slice();
    badJson[36] = 0x7b + 1; // "|" instead of "{"
    cases.push(["broken options JSON, resealed", reseal(badJson)]);
    cases.push(["another optimizer's checkpoint (n = 38)", other]);
    cases.push(["a checkpoint without the centered state", (await trained(37, 1, { momentum: 0.9 })).save()]);
    cases.push(["not bytes", "RMSPwasm"], ["an ArrayBuffer", good.buffer], ["null", null]);

    expect(cases.length).toBeGreaterThan(2000);
    for (const [name, bytes] of cases) {
      let error: unknown;
      try {
        opt.load(bytes as Uint8Array);
      } catch (e) {
        error = e;
      }
      expect(error, name).toBeInstanceOf(Error);
      expect((error as Error).message, name).toMatch(/checkpoint|load\(bytes\)/);
    }
    expect(snapshot(opt)).toEqual(before);
    opt.load(good); // and the good one still loads
    expect(opt.stepCount).toBe(4);
  });

  it("errors say what is wrong", async () => {
    const opt = await trained(8, 1);
    const bytes = opt.save();
    const other = await createRmsprop(9, options);
    expect(() => other.load(bytes)).toThrow(/checkpoint has n = 8, this optimizer n = 9/);
    expect(() => opt.load(bytes.slice(0, 50))).toThrow(/needs \d+/);
    const flipped = bytes.slice();
    flipped[60] ^= 4;
    expect(() => opt.load(flipped)).toThrow(/checksum mismatch/);
    const v3 = bytes.slice();
    v3[8] = 3;
    expect(() => opt.load(reseal(v3))).toThrow(/format version 3; this build reads versions 1 and 2/);
    expect(() => opt.load(new Uint8Array(100))).toThrow(/not a checkpoint/);
  });
});
