// Why a step in a training loop finds its worker asleep though the cadence published a
// window (docs/threads.md, "The training loop: workers awake on the cadence"):
//   node bench/experiments/window-misses.mjs [n] [gapMs] [steps]
// Steps an optimizer on 2 threads after passes of `gapMs` that stream a 16 MiB scratch, with
// the pool's timeline on (src/pool/trace.ts), then reads the worker's sleeps: each one with
// a planned window ends either at its timer (the worker then polls the window) or because a
// step woke it first. Prints how late the timers ended against the planned opening (the
// worker already wakes early by its own estimate of that lateness), and for the steps that
// woke it, when they came against the planned opening: before it (the window opened too
// late) or after it (the timer ran later still).
import { createRmsprop } from "rmsprop-wasm";
import { testing } from "../../dist/pool/testing.js";
import { readTrace, TRACE, traceBuffer } from "../../dist/pool/trace.js";
import { forwardBackward } from "../training-loop-pattern.mjs";

const n = Number(process.argv[2] ?? 8e5);
const gapMs = Number(process.argv[3] ?? 50);
const steps = Number(process.argv[4] ?? 150);

testing.trace = traceBuffer(2);
const opt = await createRmsprop(n, { threads: 2, nonFinite: "skip" });
for (let i = 0; i < n; i++) opt.params[i] = Math.sin(i);
opt.grads.fill(0.25);
for (let s = 0; s < steps; s++) {
  forwardBackward(gapMs);
  opt.step();
}
opt.dispose();

// The worker's events (thread 1): a sleep's argument is the µs until it wakes to poll (its
// window's opening; for a step overdue, when to look again, which a step that ends the sleep
// counts here too), and a window event follows a sleep that ended at its timer.
const events = readTrace(testing.trace, 2).filter(([, thread]) => thread === 1);
const timerLate = [];
const stepCame = [];
for (let i = 0; i + 1 < events.length; i++) {
  const [at, , event, untilUs] = events[i];
  if (event !== TRACE.sleep || untilUs <= 0) continue;
  const [next, , nextEvent] = events[i + 1];
  if (nextEvent === TRACE.window) timerLate.push(next - (at + untilUs));
  else if (nextEvent === TRACE.seen) stepCame.push(next - (at + untilUs));
}
const sorted = (xs) => [...xs].sort((a, b) => a - b).map(Math.round);
const q = (xs, p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const late = sorted(timerLate);
console.log(`n = ${n}, ${gapMs} ms passes, ${steps} steps`);
console.log(
  `  ${late.length} sleeps ended at their timer: the wake against the planned opening (µs): ` +
    `p10 ${q(late, 0.1)}, median ${q(late, 0.5)}, p90 ${q(late, 0.9)}, p97 ${q(late, 0.97)}, most ${late.at(-1)}`,
);
const came = sorted(stepCame);
const before = came.filter((us) => us < 0).length;
console.log(`  ${came.length} ended by a step: ${before} came before the window opened, ${came.length - before} after (µs: ${came.join(" ")})`);
