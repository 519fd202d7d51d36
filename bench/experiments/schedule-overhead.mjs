// npm run bench:schedule-overhead
//
// What a schedule costs a step: the same optimizer at n = 1e6, once with fixed options and
// once with every value it uses as a schedule (a warmup joined to a cosine for lr, β and the
// momentum on schedules of their own, lrScale), stepped in interleaved rounds in one
// process so that both see the same machine. A schedule is evaluated once per step, not per
// element, so the ratio should be 1 within noise; docs/schedules.md quotes it. On a shared
// machine that noise is a few percent, so the same pair is also timed at n = 1, where the
// step is all overhead: the difference there, in µs, is what a schedule adds to any step.
import { createRmsprop, schedules } from "../../dist/index.js";
import { median } from "../stats.mjs";

const n = 1_000_000;
const rounds = Number(process.argv[2] ?? 41);
const stepsPerRound = 20;
const { join, linear, cosine, exponential, oneCycleMomentum } = schedules;

const fixed = { lr: 1e-3, beta: 0.99, momentum: 0.9, backend: "simd" };
const scheduled = {
  ...fixed,
  lr: join([linear({ from: 1e-5, to: 1e-3, steps: 100 }), cosine({ from: 1e-3, to: 1e-5, steps: 100_000 })], [100]),
  beta: exponential({ from: 0.9, rate: 1.001, every: 7, end: 0.999 }),
  momentum: oneCycleMomentum({ steps: 100_000 }),
  lrScale: linear({ from: 0.5, to: 1, steps: 1000 }),
};

/** Times the fixed and the scheduled optimizer over n parameters in interleaved rounds. */
async function compare(size, steps) {
  const a = await createRmsprop(size, fixed);
  const b = await createRmsprop(size, scheduled);
  for (const opt of [a, b]) {
    for (let i = 0; i < size; i++) opt.grads[i] = Math.sin(i) * 1e-2;
    for (let t = 0; t < 5; t++) opt.step(); // warm up
  }
  /** ms per step over one round. */
  const time = (opt) => {
    const start = performance.now();
    for (let t = 0; t < steps; t++) opt.step();
    return (performance.now() - start) / steps;
  };
  const ratios = [];
  const times = { fixed: [], scheduled: [] };
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first, so neither always runs on a warmer cache.
    const first = r % 2 ? b : a;
    const second = first === a ? b : a;
    const t1 = time(first), t2 = time(second);
    const [ta, tb] = first === a ? [t1, t2] : [t2, t1];
    times.fixed.push(ta);
    times.scheduled.push(tb);
    ratios.push(tb / ta);
  }
  a.dispose();
  b.dispose();
  const sorted = [...ratios].sort((x, y) => x - y);
  const q = (p) => Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))].toFixed(4));
  return {
    n: size,
    fixedMsPerStep: Number(median(times.fixed).toPrecision(4)),
    scheduledMsPerStep: Number(median(times.scheduled).toPrecision(4)),
    ratio: { median: Number(median(ratios).toFixed(4)), p25: q(0.25), p75: q(0.75) },
  };
}

const large = await compare(n, stepsPerRound);
const small = await compare(1, 2000);
const addedMs = small.scheduledMsPerStep - small.fixedMsPerStep;
console.log(JSON.stringify({ rounds, large, small, addedUsPerStep: Number((addedMs * 1000).toFixed(2)), addedFractionAtN: Number((addedMs / large.fixedMsPerStep).toFixed(5)) }));
