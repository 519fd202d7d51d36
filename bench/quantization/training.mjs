// The speed target where it counts: in a training loop whose arrays come from DRAM,
// n = 1e7 on 2 threads (forced: `threads: 2`), the 8-bit optimizer (`stateBits: 8`) against
// the f32 optimizer with the same options, both as a user makes them (the default NaN/±∞
// scan included), side by side in the training loop of bench/training-loop-pattern.mjs
// (pairedTrainingLoop: each step after its own `gap` ms pass streaming a 16 MiB scratch).
import { createRmsprop } from "../../src/index.ts";
import { seededArray } from "../data.mjs";
import { pairedTrainingLoop } from "../training-loop-pattern.mjs";

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
    const { ms, ratio, ratioRange } = pairedTrainingLoop(opts, { gap, warmUp, iterations });
    for (const opt of opts) opt.dispose();
    rows.push({ n, threads, gap, variant, f32Ms: ms[0], q8Ms: ms[1], ratio, ratioRange });
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
