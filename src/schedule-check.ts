// Checking a schedule: every field of every kind, with its rule, its default, and the rules
// between fields (boundaries in order, one more value than boundaries, phases that fit).
// A schedule comes from the factories, from an object literal, or from a checkpoint's JSON;
// each is checked the same way and comes out as a frozen copy with every default filled in.
import { describe } from "./options.ts";
import { ownRecord } from "./own.ts";
import type { Schedule, ScheduleKind } from "./schedule-types.ts";

type Rule = (path: string, value: unknown, depth: number) => unknown;

function finite(path: string, value: unknown): number {
  if (typeof value !== "number") throw new TypeError(`${path} must be a number; got ${describe(value)} (${typeof value})`);
  if (!Number.isFinite(value)) throw new RangeError(`${path} must be a finite number; got ${describe(value)}`);
  return value;
}

const positive: Rule = (path, value) => {
  const x = finite(path, value);
  if (!(x > 0)) throw new RangeError(`${path} must be a finite number > 0; got ${describe(x)}`);
  return x;
};

/** A number of steps: an integer ≥ min. */
const steps =
  (min: number): Rule =>
  (path, value) => {
    const x = finite(path, value);
    if (!Number.isSafeInteger(x) || x < min) throw new RangeError(`${path} must be an integer ≥ ${min} (a number of steps); got ${describe(x)}`);
    return x;
  };

const boolean: Rule = (path, value) => {
  if (typeof value !== "boolean") throw new TypeError(`${path} must be true or false; got ${describe(value)} (${typeof value})`);
  return value;
};

const fraction: Rule = (path, value) => {
  const x = finite(path, value);
  if (!(x > 0 && x < 1)) throw new RangeError(`${path} must be a finite number in (0, 1); got ${describe(x)}`);
  return x;
};

const anneal: Rule = (path, value) => {
  if (value !== "cos" && value !== "linear") throw new TypeError(`${path} must be "cos" or "linear"; got ${describe(value)}`);
  return value;
};

function list(path: string, value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new TypeError(`${path} must be an array of ${what}; got ${describe(value)}`);
  return value;
}

const numbers: Rule = (path, value) => Object.freeze(list(path, value, "finite numbers").map((x, i) => finite(`${path}[${i}]`, x)));

/** Step counts, each an integer ≥ 0 and greater than the one before. */
const boundaries: Rule = (path, value) => {
  const out = list(path, value, "step counts").map((x, i) => steps(0)(`${path}[${i}]`, x, 0) as number);
  out.forEach((b, i) => {
    if (i > 0 && b <= out[i - 1]) {
      throw new RangeError(`${path} must be in increasing order; ${path}[${i}] = ${b} comes after ${out[i - 1]}`);
    }
  });
  return Object.freeze(out);
};

const parts: Rule = (path, value, depth) =>
  Object.freeze(list(path, value, "schedules").map((s, i) => normalizeAt(`${path}[${i}]`, s, depth + 1)));

const REQUIRED = Symbol("required");

/** OneCycleLR's phases, the same for its rate and its momentum. */
const ONE_CYCLE_PHASES: Readonly<Record<string, readonly [Rule, unknown]>> = {
  steps: [steps(2), REQUIRED],
  pctStart: [fraction, 0.3],
  anneal: [anneal, "cos"],
  threePhase: [boolean, false],
};

/** Each kind's fields: the rule and the default (REQUIRED where there is none), in output order. */
const KINDS: { readonly [K in ScheduleKind]: Readonly<Record<string, readonly [Rule, unknown]>> } = {
  constant: { value: [finite, REQUIRED] },
  linear: { from: [finite, REQUIRED], to: [finite, REQUIRED], steps: [steps(1), REQUIRED] },
  cosine: { from: [finite, REQUIRED], to: [finite, REQUIRED], steps: [steps(1), REQUIRED] },
  exponential: {
    from: [finite, REQUIRED],
    rate: [positive, REQUIRED],
    every: [steps(1), 1],
    staircase: [boolean, false],
    end: [(path, v) => (v === null ? null : finite(path, v)), null],
  },
  step: { from: [finite, REQUIRED], factor: [positive, REQUIRED], every: [steps(1), REQUIRED] },
  piecewise: { boundaries: [boundaries, REQUIRED], values: [numbers, REQUIRED] },
  join: { schedules: [parts, REQUIRED], boundaries: [boundaries, REQUIRED] },
  oneCycle: { max: [finite, REQUIRED], ...ONE_CYCLE_PHASES, divFactor: [positive, 25], finalDivFactor: [positive, 1e4] },
  oneCycleMomentum: { ...ONE_CYCLE_PHASES, base: [finite, 0.85], max: [finite, 0.95] },
  warmupCosine: {
    peak: [finite, REQUIRED],
    warmup: [steps(0), REQUIRED],
    steps: [steps(1), REQUIRED],
    init: [finite, 0],
    end: [finite, 0],
  },
};

