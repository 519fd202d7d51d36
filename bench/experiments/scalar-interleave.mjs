// npm run bench:scalar-interleave
//
// Is the scalar build (engines without SIMD) bound by the latency of its √ and ÷ chain, or
// by the divider's throughput? Compiles bench/experiments/scalar-interleave.ts (the default
// step one element at a time, and four elements interleaved), checks that both give the
// same bits, and times them in interleaved rounds on L1-resident data and at n = 1e6, next
// to the plain JS loop. Equal speed means throughput: unrolling cannot help.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "../stats.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "..", "build", "scalar-interleave.wasm");
mkdirSync(dirname(out), { recursive: true });
execFileSync(process.execPath, [
  join(here, "..", "..", "node_modules", "assemblyscript", "bin", "asc.js"),
  join(here, "scalar-interleave.ts"),
  "-O3", "--noAssert", "--runtime", "stub", "--importMemory", "--initialMemory", "0", "-o", out,
]);

const lr = Math.fround(1e-3), beta = Math.fround(0.9), oneMinusBeta = Math.fround(1 - 0.9), eps = Math.fround(1e-8);
const plainJs = (p, g, s, n) => {
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    const si = beta * s[i] + oneMinusBeta * gi * gi;
    s[i] = si;
    p[i] -= (lr * gi) / Math.sqrt(si + eps);
  }
};

async function setUp(n) {
  const memory = new WebAssembly.Memory({ initial: Math.ceil((12 * n + 64) / 65536) });
  const { instance } = await WebAssembly.instantiate(readFileSync(out), { env: { memory, abort() {} } });
  const f32 = new Float32Array(memory.buffer);
  for (let i = 0; i < n; i++) {
    f32[i] = Math.sin(i) + 2; // θ
    f32[n + i] = Math.cos(i * 0.37); // g, normal and finite
    f32[2 * n + i] = 0.5; // S
  }
  return { ...instance.exports, f32, p: 0, g: 4 * n, s: 8 * n };
}

for (const n of [1024, 1_000_000]) {
  const a = await setUp(n);
  const b = await setUp(n);
  a.oneByOne(a.p, a.g, a.s, n, lr, beta, oneMinusBeta, eps);
  b.interleaved(b.p, b.g, b.s, n, lr, beta, oneMinusBeta, eps);
  const same = a.f32.every((x, i) => Object.is(x, b.f32[i]));
  const js = { p: a.f32.slice(0, n), g: a.f32.slice(n, 2 * n), s: a.f32.slice(2 * n, 3 * n) };
  const reps = Math.max(3, Math.round(2e7 / n));
  const contenders = {
    "one element at a time": () => a.oneByOne(a.p, a.g, a.s, n, lr, beta, oneMinusBeta, eps),
    "four interleaved": () => b.interleaved(b.p, b.g, b.s, n, lr, beta, oneMinusBeta, eps),
    "plain JS loop": () => plainJs(js.p, js.g, js.s, n),
  };
  const times = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
  for (let round = 0; round < 9; round++) {
    for (const [name, run] of Object.entries(contenders)) {
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) run();
      times[name].push(((performance.now() - t0) * 1e6) / (reps * n));
    }
  }
  console.log(`n = ${n}: same bits ${same}`);
  const plain = median(times["plain JS loop"]);
  for (const [name, t] of Object.entries(times)) {
    const ns = median(t);
    console.log(`  ${name.padEnd(24)} ${ns.toFixed(3)} ns/param  ${(plain / ns).toFixed(2)}× plain JS`);
  }
}
