// The schedules as values: against optax's and Keras's formulas transcribed from their
// sources (test/helpers/schedule-sources.ts; PyTorch's are checked against the real thing in
// test/schedule-fidelity.test.ts), as plain frozen JSON-able objects, and refused with the
// option, the field and the rule when they are wrong.
import { describe, expect, it } from "vitest";
import { createRmsprop, schedules, type RmspropOptions, type Schedule } from "../src/index.ts";
import { cosPi, exp, ln, pow } from "../src/schedule-math.ts";
import {
  kerasCosineDecay,
  kerasExponentialDecay,
  kerasPiecewiseConstantDecay,
  kerasPolynomialDecay,
  optaxCosineDecay,
  optaxExponentialDecay,
  optaxJoin,
  optaxLinear,
  optaxPiecewiseConstant,
  optaxWarmupCosineDecay,
} from "./helpers/schedule-sources.ts";

const { constant, linear, cosine, exponential, step, piecewise, join, oneCycle, oneCycleMomentum, warmupCosine, valueAt } = schedules;

/** Every step from 0 to `until` (past the schedule's end, where it holds) within `tolerance` of `want`. */
function expectFollows(s: Schedule, want: (t: number) => number, until: number, tolerance = 1e-13) {
  for (let t = 0; t <= until; t++) {
    const ours = valueAt(s, t);
    const theirs = want(t);
    const scale = Math.max(Math.abs(theirs), 1e-300);
    expect(Math.abs(ours - theirs) / scale, `step ${t}: ${ours} vs ${theirs}`).toBeLessThanOrEqual(tolerance);
    // Rounded to f32 once per step, as the optimizer uses them: equal or one f32 ulp apart.
    const [a, b] = [Math.fround(ours), Math.fround(theirs)];
    expect(Math.abs(a - b), `f32 at step ${t}`).toBeLessThanOrEqual(Math.abs(a) * 2 ** -23);
  }
}

describe("optax's schedules (optax/schedules/_schedule.py, _join.py)", () => {
  it("linear_schedule is linear", () => {
    expectFollows(linear({ from: 0.1, to: 1e-4, steps: 37 }), optaxLinear(0.1, 1e-4, 37), 60);
    expectFollows(linear({ from: 0, to: 3e-3, steps: 1 }), optaxLinear(0, 3e-3, 1), 5);
  });

  it("cosine_decay_schedule is cosine, alpha as an end value", () => {
    expectFollows(cosine({ from: 0.02, to: 0.02 * 0.1, steps: 100 }), optaxCosineDecay(0.02, 100, 0.1), 150);
    expectFollows(cosine({ from: 1, to: 0, steps: 7 }), optaxCosineDecay(1, 7), 12, 1e-12);
  });

  it("exponential_decay is exponential, continuous or staircase, with end_value as a bound", () => {
    expectFollows(exponential({ from: 0.1, rate: 0.5, every: 10 }), optaxExponentialDecay(0.1, 10, 0.5), 200);
    expectFollows(exponential({ from: 0.1, rate: 0.96, every: 3, staircase: true }), optaxExponentialDecay(0.1, 3, 0.96, 0, true), 200);
    expectFollows(exponential({ from: 0.1, rate: 0.9, every: 2, end: 0.01 }), optaxExponentialDecay(0.1, 2, 0.9, 0, false, 0.01), 200);
    expectFollows(exponential({ from: 1e-4, rate: 1.1, end: 1e-2 }), optaxExponentialDecay(1e-4, 1, 1.1, 0, false, 1e-2), 120);
  });

  it("piecewise_constant_schedule is piecewise with the products of the scales (a scale acts from its boundary on)", () => {
    expectFollows(piecewise({ boundaries: [5, 12, 30], values: [0.1, 0.1 * 0.5, 0.1 * 0.5 * 0.2, 0.1 * 0.5 * 0.2 * 0.1] }),
      optaxPiecewiseConstant(0.1, { 5: 0.5, 12: 0.2, 30: 0.1 }), 40);
  });

  it("join_schedules is join: each part counts its steps from its boundary", () => {
    expectFollows(
      join([linear({ from: 0, to: 0.1, steps: 10 }), constant(0.1), exponential({ from: 0.1, rate: 0.9 })], [10, 20]),
      optaxJoin([optaxLinear(0, 0.1, 10), () => 0.1, optaxExponentialDecay(0.1, 1, 0.9)], [10, 20]),
      60,
    );
  });

  it("warmup_cosine_decay_schedule is warmupCosine (steps is the whole length, warmup included)", () => {
    expectFollows(warmupCosine({ init: 1e-5, peak: 3e-3, warmup: 20, steps: 200, end: 1e-5 }), optaxWarmupCosineDecay(1e-5, 3e-3, 20, 200, 1e-5), 260);
    expectFollows(warmupCosine({ peak: 1, warmup: 0, steps: 10 }), optaxWarmupCosineDecay(0, 1, 0, 10), 15, 1e-12);
    // optax's own test of it (schedules_warmup_cosine_test.py): init 0, peak 1, end 0, at the warmup's end.
    expect(valueAt(warmupCosine({ peak: 1, warmup: 10, steps: 110 }), 10)).toBe(1);
  });
});

