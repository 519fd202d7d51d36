// Runs a list of contenders at one n in interleaved rounds, so each ratio compares runs
// made seconds apart under the same machine load, and turns the samples into rows.
import { Bench } from "tinybench";
import { median, relativeMad } from "./stats.mjs";
import { compareWithinGroup } from "./shares.mjs";

const HOOKS = ["beforeAll", "beforeEach"];

/** The tinybench task options of a contender: only the hooks it has. */
function taskOptions(contender) {
  return Object.fromEntries(HOOKS.filter((h) => contender[h]).map((h) => [h, contender[h]]));
}

/**
 * Measures `list` (contenders as in contenders.mjs) at n. `settings` holds rounds and
 * tinybench's time, iterations, warmupTime and warmupIterations. Every row carries its
 * per-round medians, so ratios and ceiling shares are taken within a round. `onTask(done,
 * total)` is called as each task of each round ends (the progress line).
 */
export async function measure(section, n, list, settings, onTask = () => {}) {
  const { rounds, ...benchOptions } = settings;
  const total = rounds * list.length;
  let done = 0;
  const samples = new Map(list.map((c) => [c.name, []]));
  const roundMs = new Map(list.map((c) => [c.name, []]));
  const callShares = new Map();
  try {
    for (let round = 0; round < rounds; round++) {
      // Alternate the order so no contender always runs first (warmest or coldest).
      const order = round % 2 ? [...list].reverse() : list;
      // throws: a contender that fails must stop the run, not leave a row without samples.
      const bench = new Bench({ retainSamples: true, throws: true, ...benchOptions });
      for (const c of order) bench.add(c.name, c.step, taskOptions(c));
      bench.addEventListener("cycle", () => onTask(++done, total));
      await bench.run();
      for (const task of bench.tasks) {
        // concat, not push(...): a fast task yields more samples than a call takes arguments.
        samples.set(task.name, samples.get(task.name).concat(task.result.latency.samples));
        roundMs.get(task.name).push(task.result.latency.p50);
      }
      for (const c of list) c.check?.();
    }
    // The compute probe's check that a JS→wasm call is negligible against its work.
    for (const c of list) if (c.callShare) callShares.set(c.name, c.callShare());
  } finally {
    for (const c of list) c.dispose();
  }
  const rows = list.map((c) => {
    const work = c.work ?? n;
    const ms = median(samples.get(c.name));
    return {
      section,
      name: c.name,
      n,
      role: c.role,
      tag: c.tag,
      threads: c.threads,
      work,
      medianMs: ms,
      // A probe's sample may do other work than one step of n: this is a step of n at its rate.
      msPerStep: (ms * n) / work,
      spread: relativeMad(samples.get(c.name)),
      samples: samples.get(c.name).length,
      roundMs: roundMs.get(c.name),
      roundRates: roundMs.get(c.name).map((t) => work / (t / 1000)),
      paramsPerSec: work / (ms / 1000),
      gbPerSec: (work * c.bytesPerParam) / (ms / 1000) / 1e9,
      bytesPerParam: c.bytesPerParam,
      bytesHeld: c.bytesHeld,
      callShare: callShares.get(c.name),
    };
  });
  return compareWithinGroup(rows);
}
