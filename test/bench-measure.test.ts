// How the benchmark spreads a section's rounds over its sizes (bench/measure.mjs): which
// contender runs when, on which instance. The contenders here only record their calls; no
// time is asserted.
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs bench module without types
import { measureSpread } from "../bench/measure.mjs";
// @ts-expect-error: a plain .mjs bench module without types
import { trainingSchedule } from "../bench/training-loop-pattern.mjs";

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

  it("disposes every contender made when a round fails, at the first n or a later one", async () => {
    for (const [failAt, made] of [[1, [0, 1]], [2, [0, 1, 2, 3]]] as const) {
      const { disposed, contenders } = recorder();
      let lists = 0;
      const failing = async (n: number) => {
        const list = await contenders(n);
        if (++lists === failAt) list[0].step = () => { throw new Error("a contender failed"); };
        return list;
      };
      await expect(measureSpread("threads", [1e3, 2e3], failing, settings)).rejects.toThrow("a contender failed");
      expect([...disposed].sort((x, y) => x - y)).toEqual(made);
    }
  });

  it("reports each round's progress against that round's tasks, from 1 again each round", async () => {
    const { contenders } = recorder();
    const tasks: [number, number][] = [];
    await measureSpread("threads", [1e3, 2e3], contenders, { ...settings, rounds: 2 }, { onTask: (done: number, total: number) => tasks.push([done, total]) });
    expect(tasks).toEqual([[1, 4], [2, 4], [3, 4], [4, 4], [1, 4], [2, 4], [3, 4], [4, 4]]);
  });
});

describe("bench: how a threaded contender stood at each round's end", () => {
  it("is read once a round, after the round, and kept on its row", async () => {
    const { calls, contenders } = recorder();
    const ends: number[] = [];
    const withEnd = async (n: number) =>
      (await contenders(n)).map((c) => (c.name === "b" ? { ...c, roundEnd: () => (ends.push(calls.length), { threads: ends.length }) } : c));
    const rows = await measureSpread("threads", [1e3], withEnd, settings);
    const b = rows.find((r: { name: string }) => r.name === "b");
    expect(b.roundEnds).toEqual([{ threads: 1 }, { threads: 2 }, { threads: 3 }]);
    expect(rows.find((r: { name: string }) => r.name === "a").roundEnds).toBeUndefined();
    // Read after each round's steps: the last after every step of the run, the others between.
    expect(ends[0]).toBeGreaterThan(0);
    expect(ends[0]).toBeLessThan(ends[1]);
    expect(ends[1]).toBeLessThan(ends[2]);
    expect(ends[2]).toBe(calls.length);
  });
});

describe("bench: the training loop's schedule", () => {
  it("runs pair p of every row before pair p + 1, and the traffic probes after every other pair at 8e5", () => {
    const runs = trainingSchedule({ sizes: [1e5, 8e5], gaps: [1, 5], pairs: 4, probeTraffic: true });
    const text = runs.map((r: { kind: string; n: number; gap: number; order?: number[]; reversed?: boolean }) =>
      r.kind === "pair" ? `${r.n} ${r.gap} ${r.order!.join("")}` : `${r.n} ${r.gap} traffic${r.reversed ? " reversed" : ""}`);
    const pairs = (order: string) => [`100000 1 ${order}`, `100000 5 ${order}`, `800000 1 ${order}`, `800000 5 ${order}`];
    expect(text).toEqual([
      ...pairs("01").slice(0, 3), "800000 1 traffic", pairs("01")[3], "800000 5 traffic",
      ...pairs("10"),
      ...pairs("01").slice(0, 3), "800000 1 traffic reversed", pairs("01")[3], "800000 5 traffic reversed",
      ...pairs("10"),
    ]);
    // The busy load's rows time no probes.
    expect(trainingSchedule({ sizes: [1e5, 8e5], gaps: [1], pairs: 1, probeTraffic: false }).map((r: { kind: string }) => r.kind)).toEqual(["pair", "pair"]);
  });
});
