// Runs a list of contenders at one n in interleaved rounds, so each ratio compares runs
// made seconds apart under the same machine load, and turns the samples into rows. A
// section may also spread its rounds over its sizes (measureSpread): round r at every n
// before round r + 1 at any, so a row's rounds come many seconds apart.
import { Bench } from "tinybench";
import { median, relativeMad } from "./stats.mjs";
import { compareWithinGroup } from "./shares.mjs";

const HOOKS = ["beforeAll", "beforeEach"];

/** The tinybench task options of a contender: only the hooks it has. */
function taskOptions(contender) {
  return Object.fromEntries(HOOKS.filter((h) => contender[h]).map((h) => [h, contender[h]]));
}

/**
 * What rounds of one list gave, by contender name: all samples, each round's median, where a
 * contender says (roundEnd) how it stood at each round's end, and the probe's call share.
 */
const noRounds = (list) => ({
  samples: new Map(list.map((c) => [c.name, []])),
  roundMs: new Map(list.map((c) => [c.name, []])),
  roundEnds: new Map(list.filter((c) => c.roundEnd).map((c) => [c.name, []])),
  callShares: new Map(),
});

/**
 * Rounds `first` to `first + rounds − 1` of `list` into `got` (see noRounds). Odd rounds
 * run the list in reverse, so no contender always runs first (warmest or coldest).
 */
async function runRounds(list, { rounds, first = 0, ...benchOptions }, got, onTask) {
  for (let round = first; round < first + rounds; round++) {
    const order = round % 2 ? [...list].reverse() : list;
    // throws: a contender that fails must stop the run, not leave a row without samples.
    const bench = new Bench({ retainSamples: true, throws: true, ...benchOptions });
    for (const c of order) bench.add(c.name, c.step, taskOptions(c));
    bench.addEventListener("cycle", () => onTask());
    await bench.run();
    for (const task of bench.tasks) {
      // concat, not push(...): a fast task yields more samples than a call takes arguments.
      got.samples.set(task.name, got.samples.get(task.name).concat(task.result.latency.samples));
      got.roundMs.get(task.name).push(task.result.latency.p50);
    }
    for (const c of list) {
      c.check?.();
      if (c.roundEnd) got.roundEnds.get(c.name).push(c.roundEnd());
    }
  }
  // The compute probe's check that a JS→wasm call is negligible against its work.
  for (const c of list) if (c.callShare) got.callShares.set(c.name, c.callShare());
}

/** The rows of one (section, n) group from what its rounds gave, with the ratios within the group. */
function rowsOf(section, n, list, { samples, roundMs, roundEnds, callShares }) {
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
      roundEnds: roundEnds.get(c.name),
    };
  });
  return compareWithinGroup(rows);
}

/**
 * Measures `list` (contenders as in contenders.mjs) at n. `settings` holds rounds and
 * tinybench's time, iterations, warmupTime and warmupIterations. Every row carries its
 * per-round medians, so ratios and ceiling shares are taken within a round. `onTask(done,
 * total)` is called as each task of each round ends (the progress line).
 */
export async function measure(section, n, list, settings, onTask = () => {}) {
  const total = settings.rounds * list.length;
  let done = 0;
  const got = noRounds(list);
  try {
    await runRounds(list, settings, got, () => onTask(++done, total));
  } finally {
    for (const c of list) c.dispose();
  }
  return rowsOf(section, n, list, got);
}

/**
 * Measures `contenders(n)` at every n of `sizes`, its rounds spread: round r at every n
 * before round r + 1 at any, each n on the same contenders throughout (made in the first
 * round, disposed after the last), so a threaded optimizer's choice between threads and
 * alone stays as warm as in rounds run back to back. A slow phase of the host of a few
 * seconds (the two virtual cores taking turns on one physical core, say) then meets one
 * round at each of several sizes rather than every round of one, and the median over
 * rounds drops it; a phase as long as a round still decides rows. Within a round every
 * contender of an n still runs a moment apart. `onRound(r)` as each
 * round starts, `onTask(done, total)` as each task of the round ends.
 */
export async function measureSpread(section, sizes, contenders, settings, { onRound = () => {}, onTask = () => {} } = {}) {
  const groups = sizes.map((n) => ({ n, list: undefined, got: undefined }));
  try {
    for (let round = 0; round < settings.rounds; round++) {
      onRound(round);
      let done = 0;
      for (const group of groups) {
        group.list ??= await contenders(group.n);
        group.got ??= noRounds(group.list);
        // The progress of a round: every n has as many contenders as this one (near enough).
        const total = groups.length * group.list.length;
        await runRounds(group.list, { ...settings, rounds: 1, first: round }, group.got, () => onTask(++done, total));
      }
    }
  } finally {
    for (const { list } of groups) for (const c of list ?? []) c.dispose();
  }
  return groups.flatMap(({ n, list, got }) => rowsOf(section, n, list, got));
}