const KIND_NAMES = Object.keys(KINDS) as ScheduleKind[];

/** How deep joins may nest: deeper is no schedule anyone writes, and would exhaust the stack. */
const MAX_DEPTH = 16;

/** The rules between fields, after each field passed its own. */
function checkTogether(path: string, s: Record<string, unknown>): void {
  const count = (key: string) => (s[key] as readonly unknown[]).length;
  if (s.kind === "piecewise" && count("values") !== count("boundaries") + 1) {
    throw new RangeError(`${path}.values has ${count("values")} values for ${count("boundaries")} boundaries; it needs one more value than boundaries`);
  }
  if (s.kind === "join" && count("schedules") !== count("boundaries") + 1) {
    throw new RangeError(`${path}.schedules has ${count("schedules")} schedules for ${count("boundaries")} boundaries; it needs one more schedule than boundaries`);
  }
  if (s.kind === "oneCycle" || s.kind === "oneCycleMomentum") {
    // OneCycleLR's phase ends: pctStart·steps − 1 (and 2·pctStart·steps − 2), then steps − 1.
    const [pct, total] = [s.pctStart as number, s.steps as number];
    const ends = s.threePhase ? [pct * total - 1, 2 * pct * total - 2, total - 1] : [pct * total - 1, total - 1];
    if (!ends.every((end, i) => end > (i === 0 ? 0 : ends[i - 1]))) {
      throw new RangeError(
        `${path}: its phases end at steps ${ends.join(", ")} (from pctStart ${pct} and steps ${total}), which must increase from above 0; ` +
          "give more steps or another pctStart",
      );
    }
  }
  if (s.kind === "warmupCosine" && (s.steps as number) <= (s.warmup as number)) {
    throw new RangeError(`${path}.steps (${s.steps}) must be greater than ${path}.warmup (${s.warmup}): steps is the whole length, warmup included`);
  }
}

/** Schedules already checked (made here): checked again, they would come out the same. */
const checked = new WeakSet<object>();

function normalizeAt(path: string, value: unknown, depth: number): Schedule {
  if (value !== null && typeof value === "object" && checked.has(value)) return value as Schedule;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${path} must be a schedule (an object { kind, ... } such as schedules.cosine() returns); got ${describe(value)}`);
  }
  if (depth > MAX_DEPTH) throw new RangeError(`${path}: schedules nest more than ${MAX_DEPTH} deep`);
  // Read as options are (src/own.ts): own properties, once; Object.prototype fills no field.
  const given = ownRecord(path, value)!;
  const kind = given.kind;
  if (typeof kind !== "string" || !KIND_NAMES.includes(kind as ScheduleKind)) {
    throw new TypeError(`${path}.kind must be one of ${KIND_NAMES.map((k) => `"${k}"`).join(", ")}; got ${describe(kind)}`);
  }
  const fields = KINDS[kind as ScheduleKind];
  for (const key of Object.keys(given)) {
    if (key !== "kind" && !Object.hasOwn(fields, key)) {
      throw new TypeError(`${path} has an unknown key "${key}"; a ${kind} schedule has ${Object.keys(fields).join(", ")}`);
    }
  }
  const out: Record<string, unknown> = { kind };
  for (const [key, [rule, fallback]] of Object.entries(fields)) {
    const v = given[key];
    if (v === undefined && fallback === REQUIRED) throw new TypeError(`${path}.${key} is missing; a ${kind} schedule needs it`);
    out[key] = v === undefined ? fallback : rule(`${path}.${key}`, v, depth);
  }
  checkTogether(path, out);
  const schedule = Object.freeze(out) as unknown as Schedule;
  checked.add(schedule);
  return schedule;
}

/**
 * `value` as a checked, frozen schedule with every default filled in.
 * @throws TypeError or RangeError naming `path`, the field and the rule.
 */
export function normalizeSchedule(path: string, value: unknown): Schedule {
  return normalizeAt(path, value, 0);
}

/** What each factory of `schedules` does: its arguments checked as a schedule of `kind`. */
export function scheduleFactory(kind: ScheduleKind, args: unknown): Schedule {
  const path = `schedules.${kind}(…)`;
  if (args === null || typeof args !== "object" || Array.isArray(args)) {
    throw new TypeError(`${path}: its argument must be an object of the schedule's fields; got ${describe(args)}`);
  }
  if ("kind" in args) throw new TypeError(`${path}: its argument names no kind (the factory is the kind)`);
  return normalizeSchedule(path, { ...args, kind });
}
