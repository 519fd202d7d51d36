// The Math.fround reference behind the kernel's ABI: an object with the kernel's exports
// that reads StepArgs blocks from an ArrayBuffer and runs src/reference.ts on views of it.
// So backend "js" steps through the same executor, the same blocks and the same scans as
// the wasm builds, and differs from them only where the tests look: the arithmetic.
import { argsOffset, KernelFlag, NORM_BLOCK, readStepArgs, type BlockValues, type KernelExports } from "./kernel-abi.ts";
import { dequantizeBlockwise, formatName, QUANT_BLOCK, quantBlocks, quantizeBlockwise, type Quantized } from "./quantization.ts";
import { referenceFirstNonFinite, referenceStep, referenceSumSquares, type StepArrays } from "./reference.ts";
import { referenceStepQ8, type QuantizedStepArrays } from "./reference-q8.ts";
import { STATE_ARRAYS } from "./state-arrays.ts";

const N_WORD = argsOffset("n") >>> 2;

export function referenceKernel(buffer: ArrayBufferLike): KernelExports {
  const u32 = new Uint32Array(buffer);
  const f32 = new Float32Array(buffer);
  const quantized = (codes: number, scales: number, n: number): Quantized => ({
    codes: new Uint8Array(buffer, codes, n),
    scales: new Float32Array(buffer, scales, quantBlocks(n)),
  });
  const stepRange = (flags: number, args: number, start: number, count: number) => {
    const block = readStepArgs(u32, f32, args);
    if (flags & KernelFlag.flagsInArgs) flags = block.flags;
    const from = Math.min(start, block.n);
    const length = Math.min(count, block.n - from);
    if (flags & KernelFlag.q8) {
      // The kernel traps on a range that does not start a block (its scale and rounding are the block's).
      if (from % QUANT_BLOCK !== 0) throw new RangeError(`an 8-bit step_range must start on a block of ${QUANT_BLOCK}; got ${from}`);
      const counter = { firstIndex: (block.firstIndex + from) >>> 0, roundingSeed: block.roundingSeed };
      referenceStepQ8(flags, block, q8Arrays(block, quantized, buffer, from, length), counter);
      return;
    }
    const arrays: Partial<StepArrays> = {};
    for (const a of STATE_ARRAYS) {
      const at = block[a.name];
      if (at) arrays[a.name] = new Float32Array(buffer, at + 4 * from, length);
    }
    referenceStep(flags, block, arrays as StepArrays);
  };
  return {
    step: (flags, args) => stepRange(flags, args, 0, u32[(args >>> 2) + N_WORD]),
    step_range: stepRange,
    first_nonfinite_f32(ptr, n) {
      return referenceFirstNonFinite(new Float32Array(buffer, ptr, n));
    },
    first_nonfinite_scaled_f32(ptr, n, scale) {
      return referenceFirstNonFinite(new Float32Array(buffer, ptr, n), scale);
    },
    sum_squares_f32(ptr, n, scale, out) {
      return referenceSumSquares(new Float32Array(buffer, ptr, n), scale, new Float64Array(buffer, out, Math.ceil(n / NORM_BLOCK)));
    },
    quantize_blockwise_8bit(format, src, n, codes, scales) {
      quantizeBlockwise(formatName(format), new Float32Array(buffer, src, n), quantized(codes, scales, n));
    },
    dequantize_blockwise_8bit(format, codes, scales, n, out) {
      dequantizeBlockwise(formatName(format), quantized(codes, scales, n), new Float32Array(buffer, out, n));
    },
  };
}

/** The views of an 8-bit block: an array with a `<name>Scales` field is codes, the others f32. */
function q8Arrays(
  block: BlockValues,
  quantized: (codes: number, scales: number, n: number) => Quantized,
  buffer: ArrayBufferLike,
  from: number,
  length: number,
): QuantizedStepArrays {
  const arrays: Record<string, Float32Array | Quantized> = {};
  const fields = block as unknown as Record<string, number | undefined>;
  for (const a of STATE_ARRAYS) {
    const at = block[a.name];
    if (!at) continue;
    const scales = fields[`${a.name}Scales`];
    arrays[a.name] =
      scales === undefined ? new Float32Array(buffer, at + 4 * from, length) : quantized(at + from, scales + 4 * (from / QUANT_BLOCK), length);
  }
  return arrays as unknown as QuantizedStepArrays;
}
