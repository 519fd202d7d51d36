// npm run bench:quantization -- model
//
// Where the 8-bit step beats the f32 step: a model, because the case the issue names (a
// training loop whose arrays come from DRAM, on many threads) needs cores this machine does
// not have. A step on k threads takes the longer of its memory time and its arithmetic time:
//
//   t(k) = max(bytes / min(k · perCore, bandwidth), ns / k)      (per parameter)
//
// `bytes`: what one step moves per parameter, counted from the state table
// (src/state-arrays.ts: every array the options need is read, every one but g written back,
// in the parts its stateBits stores it as; the scan, for NaN/±∞ or a norm, reads g once
// more), `ns`: one thread's arithmetic per parameter on data in cache (measured warm), `perCore` and
// `bandwidth`: what one core and the whole machine stream (the traffic probe from DRAM).
// The 8-bit step moves fewer bytes and does more arithmetic, so it wins only where both
// steps wait on memory: from the thread count where its arithmetic fits under its memory time.
// docs/quantization.md ("Many cores") has the model's table; test/quant-model.test.ts checks
// its byte counts against what real optimizers hold.
import { createTrafficProbe } from "../../src/index.ts";
import { resolveOptions } from "../../src/options.ts";
import { QUANT_BLOCK } from "../../src/quant-sizes.ts";
import { STATE_ARRAYS } from "../../src/state-arrays.ts";
import { sample, VARIANT_OPTIONS } from "./speed.mjs";

/** Bytes per parameter an optimizer with `options` stores, and moves in one step. */
export function stepBytes(options = {}) {
  const o = resolveOptions(options);
  // A scan reads g before the step: for NaN/±∞, or for the norms of a clip.
  const scans = o.nonFinite !== "ignore" || o.clipNorm !== null || o.globalClipNorm !== null;
  let stored = 0, moved = 0;
  for (const row of STATE_ARRAYS) {
    if (!row.needed(o)) continue;
    const bytes = row.parts[o.stateBits].reduce((sum, part) => sum + part.bytes * part.length(1, 1 / QUANT_BLOCK), 0);
    stored += bytes;
    moved += row.name === "grads" ? bytes * (scans ? 2 : 1) : 2 * bytes;
  }
  return { stored, moved };
}

/** Nanoseconds per parameter of one step on `threads` threads: the longer of memory and arithmetic. */
export function stepNs({ bytes, ns }, { threads, perCore, bandwidth }) {
  return Math.max(bytes / Math.min(threads * perCore, bandwidth), ns / threads);
}

/**
 * The model's 8-bit / f32 ratio per thread count, for a machine streaming `perCore` and
 * `bandwidth` GB/s (bytes per ns), with each step's arithmetic `f32Ns` and `q8Ns` per
 * parameter on one thread.
 */
export function modelRatios({ options = {}, f32Ns, q8Ns, perCore, bandwidth, threads = [1, 2, 4, 8, 16] }) {
  const f32 = { bytes: stepBytes({ ...options, stateBits: 32 }).moved, ns: f32Ns };
  const q8 = { bytes: stepBytes({ ...options, stateBits: 8 }).moved, ns: q8Ns };
  return threads.map((k) => {
    const machine = { threads: k, perCore, bandwidth };
    const f32Time = stepNs(f32, machine), q8Time = stepNs(q8, machine);
    return { threads: k, ratio: q8Time / f32Time, q8Bound: q8.bytes / Math.min(k * perCore, bandwidth) >= q8.ns / k ? "memory" : "arithmetic" };
  });
}

/** The fewest threads at which the model puts the 8-bit step at or under `target` × the f32 step (undefined: none up to 64). */
export function threadsFor(target, inputs) {
  const rows = modelRatios({ ...inputs, threads: Array.from({ length: 64 }, (_, i) => i + 1) });
  return rows.find((r) => r.ratio <= target)?.threads;
}

// ---- the inputs, measured on this machine ----

const PROBE_N = 1e7;

/** GB/s the traffic probe streams on `threads` threads from DRAM (64 MiB streamed before each step): median of `reps`. */
export async function probeBandwidth(threads, reps = 15) {
  const probe = await createTrafficProbe(PROBE_N, { threads, backend: "simd" });
  if (probe.threads !== threads) throw new Error(`asked for ${threads} threads, got ${probe.threads}`);
  probe.step(); // the JIT, and the workers' first region
  probe.step();
  const ms = sample(() => probe.step(), true, reps);
  probe.dispose();
  // The probe moves the default step's bytes (θ, g and S read, θ and S written), without the scan.
  return (stepBytes({ nonFinite: "ignore" }).moved * PROBE_N) / (ms * 1e6);
}

/**
 * The model's rows for this machine: per variant, the warm one-thread times per parameter of
 * `speed` (the steps with the scan, as users run them), and the traffic probe on 1 and 2
 * threads as one core's and the machine's bandwidth.
 */
export async function modelRows(speed) {
  const perCore = await probeBandwidth(1), bandwidth = Math.max(perCore, await probeBandwidth(2));
  return speed
    .filter((row) => row.where === "warm")
    .map((row) => {
      const inputs = { options: VARIANT_OPTIONS[row.variant], f32Ns: (row.f32ScanMs * 1e6) / row.n, q8Ns: (row.q8ScanMs * 1e6) / row.n, perCore, bandwidth };
      return { variant: row.variant, ...inputs, rows: modelRatios(inputs), threadsFor08: threadsFor(0.8, inputs) };
    });
}

export function printModel(rows) {
  const { perCore, bandwidth } = rows[0];
  console.log(`\n## The model (one core streams ${perCore.toFixed(1)} GB/s, the machine ${bandwidth.toFixed(1)} GB/s)\n`);
  const threads = rows[0].rows.map((r) => r.threads);
  console.log(`| variant | bytes f32 / 8-bit | ns f32 / 8-bit | ${threads.map((k) => `${k} thr.`).join(" | ")} | ≤ 0.8× from |`);
  console.log(`|---|---:|---:|${threads.map(() => "---:").join("|")}|---:|`);
  for (const r of rows) {
    const bytes = [32, 8].map((stateBits) => stepBytes({ ...r.options, stateBits }).moved.toFixed(2)).join(" / ");
    const cells = r.rows.map((x) => `${x.ratio.toFixed(2)}×${x.q8Bound === "memory" ? "" : "*"}`);
    console.log(`| ${r.variant} | ${bytes} | ${r.f32Ns.toFixed(3)} / ${r.q8Ns.toFixed(3)} | ${cells.join(" | ")} | ${r.threadsFor08 ?? "–"} threads |`);
  }
  console.log("\n\\* the 8-bit step waits on its arithmetic there, not on memory");
}
