// Why 2 threads forced back to back fall short of 2× in some runs, round by round:
//   node bench/experiments/late-worker.mjs [n] [rounds]
// One thread and 2 threads forced (every step on both threads) at n, back to back, in
// alternating rounds of 2e7 / n steps (100 at 2e5), as the bench's threads section
// compares them. For each threaded round: its ratio to the one-thread round before it;
// from the pool's own timeline (src/pool/trace.ts), the median time of a step share on
// each thread (a worker that was there but slower) and in how many steps the worker ran
// none of the step's shares (the caller ran them all: the worker was late, or not
// running); and on Linux, from the kernel's per-thread scheduler counters
// (/proc/self/task/<tid>/schedstat), how long the worker was runnable but waiting for a
// core, how often it slept on its own (voluntary switches: a futex wait), and what the
// process's other threads ran meanwhile (V8's compiler and GC helpers). docs/threads.md,
// "Back to back", reads these.
import { readdirSync, readFileSync } from "node:fs";
import { createRmsprop } from "rmsprop-wasm";
import { testing } from "../../dist/pool/testing.js";
import { readTrace, TRACE, TRACE_TRIPLES, traceBuffer } from "../../dist/pool/trace.js";
import { median } from "../stats.mjs";
import { shareSpans } from "./share-spans.mjs";

const n = Number(process.argv[2] ?? 2e5);
const rounds = Number(process.argv[3] ?? 16);
const steps = Math.max(20, Math.round(2e7 / n));

/** Each thread's scheduler counters (ns on a core, ns runnable and waiting, voluntary switches); empty where /proc is not there. */
function threadsNow() {
  const threads = new Map();
  let tids = [];
  try {
    tids = readdirSync("/proc/self/task");
  } catch {
    return threads;
  }
  for (const tid of tids) {
    try {
      const [runNs, waitNs] = readFileSync(`/proc/self/task/${tid}/schedstat`, "utf8").trim().split(" ").map(Number);
      const voluntary = Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(readFileSync(`/proc/self/task/${tid}/status`, "utf8"))?.[1] ?? 0);
      threads.set(tid, { runNs, waitNs, voluntary });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return threads;
}

/**
 * From the trace since it was cleared: the median µs of a step share on the caller and on
 * the worker, and the steps in which the worker ran no step share.
 */
function roundFromTrace(buffer) {
  const events = readTrace(buffer, 2);
  const opened = events.filter(([, thread, event]) => thread === 0 && event === TRACE.opened).map(([us]) => us);
  const took = [[], []];
  const workerShares = opened.map(() => 0); // per step, counted from the caller's opening of its region
  for (const { thread, phase, share, startUs, us } of shareSpans(events)) {
    if (phase !== 1) continue;
    took[thread].push(us);
    (byShare[thread][share] ??= []).push(us);
    const step = opened.findLastIndex((at) => at <= startUs);
    if (thread === 1 && step >= 0) workerShares[step]++;
  }
  const [callerUs, workerUs] = took.map((t) => (t.length ? median(t) : Number.NaN));
  return { callerUs, workerUs, absent: workerShares.filter((k) => k === 0).length };
}

/**
 * Every step share's µs over the run, by thread and share: a worker slower only while the
 * caller runs shows as its own shares slow and the last one it reaches (after the caller has
 * finished) not.
 */
const byShare = [[], []];

/** Empties every thread's part of the trace (its first triple holds the count). */
function clearTrace(buffer) {
  const f64 = new Float64Array(buffer);
  for (let t = 0; t < 2; t++) f64[t * TRACE_TRIPLES * 3] = 0;
}

const trace = traceBuffer(2);
testing.trace = trace; // before the pool starts: its threads take it at their start
const before = new Set(threadsNow().keys());
const one = await createRmsprop(n);
const two = await createRmsprop(n, { threads: 2, minParamsPerThread: 1 });
/** The pool's worker: the thread that the threaded optimizer's start added. */
const workerTids = [...threadsNow().keys()].filter((tid) => !before.has(tid));
for (const opt of [one, two]) {
  for (let i = 0; i < n; i++) opt.params[i] = Math.sin(i);
  opt.grads.fill(0.25);
}
const ms = (ns) => (ns / 1e6).toFixed(1);
console.log(`n = ${n}, ${steps} steps a round; worker thread ${workerTids.join(", ") || "unknown"}`);
console.log("round  2/1   µs a step share: caller / worker   steps the worker ran no share   worker waiting for a core   worker slept   other threads ran");
for (let r = 0; r < rounds; r++) {
  let t = performance.now();
  for (let i = 0; i < steps; i++) one.step();
  const oneMs = (performance.now() - t) / steps;
  testing.threads = 2;
  clearTrace(trace);
  const start = threadsNow();
  t = performance.now();
  for (let i = 0; i < steps; i++) two.step();
  const twoMs = (performance.now() - t) / steps;
  const end = threadsNow();
  testing.threads = undefined;
  let [waitNs, slept, othersNs] = [0, 0, 0];
  for (const [tid, now] of end) {
    const then = start.get(tid);
    if (!then) continue;
    if (workerTids.includes(tid)) {
      waitNs += now.waitNs - then.waitNs;
      slept += now.voluntary - then.voluntary;
    } else if (tid !== String(process.pid)) {
      othersNs += now.runNs - then.runNs;
    }
  }
  const linux = end.size > 0;
  const { callerUs, workerUs, absent } = roundFromTrace(trace);
  console.log(
    `${String(r).padStart(5)}  ${(oneMs / twoMs).toFixed(2)}  ${`${callerUs.toFixed(0)} / ${workerUs.toFixed(0)}`.padStart(29)}   ${String(absent).padStart(4)} of ${steps}` +
      (linux ? `${`${ms(waitNs)} ms`.padStart(30)}   ${String(slept).padStart(12)}   ${`${ms(othersNs)} ms`.padStart(17)}` : ""),
  );
}
one.dispose();
two.dispose();
const shareLine = (thread) =>
  byShare[thread].map((us, t) => (us ? `${t}: ${median(us).toFixed(0)} (${us.length})` : "")).filter(Boolean).join(", ");
console.log(`µs a step share over the run, share: median (count). caller: ${shareLine(0)}`);
console.log(`  worker: ${shareLine(1)}`);
