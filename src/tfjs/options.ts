// The options of tfjsRmsprop: createRmsprop's, with groups that pick variables by name
// instead of ranges, validated by the same rules (src/options.ts) before anything exists.
import { checkKeys, defaultOptions, MAX_GROUPS, MAX_TENSORS, resolveOptions, type GroupSpec, type RmspropOptions, type UpdateOptions } from "../options.ts";
import { own, ownArray, ownRecord } from "../own.ts";

/**
 * A group of variables with update options of its own. A variable joins the first group
 * one of whose `match` strings occurs in its name; variables that match no group form a
 * last group, "default", with the top-level options. Substrings (not exact names) because
 * tfjs-layers appends `_1`, `_2` to the names of a model loaded in the same session.
 */
export interface TfjsGroupSpec extends UpdateOptions {
  /** Shown in errors. Default `group<i>`. */
  name?: string;
  /** Substrings of variable names, e.g. `["/bias"]`. At least one, none empty. */
  match: readonly string[];
}

/**
 * Every option of `createRmsprop` except the ones that place memory (`memory`, `offset`:
 * the adapter decides where the arrays live) and `threads` (one thread steps the
 * variables); its `groups` become `variableGroups`, which pick variables by name.
 * `stateBits: 8` applies per variable: one of fewer than 4096 elements keeps f32 state.
 */
export interface TfjsRmspropOptions
  extends Omit<RmspropOptions, "groups" | "memory" | "offset" | "threads" | "minParamsPerThread" | "threadSpinMs"> {
  /** Groups of variables with options of their own, in order of precedence. Default: none. */
  variableGroups?: readonly TfjsGroupSpec[];
}

/** The options after validation: the top-level ones, and the groups as given. */
export interface TfjsResolved {
  top: Omit<RmspropOptions, "groups">;
  groups: (UpdateOptions & { name: string; match: string[] })[];
}

/**
 * The createRmsprop options tfjsRmsprop refuses, each with the reason its TypeError gives
 * (docs/tfjs.md lists exactly these; test/tfjs-recipe.test.ts compares the two).
 */
export const REFUSED_OPTIONS: Readonly<Record<string, string>> = Object.freeze({
  groups: "the groups of tfjsRmsprop pick variables by name: use variableGroups: [{ match: [\"/bias\"], ...options }]",
  memory: "the adapter decides where the arrays live (in place in tfjs-backend-wasm's heap, or in a memory of its own)",
  offset: "the adapter decides where the arrays live",
  threads: "rmsprop-wasm/tfjs steps on one thread; the step is a small part of a tfjs training step",
  minParamsPerThread: "rmsprop-wasm/tfjs steps on one thread",
  threadSpinMs: "rmsprop-wasm/tfjs steps on one thread",
});

/** Whether `key` is a createRmsprop option that tfjsRmsprop refuses (an own key: "constructor" is not one). */
const refused = (key: string) => Object.hasOwn(REFUSED_OPTIONS, key);

/** Validates `options` (every rule of createRmsprop, plus the group specs) and splits them. */
export function resolveTfjsOptions(options: unknown): TfjsResolved {
  const read = ownRecord("options", options) ?? {};
  for (const key of Object.keys(read)) {
    if (refused(key)) throw new TypeError(`options.${key} is not an option of tfjsRmsprop: ${REFUSED_OPTIONS[key]}`);
  }
  const known = [...Object.keys(defaultOptions).filter((k) => !refused(k)), "variableGroups"];
  const { variableGroups: given, ...top } = checkKeys("options", read, known) as RmspropOptions & { variableGroups?: unknown };
  const groups = normalizeGroups(given);
  // The createRmsprop rules judge every value, with each group standing in as one tensor.
  try {
    resolveOptions({ ...top, groups: groups.map(({ match: _, ...own }) => ({ ...own, size: 1 })) });
  } catch (error) {
    // Name the group as the caller wrote it.
    if (error instanceof Error) error.message = error.message.replaceAll("options.groups[", "options.variableGroups[");
    throw error;
  }
  return { top, groups };
}

/** Options of the whole optimizer, which a variable group cannot set. */
const topLevelOnly = ["groups", "backend", "nonFinite", "globalClipNorm"];

