// How the optimizer state (S, M, G) is stored: the option `stateBits` and the one rule on
// which groups honour it. Apart from src/options.ts so that the storage plan, the layout
// and the tfjs adapter read the rule from one place.
import { describe } from "./own.ts";

/** Bits per element of the optimizer state (S, M, G): 32 (f32) or 8 (block-quantized codes). */
export type StateBits = 8 | 32;

/**
 * Groups of fewer parameters keep their state in f32 whatever their stateBits, as
 * bitsandbytes' `min_8bit_size` keeps small tensors (biases, norms' gains) in 32 bits:
 * they save a few KiB, and their blocks would be mostly short.
 */
export const MIN_8BIT_SIZE = 4096;

/** The bits a group of `size` parameters that asks for `bits` keeps its state in. */
export const storedBits = (bits: StateBits, size: number): StateBits => (bits === 8 && size >= MIN_8BIT_SIZE ? 8 : 32);

/** options.stateBits (or a group's): 32 or 8, as a number. */
export function checkStateBits(name: string, value: unknown): StateBits {
  if (value === 32 || value === 8) return value;
  throw new (typeof value === "number" ? RangeError : TypeError)(
    `${name} must be 32 (f32 state, the default) or 8 (S, M and G as block-wise 8-bit codes; docs/quantization.md); got ${describe(value)}`,
  );
}
