// The Math.fround reference behind the kernel's ABI: an object with the kernel's four
// exports that reads StepArgs blocks from an ArrayBuffer and runs src/reference.ts on
// views of it. So backend "js" steps through the same executor, the same blocks and the
// same scans as the wasm builds, and differs from them only where the tests look: the
// arithmetic.
import { argsOffset, KernelFlag, NORM_BLOCK, readStepArgs, type KernelExports } from "./kernel-abi.ts";
import { referenceFirstNonFinite, referenceStep, referenceSumSquares, type StepArrays } from "./reference.ts";
import { STATE_ARRAYS } from "./state-arrays.ts";

const N_WORD = argsOffset("n") >>> 2;

export function referenceKernel(buffer: ArrayBufferLike): KernelExports {
  const u32 = new Uint32Array(buffer);
  const f32 = new Float32Array(buffer);
  const stepRange = (flags: number, args: number, start: number, count: number) => {
    const block = readStepArgs(u32, f32, args);
    if (flags & KernelFlag.flagsInArgs) flags = block.flags;
    const from = Math.min(start, block.n);
    const length = Math.min(count, block.n - from);
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
  };
}
