// The f32 step and the 8-bit step on 2 threads from DRAM (64 MiB streamed before each
// step), both through the same hand-made pair of threads on one shared memory, so that
// neither pays for machinery the other does not: the caller steps the first half, one
// worker the second, cut on a block boundary, woken through Atomics: the two steps alone,
// without the pool's choice or scans (bench/quantization/training.mjs measures the
// optimizer itself on 2 threads, in a training loop).
import { Worker } from "node:worker_threads";
import { kernelModule } from "../../src/backend.ts";
import { KernelFlag, STEP_ARGS_BYTES, writeRoundingCounter, writeStepArgs } from "../../src/kernel-abi.ts";
import { defaultOptions } from "../../src/options.ts";
import { QUANT_BLOCK, QUANT_FORMATS, QUANT_SCRATCH_BYTES, quantBlocks } from "../../src/quantization.ts";
import { kernelFlags, stepScalars } from "../../src/step-scalars.ts";
import { seededArray } from "../data.mjs";
import { streamScratch } from "../evict.mjs";
import { median } from "../stats.mjs";

const WORKER = `
const { workerData } = require("node:worker_threads");
const { module, memory, jobs } = workerData;
const kernel = new WebAssembly.Instance(module, { env: { memory } }).exports;
const ctl = new Int32Array(memory.buffer, 0, 4);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, 0, seen);
  seen = Atomics.load(ctl, 0);
  if (ctl[2] < 0) break;
  kernel.step(${KernelFlag.flagsInArgs}, jobs[ctl[2]]);
  Atomics.store(ctl, 1, 1);
  Atomics.notify(ctl, 1);
}`;

/** Two threads over one memory with the f32 (momentum if asked) and 8-bit layouts side by side. */
export async function twoThreads(n, options = {}) {
  const o = { ...defaultOptions, ...options };
  const momentum = o.momentum > 0;
  const align = (x) => Math.ceil(x / 64) * 64;
  const half = Math.min(n, Math.ceil(n / 2 / QUANT_BLOCK) * QUANT_BLOCK);
  const shares = [[0, half], [half, n - half]];
  let at = 64 + 4 * STEP_ARGS_BYTES + 2 * QUANT_SCRATCH_BYTES;
  const place = (bytes) => ((at = align(at)), (at += bytes), at - bytes);
  const P = place(4 * n), G = place(4 * n), S = place(4 * n), M = place(4 * n);
  const Sc = place(n), Ss = place(4 * quantBlocks(n)), Mc = place(n), Ms = place(4 * quantBlocks(n));
  const pages = Math.ceil(at / 65536) + 1;
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const module = await kernelModule("simdShared");
  const kernel = new WebAssembly.Instance(module, { env: { memory } }).exports;
  const f32 = new Float32Array(memory.buffer), u32 = new Uint32Array(memory.buffer);
  f32.set(seededArray(n, 1), P / 4);
  f32.set(seededArray(n, 2), G / 4);
  for (const [codes, scales, format] of [[Sc, Ss, "u8e5m3"], [Mc, Ms, "s8e3m4"]]) {
    kernel.quantize_blockwise_8bit(QUANT_FORMATS[format].id, S, n, codes, scales); // S and M are 0 here
  }
  const flags = kernelFlags(o);
  const scalars = stepScalars(o, 1, o.lr);
  // Jobs: [f32 share 0, f32 share 1, 8-bit share 0, 8-bit share 1], flags in the blocks.
  const jobs = [];
  for (const q8 of [false, true]) {
    shares.forEach(([start, count], k) => {
      const args = 64 + jobs.length * STEP_ARGS_BYTES;
      const b = start / QUANT_BLOCK;
      writeStepArgs(u32, f32, args, {
        params: P + 4 * start, grads: G + 4 * start,
        sqAvg: q8 ? Sc + start : S + 4 * start,
        momentumBuffer: momentum ? (q8 ? Mc + start : M + 4 * start) : 0,
        gradAvg: 0,
        sqAvgScales: Ss + 4 * b, momentumBufferScales: Ms + 4 * b,
        scratch: 64 + 4 * STEP_ARGS_BYTES + k * QUANT_SCRATCH_BYTES,
      }, count, scalars, flags | (q8 ? KernelFlag.q8 : 0));
      writeRoundingCounter(u32, args, { firstIndex: start, roundingSeed: 1 });
      jobs.push(args);
    });
  }
  const ctl = new Int32Array(memory.buffer, 0, 4);
  const worker = new Worker(WORKER, { eval: true, workerData: { module, memory, jobs } });
  const seedWord = (job) => (jobs[job] + STEP_ARGS_BYTES - 4) / 4;
  const step = (q8) => {
    const first = q8 ? 2 : 0;
    if (q8) for (const j of [2, 3]) u32[seedWord(j)]++;
    Atomics.store(ctl, 1, 0);
    ctl[2] = first + 1;
    Atomics.add(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    kernel.step(KernelFlag.flagsInArgs, jobs[first]);
    while (Atomics.load(ctl, 1) === 0) Atomics.wait(ctl, 1, 0);
  };
  return {
    f32: () => step(false),
    q8: () => step(true),
    close: () => {
      ctl[2] = -1;
      Atomics.add(ctl, 0, 1);
      Atomics.notify(ctl, 0);
      return worker.terminate();
    },
  };
}

/** Interleaved rounds from DRAM: per round, the median of `reps` evicted steps of each. */
export async function threadRows(n = 1e7, rounds = 9, reps = 5) {
  const rows = [];
  for (const [variant, options] of [["default", {}], ["momentum 0.9", { momentum: 0.9 }]]) {
    const pair = await twoThreads(n, options);
    const ms = { f32: [], q8: [] };
    for (let r = 0; r < rounds; r++) {
      for (const which of r % 2 ? ["q8", "f32"] : ["f32", "q8"]) {
        const times = [];
        for (let k = 0; k < reps; k++) {
          streamScratch();
          const t0 = performance.now();
          pair[which]();
          times.push(performance.now() - t0);
        }
        ms[which].push(median(times));
      }
    }
    await pair.close();
    rows.push({ n, threads: 2, variant, f32Ms: median(ms.f32), q8Ms: median(ms.q8), ratio: ms.q8.map((x, i) => x / ms.f32[i]) });
  }
  return rows;
}

export function printThreads(rows) {
  console.log("\n| from DRAM | threads | variant | f32 ms | 8-bit ms | 8-bit / f32 |\n|---:|---:|---|---:|---:|---:|");
  for (const r of rows) {
    const x = r.ratio;
    console.log(`| ${r.n.toExponential(0)} | ${r.threads} | ${r.variant} | ${r.f32Ms.toFixed(2)} | ${r.q8Ms.toFixed(2)} | ${median(x).toFixed(2)}× (${Math.min(...x).toFixed(2)}–${Math.max(...x).toFixed(2)}) |`);
  }
}
