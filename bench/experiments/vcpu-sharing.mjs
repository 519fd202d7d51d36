// Whether this machine's two cores run at once, or take turns on one physical core:
//   node bench/experiments/vcpu-sharing.mjs [seconds] [rounds]
// The main thread and one worker each spin for `seconds`, reading the clock in a tight loop;
// a read more than 30 µs after the one before is a stall: the thread's core was taken (by
// the host of a virtual machine, or another process). Prints, per round, the share of the
// time each thread was stalled, and how much of the main thread's stalled time the worker
// ran through, and the other way round. Two cores of their own: under 1% stalled.
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

/** The ms two threads' stalls overlap: both lists of [start, end] are in time order, so one merge pass. */
function overlap(a, b) {
  let both = 0;
  for (let i = 0, j = 0; i < a.length && j < b.length; ) {
    both += Math.max(0, Math.min(a[i][1], b[j][1]) - Math.max(a[i][0], b[j][0]));
    if (a[i][1] < b[j][1]) i++;
    else j++;
  }
  return both;
}
const pairs = (xs, k) => Array.from({ length: k }, (_, i) => [xs[2 * i], xs[2 * i + 1]]);
/** The ms of a list of stalls. */
const total = (stalls) => stalls.reduce((a, [s, e]) => a + e - s, 0);
/** How much of one thread's stalled time the other ran through, in %. */
const ranThrough = (stalled, both) => (stalled ? `${((100 * (stalled - both)) / stalled).toFixed(0)}%` : "–");

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
      `both at once ${pct(both)}: the worker ran through ${ranThrough(mainStalled, both)} of the main thread's stalls, the main ` +
      `thread through ${ranThrough(otherStalled, both)} of the worker's`,
  );
}
await worker.terminate();
