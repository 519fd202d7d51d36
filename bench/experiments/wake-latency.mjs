// How long a worker blocked in Atomics.wait takes to run after Atomics.notify, on this machine:
//   node bench/experiments/wake-latency.mjs [gapMs] [wakes]
// The caller works `gapMs` (so the worker's core has gone idle), stores a number, notifies,
// and spins until the worker has written the time it woke. On a virtual machine an idle
// core's wake goes through the host's scheduler, and its tail is what a threaded step that
// must wake a worker meets (docs/threads.md, "Back to back").
import { Worker } from "node:worker_threads";
import { median } from "../stats.mjs";

const gapMs = Number(process.argv[2] ?? 2);
const wakes = Number(process.argv[3] ?? 400);
const words = new Int32Array(new SharedArrayBuffer(8)); // [the number, the number the worker saw]
const wokeAt = new Float64Array(new SharedArrayBuffer(8));
const worker = new Worker(
  `const { workerData } = require("node:worker_threads");
   const words = new Int32Array(workerData.words), wokeAt = new Float64Array(workerData.wokeAt);
   for (let seen = 0; seen >= 0; ) {
     Atomics.wait(words, 0, seen);
     seen = Atomics.load(words, 0);
     wokeAt[0] = performance.timeOrigin + performance.now();
     Atomics.store(words, 1, seen);
   }`,
  { eval: true, workerData: { words: words.buffer, wokeAt: wokeAt.buffer } },
);
await new Promise((resolve) => worker.once("online", resolve));
const latencies = [];
for (let i = 1; i <= wakes; i++) {
  for (const end = performance.now() + gapMs; performance.now() < end; );
  Atomics.store(words, 0, i);
  const notified = performance.timeOrigin + performance.now();
  Atomics.notify(words, 0);
  while (Atomics.load(words, 1) !== i);
  latencies.push(1e3 * (wokeAt[0] - notified));
}
Atomics.store(words, 0, -1);
Atomics.notify(words, 0);
latencies.sort((a, b) => a - b);
const at = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))].toFixed(0);
console.log(
  `${wakes} wakes after ${gapMs} ms of the caller's work: median ${median(latencies).toFixed(0)} µs, p90 ${at(0.9)}, p99 ${at(0.99)}, ` +
    `most ${latencies.at(-1).toFixed(0)}; over 1 ms: ${latencies.filter((us) => us > 1000).length}`,
);
