// The bound on the 8-bit step in a training loop, for any code map in this kernel's design:
//   node bench/experiments/q8-no-codec.mjs [runs] [iterations]
// Builds the SIMD shared-memory kernel with `asc --use Q8_NO_CODEC=1` (assembly/quantize.ts:
// decoding and encoding return at once, the codes neither read nor written), puts it into a
// copy of dist/ (build/experiments/dist-q8-no-codec), and runs the case of
// bench/quantization/training.mjs: n = 1e7 on 2 threads, the f32 optimizer against the
// 8-bit one with the same options, each step after its own 5 ms pass (pairedTrainingLoop).
// Child processes alternate the real kernel and that one, `runs` each. What the 8-bit step
// costs with no codec is the f32 step on the block's scratch with θ and g from memory: no
// code map, however cheap, makes the 8-bit step cheaper than that.
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const N = 1e7;
const VARIANTS = { "default": {}, "momentum 0.9": { momentum: 0.9 } };

if (process.argv[2] === "--child") {
  // One run in this process: the dist at argv[3], `iterations` measured steps a variant.
  const { createRmsprop } = await import(pathToFileURL(join(process.argv[3], "index.js")).href);
  const { pairedTrainingLoop } = await import("../training-loop-pattern.mjs");
  const iterations = Number(process.argv[4]);
  const rows = {};
  for (const [variant, options] of Object.entries(VARIANTS)) {
    const opts = [
      await createRmsprop(N, { ...options, threads: 2, backend: "simd" }),
      await createRmsprop(N, { ...options, threads: 2, backend: "simd", stateBits: 8 }),
    ];
    for (const opt of opts) {
      for (let i = 0; i < N; i++) opt.params[i] = Math.sin(i);
      opt.grads.fill(0.25);
    }
    rows[variant] = pairedTrainingLoop(opts, { gap: 5, warmUp: 10, iterations }).ratio;
    for (const opt of opts) opt.dispose();
  }
  console.log(JSON.stringify(rows));
  process.exit(0);
}

const runs = Number(process.argv[2] ?? 3);
const iterations = Number(process.argv[3] ?? 40);
const dist = join(root, "dist");
if (!existsSync(join(dist, "index.js"))) throw new Error("build first: npm run build");

// The kernel with no codec, in a copy of dist/ whose shared SIMD build it replaces.
const out = join(root, "build", "experiments");
mkdirSync(out, { recursive: true });
const wasm = join(out, "rmsprop_simd_shared_q8_no_codec.wasm");
execFileSync(process.execPath, [
  join(root, "node_modules", "assemblyscript", "bin", "asc.js"), join(root, "assembly", "rmsprop.ts"),
  "--config", join(root, "asconfig.json"), "--target", "simd-shared", "-o", wasm, "--textFile", "", "--use", "Q8_NO_CODEC=1",
], { stdio: ["ignore", "ignore", "inherit"] });
const noCodec = join(out, "dist-q8-no-codec");
rmSync(noCodec, { recursive: true, force: true });
cpSync(dist, noCodec, { recursive: true });
const generated = join(noCodec, "generated", "wasm-simd-shared.js");
const source = readFileSync(generated, "utf8");
const patched = source.replace(/wasmGzipBase64 = "[^"]*"/, `wasmGzipBase64 = "${gzipSync(readFileSync(wasm)).toString("base64")}"`);
if (patched === source) throw new Error(`no wasmGzipBase64 in ${generated}`);
writeFileSync(generated, patched);

const kernels = { "the real kernel": dist, "no codec (the bound)": noCodec };
const ratios = Object.fromEntries(Object.keys(kernels).map((k) => [k, Object.fromEntries(Object.keys(VARIANTS).map((v) => [v, []]))]));
for (let r = 0; r < runs; r++) {
  for (const [kernel, path] of Object.entries(kernels)) {
    process.stderr.write(`run ${r + 1}/${runs}, ${kernel}\n`);
    const rows = JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--child", path, String(iterations)], { encoding: "utf8" }));
    for (const [variant, ratio] of Object.entries(rows)) ratios[kernel][variant].push(ratio);
  }
}
console.log(`\nTraining loop, n = 1e7 on 2 threads, 5 ms passes: 8-bit step / f32 step (median of ${iterations} steps each), ${runs} runs\n`);
console.log("| kernel | " + Object.keys(VARIANTS).join(" | ") + " |");
console.log("|---|" + Object.keys(VARIANTS).map(() => "---:").join("|") + "|");
for (const [kernel, rows] of Object.entries(ratios)) {
  console.log(`| ${kernel} | ` + Object.values(rows).map((list) => list.map((x) => `${x.toFixed(2)}×`).join(", ")).join(" | ") + " |");
}
