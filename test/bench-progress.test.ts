// npm run bench's progress line (bench/progress.mjs), on a clock the test moves and a fake
// terminal: drawn in place on a terminal only, never left behind, and its estimate.
import { describe, expect, it } from "vitest";
// @ts-expect-error: plain .mjs bench module without types
import { clock, createEstimate, createProgress } from "../bench/progress.mjs";

const plan = [
  { section: "sizes", label: "n = 1e5", expected: 10 },
  { section: "sizes", label: "n = 1e6", expected: 10 },
  { section: "recipe", label: "n = 1e6", expected: 20 },
];

/** A fake stderr: what was written, whether it is a terminal, its width. */
function terminal(isTTY: boolean, columns = 200) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns, write: (s: string) => writes.push(s) } };
}

describe("bench progress: the estimate", () => {
  it("formats minutes and seconds", () => {
    expect([clock(0), clock(59.4), clock(61), clock(605), clock(-3)]).toEqual(["0:00", "0:59", "1:01", "10:05", "0:00"]);
  });

  it("starts from the plan's expected seconds", () => {
    const e = createEstimate(plan);
    e.next();
    expect(e.left(0)).toBe(40);
  });

  it("scales what is left by how the work done so far compared with its expectation", () => {
    const e = createEstimate(plan);
    e.next();
    e.within(0.5);
    // 5 expected seconds done in 15: (15 + 5) / (5 + 5) = 2, times the 35 left.
    expect(e.left(15)).toBeCloseTo(70, 12);
    e.next();
    // 10 done in 20 s: (20 + 5) / (10 + 5) × 30.
    expect(e.left(20)).toBeCloseTo(50, 12);
    e.next();
    e.within(1);
    expect(e.left(50)).toBe(0);
  });

  it("stays at nothing left past the plan's end", () => {
    const e = createEstimate(plan.slice(0, 1));
    e.next();
    e.next();
    expect(e.left(30)).toBe(0);
    expect(e.unit).toBeUndefined();
  });
});

describe("bench progress: the line", () => {
  it("is drawn in place on a terminal, and cleared at the end", () => {
    let ms = 0;
    const { writes, stream } = terminal(true);
    const progress = createProgress(plan, { stream, now: () => ms, redrawMs: 0 });
    progress.unit("n = 1e5");
    ms = 5000;
    progress.task(1, 2);
    progress.unit("n = 1e6");
    ms = 12000;
    progress.unit("n = 1e6");
    ms = 30000;
    const seconds = progress.finish();
    // Every write returns to the line's start and erases what is left of it: never a newline.
    for (const w of writes) expect(w).toMatch(/^\r[^\n]*\x1b\[K$/);
    expect(writes[0]).toBe("\rbench 0:00, about 0:40 left [................] sizes: n = 1e5\x1b[K");
    // 5 of 40 expected seconds done in 5 s: 35 left, 2 of 16 bar cells.
    expect(writes[1]).toBe("\rbench 0:05, about 0:35 left [##..............] sizes: n = 1e5\x1b[K");
    expect(writes.at(-1)).toBe("\r\x1b[K");
    expect(seconds).toEqual({ sizes: 12, recipe: 18 });
  });

  it("writes nothing when stderr is not a terminal (a pipe or a file)", () => {
    const { writes, stream } = terminal(false);
    const progress = createProgress(plan, { stream, now: () => 0, redrawMs: 0 });
    progress.unit("n = 1e5");
    progress.task(1, 1);
    progress.finish();
    expect(writes).toEqual([]);
  });

  it("fits the terminal's width", () => {
    const { writes, stream } = terminal(true, 40);
    const progress = createProgress(plan, { stream, now: () => 0, redrawMs: 0 });
    progress.unit("n = 1e5");
    progress.finish();
    expect(writes[0].replace(/^\r|\x1b\[K$/g, "")).toHaveLength(39);
  });
});
