// What `npm run bench` shows while it runs: one line on stderr, drawn in place, and only
// when stderr is a terminal. A pipe or a file gets nothing, so no progress line is ever
// left in a saved report. The line gives the time elapsed, an estimate of what is left, a
// bar, and what runs now.
//
// The estimate: each unit of the plan (a section at one n) comes with the seconds it is
// expected to take (plan.mjs: tinybench's time budgets, and a guess of each step's time for
// the tasks whose minimum iterations outlast their budget). What is left is the expected
// time of the remaining work, scaled by how long the work done so far took against its own
// expectation, with a few seconds of prior weight on 1 so that the first seconds cannot
// swing it far.

/** m:ss */
export const clock = (seconds) => {
  const s = Math.max(0, Math.round(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
};

/** Seconds of prior weight on "as expected". */
const PRIOR_SECONDS = 5;
const BAR = 16;

/**
 * The estimate over `plan` ([{ section, label, expected }] in the order they run; expected
 * in seconds). `next()` moves to the next unit, `within(fraction)` says how much of it is
 * done, and `left(elapsed)` is the seconds left, `elapsed` seconds after the first unit began.
 */
export function createEstimate(plan) {
  const total = plan.reduce((a, u) => a + u.expected, 0);
  let index = -1;
  let finished = 0; // expected seconds of the units before the current one
  let fraction = 0;
  return {
    get unit() {
      return plan[index];
    },
    next() {
      // Past the plan's end (a section with more units than it declared), nothing is left.
      if (index >= 0 && index < plan.length) finished += plan[index].expected;
      index = Math.min(index + 1, plan.length);
      fraction = 0;
      return plan[index];
    },
    within(f) {
      fraction = Math.min(1, Math.max(fraction, f));
    },
    left(elapsed) {
      const done = finished + (index >= 0 && index < plan.length ? plan[index].expected * fraction : 0);
      return Math.max(0, total - done) * ((elapsed + PRIOR_SECONDS) / (done + PRIOR_SECONDS));
    },
  };
}

/**
 * The progress line for `plan` on `stream` (stderr unless the tests give one): `unit(label)`
 * as each unit starts (in plan order), `task(done, total)` as its tasks end, and `finish()`,
 * which clears the line and returns the seconds each section took.
 */
export function createProgress(plan, { stream = process.stderr, now = () => performance.now(), redrawMs = 1000 } = {}) {
  const estimate = createEstimate(plan);
  const seconds = new Map();
  const tty = Boolean(stream.isTTY);
  let started;
  let since;
  let detail = "";
  let timer;

  const draw = () => {
    if (!tty || started === undefined) return;
    const elapsed = (now() - started) / 1000;
    const left = estimate.left(elapsed);
    const filled = Math.round((BAR * elapsed) / (elapsed + left || 1));
    const line = `bench ${clock(elapsed)}, about ${clock(left)} left [${"#".repeat(filled)}${".".repeat(BAR - filled)}] ${detail}`;
    // A terminal that does not say its width (0) is taken as 80 columns.
    const width = Math.max(20, (stream.columns || 80) - 1);
    stream.write(`\r${line.length > width ? line.slice(0, width) : line}\x1b[K`);
  };

  // Ctrl-C during a run: erase the line before the shell prints its prompt.
  const interrupted = () => {
    stream.write("\r\x1b[K");
    process.exit(130);
  };
  if (tty) process.once("SIGINT", interrupted);

  const close = () => {
    const unit = estimate.unit;
    if (unit && since !== undefined) seconds.set(unit.section, (seconds.get(unit.section) ?? 0) + (now() - since) / 1000);
  };

  return {
    unit(label) {
      const at = now();
      close();
      started ??= at;
      since = at;
      const unit = estimate.next();
      detail = `${unit?.section ?? ""}: ${label}`;
      if (tty && timer === undefined && redrawMs > 0) {
        timer = setInterval(draw, redrawMs);
        timer.unref?.();
      }
      draw();
    },
    task(done, total) {
      estimate.within(done / total);
      draw();
    },
    /** Clears the line; the seconds each section took, to a tenth. */
    finish() {
      close();
      since = undefined;
      if (timer !== undefined) clearInterval(timer);
      if (tty) {
        stream.write("\r\x1b[K");
        process.off("SIGINT", interrupted);
      }
      return Object.fromEntries([...seconds].map(([s, t]) => [s, Math.round(t * 10) / 10]));
    },
  };
}
