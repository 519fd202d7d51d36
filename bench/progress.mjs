// What `npm run bench` tells a person while it runs, on stderr (stdout stays the report):
// the section and the step within it, the time elapsed, and an estimate of what is left.
// The estimate uses the last run's time per section (bench/results/latest.json) where it
// has one, else the pace of the units done so far in this run.

/** m:ss */
export const clock = (seconds) => `${Math.floor(seconds / 60)}:${String(Math.round(seconds % 60)).padStart(2, "0")}`;

/**
 * `plan` lists the sections in order with their units of work (one unit per n, or per tfjs
 * backend); `previous` maps a section to the seconds it took last time (same --quick).
 * Returns `unit(section, label)`, called as each unit starts, and `sectionSeconds()`.
 */
export function createProgress(plan, { previous = {}, write = (line) => process.stderr.write(line + "\n"), now = () => performance.now() } = {}) {
  const started = now();
  const done = new Map(plan.map((p) => [p.section, 0])); // units finished per section
  const spent = new Map(plan.map((p) => [p.section, 0])); // seconds in finished units
  let current; // { section, since }

  const finishCurrent = (at) => {
    if (!current) return;
    done.set(current.section, done.get(current.section) + 1);
    spent.set(current.section, spent.get(current.section) + (at - current.since) / 1000);
    current = undefined;
  };

  /** Seconds one unit of `section` is expected to take, or undefined when nothing tells. */
  const perUnit = (section) => {
    const units = plan.find((p) => p.section === section).units;
    if (done.get(section) > 0) return spent.get(section) / done.get(section);
    if (previous[section] !== undefined) return previous[section] / units;
    const allDone = [...done.values()].reduce((a, b) => a + b, 0);
    return allDone > 0 ? [...spent.values()].reduce((a, b) => a + b, 0) / allDone : undefined;
  };

  const left = () => {
    let seconds = 0;
    for (const p of plan) {
      const remaining = p.units - done.get(p.section);
      if (remaining === 0) continue;
      const each = perUnit(p.section);
      if (each === undefined) return undefined;
      seconds += remaining * each;
    }
    return seconds;
  };

  return {
    unit(section, label) {
      const at = now();
      finishCurrent(at);
      const p = plan.find((x) => x.section === section);
      const estimate = left();
      const index = done.get(section) + 1;
      write(
        `[bench ${clock((at - started) / 1000)} elapsed, ${estimate === undefined ? "estimating" : `about ${clock(estimate)} left`}] ` +
          `${section} ${index}/${p.units}: ${label}`,
      );
      current = { section, since: at };
    },
    /** Ends the last unit; returns the seconds each section took, for the next run's estimate. */
    finish() {
      finishCurrent(now());
      write(`[bench ${clock((now() - started) / 1000)} elapsed] measured; writing the report`);
      return Object.fromEntries([...spent].filter(([s]) => done.get(s) > 0).map(([s, t]) => [s, Math.round(t * 10) / 10]));
    },
  };
}
