// npm run bench:quantization -- speed [--quick]
//
// The 8-bit step against the f32 step, side by side in one process, interleaved in rounds
// (each ratio compares runs made moments apart): warm at 1e6 on one thread, back to back,
// and from DRAM at 1e7 (64 MiB streamed before every step, as a training loop's forward and
// backward passes do), each for the default options, momentum, and centered with momentum;
// next to the plain JS loop. "kernel" rows time the kernel alone (f32 with nonFinite
// "ignore"); "with the scan" rows add the NaN/±∞ scan both run by default. Then the block
// sizes: the same kernel built with other Q8_BLOCK values, against its own f32 step.
//
// Both sides are the optimizer (createRmsprop, stateBits 32 and 8); run through
// ts-hooks.mjs (the npm script does), which loads the package's TypeScript sources.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRmsprop } from "../../src/index.ts";
import { seededArray } from "../data.mjs";
import { streamScratch } from "../evict.mjs";
import { median } from "../stats.mjs";

const quick = process.argv.includes("--quick");
const ROUNDS = quick ? 5 : 15;

// The loop a user would write by hand (bench/contenders.mjs has the same one).
function plainLoop(n) {
  const params = seededArray(n, 1), grads = seededArray(n, 2), sqAvg = new Float32Array(n);
  const lr = 0.01, beta = 0.9, eps = 1e-8;
  return () => {
    for (let i = 0; i < params.length; i++) {
      const g = grads[i];
      const s = beta * sqAvg[i] + (1 - beta) * g * g;
      sqAvg[i] = s;
      params[i] -= (lr * g) / Math.sqrt(s + eps);
    }
  };
}

async function contenders(n, options) {
  const f32 = await createRmsprop(n, { ...options, nonFinite: "ignore", backend: "simd" });
  const f32Scan = await createRmsprop(n, { ...options, backend: "simd" });
  const q8 = await createRmsprop(n, { ...options, nonFinite: "ignore", backend: "simd", stateBits: 8 });
  const q8Scan = await createRmsprop(n, { ...options, backend: "simd", stateBits: 8 });
  const all = [f32, f32Scan, q8, q8Scan];
  for (const opt of all) {
    opt.params.set(seededArray(n, 1));
    opt.grads.set(seededArray(n, 2));
  }
  return {
    f32: () => f32.step(),
    q8: () => q8.step(),
    f32Scan: () => f32Scan.step(),
    q8Scan: () => q8Scan.step(),
    dispose: () => {
      for (const opt of all) opt.dispose();
    },
  };
}

