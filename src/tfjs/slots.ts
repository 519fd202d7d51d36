// Where each variable's arrays live: one slot per variable, with its StepArgs block and its
// state arrays, laid out in one block of memory. In tfjs-backend-wasm's heap the block holds
// only the state (θ and g are the tensors' own data); in a memory of the adapter's own it
// also holds a copy of θ and g.
import { STEP_ARGS_BYTES, type ArrayOffsets } from "../kernel-abi.ts";

/** v128 loads are fastest on 16-byte boundaries. */
export const SLOT_ALIGN = 16;

const alignUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/** Byte offsets of one variable's StepArgs block and arrays (0: not in the block). */
export interface SlotOffsets extends ArrayOffsets {
  args: number;
}

/** What one variable needs: its element count and which optional state it keeps. */
export interface SlotNeeds {
  size: number;
  momentumBuffer: boolean;
  gradAvg: boolean;
}

/**
 * Lays the slots out from byte `base` (a multiple of SLOT_ALIGN) on; `withTheta` adds θ
 * and g for each. Returns the offsets and the end of the block.
 */
export function layoutSlots(needs: readonly SlotNeeds[], withTheta: boolean, base: number): { slots: SlotOffsets[]; end: number } {
  let at = base + alignUp(needs.length * STEP_ARGS_BYTES, SLOT_ALIGN);
  const next = (size: number, wanted: boolean): number => {
    if (!wanted) return 0;
    const start = at;
    at += alignUp(size * 4, SLOT_ALIGN);
    return start;
  };
  const slots = needs.map((need, i) => ({
    args: base + i * STEP_ARGS_BYTES,
    params: next(need.size, withTheta),
    grads: next(need.size, withTheta),
    sqAvg: next(need.size, true),
    momentumBuffer: next(need.size, need.momentumBuffer),
    gradAvg: next(need.size, need.gradAvg),
  }));
  return { slots, end: at };
}