function normalizeGroups(value: unknown): TfjsResolved["groups"] {
  if (value === undefined) return [];
  return ownArray("options.variableGroups", value, MAX_GROUPS, "groups { match, ...options }").map((given: unknown, g) => {
    const at = `options.variableGroups[${g}]`;
    const group = ownRecord(at, given);
    if (group === undefined) throw new TypeError(`${at} must be an object { match, ...options }; got undefined`);
    if ("globalClipNorm" in group) {
      throw new TypeError(
        `${at}.globalClipNorm: globalClipNorm clips the gradients of all variables of a step together, so it is set at the ` +
          "top level only; a variable group may set clipNorm (per variable) or clipValue",
      );
    }
    const { match, name = `group${g}`, ...options } = checkKeys(at, group, [
      ...Object.keys(defaultOptions).filter((k) => !refused(k) && !topLevelOnly.includes(k)),
      "name",
      "match",
    ]) as UpdateOptions & { name?: unknown; match?: unknown };
    if (typeof name !== "string" || name === "") throw new TypeError(`${at}.name must be a non-empty string`);
    const what = "non-empty strings (substrings of variable names)";
    const strings = match === undefined ? [] : ownArray(`${at}.match`, match, MAX_TENSORS, what);
    if (strings.length === 0 || !strings.every((m) => typeof m === "string" && m !== "")) {
      throw new TypeError(`${at}.match must be a non-empty array of ${what}`);
    }
    return { ...options, name, match: strings as string[] };
  });
}

/** A variable as the groups see it: its name and element count. */
export interface NamedSize {
  name: string;
  shape: readonly number[];
}

/**
 * createRmsprop groups for these variables: each user group with its variables (a group
 * that matches none is left out), then "default" with the rest.
 */
export function groupVariables(r: TfjsResolved, variables: readonly NamedSize[]): GroupSpec[] {
  const members: number[][] = r.groups.map(() => []);
  const rest: number[] = [];
  variables.forEach((v, i) => {
    const g = r.groups.findIndex((group) => group.match.some((m) => v.name.includes(m)));
    (g < 0 ? rest : members[g]).push(i);
  });
  const tensors = (ids: number[]) => ids.map((i) => ({ name: variables[i].name, shape: [...variables[i].shape] }));
  const groups: GroupSpec[] = [];
  r.groups.forEach(({ match: _, ...own }, g) => {
    if (members[g].length) groups.push({ ...own, tensors: tensors(members[g]) });
  });
  if (rest.length) groups.push({ name: "default", tensors: tensors(rest) });
  return groups;
}

// tfjs-layers passes every string of a loaded training config through toCamelCase (all but
// values under a "name" key), which drops each "_" and capitalises the next letter. The
// match strings are variable names full of "_", so they travel percent-escaped.
const escape = (s: string) => s.replaceAll("%", "%25").replaceAll("_", "%5F");
const unescape = (s: string) => s.replaceAll("%5F", "_").replaceAll("%25", "%");

/** The options as a tfjs ConfigDict: plain JSON, safe through tfjs-layers' conversions. */
export function toConfig(r: TfjsResolved): Record<string, unknown> {
  return {
    ...r.top,
    ...(r.groups.length && { variableGroups: r.groups.map((g) => ({ ...g, match: g.match.map(escape) })) }),
  };
}

/** The inverse of {@link toConfig}. */
export function fromConfigDict(dict: Record<string, unknown>): TfjsRmspropOptions {
  // tfjs-layers' deserializer adds the caller's customObjects to every config it passes on.
  const { customObjects: _, ...config } = dict;
  const groups = own(config, "variableGroups");
  if (!Array.isArray(groups)) return config as TfjsRmspropOptions;
  // Only what toConfig escaped is unescaped; anything else reaches the checks as it is.
  const unescaped = (g: unknown) => {
    const match = g !== null && typeof g === "object" ? own(g, "match") : undefined;
    return Array.isArray(match) ? { ...(g as object), match: match.map((m: unknown) => (typeof m === "string" ? unescape(m) : m)) } : g;
  };
  return { ...config, variableGroups: groups.map(unescaped) } as TfjsRmspropOptions;
}
