// The pool's cache-line model (docs/threads.md, "Design: many cores"), counted: one region
// run through the pool's own mechanism with every atomic write recorded by the word it
// hits. Each hot word has a line of its own, each share's words share the share's line, and
// no line is written once per share: the barrier and the end are written once per region.
import { afterEach, describe, expect, it } from "vitest";
import { CONTROL, threadProgram } from "../src/thread-pool.ts";

const realAtomics = Atomics;
afterEach(() => {
  (globalThis as { Atomics: typeof Atomics }).Atomics = realAtomics;
});

/** Runs `fn` with every atomic write counted per 64-byte line of the control block. */
function countWrites(fn: () => void): Map<number, number> {
  const lines = new Map<number, number>();
  const count = (index: number) => lines.set(index >> 4, (lines.get(index >> 4) ?? 0) + 1);
  const counting = Object.create(realAtomics) as typeof Atomics;
  for (const name of ["store", "add", "sub", "compareExchange", "exchange"] as const) {
    const real = realAtomics[name] as (a: Int32Array, i: number, ...rest: number[]) => number;
    (counting as unknown as Record<string, unknown>)[name] = (a: Int32Array, i: number, ...rest: number[]) => {
      const before = a[i];
      const result = real(a, i, ...rest);
      if (name !== "compareExchange" || result === before) count(i); // a failed CAS writes nothing
      return result;
    };
  }
  (globalThis as { Atomics: typeof Atomics }).Atomics = counting;
  try {
    fn();
  } finally {
    (globalThis as { Atomics: typeof Atomics }).Atomics = realAtomics;
  }
  return lines;
}

describe("control block traffic", () => {
  it.each([8, 16, 64])("a region of %i shares writes each hot line once and each share's own line, nothing per share on a shared line", (shares) => {
    const p = threadProgram(0);
    const ctrl = new Int32Array(new SharedArrayBuffer(4 * CONTROL.words));
    const order = Array.from({ length: shares }, (_, t) => t);
    const writes = countWrites(() => {
      const region = p.open(ctrl, 1);
      p.runShares(ctrl, order, region, 0, 0, () => {}); // the scan
      p.runShares(ctrl, order, region, 0, 1, () => {}); // the step
    });
    const line = (word: number) => word >> 4;
    const expected = new Map<number, number>([
      [line(p.REGION), 2], // the caller opens the region: its ticket (region and job), then REGION
      [line(p.FIRST_BAD), 1], // the verdict, reset once
      [line(p.SCANNED), 1], // the barrier: written by whoever finishes the last scan
      [line(p.STEPPED), 1], // the end: by whoever finishes the last step
    ]);
    // A share's line: claim, owner and done, for the scan and the step.
    for (let t = 0; t < shares; t++) expected.set(line(p.SHARE + p.LINE * t), 6);
    expect(writes).toEqual(expected);
    // Before: the hot words shared one line, and every share's completion added to a
    // counter on it, 2 × shares writes to one line per region from every thread.
  });
});