describe("Keras's schedules (keras/src/optimizers/schedules/learning_rate_schedule.py)", () => {
  it("ExponentialDecay is exponential with every = decay_steps", () => {
    expectFollows(exponential({ from: 0.1, rate: 0.96, every: 100 }), kerasExponentialDecay(0.1, 100, 0.96), 1000);
    expectFollows(exponential({ from: 0.1, rate: 0.96, every: 100, staircase: true }), kerasExponentialDecay(0.1, 100, 0.96, true), 1000);
  });

  it("PiecewiseConstantDecay is piecewise with each boundary one step later (Keras switches after a boundary, not at it)", () => {
    const boundaries = [10, 20];
    const values = [1, 0.5, 0.1];
    expectFollows(piecewise({ boundaries: boundaries.map((b) => b + 1), values }), kerasPiecewiseConstantDecay(boundaries, values), 30);
  });

  it("PolynomialDecay with power 1 is linear", () => {
    expectFollows(linear({ from: 0.1, to: 0.01, steps: 50 }), kerasPolynomialDecay(0.1, 50, 0.01), 70);
  });

  it("CosineDecay is cosine to alpha·initial, and with warmup_target a linear warmup joined to it", () => {
    expectFollows(cosine({ from: 0.1, to: 0.1 * 0.05, steps: 80 }), kerasCosineDecay(0.1, 80, 0.05), 100);
    const warm = join([linear({ from: 0, to: 0.1, steps: 10 }), cosine({ from: 0.1, to: 0.1 * 0.05, steps: 80 })], [10]);
    expectFollows(warm, kerasCosineDecay(0, 80, 0.05, 0.1, 10), 100);
  });
});

describe("the arithmetic behind the schedules: + − × ÷ only, the same bits in every engine", () => {
  it("cos(π·p), ln and exp stay within a few f64 ulps of Math's", () => {
    for (let i = 0; i <= 4096; i++) {
      const p = i / 4096;
      expect(Math.abs(cosPi(p) - Math.cos(Math.PI * p))).toBeLessThan(4 * Number.EPSILON);
    }
    for (let i = 1; i < 4096; i++) {
      const x = i * 0.73 + 1e-6;
      expect(Math.abs(ln(x) - Math.log(x))).toBeLessThanOrEqual(4 * Number.EPSILON * Math.max(1, Math.abs(Math.log(x))));
      const y = (i - 2048) / 7;
      expect(Math.abs(exp(y) - Math.exp(y)) / Math.exp(y)).toBeLessThan(4 * Number.EPSILON);
    }
    expect([cosPi(0), cosPi(0.5), cosPi(1)]).toEqual([1, -0, -1]);
    expect([exp(-800), exp(800), exp(0), ln(1)]).toEqual([0, Infinity, 1, 0]);
  });

  it("pow takes whole exponents by squaring (as the bias correction does) and others through exp and ln", () => {
    // 10 = 0b1010: the product of base^2 and base^8, each a repeated square, as rmsprop_pow_u32 in C.
    const b2 = 0.9 * 0.9, b4 = b2 * b2, b8 = b4 * b4;
    expect(pow(0.9, 10)).toBe(b2 * b8);
    let product = 1;
    for (let k = 0; k < 40; k++) {
      expect(Math.abs(pow(0.95, k) - product) / product).toBeLessThan(1e-14);
      product *= 0.95;
    }
    expect(Math.abs(pow(0.5, 2.5) - Math.SQRT1_2 / 4) / (Math.SQRT1_2 / 4)).toBeLessThan(1e-15);
  });
});

