// Whether a checkpoint fits an optimizer, decided before a byte is copied or allocated, and
// which options a checkpoint carries. load() and restoreRmsprop check what PyTorch's
// load_state_dict checks (as many groups, each of the same size, tensors of the same
// sizes) and more: the same n and state arrays, options that validate, and state that a
// run of the receiving optimizer could have produced (src/checkpoint.ts, checkState).
import { checkpointError, checkState, holds, type CheckpointContent } from "./checkpoint.ts";
import { resolveOptions, type NormalizedGroup, type ResolvedOptions } from "./options.ts";
import { CHECKPOINT_ARRAYS, type ArrayName } from "./state-arrays.ts";

/**
 * Options that say where and how an optimizer runs, not what it computes: a restored
 * optimizer takes them from the caller (its overrides, else the defaults), never from
 * the bytes, which may come from another machine, or from anyone. save() does not write
 * them; a checkpoint of an older version that has them is read without them.
 */
export const PLACEMENT_OPTIONS: readonly string[] = ["backend", "threads", "minParamsPerThread", "threadSpinMs", "memory", "offset"];

/** The options save() writes: all that defines the training, nothing of where it ran. */
export function savedOptions(o: ResolvedOptions): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([key]) => !PLACEMENT_OPTIONS.includes(key)));
}

/** A checkpoint's options without the placement options (its own keys, as a plain object). */
export function storedOptions(content: CheckpointContent): Record<string, unknown> {
  return Object.fromEntries(Object.entries(content.options).filter(([key]) => !PLACEMENT_OPTIONS.includes(key)));
}

/** A checkpoint's options, validated by every rule of createRmsprop. */
export function resolvedStored(content: CheckpointContent): ResolvedOptions {
  try {
    return resolveOptions(storedOptions(content));
  } catch (error) {
    throw checkpointError(`its options are not valid (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** Group sizes and, per group, its tensors' sizes (none listed: empty): what state is laid out by. */
function groupLayout(o: ResolvedOptions, n: number): { sizes: number[]; tensors: number[][] } {
  const groups: readonly Pick<NormalizedGroup, "size" | "tensors">[] = o.groups.length ? o.groups : [{ size: n, tensors: [] }];
  return { sizes: groups.map((g) => g.size), tensors: groups.map((g) => g.tensors.map((t) => t.size)) };
}

const list = (sizes: readonly number[]) => `[${sizes.join(", ")}]`;

/**
 * Throws, naming what differs, unless `content` loads into an optimizer of `n` parameters
 * with options `o` and the state `arrays`: the same n, the same groups (count and sizes, and tensor sizes where
 * both list tensors), the same state arrays (an EMA may be missing: it then starts at the
 * weights), and state a run of this optimizer can produce.
 */
export function checkLoadable(
  content: CheckpointContent,
  n: number,
  o: ResolvedOptions,
  arrays: Partial<Record<ArrayName, boolean>>,
  what: string,
  stored?: ResolvedOptions,
): void {
  const unchanged = "; nothing was changed";
  if (content.n !== n) throw new RangeError(`${what}: the checkpoint has n = ${content.n}, this optimizer n = ${n}${unchanged}`);
  // `stored`: the checkpoint's options, resolved already (restoreRmsprop's, where overrides keep its groups).
  const theirs = groupLayout(stored ?? resolvedStored(content), n);
  const ours = groupLayout(o, n);
  if (list(theirs.sizes) !== list(ours.sizes)) {
    throw new RangeError(
      `${what}: the checkpoint has ${theirs.sizes.length} group(s) of sizes ${list(theirs.sizes)}, this optimizer ` +
        `${ours.sizes.length} of sizes ${list(ours.sizes)} (as PyTorch's load_state_dict requires)${unchanged}`,
    );
  }
  ours.tensors.forEach((sizes, g) => {
    const stored = theirs.tensors[g];
    if (sizes.length && stored.length && list(sizes) !== list(stored)) {
      throw new RangeError(
        `${what}: group ${g} of the checkpoint has tensors of sizes ${list(stored)}, this optimizer's ${list(sizes)}${unchanged}`,
      );
    }
  });
  for (const { name } of CHECKPOINT_ARRAYS) {
    // A checkpoint from before emaDecay existed (or without it) starts the EMA at its weights.
    if (name === "ema" && arrays.ema && !holds(content, "ema")) continue;
    if (holds(content, name) !== Boolean(arrays[name])) {
      throw new RangeError(
        `${what}: the checkpoint ${holds(content, name) ? "has" : "lacks"} ${name}, this optimizer ` +
          `${arrays[name] ? "has" : "lacks"} it (momentum, centered and emaDecay must match)${unchanged}`,
      );
    }
  }
  checkState(content, o.nonFinite);
}
