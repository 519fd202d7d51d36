// An optimizer's state into a checkpoint and back, whatever either stores in 8 bits. save()
// writes each array as the optimizer stores it: f32 in parameter order, or, where some group
// keeps it in 8 bits, its parts (src/state-storage.ts). load() copies the parts as they are
// where the checkpoint's storage is the optimizer's (the bits continue unchanged), and
// otherwise decodes the checkpoint's values and stores them as this optimizer does: f32 state
// into 8-bit codes (rounded to nearest), 8-bit codes into f32 (exact).
import { checkpointError, type CheckpointContent } from "./checkpoint.ts";
import { needsNorm, planGroups, planUnits } from "./groups.ts";
import type { ResolvedOptions } from "./options.ts";
import { badScale, readSegment, writeOrder, writeSegment, type StateMemory } from "./state-codec.ts";
import { CHECKPOINT_ARRAYS, STATE_ARRAYS, type ArrayName } from "./state-arrays.ts";
import { sameStorage, storageOfPlans, type StoragePlan } from "./state-storage.ts";

/** Where an optimizer's (or a checkpoint's) state is, and how each step unit reads its S. */
export interface StoredState {
  readonly memory: StateMemory;
  readonly storage: StoragePlan;
  /** Per unit: whether its group is centered (its 8-bit S is stored as S − G²). */
  readonly centered: readonly boolean[];
}

/** The storage of n parameters with options `o` (a checkpoint's, before any optimizer exists), and each unit's centered. */
export function storageWithCentered(o: ResolvedOptions, n: number): Pick<StoredState, "storage" | "centered"> {
  const plans = planGroups(o, n);
  const { units } = planUnits(plans, needsNorm(o, plans));
  return { storage: storageOfPlans(n, plans, units), centered: units.map((u) => plans[u.group].options.centered) };
}

/**
 * The arrays in the order they are written: an array that another's 8-bit codes are stored
 * less the square of (G, for a centered S) before that one.
 */
const WRITE_ORDER = writeOrder(CHECKPOINT_ARRAYS, (a) => a.name);

/**
 * Refuses a checkpoint whose 8-bit parts are not what its own options lay out, or whose
 * block scales no quantization makes, before anything is written.
 */
export function checkQuantized(content: CheckpointContent, stored: ResolvedOptions): void {
  if (!content.quantized) return;
  const { storage } = storageWithCentered(stored, content.n);
  for (const [name, q] of Object.entries(content.quantized) as [ArrayName, NonNullable<CheckpointContent["quantized"]>[ArrayName]][]) {
    const want = [storage.elements[32], storage.elements[8], storage.blocks];
    if (q!.values.length !== want[0] || q!.codes.length !== want[1] || q!.scales.length !== want[2]) {
      throw checkpointError(
        `its 8-bit ${name} has ${q!.values.length} f32, ${q!.codes.length} codes and ${q!.scales.length} scales, ` +
          `but its options lay out ${want[0]}, ${want[1]} and ${want[2]}`,
      );
    }
    const row = STATE_ARRAYS.find((a) => a.name === name)!;
    const bad = badScale(row.q8!.format, q!.scales);
    if (bad >= 0) throw checkpointError(`${name}'s block scale ${bad} is ${q!.scales[bad]}, which no quantization makes (a power of two in the format's range)`);
  }
}

/** The f32 values of a checkpoint's array `name`, in parameter order (decoded where 8-bit). */
function valuesOf(content: CheckpointContent, name: ArrayName, theirs: () => Pick<StoredState, "storage" | "centered">): Float32Array | undefined {
  const given = content.arrays[name];
  if (given || !content.quantized?.[name]) return given;
  const { storage, centered } = theirs();
  const memory: StateMemory = { parts: content.quantized };
  const out = new Float32Array(content.n);
  storage.units.forEach((seg, u) => readSegment(memory, name, seg, centered[u], out));
  return out;
}

/**
 * Writes a checked checkpoint's arrays into `target`: its parts as they are where the
 * storages agree, else its values converted. `stored`: the checkpoint's own options. An EMA
 * the checkpoint lacks starts at its weights.
 */
export function writeSaved(target: StoredState, content: CheckpointContent, stored: () => ResolvedOptions): void {
  let theirs: Pick<StoredState, "storage" | "centered"> | undefined;
  const theirsOnce = () => (theirs ??= storageWithCentered(stored(), content.n));
  const same = () => {
    const t = theirsOnce();
    return sameStorage(t.storage, target.storage) && t.centered.every((c, u) => c === target.centered[u]);
  };
  const copying = content.quantized !== undefined && target.storage.elements[8] > 0 && same();
  for (const row of WRITE_ORDER) {
    const dest = target.memory.parts[row.name];
    const q = content.quantized?.[row.name];
    if (!dest) continue;
    if (q && copying) {
      dest.values?.set(q.values);
      dest.codes!.set(q.codes);
      dest.scales!.set(q.scales);
      continue;
    }
    const values = valuesOf(content, row.name, theirsOnce) ?? (row.name === "ema" ? content.arrays.params : undefined);
    if (values) target.storage.units.forEach((seg, u) => writeSegment(target.memory, row.name, seg, target.centered[u], values));
  }
}