describe("schedules are plain frozen JSON-able objects", () => {
  it("each factory fills in its defaults and freezes the result, nested parts too", () => {
    const s = join([linear({ from: 0, to: 1, steps: 4 }), exponential({ from: 1, rate: 0.5 })], [4]);
    expect(s).toEqual({
      kind: "join",
      schedules: [
        { kind: "linear", from: 0, to: 1, steps: 4 },
        { kind: "exponential", from: 1, rate: 0.5, every: 1, staircase: false, end: null },
      ],
      boundaries: [4],
    });
    expect(Object.isFrozen(s) && Object.isFrozen(s.schedules) && Object.isFrozen(s.schedules[1]) && Object.isFrozen(s.boundaries)).toBe(true);
    expect(oneCycle({ max: 0.1, steps: 100 })).toEqual({
      kind: "oneCycle", max: 0.1, steps: 100, pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4, anneal: "cos", threePhase: false,
    });
  });

  it("a schedule through JSON (a checkpoint, a tfjs config) gives the same values", () => {
    const all: Schedule[] = [
      constant(3),
      linear({ from: 1, to: 2, steps: 5 }),
      cosine({ from: 1, to: 0, steps: 9 }),
      exponential({ from: 1, rate: 0.9, every: 3 }),
      step({ from: 1, factor: 0.1, every: 4 }),
      piecewise({ boundaries: [2, 5], values: [1, 2, 3] }),
      join([constant(1), cosine({ from: 1, to: 0, steps: 3 })], [2]),
      oneCycle({ max: 1, steps: 20 }),
      oneCycleMomentum({ steps: 20, threePhase: true }),
      warmupCosine({ peak: 1, warmup: 3, steps: 12 }),
    ];
    for (const s of all) {
      const copy = JSON.parse(JSON.stringify(s)) as Schedule;
      for (let t = 0; t < 25; t++) expect(valueAt(copy, t)).toBe(valueAt(s, t));
    }
  });

  it("a schedule holds its final value after its last step", () => {
    expect(valueAt(linear({ from: 1, to: 2, steps: 5 }), 5)).toBe(2);
    expect(valueAt(linear({ from: 1, to: 2, steps: 5 }), 1e9)).toBe(2);
    expect(valueAt(cosine({ from: 1, to: 0.25, steps: 5 }), 99)).toBe(0.25);
    const cycle = oneCycle({ max: 1, steps: 10 });
    expect(valueAt(cycle, 9)).toBe(1 / 25 / 1e4);
    expect(valueAt(cycle, 1000)).toBe(valueAt(cycle, 9));
    expect(valueAt(oneCycleMomentum({ steps: 10 }), 50)).toBe(0.95);
    expect(valueAt(warmupCosine({ peak: 1, warmup: 2, steps: 10, end: 0.5 }), 40)).toBe(valueAt(warmupCosine({ peak: 1, warmup: 2, steps: 10, end: 0.5 }), 10));
  });

  it("constant takes a number or { value }; valueAt takes a number as its own value", () => {
    expect(constant({ value: 2 })).toEqual(constant(2));
    expect(valueAt(0.25, 7)).toBe(0.25);
  });

  it("valueAt takes a step count: an integer ≥ 0", () => {
    for (const t of [-1, 0.5, NaN, Infinity, "3"]) {
      expect(() => valueAt(constant(1), t as number)).toThrow(/valueAt\(schedule, t\): t must be an integer ≥ 0/);
    }
  });
});

