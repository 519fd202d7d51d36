// The values that may change from one step to the next, written once, as optax's
// inject_hyperparams makes any numeric hyperparameter injectable. Each row is an option
// that takes a number or a schedule (src/schedules.ts), at the top level and in a group,
// can be overridden for one step by `step(overrides)` and changed by `setOptions`. Every
// step turns the rows into one record of plain numbers (valuesAt) from which the kernel's
// flags and f32 constants are made (src/step-scalars.ts): the options, the overrides, the
// tfjs adapter and the checkpoints all follow this table. docs/architecture.md's change map
// has "A per-step value".
import { checkKeys, checkPositive, checkRange, describe } from "./options.ts";
import { scheduleSupport } from "./schedule-support.ts";
import type { Schedule } from "./schedule-types.ts";

/** A value that may change per step: a number, or a schedule of the step count. */
export type PerStep = number | Schedule;

interface PerStepRow {
  /** The rule every value obeys, at every step; throws naming `path` and the rule. */
  readonly rule: (path: string, value: number) => number;
  /** null is a value: the option is off. Whether it is on is fixed for life; its value is not. */
  readonly nullable: boolean;
  /** One value for the whole optimizer: groups cannot set it. */
  readonly topLevelOnly: boolean;
}

const row = <N extends boolean = false, T extends boolean = false>(rule: PerStepRow["rule"], nullable?: N, topLevelOnly?: T) =>
  ({ rule, nullable: (nullable ?? false) as N, topLevelOnly: (topLevelOnly ?? false) as T }) as const;

/** The per-step values, with each one's rule (the same as for a number given at creation). */
export const PER_STEP_VALUES = {
  lr: row((path, v) => checkRange(path, v, 0)),
  beta: row((path, v) => checkRange(path, v, 0, 1, true)),
  eps: row((path, v) => checkRange(path, v, 0)),
  momentum: row((path, v) => checkRange(path, v, 0)),
  weightDecay: row((path, v) => checkRange(path, v, 0)),
  gradScale: row((path, v) => checkPositive(path, v)),
  clipValue: row((path, v) => checkPositive(path, v, true)!, true),
  clipNorm: row((path, v) => checkPositive(path, v, true)!, true),
  globalClipNorm: row((path, v) => checkPositive(path, v, true)!, true, true),
  emaDecay: row((path, v) => checkRange(path, v, 0, 1, true), true),
  lrScale: row((path, v) => checkRange(path, v, 0), false, true),
} as const satisfies Record<string, PerStepRow>;

type Rows = typeof PER_STEP_VALUES;
/** The names of the per-step values. */
export type PerStepName = keyof Rows;
/** One step's values: every row as a plain number (null where a nullable option is off). */
export type PerStepValues = { -readonly [K in PerStepName]: Rows[K]["nullable"] extends true ? number | null : number };
/** Where a step's values come from: each row as a number or a schedule (null where off). */
export type PerStepSources = { readonly [K in PerStepName]: Rows[K]["nullable"] extends true ? PerStep | null : PerStep };

export const PER_STEP_NAMES = Object.keys(PER_STEP_VALUES) as PerStepName[];

/**
 * Overrides of one `step()` call: any per-step value, as a number, for this step only. A
 * group that sets an option itself keeps its own value; an override of clipValue, clipNorm,
 * globalClipNorm or emaDecay reaches only the groups where that option is on.
 */
export type StepOverrides = { [K in PerStepName]?: number };

/**
 * Checks a per-step option given at creation or to setOptions: null (where it may be off),
 * a number that passes the row's rule, or a schedule every value of which does. A schedule
 * is checked at the values among which its least and greatest lie (src/schedules.ts,
 * extremes): its ends, its turning points, and the limit of a tail that never ends.
 */
export function checkPerStep(name: PerStepName, path: string, value: unknown): PerStep | null {
  const { rule, nullable } = PER_STEP_VALUES[name];
  if (value === null && nullable) return null;
  if (typeof value === "number") return rule(path, value);
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new TypeError(`${path} must be a number${nullable ? ", null" : ""} or a schedule (see schedules); got ${describe(value)}`);
  }
  const { normalize, extremes } = scheduleSupport(path);
  const schedule = normalize(path, value);
  for (const { value: v, at } of extremes(schedule)) {
    rule(`${path} (its ${schedule.kind} schedule ${at === Infinity ? "as the step count grows" : `at step ${at}`})`, v);
  }
  return schedule;
}

/** The greatest value a source takes at any step (a number is its own). */
export function greatest(source: PerStep): number {
  return typeof source === "number" ? source : Math.max(...scheduleSupport("a schedule").extremes(source).map((e) => e.value));
}

