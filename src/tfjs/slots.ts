// Where each variable's arrays live: one slot per variable, with its StepArgs block and its
// state arrays, laid out in one block of memory, plus a scratch area for the f64 block sums
// of gradient norms. In tfjs-backend-wasm's heap the block holds only the state (θ and g are
// the tensors' own data); in a memory of the adapter's own it also holds a copy of θ and g.
// Which arrays a slot keeps, and their initial values, come from the table of state arrays.
import { NORM_BLOCK, STEP_ARGS_BYTES } from "../kernel-abi.ts";
import type { ResolvedOptions } from "../options.ts";
import { STATE_ARRAYS, STATE_VIEWS, type ArrayName } from "../state-arrays.ts";

/** v128 loads are fastest on 16-byte boundaries. */
export const SLOT_ALIGN = 16;

const alignUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/** Byte offsets of one variable's StepArgs block and arrays (0: not in the block). */
export type SlotOffsets = Record<ArrayName, number> & { args: number };

/** What one variable needs: its element count and its group's options (which pick its state arrays). */
export interface SlotNeeds {
  size: number;
  options: ResolvedOptions;
}

/** The state arrays (beside θ and g) a slot with these needs keeps, in table order. */
export const keptState = (need: SlotNeeds) => STATE_VIEWS.filter((a) => a.needed(need.options));

/** The layout of one engine's block: the slots, the norm scratch area, and the end. */
export interface SlotLayout {
  slots: SlotOffsets[];
  /** Byte offset of room for `normBlocks` f64 block sums (0 when there is none). */
  scratch: number;
  end: number;
}

/**
 * Lays the slots out from byte `base` (a multiple of SLOT_ALIGN) on; `withTheta` adds θ
 * and g for each; `norms` adds room for the block sums of the largest variable.
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
    for (const a of STATE_ARRAYS) {
      const wanted = a.inState ? a.needed(need.options) : withTheta;
      slot[a.name] = wanted ? next(need.size * 4) : 0;
    }
    return slot;
  });
  const blocks = norms ? Math.max(...needs.map((n) => Math.ceil(n.size / NORM_BLOCK))) : 0;
  const scratch = blocks ? next(blocks * 8) : 0;
  return { slots, scratch, end: at };
}
