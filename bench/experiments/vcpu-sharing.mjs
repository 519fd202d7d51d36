// Whether this machine's two cores run at once, or take turns on one physical core:
//   node bench/experiments/vcpu-sharing.mjs [seconds] [rounds]
// The main thread and one worker each spin for `seconds`, reading the clock in a tight loop;
// a read more than 30 µs after the one before is a stall: the thread's core was taken (by
// the host of a virtual machine, or another process). Prints, per round, the share of the
// time each thread was stalled, and how much of the main thread's stalled time the worker
// ran through (and the other way round). Two cores of their own: a few % stalled at most.
// Two virtual cores the host runs on one physical core by turns: each stalled about half
// the time, each running while the other is stalled (docs/threads.md, "Back to back").
import { Worker } from "node:worker_threads";

const seconds = Number(process.argv[2] ?? 1);
const rounds = Number(process.argv[3] ?? 5);
const STALL_US = 30;
const MOST = 100_000; // stalls recorded per thread and round

/** Spins until `until` (performance.timeOrigin + now, ms), writing each stall's [start, end] (ms) into `out`; returns their count. */
const spinSource = `
  function spinAndRecord(until, out, most, stallMs) {
    let k = 0;
    let last = performance.timeOrigin + performance.now();
    while (last < until) {
      const now = performance.timeOrigin + performance.now();
      if (now - last > stallMs && k < most) { out[2 * k] = last; out[2 * k + 1] = now; k++; }
      last = now;
    }
    return k;
  }`;
const spinAndRecord = new Function(`${spinSource}; return spinAndRecord;`)();

const worker = new Worker(
  `const { parentPort } = require("node:worker_threads");
   ${spinSource}
   parentPort.on("message", ({ until, buffer, most, stallMs }) => {
     const out = new Float64Array(buffer);
     parentPort.postMessage(spinAndRecord(until, out, most, stallMs));
   });`,
  { eval: true },
);

/** Total ms of `stalls` ([start, end] pairs), and of their overlap with the other thread's stalls. */
function overlap(a, b) {
  let both = 0;
  for (const [s, e] of a) for (const [t, f] of b) both += Math.max(0, Math.min(e, f) - Math.max(s, t));
  return both;
}
const pairs = (xs, k) => Array.from({ length: k }, (_, i) => [xs[2 * i], xs[2 * i + 1]]);
const total = (stalls) => stalls.reduce((a, [s, e]) => a + e - s, 0);

for (let r = 0; r < rounds; r++) {
  const buffer = new SharedArrayBuffer(16 * MOST);
  const mine = new Float64Array(2 * MOST);
  const until = performance.timeOrigin + performance.now() + 50 + 1000 * seconds;
  const theirs = new Promise((resolve) => worker.once("message", resolve));
  worker.postMessage({ until, buffer, most: MOST, stallMs: STALL_US / 1000 });
  const k = spinAndRecord(until, mine, MOST, STALL_US / 1000);
  const main = pairs(mine, k), other = pairs(new Float64Array(buffer), await theirs);
  const ms = 1000 * seconds;
  const [mainStalled, otherStalled, both] = [total(main), total(other), overlap(main, other)];
  const pct = (x) => `${((100 * x) / ms).toFixed(1)}%`;
  console.log(
    `round ${r + 1}: stalled: main ${pct(mainStalled)} (${main.length} times), worker ${pct(otherStalled)} (${other.length}); ` +
      `both at once ${pct(both)}: the worker ran through ${mainStalled ? ((100 * (mainStalled - both)) / mainStalled).toFixed(0) : "–"}% of the main thread's stalls`,
  );
}
await worker.terminate();
