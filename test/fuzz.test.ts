// Property-based fuzzing (fast-check, seeded): random option objects in every shape a
// caller hands them over (Proxy, getters, symbol keys, inherited, a Map, a revoked Proxy),
// with Object.prototype polluted, random step overrides and gradients (NaN, ±∞, values a
// gradScale overflows), and checkpoints edited with a correct CRC, on 1 and 2 threads. The
// properties: every input is either refused with a TypeError or RangeError that names the
// argument, with nothing allocated or changed, or stepped with the bits of the reference
// (backend "js", one thread) and the non-finite index an independent oracle computes; and
// restoring a checkpoint allocates exactly what creating the same optimizer by hand does
// (memories, bytes, groups, tensors). `npm run fuzz` runs it longer (RMSPROP_FUZZ_RUNS).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRmsprop, restoreRmsprop, type Rmsprop, type StepResult } from "../src/index.ts";
import { decodeCheckpoint, encodeCheckpoint } from "../src/checkpoint.ts";
import { storedOptions } from "../src/checkpoint-match.ts";
import { crc32 } from "../src/crc32.ts";
import { machineOverride } from "../src/machine.ts";
import { bitReport } from "./helpers/data.ts";
import {
  allocations, gradients, isNamedRefusal, nFor, overrides, polluted, pollution, rawOptions, readable, shaped, shapes, type AnyOptions,
} from "./helpers/fuzz.ts";

// About a second in npm test; `npm run fuzz` runs 10,000 of each (or RMSPROP_FUZZ_RUNS).
const RUNS = Number(process.env.RMSPROP_FUZZ_RUNS ?? (process.env.npm_lifecycle_event === "fuzz" ? 10_000 : 150));
const SEED = Number(process.env.RMSPROP_FUZZ_SEED ?? 2025);
const settings = { seed: SEED, numRuns: RUNS, endOnFailure: true };
/** What the runs met, so that a generator that stops reaching a path fails the test. */
const seen = { refused: 0, stepped: 0, threaded: 0, skippedOrThrown: 0, loaded: 0, restored: 0 };

beforeAll(() => {
  machineOverride.threads = 2; // "auto" and threads: 2 run 2 threads on any machine
});
afterAll(() => {
  machineOverride.threads = undefined;
  if (RUNS > 150) console.log(`fuzz (seed ${SEED}, ${RUNS} runs each):`, JSON.stringify(seen));
});

/** Params and every state array, copied. */
const snapshot = (opt: Rmsprop) => [opt.params, ...Object.values(opt.state)].map((a) => a.slice());

/** The bits of two optimizers' params and state, as a list of differences. */
function differences(got: Rmsprop, want: Rmsprop): string[] {
  const names = Object.keys(want.state) as (keyof Rmsprop["state"])[];
  return [bitReport("params", got.params, want.params), ...names.map((k) => bitReport(k, got.state[k]!, want.state[k]!))].filter(Boolean);
}

/** A step's outcome: its result, or its error's kind and message. */
async function outcome(run: () => StepResult | Promise<StepResult>): Promise<StepResult | Error> {
  try {
    return await run();
  } catch (e) {
    return e as Error;
  }
}

/**
 * The first gradient that is NaN/±∞ times the gradScale of its group (its own, else the
 * override's, else the top level's), rounded to f32: computed here, not by the package.
 */
function firstBad(opt: Rmsprop, raw: AnyOptions, g: Float32Array, override: unknown): number {
  const groups = Array.isArray(raw.groups) ? (raw.groups as Record<string, unknown>[]) : [];
  for (const [k, group] of opt.groups.entries()) {
    const own = groups[k]?.gradScale !== undefined;
    const scale = Math.fround(own || typeof override !== "number" ? (group.options.gradScale as number) : override);
    for (let i = group.offset; i < group.offset + group.size; i++) if (!Number.isFinite(Math.fround(g[i] * scale))) return i;
  }
  return -1;
}

