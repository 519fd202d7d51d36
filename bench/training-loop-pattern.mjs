// The pattern people actually run: a training loop, where every step follows a forward and
// backward pass of single-threaded JavaScript (here: `gap` ms that stream a 16 MiB scratch,
// as such passes do to the caches) and the pool's workers have long fallen asleep, unless
// the cadence woke them for the step. `threads: 2` against `threads: 1`, both with the
// default options, side by side: each iteration runs both optimizers, each after its own
// pass, and only the time inside step() is counted. Always in the same order: alternating
// it gave each optimizer gaps of one pass and of three in turn, a cadence no training
// loop has, which the pool's workers could not wake for (docs/threads.md). One row per
// (n, gap): the median per-step times, their ratio, and its spread. The targets
// (bench/patterns.mjs): at most 1.03× one thread's time at n = 1e5, at most 0.70× at n = 8e5.
//
// Where a target is judged (the quiet load), a row measures several pairs of fresh
// optimizers, the order of the two reversed from one pair to the next, and reads the median
// of the pairs' ratios; its spread is their range. Two identical one-thread optimizers in
// this loop read 0.99–1.10× each other at 1e5 (20 ms passes, one pair per row): where each
// one's arrays fall in the caches, not its code, and no number of iterations of one pair
// averages that out. One pair, the spread is the middle half of its per-iteration ratios.
import { createRmsprop, createTrafficProbe } from "rmsprop-wasm";
// The pool's test hooks, from the same build the package entry loads (dist/): not the
// package's API, only to force the 2-thread traffic probe onto its threads (measureTraffic).
import { testing } from "../dist/pool/testing.js";
import { median } from "./stats.mjs";

/** The forward and backward passes of a training loop: a 16 MiB scratch streamed in 256 KiB pieces (also bench/quantization/training.mjs). */
const scratch = new Float64Array(2 << 20);
const PIECE = 32768;
let at = 0;
export function forwardBackward(ms) {
  const end = performance.now() + ms;
  do {
    for (let i = at; i < at + PIECE; i += 8) scratch[i] += 1;
    at = (at + PIECE) % scratch.length;
  } while (performance.now() < end);
}

/**
 * Optimizers in a training loop, side by side: every iteration runs each, in the same
 * order (`order`), each step after its own forward and backward pass of `gap` ms; `iterations`
 * measured after `warmUp`, and only the time inside step() counts. The figure is the ratio
 * of the median step times (the second's over the first's); per-iteration ratios are
 * noisy (each is one step of each), so the middle half of them is its spread.
 */
export function pairedTrainingLoop(opts, { gap, warmUp, iterations, order = [0, 1] }) {
  const times = opts.map(() => []);
  for (let it = -warmUp; it < iterations; it++) {
    for (const k of order) {
      forwardBackward(gap);
      const t0 = performance.now();
      opts[k].step();
      const ms = performance.now() - t0;
      if (it >= 0) times[k].push(ms);
    }
  }
  const ms = times.map(median);
  const ratios = times[1].map((t, i) => t / times[0][i]).sort((a, b) => a - b);
  return { ms, ratio: ms[1] / ms[0], ratioRange: [ratios[Math.floor(ratios.length / 4)], ratios[Math.floor((3 * ratios.length) / 4)]] };
}

export const TRAINING_SIZES = [1e5, 8e5];
export const TRAINING_GAPS = [1, 5, 20, 50];
/**
 * The sizes where the target asks threads for a gain (patterns.mjs), whose rows also measure
 * what memory allows there (measureTraffic).
 */
export const TRAFFIC_SIZES = [8e5];

/**
 * How each load's rows are measured: pairs of fresh optimizers per row, iterations measured
 * per pair, and whether the rows at TRAFFIC_SIZES also time the traffic probes
 * (measureTraffic, with every other pair). The busy load has no target: one pair, no probes.
 */
export const TRAINING_RUNS = { quiet: { pairs: 4, iterations: 40, probeTraffic: true }, busy: { pairs: 1, iterations: 80, probeTraffic: false } };

/**
 * Fresh optimizers of n from `makers` (each (made so far) => Promise<optimizer>), seeded
 * alike, for `use`; all disposed after it, also when a later one fails to be made or `use`
 * throws. Also the experiments' (bench/experiments/).
 */
export async function withOptimizers(n, makers, use) {
  const opts = [];
  try {
    for (const make of makers) {
      const opt = await make(opts);
      opts.push(opt);
      for (let i = 0; i < n; i++) opt.params[i] = Math.sin(i);
      opt.grads.fill(0.25);
    }
    return await use(opts);
  } finally {
    for (const opt of opts) opt.dispose();
  }
}

/** One pair of fresh optimizers (1 and 2 threads) in the loop: its median step times and their ratio (see pairedTrainingLoop). */
function measurePair(n, { gap, warmUp, iterations, order }) {
  const makers = [() => createRmsprop(n, { nonFinite: "skip" }), () => createRmsprop(n, { threads: 2, nonFinite: "skip" })];
  return withOptimizers(n, makers, (opts) => ({
    ...pairedTrainingLoop(opts, { gap, warmUp, iterations, order }),
    spin: opts[1].options.threadSpinMs,
    threads: opts[1].threads,
  }));
}

