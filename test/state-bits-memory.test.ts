// What stateBits: 8 saves, from the table of state arrays (element type, bytes, length per
// row) through the layout: byteLength at n = 1e7 with momentum, the largest n with three
// arrays and the RangeError that names it, and an optimizer's byteLength against its layout.
import { describe, expect, it } from "vitest";
import { createRmsprop } from "../src/index.ts";
import { computeLayout, MAX_BYTES, maxParams, WASM_PAGE_BYTES, type StorageShape } from "../src/layout.ts";
import { QUANT_BLOCK } from "../src/quantization.ts";
import { STATE_ARRAYS } from "../src/state-arrays.ts";
import { planStorage } from "../src/state-storage.ts";

const f32Set = { momentumBuffer: true, gradAvg: false, ema: false };
const at = (n: number, bits: 8 | 32): StorageShape => planStorage(n, [{ offset: 0, size: n, bits }], [{ group: 0, offset: 0, size: n }]);

describe("the table of state arrays", () => {
  it("gives each row's parts an element type, bytes per element and a length", () => {
    for (const row of STATE_ARRAYS) {
      expect(row.parts[32]).toEqual([expect.objectContaining({ kind: "values", type: "f32", bytes: 4 })]);
      expect(row.parts[32][0].length(1000, 2)).toBe(1000);
      const kinds = row.parts[8].map((p) => [p.kind, p.type, p.bytes, p.length(1000, 2)]);
      expect(kinds).toEqual(row.q8 ? [["codes", "u8", 1, 1000], ["scales", "f32", 4, 2]] : [["values", "f32", 4, 1000]]);
    }
  });
});

describe("stateBits: 8, bytes", () => {
  it("n = 1e7 with momentum: the layout is at most 0.66× the f32 optimizer's", () => {
    const n = 1e7;
    const f32 = computeLayout(n, f32Set, { units: 1 }, 0, at(n, 32));
    const q8 = computeLayout(n, f32Set, { units: 1 }, 0, at(n, 8));
    // θ, g: 4 bytes each; S and M: a code each and a scale per 512.
    const arrays = 8 * n + 2 * (n + 4 * Math.ceil(n / QUANT_BLOCK));
    expect(q8.bytes - q8.headerBytes - arrays).toBeLessThan(64 * 6 + 3 * 1024 * 4 * 3);
    expect(f32.bytes - f32.headerBytes).toBeGreaterThanOrEqual(16 * n);
    expect(q8.pages / f32.pages).toBeLessThanOrEqual(0.66);
    expect(q8.pages / f32.pages).toBeCloseTo(10.0156 / 16, 2);
  });

  it("an optimizer's byteLength is its layout's, in pages", async () => {
    const n = 1_000_003;
    const opt = await createRmsprop(n, { momentum: 0.9, stateBits: 8 });
    const f32 = await createRmsprop(n, { momentum: 0.9 });
    expect(opt.byteLength).toBe(computeLayout(n, f32Set, { units: 1 }, 0, at(n, 8)).pages * WASM_PAGE_BYTES);
    expect(opt.byteLength / f32.byteLength).toBeLessThanOrEqual(0.66);
    opt.dispose();
    f32.dispose();
  });

  it("the largest n with three arrays is at least 470,000,000, its layout fits, and the RangeError names it", async () => {
    const three = { momentumBuffer: false, gradAvg: false, ema: false };
    const limit = maxParams(three, { units: 1, calls: 1 }, 0, 8);
    expect(limit).toBeGreaterThanOrEqual(470_000_000);
    expect(limit).toBe(476_803_893); // what the README and docs/quantization.md quote
    expect(computeLayout(limit, three, { units: 1, calls: 1 }, 0, at(limit, 8)).bytes).toBeLessThanOrEqual(MAX_BYTES);
    // Twice the f32 limit would not fit in f32.
    expect(limit).toBeGreaterThan(maxParams(three, { units: 1 }) * 1.3);
    const err = await createRmsprop(limit + 1, { stateBits: 8 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toMatch(new RegExp(`^n must be an integer in \\[1, ${limit}\\].*3 arrays \\(θ, g and any EMA in f32; S, M and G in 8 bits\\)`));
  });
});