describe("bad schedules are refused at creation, naming the option, the field and the rule", () => {
  const refused: [string, unknown, RegExp][] = [
    ["negative steps", { kind: "linear", from: 1, to: 0, steps: -3 }, /options\.lr\.steps must be an integer ≥ 1 \(a number of steps\); got -3/],
    ["fractional steps", { kind: "cosine", from: 1, to: 0, steps: 2.5 }, /options\.lr\.steps must be an integer ≥ 1/],
    ["a NaN value", { kind: "cosine", from: NaN, to: 0, steps: 10 }, /options\.lr\.from must be a finite number; got NaN/],
    ["an infinite value", { kind: "constant", value: Infinity }, /options\.lr\.value must be a finite number; got Infinity/],
    ["a string value", { kind: "linear", from: "1", to: 0, steps: 1 }, /options\.lr\.from must be a number; got "1" \(string\)/],
    ["an unknown kind", { kind: "triangle", from: 1 }, /options\.lr\.kind must be one of "constant", "linear", .*; got "triangle"/],
    ["no kind", { from: 1 }, /options\.lr\.kind must be one of/],
    ["an unknown field", { kind: "constant", value: 1, warmup: 3 }, /options\.lr has an unknown key "warmup"; a constant schedule has value/],
    ["a missing field", { kind: "step", from: 1, factor: 0.5 }, /options\.lr\.every is missing; a step schedule needs it/],
    ["boundaries out of order", { kind: "piecewise", boundaries: [10, 5], values: [1, 2, 3] }, /options\.lr\.boundaries must be in increasing order; options\.lr\.boundaries\[1\] = 5 comes after 10/],
    ["a repeated boundary", { kind: "piecewise", boundaries: [5, 5], values: [1, 2, 3] }, /must be in increasing order/],
    ["a negative boundary", { kind: "piecewise", boundaries: [-1], values: [1, 2] }, /options\.lr\.boundaries\[0\] must be an integer ≥ 0/],
    ["too few values", { kind: "piecewise", boundaries: [1, 2], values: [1, 2] }, /options\.lr\.values has 2 values for 2 boundaries; it needs one more value than boundaries/],
    ["a join without its boundary", { kind: "join", schedules: [{ kind: "constant", value: 1 }, { kind: "constant", value: 2 }], boundaries: [] }, /options\.lr\.schedules has 2 schedules for 0 boundaries/],
    ["a bad part of a join", { kind: "join", schedules: [{ kind: "constant", value: 1 }, { kind: "linear", from: 1, to: 0, steps: 0 }], boundaries: [3] }, /options\.lr\.schedules\[1\]\.steps must be an integer ≥ 1/],
    ["a zero rate", { kind: "exponential", from: 1, rate: 0 }, /options\.lr\.rate must be a finite number > 0; got 0/],
    ["phases that do not fit", { kind: "oneCycle", max: 1, steps: 3, pctStart: 0.3 }, /options\.lr: its phases end at steps -0\.1.*, which must increase from above 0/],
    ["a warmup as long as the schedule", { kind: "warmupCosine", peak: 1, warmup: 10, steps: 10 }, /options\.lr\.steps \(10\) must be greater than options\.lr\.warmup \(10\)/],
    ["a bad anneal", { kind: "oneCycle", max: 1, steps: 100, anneal: "cosine" }, /options\.lr\.anneal must be "cos" or "linear"; got "cosine"/],
    ["an array", [1, 2], /options\.lr must be a number or a schedule \(see schedules\); got an array/],
    ["a boolean", true, /options\.lr must be a number or a schedule/],
  ];
  it.each(refused)("%s", async (_, lr, message) => {
    await expect(createRmsprop(4, { lr } as RmspropOptions)).rejects.toThrow(message);
  });

  it("joins nest at most 16 deep (a checkpoint's JSON could nest them until the stack runs out)", async () => {
    let s: unknown = { kind: "constant", value: 1 };
    for (let i = 0; i < 40; i++) s = { kind: "join", schedules: [s], boundaries: [] };
    await expect(createRmsprop(4, { lr: s as Schedule })).rejects.toThrow(/schedules nest more than 16 deep/);
  });

  it("the factories refuse the same way, by their own name", () => {
    expect(() => cosine({ from: 1, to: 0, steps: 0 })).toThrow(/schedules\.cosine\(…\)\.steps must be an integer ≥ 1/);
    expect(() => linear(null as never)).toThrow(/schedules\.linear\(…\): its argument must be an object/);
    expect(() => step({ from: 1, factor: 0.5, every: 2, kind: "linear" } as never)).toThrow(/names no kind/);
    expect(() => join([constant(1)], [3])).toThrow(/schedules\.join\(…\)\.schedules has 1 schedules for 1 boundaries/);
  });
});

