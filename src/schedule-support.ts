// Where the rest of the package reaches the schedules' code (src/schedules.ts with its checks
// and arithmetic). That code registers itself here when it loads, and only the package's
// entry (the `schedules` export) and the tfjs adapter import it: a bundle for a page that
// never uses `schedules` leaves it out (about 9 KB minified; docs/bundle-size.md), the way it
// leaves out three kernel builds of four. Node, Deno, Bun and an unbundled page load the
// whole entry, so there it is always present. A dynamic import() for the rest was tried: a
// bundler then puts the code in a chunk the page loads anyway, as the entry reaches it too.
import type { Schedule } from "./schedule-types.ts";

/** A value a schedule takes (or approaches, `at` = ∞), and the step count it takes it at. */
export interface Extreme {
  value: number;
  at: number;
}

/** What the package needs of the schedules: checking one, its value at t, its extremes. */
export interface ScheduleSupport {
  normalize(path: string, value: unknown): Schedule;
  evaluate(schedule: Schedule, t: number): number;
  extremes(schedule: Schedule): Extreme[];
}

let support: ScheduleSupport | undefined;

/** Called once, by src/schedules.ts as it loads. */
export function provideSchedules(s: ScheduleSupport): void {
  support = s;
}

/** The schedules' code, or a TypeError naming `path` and how to load it. */
export function scheduleSupport(path: string): ScheduleSupport {
  if (support) return support;
  throw new TypeError(
    `${path} is a schedule, but this program's bundle left out the schedules' code, as the program never uses \`schedules\`; ` +
      "make the schedules with the package's `schedules` export (schedules.cosine(…) and the others), which brings it in",
  );
}

