// What a one-thread step pays for running on shared memory, in a training loop:
//   node bench/experiments/shared-memory-cost.mjs [n] [gapMs] [pairs]
// Pairs of one-thread optimizers in the bench's training loop (a pass of `gapMs` that
// streams a 16 MiB scratch before each step; 100 iterations of warm-up, then 40 measured,
// the order of the two reversed from one pair to the next), the first on its own memory,
// the second on an `options.memory` of the same size that is, by turns, not shared and
// shared. A threaded optimizer that runs its steps alone runs them on shared memory
// (docs/threads.md, "What you can rely on"). Prints each kind's pair ratios, sorted.
import { createRmsprop } from "rmsprop-wasm";
import { pairedTrainingLoop, withOptimizers } from "../training-loop-pattern.mjs";
import { median } from "../stats.mjs";

const n = Number(process.argv[2] ?? 1e5);
const gap = Number(process.argv[3] ?? 5);
const pairs = Number(process.argv[4] ?? 16);
const WASM_PAGE = 65536;

const ratios = { "not shared": [], shared: [] };
for (let p = 0; p < 2 * pairs; p++) {
  const kind = p % 2 ? "shared" : "not shared";
  // The second on a memory with room for the same optimizer as the first (its byteLength:
  // everything it placed).
  const onMemoryOf = ([own]) => {
    const pages = Math.ceil(own.byteLength / WASM_PAGE);
    const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: kind === "shared" });
    return createRmsprop(n, { nonFinite: "skip", memory });
  };
  const order = Math.floor(p / 2) % 2 ? [1, 0] : [0, 1];
  const loop = await withOptimizers(n, [() => createRmsprop(n, { nonFinite: "skip" }), onMemoryOf], (opts) =>
    pairedTrainingLoop(opts, { gap, warmUp: 100, iterations: 40, order }),
  );
  ratios[kind].push(loop.ratio);
}
console.log(`n = ${n}, ${gap} ms passes: a one-thread step on an options.memory over one on its own memory, ${pairs} pairs each`);
for (const [kind, r] of Object.entries(ratios)) {
  console.log(`  ${kind.padEnd(10)}  median ${median(r).toFixed(3)}×: ${r.sort((a, b) => a - b).map((x) => x.toFixed(2)).join(" ")}`);
}
