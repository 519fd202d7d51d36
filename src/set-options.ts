// Changing update options after creation, from the next step on (PyTorch's
// `param_groups[k]["lr"] = x`): the new options are validated exactly as at creation, and
// refused where they would change what was fixed then (the arrays, the units a step is cut
// into, the memory, the threads), each refusal saying why and what to do instead. Nothing
// changes unless everything passes.
import { checkKeys, resolveOptions, updateKeys, type ResolvedOptions, type UpdateOptions } from "./options.ts";
import { effectiveOptions } from "./groups.ts";
import type { PerStep } from "./per-step.ts";
import { arraySet, STATE_ARRAYS, type ArraySet } from "./state-arrays.ts";

/** What `opt.setOptions` takes: any update option, and the top-level `globalClipNorm` and `lrScale`. */
export interface OptionsUpdate extends UpdateOptions {
  globalClipNorm?: PerStep | null;
  lrScale?: PerStep;
}

/** What builds the same state with another value of a fixed option. */
const restore = (key: string) => `restoreRmsprop(opt.save(), { ${key} }) builds an optimizer with the same state and the new value`;

/** Options fixed at creation, with why and what to do instead. */
const FIXED: Readonly<Record<string, string>> = {
  groups: "the groups lay the parameters out in memory; change a group's options with opt.groups[k].setOptions(partial)",
  ...Object.fromEntries(
    ["backend", "threads", "minParamsPerThread", "threadSpinMs", "nonFinite", "memory", "offset"].map((key) => [key, `the executor and memory are set up once; ${restore(key)}`]),
  ),
  ...Object.fromEntries(["name", "size", "tensors"].map((key) => [key, "a group's layout is fixed at creation"])),
  ...Object.fromEntries(["globalClipNorm", "lrScale"].map((key) => [key, `it is set at the top level only: opt.setOptions({ ${key} })`])),
};

/** Whether a nullable option is on: fixed at creation, as it decides arrays or how a step is cut. */
const onOff = (a: unknown, b: unknown) => (a === null) !== (b === null);

/** Changes of an update option that would change what exists or how a step is cut, and what to do instead. */
const SWITCHES: readonly { key: keyof ResolvedOptions; switched: (a: unknown, b: unknown) => boolean; why: string; movable?: true }[] = [
  { key: "centered", switched: (a, b) => a !== b, why: "it decides whether the gradient average G exists; create a new optimizer with it" },
  { key: "initialScale", switched: (a, b) => a !== b, why: "it is the value S starts from at creation, and S has moved on since" },
  { key: "stateBits", switched: (a, b) => a !== b, why: "it decides how S, M and G are stored", movable: true },
  // The EMA's array, the norm's sums and units: whether they exist is fixed; their value may change.
  ...(["emaDecay", "clipNorm", "globalClipNorm"] as const).map((key) => ({
    key,
    switched: onOff,
    why: "whether it is on is fixed at creation (its value may change, or be a schedule)",
    movable: true as const,
  })),
];

/**
 * How to change a switch marked movable: an optimizer made with the new value, the state
 * moved into it. createRmsprop's way; the tfjs adapter passes its own.
 */
export type MoveState = (key: keyof ResolvedOptions) => string;
const restoreInstead: MoveState = (key) => (key === "stateBits" ? `${restore("stateBits")}, converted` : restore("..."));


/**
 * Refuses `next` where it switches something fixed at creation, or needs an array that
 * group i lacks (`arrays(i)`: the optimizer's arrays, or, in the tfjs adapter, the group's own).
 */
export function checkFixed(
  where: string,
  current: ResolvedOptions,
  next: ResolvedOptions,
  arrays: (group: number) => ArraySet,
  /** How to move the state to an optimizer with the new value (the tfjs adapter has its own way). */
  moveState: MoveState = restoreInstead,
): void {
  const before = [current, ...effectiveOptions(current)];
  const after = [next, ...effectiveOptions(next)];
  // The top level first, so that a change made there is named there.
  after.forEach((o, i) => {
    const path = i === 0 ? "options" : `options.groups[${i - 1}]`;
    for (const { key, switched, why, movable } of SWITCHES) {
      if (switched(before[i][key], o[key])) {
        const reason = movable ? `${why}; ${moveState(key)}` : why;
        throw new TypeError(`${where}: ${path}.${key} cannot go from ${JSON.stringify(before[i][key])} to ${JSON.stringify(o[key])}: ${reason}`);
      }
    }
  });
  after.shift();
  after.forEach((o, i) => {
    const needed = arraySet([o]);
    const have = arrays(i);
    for (const a of STATE_ARRAYS) {
      if (needed[a.name] && !have[a.name]) {
        throw new TypeError(
          `${where}: these options need the ${a.name} array (${a.symbol}), which was not made at creation; create the optimizer ` +
            "with options that need it from the start (momentum > 0 makes M, and a momentum schedule may start at 0)",
        );
      }
    }
  });
}

/**
 * The options a setOptions call gives, checked by name (not yet by value): update options,
 * and at the top level globalClipNorm and lrScale; an option fixed at creation is refused
 * with why. Undefined values are left out: they change nothing.
 */
export function checkedPartial(where: string, partial: unknown, inGroup: boolean, fixed: Readonly<Record<string, string>> = {}): Record<string, unknown> {
  const allowed: string[] = inGroup ? [...updateKeys] : [...updateKeys, "globalClipNorm", "lrScale"];
  if (partial !== null && typeof partial === "object" && !Array.isArray(partial)) {
    for (const key of Object.keys(partial)) {
      const why = Object.hasOwn(fixed, key) ? fixed[key] : Object.hasOwn(FIXED, key) ? FIXED[key] : undefined;
      if (!allowed.includes(key) && why) throw new TypeError(`${where}: ${key} cannot change after creation: ${why}`);
    }
  }
  return Object.fromEntries(Object.entries(checkKeys(where, partial, allowed)).filter(([, v]) => v !== undefined));
}

/** Runs `resolve` with `where` in front of the message of what it throws. */
export function prefixed<T>(where: string, resolve: () => T): T {
  try {
    return resolve();
  } catch (error) {
    if (error instanceof Error) error.message = `${where}: ${error.message}`;
    throw error;
  }
}

/**
 * The top-level options after `opt.setOptions(partial)` (group undefined) or
 * `opt.groups[group].setOptions(partial)`. `arrays` are the arrays this optimizer has.
 * Undefined values change nothing.
 * @throws TypeError or RangeError naming the option and the rule; nothing has changed.
 */
export function changeOptions(current: ResolvedOptions, partial: unknown, arrays: ArraySet, group?: number): ResolvedOptions {
  const where = group === undefined ? "setOptions(partial)" : `groups[${group}].setOptions(partial)`;
  // The one implicit group's options are the top level's.
  const inGroup = group !== undefined && current.groups.length > 0;
  const given = checkedPartial(where, partial, inGroup);
  const candidate = inGroup
    ? { ...current, groups: current.groups.map((g, i) => (i === group ? { ...g, ...given } : g)) }
    : { ...current, ...given };
  const next = prefixed(where, () => resolveOptions(candidate));
  checkFixed(where, current, next, () => arrays);
  return next;
}
