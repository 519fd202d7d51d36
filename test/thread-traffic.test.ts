// The pool's cache-line model (docs/threads.md, "Design: many cores"), counted: one region
// of T threads (8, 16 and 64, simulated on this thread) run through the pool's own
// mechanism with every atomic write recorded by the line it hits, against the table of
// src/pool/control-block.ts, which says how often each line is written per region and who
// writes it. The docs' table is the table's own rendering.
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { Cadence } from "../src/pool/cadence.ts";
import { CONTROL_BLOCK_WORDS, CONTROL_LINES, controlBlockTable, lineKind, LINE_WORDS, type LineName } from "../src/pool/control-block.ts";
import { claimOrder, newThreadState, open, runPhase, type ShareTask } from "../src/pool/region.ts";
import { shareCount } from "../src/pool-shape.ts";

const realAtomics = Atomics;
afterEach(() => {
  (globalThis as { Atomics: typeof Atomics }).Atomics = realAtomics;
});

/** Runs `fn` with every atomic write counted per 64-byte line of the control block. */
function countWrites(fn: () => void): Map<number, number> {
  const lines = new Map<number, number>();
  const count = (index: number) => lines.set(Math.floor(index / LINE_WORDS), (lines.get(Math.floor(index / LINE_WORDS)) ?? 0) + 1);
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

const noWork: ShareTask = { scan: () => -1, join: () => {}, step: () => {} };

/**
 * One region of `threads` threads in rounds: in each round every thread claims and runs the
 * next share of its order, as threads that arrive together do (thread 0 first: it opened
 * the region). Returns the threads that ran each share.
 */
function region(ctrl: Int32Array, threads: number): number[][] {
  const shares = shareCount(threads);
  const orders = Array.from({ length: threads }, (_, self) => claimOrder(self, threads, shares));
  const ran: number[][] = [[], []];
  const ticket = open(ctrl, 1);
  for (const phase of [0, 1]) {
    const states = orders.map(() => newThreadState());
    const next = orders.map(() => 0);
    for (let round = 0; next.some((i, self) => i < orders[self].length); round++) {
      for (let self = 0; self < threads; self++) {
        const order = orders[self];
        if (next[self] >= order.length) continue;
        const t = order[next[self]++];
        // One share of this thread's order at a time: runPhase over a one-share order.
        const task: ShareTask = { ...noWork, scan: () => (ran[0].push(self), -1), step: () => void ran[1].push(self) };
        runPhase(ctrl, states[self], [t], shares, ticket, self, phase, { ...task, join: () => {} });
        void round;
      }
    }
  }
  return ran;
}

describe("control block traffic", () => {
  it.each([8, 16, 64])("a region of %i threads writes each line as often as the table says, nothing per share on a shared line", (threads) => {
    const ctrl = new Int32Array(new SharedArrayBuffer(4 * CONTROL_BLOCK_WORDS));
    const cadence = new Cadence(ctrl, performance.timeOrigin);
    let ran: number[][] = [];
    const writes = countWrites(() => {
      ran = region(ctrl, threads);
      cadence.ended(performance.now(), true); // the executor's write after the step
    });
    const expected = new Map<number, number>();
    for (let line = 0; line < CONTROL_BLOCK_WORDS / LINE_WORDS; line++) {
      const [name, index] = lineKind(line);
      const spec = CONTROL_LINES[name as LineName];
      // Share lines: only the shares this region has; the others are untouched.
      const per = name === "share" && index >= shareCount(threads) ? 0 : spec.writesPerRegion;
      if (per > 0) expected.set(line, per);
    }
    expect(writes).toEqual(expected);
    // Every share ran once per phase, each by the thread whose range holds it.
    expect(ran[0]).toHaveLength(shareCount(threads));
    expect(ran[1]).toHaveLength(shareCount(threads));
  });

  it("docs/threads.md shows the control block's table", () => {
    expect(readFileSync(new URL("../docs/threads.md", import.meta.url), "utf8")).toContain(controlBlockTable());
  });
});
