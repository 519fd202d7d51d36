// npm run bench's progress lines (bench/progress.mjs), on a clock the test moves.
import { describe, expect, it } from "vitest";
// @ts-expect-error: plain .mjs bench module without types
import { clock, createProgress } from "../bench/progress.mjs";

function run(previous?: Record<string, number>) {
  let ms = 0;
  const lines: string[] = [];
  const plan = [{ section: "sizes", units: 2 }, { section: "groups", units: 1 }, { section: "tfjs", units: 2 }];
  const progress = createProgress(plan, { previous, write: (l: string) => lines.push(l), now: () => ms });
  const advance = (seconds: number) => (ms += seconds * 1000);
  return { progress, lines, advance };
}

describe("bench progress", () => {
  it("formats minutes and seconds", () => {
    expect([clock(0), clock(59.4), clock(61), clock(605)]).toEqual(["0:00", "0:59", "1:01", "10:05"]);
  });

  it("names the section and unit, the elapsed time, and estimates from this run's pace", () => {
    const { progress, lines, advance } = run();
    progress.unit("sizes", "n = 1e4");
    advance(10);
    progress.unit("sizes", "n = 1e5");
    advance(30);
    progress.unit("groups", "1,000 tensors");
    advance(5);
    progress.unit("tfjs", "tfjs-backend-cpu");
    advance(20);
    const seconds = progress.finish();
    expect(lines[0]).toBe("[bench 0:00 elapsed, estimating] sizes 1/2: n = 1e4");
    // One sizes unit took 10 s: 1 more of it, and the 3 others at the 10 s average.
    expect(lines[1]).toBe("[bench 0:10 elapsed, about 0:40 left] sizes 2/2: n = 1e5");
    // sizes is done (40 s over 2 units): groups and tfjs at 20 s a unit.
    expect(lines[2]).toBe("[bench 0:40 elapsed, about 1:00 left] groups 1/1: 1,000 tensors");
    // tfjs: 2 units at the 45 s / 3 units = 15 s average.
    expect(lines[3]).toBe("[bench 0:45 elapsed, about 0:30 left] tfjs 1/2: tfjs-backend-cpu");
    expect(lines[4]).toBe("[bench 1:05 elapsed] measured; writing the report");
    expect(seconds).toEqual({ sizes: 40, groups: 5, tfjs: 20 });
  });

  it("uses the last run's seconds per section before this run has any pace", () => {
    const { progress, lines } = run({ sizes: 100, groups: 20, tfjs: 60 });
    progress.unit("sizes", "n = 1e4");
    expect(lines[0]).toBe("[bench 0:00 elapsed, about 3:00 left] sizes 1/2: n = 1e4");
  });
});
