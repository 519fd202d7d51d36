// How the benchmark spreads a section's rounds over its sizes (bench/measure.mjs): which
// contender runs when, on which instance. The contenders here only record their calls; no
// time is asserted.
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs bench module without types
import { measureSpread } from "../bench/measure.mjs";

interface Call {
  n: number;
  name: string;
  instance: number;
}

/** Contenders "a" and "b" at n that log every step with the instance they belong to. */
function recorder() {
  const calls: Call[] = [];
  const disposed: number[] = [];
  let instances = 0;
  const contenders = async (n: number) =>
    ["a", "b"].map((name) => {
      const instance = instances++;
      return {
        name,
        threads: 1,
        bytesPerParam: 20,
        step: () => void calls.push({ n, name, instance }),
        dispose: () => void disposed.push(instance),
      };
    });
  return { calls, disposed, contenders, created: () => instances };
}

/** The first call of each stretch of calls at one n (tinybench warms up and runs each task in turn within one). */
const stretches = (calls: Call[]) => calls.filter((c, i) => i === 0 || c.n !== calls[i - 1].n);

const settings = { rounds: 3, time: 1, iterations: 2, warmupTime: 0, warmupIterations: 1 };

describe("bench: rounds spread over sizes", () => {
  it("runs round r at every n before round r + 1 at any, each n on the same contenders, disposed after the last round", async () => {
    const { calls, disposed, contenders, created } = recorder();
    const rounds: number[] = [];
    let disposedBefore = -1;
    const rows = await measureSpread("threads", [1e3, 2e3], contenders, settings, {
      onRound: (r: number) => {
        rounds.push(r);
        if (r === 2) disposedBefore = disposed.length;
      },
    });
    expect(rounds).toEqual([0, 1, 2]);
    // Odd rounds run the contenders in reverse, as measure() does.
    expect(stretches(calls).map((c) => `${c.n} ${c.name}`)).toEqual(["1000 a", "2000 a", "1000 b", "2000 b", "1000 a", "2000 a"]);
    // Made once per n, in the first round: instances 0 and 1 at 1e3, 2 and 3 at 2e3.
    expect(created()).toBe(4);
    for (const c of calls) expect(c.instance).toBe((c.n === 1e3 ? 0 : 2) + (c.name === "b" ? 1 : 0));
    expect(disposedBefore).toBe(0);
    expect([...disposed].sort((x, y) => x - y)).toEqual([0, 1, 2, 3]);
    // One row per contender and n, each with one median per round.
    expect(rows.map((r: { n: number; name: string; roundMs: number[] }) => [r.n, r.name, r.roundMs.length])).toEqual([
      [1e3, "a", 3], [1e3, "b", 3], [2e3, "a", 3], [2e3, "b", 3],
    ]);
  });

  it("disposes every contender made when a round fails", async () => {
    const { disposed, contenders } = recorder();
    let made = 0;
    const failing = async (n: number) => {
      const list = await contenders(n);
      if (++made === 2) list[0].step = () => { throw new Error("a contender failed"); };
      return list;
    };
    await expect(measureSpread("threads", [1e3, 2e3], failing, settings)).rejects.toThrow("a contender failed");
    expect([...disposed].sort((x, y) => x - y)).toEqual([0, 1, 2, 3]);
  });

  it("reports each round's progress against that round's tasks", async () => {
    const { contenders } = recorder();
    const tasks: [number, number][] = [];
    await measureSpread("threads", [1e3, 2e3], contenders, { ...settings, rounds: 1 }, { onTask: (done: number, total: number) => tasks.push([done, total]) });
    expect(tasks).toEqual([[1, 4], [2, 4], [3, 4], [4, 4]]);
  });
});
