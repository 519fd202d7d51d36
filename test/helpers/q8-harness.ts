// The 8-bit step (Q8) driven by hand, apart from the optimizer: one memory with θ, g, the
// EMA, the codes and block scales of S, M and G, a StepArgs block and a scratch per call,
// and a kernel build (or the reference) on it. test/state-bits.test.ts holds the optimizer's
// stateBits: 8 to this (its layout, views and executors against none of theirs); the core's
// tests and bench/quantization/speed.mjs step the kernel through it.
//
//   0                 `calls` StepArgs blocks (a call per share: threads cut on block boundaries)
//   then              `calls` scratch regions, QUANT_SCRATCH_BYTES each
//   then, 64-aligned  θ, g, the EMA (f32); for S, M, G each: n codes, then its block scales
import { kernelModule } from "../../src/backend.ts";
import { bindKernel, KernelFlag, STEP_ARGS_BYTES, writeRoundingCounter, writeStepArgs, type KernelExports } from "../../src/kernel-abi.ts";
import { resolveOptions, type ResolvedOptions, type RmspropOptions } from "../../src/options.ts";
import {
  dequantizeBlockwise, QUANT_BLOCK, QUANT_FORMATS, QUANT_SCRATCH_BYTES, quantBlocks, type Quantized,
} from "../../src/quantization.ts";
import { Q8_ARRAYS } from "../../src/reference-q8.ts";
import { referenceKernel } from "../../src/reference-kernel.ts";
import { greatest } from "../../src/per-step.ts";
import { kernelFlags, stepScalars } from "../../src/step-scalars.ts";

export type Q8Backend = "simd" | "scalar" | "js";
export type Q8ArrayName = (typeof Q8_ARRAYS)[number]["name"];

export interface Q8Harness {
  readonly n: number;
  readonly options: ResolvedOptions;
  readonly params: Float32Array;
  readonly grads: Float32Array;
  readonly ema?: Float32Array;
  /** Codes and scales of each 8-bit array the options need. */
  readonly quantized: Partial<Record<Q8ArrayName, Quantized>>;
  readonly kernel: KernelExports;
  readonly memory: WebAssembly.Memory;
  stepCount: number;
  /** One step at the options' lr (or `lr`), as `calls` kernel calls. */
  step(lr?: number): void;
  /** The f32 values an 8-bit array stands for (for S of a centered step: V + G², as the kernel reads it). */
  decoded(name: Q8ArrayName): Float32Array;
}

const align = (x: number, to = 64) => Math.ceil(x / to) * to;

async function kernelOn(backend: Q8Backend, memory: WebAssembly.Memory): Promise<KernelExports> {
  return backend === "js" ? referenceKernel(memory.buffer) : bindKernel(await kernelModule(backend), memory);
}

/**
 * An 8-bit step over n elements with these update options, split into `calls` kernel
 * calls on block boundaries. S starts at initialScale, quantized to nearest; M and G at 0.
 */
export async function createQ8Harness(
  n: number,
  given: RmspropOptions,
  backend: Q8Backend,
  calls = 1,
): Promise<Q8Harness> {
  const options = resolveOptions(given);
  const flags = kernelFlags(options) | KernelFlag.q8;
  const needed = Q8_ARRAYS.filter(
    (q) => q.name === "sqAvg" || (q.name === "momentumBuffer" ? greatest(options.momentum) > 0 : options.centered),
  );
  const withEma = options.emaDecay !== null;
  let at = align(calls * (STEP_ARGS_BYTES + QUANT_SCRATCH_BYTES));
  const place = (bytes: number) => {
    const start = at;
    at = align(at + bytes);
    return start;
  };
  const offsets = { params: place(4 * n), grads: place(4 * n), ema: withEma ? place(4 * n) : 0 };
  const codesAt: Partial<Record<Q8ArrayName, { codes: number; scales: number }>> = {};
  for (const q of needed) codesAt[q.name] = { codes: place(n), scales: place(4 * quantBlocks(n)) };
  const memory = new WebAssembly.Memory({ initial: Math.ceil(at / 65536) + 1 });
  const kernel = await kernelOn(backend, memory);
  const buffer = memory.buffer;
  const quantized: Partial<Record<Q8ArrayName, Quantized>> = {};
  for (const q of needed) {
    const { codes, scales } = codesAt[q.name]!;
    quantized[q.name] = { codes: new Uint8Array(buffer, codes, n), scales: new Float32Array(buffer, scales, quantBlocks(n)) };
  }
  const params = new Float32Array(buffer, offsets.params, n);
  const grads = new Float32Array(buffer, offsets.grads, n);
  const ema = withEma ? new Float32Array(buffer, offsets.ema, n) : undefined;
  // Initial state: S = initialScale, quantized to nearest by the kernel itself; M, G = 0.
  for (const q of needed) {
    const { codes, scales } = codesAt[q.name]!;
    const initial = new Float32Array(buffer, offsets.params, n); // θ is 0 here: reuse it as the source
    initial.fill(q.name === "sqAvg" ? options.initialScale : 0);
    kernel.quantize_blockwise_8bit(QUANT_FORMATS[q.format].id, offsets.params, n, codes, scales);
    initial.fill(0);
  }
  // Calls cut on block boundaries, as threads will.
  const blocks = quantBlocks(n);
  const bounds = Array.from({ length: calls + 1 }, (_, k) => Math.min(n, Math.round((blocks * k) / calls) * QUANT_BLOCK));
  const u32 = new Uint32Array(buffer);
  const f32 = new Float32Array(buffer);
  const harness: Q8Harness = {
    n, options, params, grads, ema, quantized, kernel, memory,
    stepCount: 0,
    step(lr) {
      const t = ++harness.stepCount;
      const scalars = stepScalars(options, t, lr);
      const stepFlags = flags | (withEma && t === 1 ? KernelFlag.emaInit : 0);
      for (let k = 0; k < calls; k++) {
        const start = bounds[k], count = bounds[k + 1] - start;
        const args = k * STEP_ARGS_BYTES;
        const scratch = calls * STEP_ARGS_BYTES + k * QUANT_SCRATCH_BYTES;
        const codes = (name: Q8ArrayName) => (codesAt[name] ? codesAt[name]!.codes + start : 0);
        const scales = (name: Q8ArrayName) => (codesAt[name] ? codesAt[name]!.scales + 4 * (start / QUANT_BLOCK) : 0);
        writeStepArgs(u32, f32, args, {
          params: offsets.params + 4 * start,
          grads: offsets.grads + 4 * start,
          sqAvg: codes("sqAvg"),
          momentumBuffer: codes("momentumBuffer"),
          gradAvg: codes("gradAvg"),
          ema: withEma ? offsets.ema + 4 * start : 0,
          sqAvgScales: scales("sqAvg"),
          momentumBufferScales: scales("momentumBuffer"),
          gradAvgScales: scales("gradAvg"),
          scratch,
        }, count, scalars, stepFlags);
        writeRoundingCounter(u32, args, { firstIndex: start, roundingSeed: t });
        kernel.step(stepFlags, args);
      }
    },
    decoded(name) {
      const format = Q8_ARRAYS.find((q) => q.name === name)!.format;
      const out = new Float32Array(n);
      dequantizeBlockwise(format, quantized[name]!, out);
      if (name === "sqAvg" && options.centered) {
        const g = harness.decoded("gradAvg");
        for (let i = 0; i < n; i++) out[i] = Math.fround(out[i] + Math.fround(g[i] * g[i]));
      }
      return out;
    },
  };
  return harness;
}