describe("fuzz: options, overrides and gradients", () => {
  it("every option object is refused with a named error and nothing allocated, or steps with the reference's bits", async () => {
    await fc.assert(
      fc.asyncProperty(rawOptions, fc.nat(), shapes, pollution, overrides, fc.nat(), async (raw, pick, shape, pol, over, seed) => {
        const n = nFor(raw, pick);
        const clean = await allocations(() => createRmsprop(n, { ...raw } as AnyOptions));
        const test = await polluted(pol, () => allocations(() => createRmsprop(n, shaped(raw, shape) as AnyOptions)));
        if (!(clean.result instanceof Error)) clean.result.dispose();
        if (!readable(shape) || clean.result instanceof Error) {
          expect(test.result).toBeInstanceOf(Error);
          expect(isNamedRefusal(test.result, /^(options|n |the step constant)/), String(test.result)).toBe(true);
          if (readable(shape)) expect((test.result as Error).message).toBe((clean.result as Error).message);
          expect(test.memories).toBe(0);
          seen.refused++;
          return;
        }
        const opt = test.result as Rmsprop;
        seen.stepped++;
        if (opt.threads > 1) seen.threaded++;
        const reference = await createRmsprop(n, { ...raw, backend: "js", threads: 1 } as AnyOptions);
        expect(differences(opt, reference)).toEqual([]);
        try {
          for (let t = 0; t < 3; t++) {
            const g = gradients(n, seed + t);
            opt.grads.set(g);
            reference.grads.set(g);
            const plain = over && { ...over[0], ...(over[1] && { [over[1].key]: over[1].value }) };
            const before = snapshot(opt);
            const want = await outcome(() => reference.step(plain as never));
            const got = await polluted(pol, () => outcome(() => opt.step(over && (shaped(plain!, over[2]) as never))));
            if (over && !readable(over[2])) {
              expect(isNamedRefusal(got, /^step overrides/), String(got)).toBe(true);
              expect(snapshot(opt)).toEqual(before);
              continue;
            }
            if (want instanceof Error) {
              expect(got).toBeInstanceOf(Error);
              expect((got as Error).message).toBe(want.message);
              expect(isNamedRefusal(want, /^(step overrides|grads\[\d+\] is|the step constant)/), want.message).toBe(true);
              expect(snapshot(opt)).toEqual(before);
            } else {
              expect(got).toEqual(want);
            }
            if (want instanceof Error || !want.applied) seen.skippedOrThrown++;
            expect(differences(opt, reference)).toEqual([]);
            // The non-finite index, from an oracle of its own.
            const bad = firstBad(opt, raw as AnyOptions, g, plain?.gradScale);
            const index = want instanceof Error ? Number(/^grads\[(\d+)\]/.exec(want.message)?.[1] ?? -1) : want.nonFiniteIndex;
            if (!(want instanceof Error && /^step overrides|^the step constant/.test(want.message)) && opt.options.nonFinite !== "ignore") {
              expect(index).toBe(bad);
            }
          }
        } finally {
          opt.dispose();
          reference.dispose();
        }
      }),
      settings,
    );
    const share = (k: number) => Math.max(1, Math.floor(RUNS * k));
    expect(seen.refused).toBeGreaterThanOrEqual(share(0.1));
    expect(seen.stepped).toBeGreaterThanOrEqual(share(0.3));
    expect(seen.threaded).toBeGreaterThanOrEqual(share(0.05));
    expect(seen.skippedOrThrown).toBeGreaterThanOrEqual(share(0.1));
  });
});

