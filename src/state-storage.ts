// Where each group's state lives. A row of the table of state arrays (src/state-arrays.ts)
// is stored, for each group, as its parts at the group's stateBits: f32 values, or, for the
// rows with a code map at stateBits 8, 8-bit codes and an f32 scale per block of 512. Each
// part holds the elements of its groups in group order, so an optimizer whose groups agree
// (the usual case) keeps every array in parameter order, and one that mixes 8-bit weights
// with 32-bit biases keeps no byte it does not use.
//
// Blocks start at each step unit's first element (a group, or a tensor of a group clipped
// per tensor): a kernel call starts on a block, threads cut a unit on block boundaries, and
// no block is shared by two units. The last block of a unit may be short; that is the only
// padding (docs/quantization.md).
import type { GroupPlan } from "./groups.ts";
import { QUANT_BLOCK } from "./quant-sizes.ts";
import type { StateArraySpec } from "./state-arrays.ts";
import { storedBits, type StateBits } from "./state-bits.ts";

/** A range of the parameters with one stateBits: where its elements are in their parts. */
export interface Segment {
  /** First parameter index, and size. */
  readonly offset: number;
  readonly size: number;
  readonly bits: StateBits;
  /** Index of its first element in the part that holds it: the f32 values, or the codes. */
  readonly at: number;
  /** Index of its first block scale, and its blocks (8-bit only; 0 otherwise). */
  readonly scalesAt: number;
  readonly blocks: number;
}

/** How the quantizable arrays of an optimizer (or of the tfjs adapter's slots) are stored. */
export interface StoragePlan {
  readonly n: number;
  /** Elements each quantizable array keeps at each stateBits (the two add up to n). */
  readonly elements: Readonly<Record<StateBits, number>>;
  /** Block scales each quantizable array has: the blocks of its 8-bit units. */
  readonly blocks: number;
  /** Each group's range. */
  readonly groups: readonly Segment[];
  /** Each step unit's range (a kernel call's first element starts a block). */
  readonly units: readonly Segment[];
}

/** Blocks of `n` consecutive elements that start a block. */
export const blocksOf = (n: number): number => Math.ceil(n / QUANT_BLOCK);

/**
 * The storage of these groups (each a range with its stateBits) and units (each a range
 * of one group, in order, covering it).
 */
export function planStorage(
  n: number,
  groups: readonly { offset: number; size: number; bits: StateBits }[],
  units: readonly { group: number; offset: number; size: number }[],
): StoragePlan {
  const next: Record<StateBits, number> = { 32: 0, 8: 0 };
  const groupAt = groups.map((g) => {
    const at = next[g.bits];
    next[g.bits] += g.size;
    return at;
  });
  let scales = 0;
  const firstScale = groups.map(() => -1);
  const unitSegments = units.map((u): Segment => {
    const g = groups[u.group];
    const blocks = g.bits === 8 ? blocksOf(u.size) : 0;
    if (firstScale[u.group] < 0) firstScale[u.group] = scales;
    const segment = { offset: u.offset, size: u.size, bits: g.bits, at: groupAt[u.group] + u.offset - g.offset, scalesAt: g.bits === 8 ? scales : 0, blocks };
    scales += blocks;
    return segment;
  });
  const groupSegments = groups.map((g, i): Segment => {
    const blocks = unitSegments.filter((_, u) => units[u].group === i).reduce((sum, u) => sum + u.blocks, 0);
    return { offset: g.offset, size: g.size, bits: g.bits, at: groupAt[i], scalesAt: g.bits === 8 ? firstScale[i] : 0, blocks };
  });
  return { n, elements: next, blocks: scales, groups: groupSegments, units: unitSegments };
}

/**
 * The storage of an optimizer's groups and step units: each group at its stateBits, or f32
 * below MIN_8BIT_SIZE (src/state-bits.ts).
 */
export function storageOfPlans(n: number, plans: readonly Pick<GroupPlan, "offset" | "size" | "options">[], units: readonly { group: number; offset: number; size: number }[]): StoragePlan {
  return planStorage(n, plans.map((p) => ({ offset: p.offset, size: p.size, bits: storedBits(p.options.stateBits, p.size) })), units);
}

/** Whether two storages put every element at the same place, with the same blocks. */
export function sameStorage(a: StoragePlan, b: StoragePlan): boolean {
  const key = (s: StoragePlan) => JSON.stringify([s.n, s.elements, s.blocks, s.units]);
  return key(a) === key(b);
}

/** The elements a row keeps at these stateBits: a row without a code map keeps all n in f32. */
export function elementsOf(row: StateArraySpec, storage: Pick<StoragePlan, "n" | "elements">, bits: StateBits): number {
  if (!row.q8) return bits === 32 ? storage.n : 0;
  return storage.elements[bits];
}

/** Whether every group keeps its quantizable state at `bits`. */
export const allAt = (storage: Pick<StoragePlan, "n" | "elements">, bits: StateBits): boolean => storage.elements[bits] === storage.n;
