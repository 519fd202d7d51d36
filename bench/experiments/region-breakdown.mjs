// Where a threaded step's time goes, from the pool's own timeline (src/pool/trace.ts):
//   node bench/experiments/region-breakdown.mjs [n] [gapMs] [steps] [--forced]
// Steps an optimizer on 2 threads in a training loop: `gapMs` of single-threaded JavaScript
// that streams a 16 MiB scratch between steps (as a forward and backward pass does to the
// caches), then one step. Each threaded step is cut into its phases from the events every
// thread recorded: writing the StepArgs blocks, opening the region, waking the worker (the
// caller's system call), the worker's wake-up, the shares each thread ran, the barrier and
// the end. Prints the medians (µs) of threaded steps, how the steps were run, and the five
// slowest threaded steps (after the first 20) with the longest share each thread ran in them.
// --forced runs every step on 2 threads (the choice would run a small n alone).
import { createRmsprop } from "rmsprop-wasm";
import { testing } from "../../dist/pool/testing.js";
import { readTrace, TRACE, traceBuffer } from "../../dist/pool/trace.js";
import { median } from "../stats.mjs";
import { shareSpans } from "./share-spans.mjs";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const n = Number(args[0] ?? 1e5);
const gapMs = Number(args[1] ?? 10);
const steps = Number(args[2] ?? 100);
const forced = process.argv.includes("--forced");

const scratch = new Float64Array(2 << 20);
/** `ms` of single-threaded work that streams the scratch, as a forward and backward pass. */
function forwardBackward(ms) {
  for (const end = performance.now() + ms; performance.now() < end; ) {
    for (let i = 0; i < scratch.length; i += 8) scratch[i] += 1;
  }
}

testing.trace = traceBuffer(2);
if (forced) testing.threads = 2;
const opt = await createRmsprop(n, { threads: 2, minParamsPerThread: 1 });
for (let i = 0; i < n; i++) opt.params[i] = Math.sin(i);
const ways = { alone: 0, warm: 0, woken: 0 };
const times = [];
for (let s = 0; s < steps; s++) {
  for (let i = 0; i < n; i++) opt.grads[i] = Math.cos(i + s);
  forwardBackward(gapMs);
  const t = performance.now();
  opt.step();
  times.push(1e3 * (performance.now() - t));
  const last = opt.threading.lastStep;
  ways[last.threads === 1 ? "alone" : last.woke ? "woken" : "warm"]++;
}
const events = readTrace(testing.trace, 2);
console.log(JSON.stringify(opt.threading.estimates));
opt.dispose();

// Cut the timeline into steps at each `begin` of the caller.
const slowest = [];
const phases = { write: [], notify: [], wakeUp: [], callerShares: [], workerShares: [], barrier: [], end: [], total: [] };
for (let i = 0; i < events.length; i++) {
  if (events[i][1] !== 0 || events[i][2] !== TRACE.begin) continue;
  const step = [];
  for (let j = i; j < events.length && !(events[j][1] === 0 && events[j][2] === TRACE.end); j++) step.push(events[j]);
  const at = (thread, event, arg) => step.find((e) => e[1] === thread && e[2] === event && (arg === undefined || e[3] === arg))?.[0];
  const t0 = step[0][0];
  const opened = at(0, TRACE.opened), woken = at(0, TRACE.woken), seen = at(1, TRACE.seen);
  const spans = shareSpans(step);
  const ran = (thread) => spans.filter((span) => span.thread === thread).map((span) => span.us);
  const shares = (thread) => ran(thread).reduce((sum, us) => sum + us, 0);
  const longestShare = (thread) => Math.max(0, ...ran(thread));
  const wait0 = at(0, TRACE.wait, 0), met0 = at(0, TRACE.met, 0), wait1 = at(0, TRACE.wait, 1), met1 = at(0, TRACE.met, 1);
  phases.write.push(opened - t0);
  phases.notify.push(woken - opened);
  if (seen !== undefined) phases.wakeUp.push(seen - opened);
  phases.callerShares.push(shares(0));
  phases.workerShares.push(shares(1));
  if (wait0 !== undefined && met0 !== undefined) phases.barrier.push(met0 - wait0);
  if (wait1 !== undefined && met1 !== undefined) phases.end.push(met1 - wait1);
  phases.total.push((met1 ?? step.at(-1)[0]) - t0);
  slowest.push({ total: phases.total.at(-1), caller: longestShare(0), worker: longestShare(1) });
}
const fmt = (xs) => (xs.length ? `${median(xs).toFixed(1)} µs` : "–");
console.log(`n = ${n}, ${gapMs} ms of JS between steps, ${steps} steps: alone ${ways.alone}, warm ${ways.warm}, woken ${ways.woken}`);
console.log(`step() median ${median(times).toFixed(1)} µs`);
console.log(`threaded steps (${phases.total.length}), medians:`);
console.log(`  StepArgs blocks and ticket   ${fmt(phases.write)}`);
console.log(`  waking the worker (caller)   ${fmt(phases.notify)}`);
console.log(`  worker sees the region after ${fmt(phases.wakeUp)} (from the ticket)`);
console.log(`  caller's shares              ${fmt(phases.callerShares)}`);
console.log(`  worker's shares              ${fmt(phases.workerShares)}`);
console.log(`  caller at the barrier        ${fmt(phases.barrier)}`);
console.log(`  caller waiting for the end   ${fmt(phases.end)}`);
console.log(`  region, begin to end         ${fmt(phases.total)}`);
// The tail: a thread taken off its core while it runs a share holds the step until it runs
// again (docs/threads.md, "What you can rely on"). The first threaded steps are left out: they
// meet the JIT, the memory's first touches and the pool's start, which are not the tail.
const SETTLING = 20;
slowest.splice(0, SETTLING);
slowest.sort((a, b) => b.total - a.total);
console.log(`slowest threaded steps after the first ${SETTLING}: region µs (the longest share on the caller / on the worker)`);
console.log(`  ${slowest.slice(0, 5).map((s) => `${s.total.toFixed(0)} (${s.caller.toFixed(0)} / ${s.worker.toFixed(0)})`).join(", ")}`);