describe("a schedule's every value passes the rule of the option it drives", () => {
  const refused: [string, RmspropOptions, RegExp][] = [
    ["beta reaching 1", { beta: linear({ from: 0.9, to: 1, steps: 10 }) }, /options\.beta \(its linear schedule at step 10\) must be a finite number in \[0, 1\); got 1/],
    ["lr going below 0", { lr: cosine({ from: 0.1, to: -0.1, steps: 4 }) }, /options\.lr \(its cosine schedule at step 4\) must be a finite number ≥ 0/],
    ["a part of a join", { momentum: join([constant(0.9), linear({ from: 0.9, to: -1, steps: 3 })], [5]) }, /options\.momentum \(its join schedule at step 8\) must be a finite number ≥ 0/],
    ["gradScale decaying toward 0", { gradScale: exponential({ from: 1, rate: 0.5 }) }, /options\.gradScale \(its exponential schedule as the step count grows\) must be a finite number > 0 .*; got 0/],
    ["lr growing without bound", { lr: step({ from: 1e-3, factor: 2, every: 10 }) }, /options\.lr \(its step schedule as the step count grows\) must be a finite number ≥ 0 that f32 can hold .*; got Infinity/],
    ["emaDecay at 1 between phases", { emaDecay: oneCycle({ max: 1, steps: 20 }) }, /options\.emaDecay \(its oneCycle schedule at step 5\) must be a finite number in \[0, 1\); got 1/],
    ["a group's weightDecay", { groups: [{ size: 4, weightDecay: piecewise({ boundaries: [3], values: [0.1, -1] }) }] }, /options\.groups\[0\]\.weightDecay \(its piecewise schedule at step 3\) must be a finite number ≥ 0/],
    ["globalClipNorm reaching 0", { globalClipNorm: linear({ from: 1, to: 0, steps: 8 }) }, /options\.globalClipNorm \(its linear schedule at step 8\) must be a finite number > 0/],
    ["lrScale below 0", { lrScale: constant(-1) }, /options\.lrScale \(its constant schedule at step 0\) must be a finite number ≥ 0/],
  ];
  it.each(refused)("%s", async (_, options, message) => {
    await expect(createRmsprop(4, options)).rejects.toThrow(message);
  });

  it("checks a part of a join only over the steps it runs: a decay cut off by the next part is fine", async () => {
    const gradScale = join([exponential({ from: 1, rate: 0.5 }), constant(1 / 1024)], [10]);
    const opt = await createRmsprop(4, { gradScale });
    expect(opt.options.gradScale).toBe(gradScale);
    opt.dispose();
  });

  it("an exponential growth with an end, and a decay with a floor, are bounded", async () => {
    const opt = await createRmsprop(4, { lr: exponential({ from: 1e-4, rate: 1.5, end: 0.1 }), gradScale: exponential({ from: 1, rate: 0.5, end: 1e-3 }) });
    opt.dispose();
  });
});
