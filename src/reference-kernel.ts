// The Math.fround reference behind the kernel's ABI: an object with the kernel's exports
// that reads StepArgs blocks from an ArrayBuffer and runs src/reference.ts on views of it.
// So backend "js" steps through the same executor, the same blocks and the same scans as
// the wasm builds, and differs from them only where the tests look: the arithmetic.
import { KernelFlag, NORM_BLOCK, readStepArgs, type BlockValues, type KernelExports } from "./kernel-abi.ts";
import { dequantizeBlockwise, formatName, quantBlocks, quantizeBlockwise, type Quantized } from "./quantization.ts";
import {
  referenceFirstNonFinite, referenceStep, referenceStepQ8, referenceSumSquares, type QuantizedStepArrays, type StepArrays,
} from "./reference.ts";
import { STATE_ARRAYS } from "./state-arrays.ts";

export function referenceKernel(buffer: ArrayBufferLike): KernelExports {
  const u32 = new Uint32Array(buffer);
  const f32 = new Float32Array(buffer);
  const quantized = (codes: number, scales: number, n: number): Quantized => ({
    codes: new Uint8Array(buffer, codes, n),
    scales: new Float32Array(buffer, scales, quantBlocks(n)),
  });
  return {
    step(flags, args) {
      const block = readStepArgs(u32, f32, args);
      if (flags & KernelFlag.flagsInArgs) flags = block.flags;
      if (flags & KernelFlag.q8) {
        referenceStepQ8(flags, block, q8Arrays(block, quantized, buffer), block);
        return;
      }
      const arrays: Partial<StepArrays> = {};
      for (const a of STATE_ARRAYS) {
        const at = block[a.name];
        if (at) arrays[a.name] = new Float32Array(buffer, at, block.n);
      }
      referenceStep(flags, block, arrays as StepArrays);
    },
    first_nonfinite_f32(ptr, n) {
      return referenceFirstNonFinite(new Float32Array(buffer, ptr, n));
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
): QuantizedStepArrays {
  const arrays: Record<string, Float32Array | Quantized> = {};
  const fields = block as unknown as Record<string, number | undefined>;
  for (const a of STATE_ARRAYS) {
    const at = block[a.name];
    if (!at) continue;
    const scales = fields[`${a.name}Scales`];
    arrays[a.name] = scales === undefined ? new Float32Array(buffer, at, block.n) : quantized(at, scales, block.n);
  }
  return arrays as unknown as QuantizedStepArrays;
}