/**
 * A source's value at step count t; a schedule's is checked by the row's rule again (f64
 * rounding can pass an end). `path` names the group; the option's path is made only for a
 * schedule, as a step makes no string it does not need.
 */
function valueOf(name: PerStepName, path: string, source: PerStep | null, t: number): number | null {
  if (source === null || typeof source === "number") return source;
  const value = scheduleSupport(`${path}.${name}`).evaluate(source, t);
  return PER_STEP_VALUES[name].rule(`${path}.${name} (its ${source.kind} schedule at step ${t})`, value);
}

/** Sources made ready for steps: the numbers as they are, and the rows a schedule drives. */
interface Prepared {
  /** Every number source, and 0 in place of a schedule's; frozen, shared by every step without schedules or overrides. */
  readonly fixed: Readonly<PerStepValues>;
  readonly scheduled: readonly (readonly [PerStepName, Schedule])[];
}

/**
 * Prepared sources, by the frozen options object they came from (options are replaced, not
 * changed, by setOptions): a step walks the table only when the options change, and then
 * touches only the rows that a schedule or an override changes.
 */
const prepared = new WeakMap<object, Prepared>();

function prepare(sources: PerStepSources): Prepared {
  const known = prepared.get(sources);
  if (known) return known;
  const fixed = {} as Record<PerStepName, number | null>;
  const scheduled: [PerStepName, Schedule][] = [];
  for (const name of PER_STEP_NAMES) {
    const source = sources[name];
    if (source === null || typeof source === "number") fixed[name] = source;
    else {
      fixed[name] = 0;
      scheduled.push([name, source]);
    }
  }
  const made = { fixed: Object.freeze(fixed) as PerStepValues, scheduled };
  if (Object.isFrozen(sources)) prepared.set(sources, made);
  return made;
}

/**
 * One group's values at step count t (the applied steps before this one): its sources
 * evaluated, then the step's overrides where they reach it (not where the group sets the
 * option itself, nor where a nullable option is off). `path` names the group in errors.
 * Without schedules or overrides, the values are the same frozen object every step.
 */
export function valuesAt(
  sources: PerStepSources,
  own: Readonly<Record<string, unknown>>,
  t: number,
  overrides: StepOverrides,
  path: string,
): Readonly<PerStepValues> {
  const { fixed, scheduled } = prepare(sources);
  const names = Object.keys(overrides) as PerStepName[];
  if (scheduled.length === 0 && names.length === 0) return fixed;
  const values: Record<PerStepName, number | null> = { ...fixed };
  for (const [name, schedule] of scheduled) values[name] = valueOf(name, path, schedule, t);
  for (const name of names) {
    const reaches = (PER_STEP_VALUES[name].topLevelOnly || own[name] === undefined) && sources[name] !== null;
    if (reaches) values[name] = overrides[name]!;
  }
  return values as PerStepValues;
}

/**
 * The overrides of a step without any (made once: a step allocates as little as it can).
 * resolveOverrides returns this object for no overrides, given or not, so that a step can
 * tell by identity (src/groups.ts, groupStep).
 */
export const NO_OVERRIDES: StepOverrides = Object.freeze({});

/** Whether any of the sources is a schedule: then a group's values change from step to step. */
export const hasSchedules = (sources: PerStepSources): boolean => prepare(sources).scheduled.length > 0;

/**
 * Validates the overrides of one `step()` call against the rows' rules, and refuses one
 * that would reach no group: a group that sets the option keeps its own, and an option
 * that is off (null) stays off.
 */
export function resolveOverrides(
  overrides: unknown,
  groups: readonly { options: PerStepSources; own: Readonly<Record<string, unknown>> }[],
): StepOverrides {
  if (overrides === undefined) return NO_OVERRIDES;
  const given = checkKeys("step overrides", overrides, PER_STEP_NAMES);
  const out: StepOverrides = {};
  for (const name of PER_STEP_NAMES) {
    const value = given[name];
    if (value === undefined) continue;
    const { rule, topLevelOnly } = PER_STEP_VALUES[name];
    if (typeof value !== "number") throw new TypeError(`step overrides.${name} must be a number; got ${describe(value)} (${typeof value})`);
    out[name] = rule(`step overrides.${name}`, value);
    const reached = groups.some((g) => g.options[name] !== null && (topLevelOnly || g.own[name] === undefined));
    if (!reached) {
      const why = groups.every((g) => g.options[name] === null)
        ? `${name} is off (null), and whether it is on is fixed at creation`
        : `every group sets its own ${name}; change a group's with opt.groups[k].setOptions({ ${name} })${name === "lr" ? ", or scale every group's with lrScale" : ""}`;
      throw new RangeError(`step overrides.${name} reaches no group: ${why}; nothing was applied`);
    }
  }
  return Object.keys(out).length > 0 ? out : NO_OVERRIDES;
}
