// Where each variable's arrays live: one slot per variable, with its StepArgs block and its
// state arrays, laid out in one block of memory, plus a scratch area for the f64 block sums
// of gradient norms. In tfjs-backend-wasm's heap the block holds only the state (θ and g are
// the tensors' own data); in a memory of the adapter's own it also holds a copy of θ and g.
// Which arrays a slot keeps, how each is stored (f32, or 8-bit codes and a scale per block
// for a variable with stateBits 8) and their initial values come from the table of state
// arrays. A variable is a tensor: bitsandbytes' min_8bit_size (src/state-bits.ts) keeps a
// variable of fewer than 4096 elements in f32, and its blocks start at its first element.
import { NORM_BLOCK, STEP_ARGS_BYTES, type Q8Offsets } from "../kernel-abi.ts";
import type { ResolvedOptions } from "../options.ts";
import { QUANT_SCRATCH_BYTES } from "../quant-sizes.ts";
import { STATE_ARRAYS, STATE_VIEWS, type ArrayName } from "../state-arrays.ts";
import { storedBits, type StateBits } from "../state-bits.ts";
import { blocksOf, type Segment } from "../state-storage.ts";

/** v128 loads are fastest on 16-byte boundaries. */
export const SLOT_ALIGN = 16;

const alignUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/**
 * Byte offsets of one variable's StepArgs block and arrays (0: not in the block): an array
 * kept in 8 bits at its codes, with its block scales at `<name>Scales`, and the scratch.
 */
export type SlotOffsets = Record<ArrayName, number> & Q8Offsets & { args: number };

/** What one variable needs: its element count and its group's options (which pick its state arrays). */
export interface SlotNeeds {
  size: number;
  options: ResolvedOptions;
  /**
   * Index of its first element among all the variables laid out in group order, as
   * createRmsprop lays out the same groups: the counter its 8-bit rounding draws from.
   */
  index: number;
}

/** The state arrays (beside θ and g) a slot with these needs keeps, in table order. */
export const keptState = (need: SlotNeeds) => STATE_VIEWS.filter((a) => a.needed(need.options));

/** The bits a slot keeps its S, M and G in: its group's stateBits, f32 below MIN_8BIT_SIZE. */
export const slotBits = (need: SlotNeeds): StateBits => storedBits(need.options.stateBits, need.size);

/** A slot's elements as one segment of its own parts (its blocks start at its first element). */
export const slotSegment = (need: SlotNeeds): Segment => {
  const bits = slotBits(need);
  return { offset: 0, size: need.size, bits, at: 0, scalesAt: 0, blocks: bits === 8 ? blocksOf(need.size) : 0 };
};

/** The layout of one engine's block: the slots, the norm scratch area, the 8-bit scratch, and the end. */
export interface SlotLayout {
  slots: SlotOffsets[];
  /** Byte offset of room for `normBlocks` f64 block sums (0 when there is none). */
  scratch: number;
  end: number;
}

/**
 * Lays the slots out from byte `base` (a multiple of SLOT_ALIGN) on; `withTheta` adds θ
 * and g for each; `norms` adds room for the block sums of the largest variable. Where a
 * slot keeps 8-bit state, the block ends with the one scratch every 8-bit step call uses.
 */
export function layoutSlots(needs: readonly SlotNeeds[], withTheta: boolean, base: number, norms: boolean): SlotLayout {
  let at = base + alignUp(needs.length * STEP_ARGS_BYTES, SLOT_ALIGN);
  const next = (bytes: number): number => {
    const start = at;
    at += alignUp(bytes, SLOT_ALIGN);
    return start;
  };
  const slots = needs.map((need, i) => {
    const slot = { args: base + i * STEP_ARGS_BYTES } as SlotOffsets;
    const { bits, blocks } = slotSegment(need);
    for (const a of STATE_ARRAYS) {
      const wanted = a.inState ? a.needed(need.options) : withTheta;
      if (!wanted) slot[a.name] = 0;
      else if (bits === 32 || !a.q8) slot[a.name] = next(need.size * 4);
      else {
        slot[a.name] = next(need.size);
        (slot as Record<string, number>)[`${a.name}Scales`] = next(blocks * 4);
      }
    }
    return slot;
  });
  const blocks = norms ? Math.max(...needs.map((n) => Math.ceil(n.size / NORM_BLOCK))) : 0;
  const scratch = blocks ? next(blocks * 8) : 0;
  if (needs.some((n) => slotBits(n) === 8)) {
    const q8Scratch = next(QUANT_SCRATCH_BYTES);
    for (const slot of slots) slot.scratch = q8Scratch;
  }
  return { slots, scratch, end: at };
}