/** Median ms of one step: `reps` back to back (warm), or each after streaming 64 MiB (DRAM). */
export function sample(step, dram, reps) {
  const times = [];
  for (let r = 0; r < reps; r++) {
    if (dram) streamScratch();
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Rounds over the contenders in alternating order; per round, each one's median. */
function rounds(list, dram, reps) {
  const ms = Object.fromEntries(Object.keys(list).map((k) => [k, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const names = round % 2 ? Object.keys(list).reverse() : Object.keys(list);
    for (const name of names) ms[name].push(sample(list[name], dram, reps));
  }
  return ms;
}

const ratioOf = (a, b) => a.map((x, i) => x / b[i]);
const fmt = (xs) => `${median(xs).toFixed(2)}× (${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`;

export const VARIANT_OPTIONS = { "default": {}, "momentum 0.9": { momentum: 0.9 }, "centered, momentum 0.9": { centered: true, momentum: 0.9 } };

/** The rows warm at 1e6 and (`dram`) from DRAM at 1e7, per variant. */
export async function speedRows({ dram: fromDram = true } = {}) {
  const rows = [];
  const places = [["warm", 1e6, false], ["DRAM", 1e7, true]];
  for (const [where, n, dram] of fromDram ? places : places.slice(0, 1)) {
    for (const [variant, options] of Object.entries(VARIANT_OPTIONS)) {
      const c = await contenders(n, options);
      const list = { f32: c.f32, q8: c.q8, f32Scan: c.f32Scan, q8Scan: c.q8Scan };
      if (variant === "default") list.plain = plainLoop(n);
      const ms = rounds(list, dram, dram ? 3 : quick ? 10 : 30);
      c.dispose();
      rows.push({
        where, n, variant,
        f32Ms: median(ms.f32), q8Ms: median(ms.q8), f32ScanMs: median(ms.f32Scan), q8ScanMs: median(ms.q8Scan), kernel: ratioOf(ms.q8, ms.f32), withScan: ratioOf(ms.q8Scan, ms.f32Scan),
        plainOverQ8: ms.plain ? ratioOf(ms.plain, ms.q8Scan) : null,
      });
    }
  }
  return rows;
}

// ---- block sizes: the kernel built with other Q8_BLOCK, raw, each against its own f32 step ----

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");

function buildWithBlock(block) {
  const out = join(root, "build", "experiments", `rmsprop_simd_q8_${block}.wasm`);
  mkdirSync(dirname(out), { recursive: true });
  execFileSync(process.execPath, [
    join(root, "node_modules", "assemblyscript", "bin", "asc.js"), join(root, "assembly", "rmsprop.ts"),
    "--config", join(root, "asconfig.json"), "--target", "simd", "-o", out, "--textFile", "", "--use", `Q8_BLOCK=${block}`,
  ], { stdio: ["ignore", "ignore", "inherit"] });
  return out;
}

/** One module's f32 step and 8-bit step on its own memory, laid out by hand (StepArgs at 0 and 128). */
function rawKernel(path, block, n, momentum) {
  const memory = new WebAssembly.Memory({ initial: Math.ceil((n * 18 + 2e5) / 65536) + 2 });
  const k = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(path)), { env: { memory } }).exports;
  const u32 = new Uint32Array(memory.buffer), f32 = new Float32Array(memory.buffer);
  let at = 65536;
  const place = (bytes) => {
    const start = at;
    at = Math.ceil((at + bytes) / 64) * 64;
    return start;
  };
  const [P, G, S, M, Sc, Ss, Mc, Ms] = [4 * n, 4 * n, 4 * n, 4 * n, n, 4 * Math.ceil(n / block), n, 4 * Math.ceil(n / block)].map(place);
  f32.set(seededArray(n, 1), P / 4);
  f32.set(seededArray(n, 2), G / 4);
  new Float32Array(memory.buffer, Ss, Math.ceil(n / block)).fill(2 ** -64);
  new Float32Array(memory.buffer, Ms, Math.ceil(n / block)).fill(2 ** -120);
  const scalars = [0.01, 0.9, Math.fround(0.1), 1e-8, 1, 0, 0, 1, 0, 0.9, 1, 0.01];
  for (const [args, q8] of [[0, false], [128, true]]) {
    u32.set([P, G, q8 ? Sc : S, q8 ? Mc : M, 0, n], args / 4);
    f32.set(scalars, args / 4 + 6);
    u32.set([Ss, Ms, 0, 256 + 128 * 2, 0, 1], args / 4 + 24);
  }
  const flags = 1 | (momentum ? 16 : 0);
  return { f32: () => k.step(flags, 0), q8: () => (u32[128 / 4 + 29]++, k.step(flags | 2048, 128)) };
}

export function blockRows(blocks = [256, 512, 1024, 2048]) {
  const n = 1e6;
  const rows = [];
  for (const momentum of [false, true]) {
    const list = {};
    for (const block of blocks) {
      const k = rawKernel(buildWithBlock(block), block, n, momentum);
      list[`f32 ${block}`] = k.f32;
      list[`q8 ${block}`] = k.q8;
    }
    const ms = rounds(list, false, quick ? 10 : 30);
    for (const block of blocks) rows.push({ block, momentum, kernel: ratioOf(ms[`q8 ${block}`], ms[`f32 ${block}`]) });
  }
  return rows;
}

export function printSpeed(rows, blocks) {
  console.log("| where | n | variant | f32 ms | 8-bit ms | 8-bit / f32, kernel | 8-bit / f32, with the scan | plain JS / 8-bit |");
  console.log("|---|---:|---|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    console.log(`| ${r.where} | ${r.n.toExponential(0)} | ${r.variant} | ${r.f32Ms.toFixed(3)} | ${r.q8Ms.toFixed(3)} | ${fmt(r.kernel)} | ${fmt(r.withScan)} | ${r.plainOverQ8 ? fmt(r.plainOverQ8) : ""} |`);
  }
  if (!blocks) return;
  console.log("\n| block | variant | 8-bit / f32, kernel, warm at 1e6 |");
  console.log("|---:|---|---:|");
  for (const r of blocks) console.log(`| ${r.block} | ${r.momentum ? "momentum 0.9" : "default"} | ${fmt(r.kernel)} |`);
}
