// The speed target where it counts: in a training loop whose arrays come from DRAM,
// n = 1e7 on 2 threads (forced: `threads: 2`), the 8-bit optimizer (`stateBits: 8`) against
// the f32 optimizer with the same options, both as a user makes them (the default NaN/±∞
// scan included). Every iteration runs both, always in the same order (so that each has
// the regular cadence of a training loop; bench/training-loop-pattern.mjs), each after its own
// forward and backward pass (bench/training-loop-pattern.mjs: `gap` ms streaming a 16 MiB
// scratch), and only the time inside step() counts. The row's figure is the ratio of the
// median step times; its spread, the middle half of the per-iteration ratios.
import { createRmsprop } from "../../src/index.ts";
import { seededArray } from "../data.mjs";
import { median } from "../stats.mjs";
import { forwardBackward } from "../training-loop-pattern.mjs";

const VARIANTS = { "default": {}, "momentum 0.9": { momentum: 0.9 } };

/** One row per variant: `iterations` measured iterations after `warmUp` (the JIT, the pool's cadence). */
export async function trainingRows({ n = 1e7, threads = 2, gap = 5, warmUp = 10, iterations = 40 } = {}) {
  const rows = [];
  for (const [variant, options] of Object.entries(VARIANTS)) {
    const opts = [
      await createRmsprop(n, { ...options, threads, backend: "simd" }),
      await createRmsprop(n, { ...options, threads, backend: "simd", stateBits: 8 }),
    ];
    for (const opt of opts) {
      if (opt.threads !== threads) throw new Error(`asked for ${threads} threads, got ${opt.threads}`);
      opt.params.set(seededArray(n, 1));
      opt.grads.set(seededArray(n, 2));
    }
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
    for (const opt of opts) opt.dispose();
    const ratios = times[1].map((t, i) => t / times[0][i]).sort((a, b) => a - b);
    rows.push({
      n, threads, gap, variant,
      f32Ms: median(times[0]), q8Ms: median(times[1]),
      ratio: median(times[1]) / median(times[0]),
      ratioRange: [ratios[Math.floor(ratios.length / 4)], ratios[Math.floor((3 * ratios.length) / 4)]],
    });
  }
  return rows;
}

export function printTraining(rows) {
  console.log("\n| training loop | threads | variant | f32 ms | 8-bit ms | 8-bit / f32 (middle half) |\n|---:|---:|---|---:|---:|---:|");
  for (const r of rows) {
    const [lo, hi] = r.ratioRange;
    console.log(`| ${r.n.toExponential(0)}, ${r.gap} ms | ${r.threads} | ${r.variant} | ${r.f32Ms.toFixed(2)} | ${r.q8Ms.toFixed(2)} | ${r.ratio.toFixed(2)}× (${lo.toFixed(2)}–${hi.toFixed(2)}) |`);
  }
}
