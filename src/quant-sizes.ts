// The sizes of the 8-bit format that the layout needs for every optimizer, apart from the
// code maps of src/quantization.ts, which only a page with 8-bit state loads.

/** Elements per block; each block has one f32 scale. */
export const QUANT_BLOCK = 512;

/**
 * Bytes of the scratch one 8-bit step call needs (its byte offset a multiple of 16): a
 * block's S, M and G in f32, then the f32 step's own StepArgs block (STEP_ARGS_V2_BYTES).
 */
export const QUANT_SCRATCH_BYTES = 3 * QUANT_BLOCK * 4 + 96;