/** A checkpoint's bytes with `edit` applied, and its CRC made right again. */
function withCrc(bytes: Uint8Array, edit: (view: DataView, bytes: Uint8Array) => Uint8Array | void): Uint8Array {
  const copy = bytes.slice();
  const out = edit(new DataView(copy.buffer), copy) ?? copy;
  if (out.length >= 4) new DataView(out.buffer, out.byteOffset).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

const specials = [Number.NaN, -1, -0, Infinity, -Infinity, 3e38, 0.5];

/** One edit of a checkpoint, as a hostile or damaged file makes it. */
const edits = fc.oneof(
  rawOptions.map((options) => ({ kind: "options" as const, options })),
  fc.record({ kind: fc.constant("array" as const), array: fc.nat(), index: fc.nat(), value: fc.constantFrom(...specials) }),
  fc.record({ kind: fc.constant("stepCount" as const), value: fc.constantFrom(-1, 1.5, 2 ** 53, Number.NaN, 1e30, 7, 0) }),
  fc.record({ kind: fc.constant("header" as const), field: fc.constantFrom(12, 16, 20, 32), value: fc.nat() }),
  fc.record({ kind: fc.constant("json" as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("length" as const), delta: fc.integer({ min: -12, max: 12 }) }),
);

type Edit = typeof edits extends fc.Arbitrary<infer T> ? T : never;

function apply(bytes: Uint8Array, e: Edit): Uint8Array {
  const content = decodeCheckpoint(bytes);
  switch (e.kind) {
    case "options": {
      let options: Record<string, unknown>;
      try {
        options = JSON.parse(JSON.stringify(e.options)) as Record<string, unknown>;
      } catch {
        return bytes; // a BigInt: not JSON
      }
      return encodeCheckpoint({ ...content, options });
    }
    case "array": {
      const arrays = Object.values(content.arrays).map((a) => a.slice());
      const a = arrays[e.array % arrays.length];
      a[e.index % a.length] = e.value;
      const names = Object.keys(content.arrays);
      return encodeCheckpoint({ ...content, arrays: Object.fromEntries(names.map((name, i) => [name, arrays[i]])) });
    }
    case "stepCount":
      return withCrc(bytes, (view) => view.setFloat64(24, e.value, true));
    case "header":
      return withCrc(bytes, (view) => view.setUint32(e.field, e.value % 64 === 0 ? e.value : e.value % 4096, true));
    case "json":
      return withCrc(bytes, (view, b) => void (b[36 + (e.at % view.getUint32(32, true))] = e.byte));
    case "length":
      return withCrc(bytes, (_, b) => (e.delta < 0 ? b.slice(0, b.length + e.delta) : new Uint8Array([...b, ...new Uint8Array(e.delta)])));
  }
}

describe("fuzz: checkpoints edited with a correct CRC", () => {
  it("load() refuses with nothing changed or loads the file's state; restore allocates no more than creating by hand", async () => {
    const bases: AnyOptions[] = [{}, { momentum: 0.9, centered: true }, { groups: [{ size: 5, lr: 0.1 }, { tensors: [{ name: "w", size: 3 }] }], emaDecay: 0.5 }];
    await fc.assert(
      fc.asyncProperty(fc.nat(bases.length - 1), edits, fc.constantFrom(1, 2), async (b, edit, threads) => {
        const n = 8;
        const opt = await createRmsprop(n, bases[b]);
        for (let t = 0; t < 2; t++) {
          opt.grads.set(gradients(n, 3 * t + 1));
          opt.step();
        }
        const bytes = apply(opt.save(), edit);
        try {
          const before = [...snapshot(opt), opt.stepCount];
          const loaded = await outcome(() => (opt.load(bytes), { applied: true, nonFiniteIndex: -1, stepCount: opt.stepCount }));
          if (loaded instanceof Error) {
            expect(loaded.message).toMatch(/^(load\(bytes\)|invalid rmsprop-wasm checkpoint)/);
            expect([...snapshot(opt), opt.stepCount]).toEqual(before);
          } else {
            expect(opt.params).toEqual(decodeCheckpoint(bytes).arrays.params);
            // No state a run of this optimizer cannot make: S is never negative, nor NaN unless NaN gradients are let in.
            const never = (s: number) => s < 0 || (Number.isNaN(s) && opt.options.nonFinite !== "ignore");
            expect(opt.state.sqAvg.findIndex(never)).toBe(-1);
            seen.loaded++;
          }
          const overrides = { threads, minParamsPerThread: 1 };
          const restored = await allocations(() => restoreRmsprop(bytes, overrides));
          if (restored.result instanceof Error) {
            expect(restored.result.message).toMatch(/^(restoreRmsprop\(bytes\)|invalid rmsprop-wasm checkpoint|options|overrides|n )/);
            expect(restored.memories).toBe(0);
            return;
          }
          const content = decodeCheckpoint(bytes);
          const byHand = await allocations(() => createRmsprop(content.n, { ...storedOptions(content), ...overrides } as AnyOptions));
          expect(byHand.result).not.toBeInstanceOf(Error);
          const [r, h] = [restored.result, byHand.result as Rmsprop];
          expect([restored.memories, restored.bytes, r.byteLength, r.groups.length, Object.keys(r.tensors).length, r.threads]).toEqual([
            byHand.memories, byHand.bytes, h.byteLength, h.groups.length, Object.keys(h.tensors).length, h.threads,
          ]);
          expect([r.stepCount, bitReport("params", r.params, content.arrays.params!)]).toEqual([content.stepCount, ""]);
          seen.restored++;
          r.dispose();
          h.dispose();
        } finally {
          opt.dispose();
        }
      }),
      settings,
    );
    expect(seen.loaded).toBeGreaterThanOrEqual(Math.max(1, Math.floor(RUNS * 0.1)));
    expect(seen.restored).toBeGreaterThanOrEqual(Math.max(1, Math.floor(RUNS * 0.1)));
  });
});
