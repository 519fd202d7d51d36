// The pattern people actually run: a training loop, where every step follows a forward and
// backward pass of single-threaded JavaScript (here: `gap` ms that stream a 16 MiB scratch,
// as such passes do to the caches) and the pool's workers have long fallen asleep, unless
// the cadence woke them for the step. `threads: 2` against `threads: 1`, both with the
// default options, side by side: each iteration runs both optimizers, each after its own
// pass, and only the time inside step() is counted. Always in the same order: alternating
// it gave each optimizer gaps of one pass and of three in turn, a cadence no training
// loop has, which the pool's workers could not wake for (docs/threads.md). One row per
// (n, gap): the median per-step times, their ratio, and the middle half of the
// per-iteration ratios. The targets (bench/patterns.mjs): at most 1.03× one thread's time at n = 1e5,
// at most 0.70× at n = 8e5.
import { createRmsprop } from "rmsprop-wasm";
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
 * Two optimizers in a training loop, side by side: every iteration runs both, in the same
 * order, each step after its own forward and backward pass of `gap` ms; `iterations`
 * measured after `warmUp`, and only the time inside step() counts. The figure is the ratio
 * of the median step times (the second's over the first's); per-iteration ratios are
 * noisy (each is one step of each), so the middle half of them is its spread.
 */
export function pairedTrainingLoop(opts, { gap, warmUp, iterations }) {
  const times = [[], []];
  for (let it = -warmUp; it < iterations; it++) {
    for (const k of [0, 1]) {
      forwardBackward(gap);
      const t0 = performance.now();
      opts[k].step();
      const ms = performance.now() - t0;
      if (it >= 0) times[k].push(ms);
    }
  }
  const ms = [median(times[0]), median(times[1])];
  const ratios = times[1].map((t, i) => t / times[0][i]).sort((a, b) => a - b);
  return { ms, ratio: ms[1] / ms[0], ratioRange: [ratios[Math.floor(ratios.length / 4)], ratios[Math.floor((3 * ratios.length) / 4)]] };
}

export const TRAINING_SIZES = [1e5, 8e5];
export const TRAINING_GAPS = [1, 5, 20, 50];

/** The rows of one load: every n and gap, `iterations` measured steps each (after a warm-up). */
export async function trainingLoopRows(load, { sizes = TRAINING_SIZES, gaps = TRAINING_GAPS, warmUp = 100, iterations = 80 } = {}) {
  const rows = [];
  for (const n of sizes) {
    for (const gap of gaps) {
      const opts = [await createRmsprop(n, { nonFinite: "skip" }), await createRmsprop(n, { threads: 2, nonFinite: "skip" })];
      for (const opt of opts) {
        for (let i = 0; i < n; i++) opt.params[i] = Math.sin(i);
        opt.grads.fill(0.25);
      }
      // A warm-up (the JIT, the choice's first samples and tries, the cadence's first
      // window and its misses), then the measured iterations: a training loop runs
      // thousands of steps, and its steady state is what counts. After a warm-up of 40
      // iterations the rows at 1e5 measured the choice still exploring (1.10× at 5 ms,
      // where 200 measured iterations gave 1.02×).
      const { ms, ratio, ratioRange } = pairedTrainingLoop(opts, { gap, warmUp, iterations });
      rows.push({
        load,
        pattern: `training loop, ${gap} ms`,
        spin: opts[1].options.threadSpinMs,
        n,
        threads: opts[1].threads,
        oneUs: 1e3 * ms[0],
        twoUs: 1e3 * ms[1],
        ratio,
        ratioRange,
      });
      for (const opt of opts) opt.dispose();
    }
  }
  return rows;
}
