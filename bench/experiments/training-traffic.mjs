// What bounds 2 threads in a training loop at a size that leaves the caches, measured side
// by side with a one-thread step:
//   node bench/experiments/training-traffic.mjs [n] [gapMs] [rounds]
// Each contender runs in a loop of its own with a one-thread optimizer (nonFinite "skip",
// as the bench's training-loop rows), each step after its own pass of `gapMs` that streams a
// 16 MiB scratch (100 iterations of warm-up, then 40 measured): 2 threads with "skip" and
// with "ignore" (no scan of g before the step), 1 thread with "ignore", and the traffic probe
// (the step's bytes moved without its arithmetic) on 1 thread and forced onto 2. Prints each
// one's median time over the one-thread step's, per round (docs/threads.md, "Where a
// threaded step's time goes").
import { createRmsprop, createTrafficProbe } from "rmsprop-wasm";
import { testing } from "../../dist/pool/testing.js";
import { pairedTrainingLoop, withOptimizers } from "../training-loop-pattern.mjs";

const n = Number(process.argv[2] ?? 8e5);
const gap = Number(process.argv[3] ?? 20);
const rounds = Number(process.argv[4] ?? 2);

const CONTENDERS = {
  "2 threads, skip": () => createRmsprop(n, { threads: 2, nonFinite: "skip" }),
  "2 threads, ignore": () => createRmsprop(n, { threads: 2, nonFinite: "ignore" }),
  "1 thread, ignore": () => createRmsprop(n, { nonFinite: "ignore" }),
  "traffic probe, 1 thread": () => createTrafficProbe(n),
  // Forced: its choice would run it alone where threads move the bytes no faster.
  "traffic probe, 2 threads forced": () => createTrafficProbe(n, { threads: 2 }),
};

const ratios = Object.fromEntries(Object.keys(CONTENDERS).map((name) => [name, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, create] of Object.entries(CONTENDERS)) {
    const loop = await withOptimizers(n, [() => createRmsprop(n, { nonFinite: "skip" }), create], (opts) => {
      const fixed = testing.threads;
      if (name.endsWith("forced")) testing.threads = 2;
      try {
        return pairedTrainingLoop(opts, { gap, warmUp: 100, iterations: 40, order: r % 2 ? [1, 0] : [0, 1] });
      } finally {
        testing.threads = fixed;
      }
    });
    ratios[name].push(loop.ratio);
  }
}
console.log(`n = ${n}, ${gap} ms passes: each contender's median step time over a one-thread step's ("skip"), by round`);
for (const [name, xs] of Object.entries(ratios)) console.log(`  ${name.padEnd(32)} ${xs.map((x) => `${x.toFixed(2)}×`).join("  ")}`);