/**
 * What memory allows under a row's ratio, in a loop of its own: a one-thread optimizer and
 * traffic probes on 1 and on 2 threads (createTrafficProbe: the step's bytes moved with the
 * arithmetic replaced by a xor). Each probe's time over the step's: how much of one
 * thread's step moving its bytes takes alone, and with a second core. The 2-thread probe
 * runs every step on 2 threads (the pool's test hook): its choice would run it alone where
 * threads move the bytes no faster, and then measure one thread. It is the only job on the
 * pool: a second would give the pool's cadence steps at gaps of one pass and two in turn,
 * which no training loop has (see the top of this file), so the 2-thread optimizer is not
 * here. `reversed` runs the three in the other order.
 */
function measureTraffic(n, { gap, warmUp, iterations, reversed }) {
  const makers = [() => createRmsprop(n, { nonFinite: "skip" }), () => createTrafficProbe(n), () => createTrafficProbe(n, { threads: 2 })];
  return withOptimizers(n, makers, (opts) => {
    const fixed = testing.threads;
    testing.threads = 2;
    try {
      const { ms } = pairedTrainingLoop(opts, { gap, warmUp, iterations, order: reversed ? [2, 1, 0] : [0, 1, 2] });
      // A probe that ran alone would read as memory that does not scale.
      if (opts[2].threading.lastStep?.threads !== 2) throw new Error("the 2-thread traffic probe did not run on 2 threads");
      return { one: ms[1] / ms[0], two: ms[2] / ms[0] };
    } finally {
      testing.threads = fixed;
    }
  });
}

/**
 * The order a load's rows are measured in: pair p of every row before pair p + 1 of any
 * (a row's pairs come a minute apart, so a slow phase of the host meets one of them, not
 * all, and the median reads the machine as it usually is), each pair in its order (the two
 * optimizers' reversed every other pair), and after every other pair of a row at
 * TRAFFIC_SIZES, where `probeTraffic`, its traffic probes (their order reversed each time).
 */
export function trainingSchedule({ sizes, gaps, pairs, probeTraffic }) {
  const runs = [];
  for (let p = 0; p < pairs; p++) {
    for (const n of sizes) {
      for (const gap of gaps) {
        runs.push({ kind: "pair", n, gap, order: p % 2 ? [1, 0] : [0, 1] });
        if (probeTraffic && p % 2 === 0 && TRAFFIC_SIZES.includes(n)) runs.push({ kind: "traffic", n, gap, reversed: p % 4 === 2 });
      }
    }
  }
  return runs;
}

/**
 * The rows of one load: every n and gap, each from `pairs` pairs of `iterations` measured
 * steps (after a warm-up). A warm-up (the JIT, the choice's first samples and tries, the
 * cadence's first window and its misses), then the measured iterations: a training loop
 * runs thousands of steps, and its steady state is what counts. After a warm-up of 40
 * iterations the rows at 1e5 measured the choice still exploring (1.10× at 5 ms, where 200
 * measured iterations gave 1.02×).
 */
export async function trainingLoopRows(load, { sizes = TRAINING_SIZES, gaps = TRAINING_GAPS, warmUp = 100, ...runs } = {}) {
  const { pairs, iterations, probeTraffic } = { ...TRAINING_RUNS[load], ...runs };
  const cases = sizes.flatMap((n) => gaps.map((gap) => ({ n, gap, measured: [], traffic: [] })));
  const of = (n, gap) => cases.find((c) => c.n === n && c.gap === gap);
  for (const run of trainingSchedule({ sizes, gaps, pairs, probeTraffic })) {
    const row = of(run.n, run.gap);
    const how = { gap: run.gap, warmUp, iterations };
    if (run.kind === "pair") row.measured.push(await measurePair(run.n, { ...how, order: run.order }));
    else row.traffic.push(await measureTraffic(run.n, { ...how, reversed: run.reversed }));
  }
  return cases.map(({ n, gap, measured, traffic }) => {
    const ratios = measured.map((m) => m.ratio);
    return {
      load,
      pattern: `training loop, ${gap} ms`,
      spin: measured[0].spin,
      n,
      threads: measured[0].threads,
      pairs,
      oneUs: 1e3 * median(measured.map((m) => m.ms[0])),
      twoUs: 1e3 * median(measured.map((m) => m.ms[1])),
      ratio: median(ratios),
      ratioRange: pairs > 1 ? [Math.min(...ratios), Math.max(...ratios)] : measured[0].ratioRange,
      // Each probe's time over the one-thread step's (measureTraffic): the median over its pairs.
      ...(traffic.length > 0 && { traffic: { one: median(traffic.map((t) => t.one)), two: median(traffic.map((t) => t.two)) } }),
    };
  });
}
