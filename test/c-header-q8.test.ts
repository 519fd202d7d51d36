// include/rmsprop-wasm.h with 8-bit state: a C host (test/fixtures/c-q8-probe.c, compiled
// with clang) lays out codes and block scales with the header's sizes, fills them with
// rmsprop_q8_fill and steps with rmsprop_fill_step_args_q8; its θ, codes and scales must
// have the bits of createRmsprop with stateBits 8 fed the same gradients.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { createRmsprop, instantiateKernel, type RmspropOptions } from "../src/index.ts";
import { QUANT_BLOCK, QUANT_FORMATS, QUANT_SCRATCH_BYTES } from "../src/quantization.ts";
import { Q8_ROWS } from "../src/state-arrays.ts";
import { rng } from "./helpers/data.ts";
// @ts-expect-error: a plain .mjs build script without types
import { clangWasm } from "../examples/c-model/build.mjs";

const RMSPROP_INVALID = 0x80000000;
const SWITCHES = { nesterov: 1, centered: 2, biasCorrection: 4, decoupledWeightDecay: 8, maximize: 16 } as const;
const BROKEN = { noState: 1, noMomentumCodes: 2, misalignedScratch: 4, misalignedScales: 8, noScratch: 16 } as const;
const STEPS = 5;

interface Probe {
  params_at(): number;
  grads_at(): number;
  codes_at(k: number): number;
  scales_at(k: number): number;
  setup(n: number, momentum: number, weightDecay: number, initialScale: number, switches: number): number;
  step_range_of(t: number, lr: number, from: number, count: number): number;
  fill_broken(broken: number): number;
  args_n(): number;
  q8_fill_with(format: number, value: number, misaligned: number): number;
}

let bytes: BufferSource;

beforeAll(() => {
  bytes = clangWasm({
    source: new URL("fixtures/c-q8-probe.c", import.meta.url),
    name: "c-q8-probe",
    exports: ["params_at", "grads_at", "codes_at", "scales_at", "setup", "step_range_of", "fill_broken", "args_n", "q8_fill_with"],
    pages: 4,
  });
}, 60_000);

async function probeOn(backend: "simd" | "scalar"): Promise<{ probe: Probe; memory: WebAssembly.Memory }> {
  const memory = new WebAssembly.Memory({ initial: 4 });
  const kernel = await instantiateKernel(memory, { backend });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory }, "rmsprop-wasm": kernel });
  return { probe: instance.exports as unknown as Probe, memory };
}

/** Seeded gradients of step t (t = 0: initial θ), over many magnitudes, zeros included. */
function values(n: number, t: number): Float32Array {
  const r = rng(500 + t);
  return Float32Array.from({ length: n }, (_, i) => (i % 61 === 0 ? 0 : (r() - 0.5) * 2 ** Math.floor(r() * 16 - 8)));
}

const lrAt = (t: number) => 0.01 / t;

type Case = Pick<RmspropOptions, "nesterov" | "centered" | "biasCorrection" | "decoupledWeightDecay" | "maximize"> & {
  momentum: number;
  weightDecay: number;
  initialScale: number;
};

/** θ, then each 8-bit array's codes and scales, after STEPS steps of the C host (cut into calls at `cuts`). */
async function runC(backend: "simd" | "scalar", n: number, c: Case, cuts: number[] = []): Promise<Uint8Array[]> {
  const { probe, memory } = await probeOn(backend);
  let switches = 0;
  for (const key of Object.keys(SWITCHES) as (keyof typeof SWITCHES)[]) if (c[key]) switches |= SWITCHES[key];
  expect(probe.setup(n, c.momentum, c.weightDecay, c.initialScale, switches)).toBe(0);
  const f32 = (at: number) => new Float32Array(memory.buffer, at, n);
  f32(probe.params_at()).set(values(n, 0));
  const starts = [0, ...cuts];
  for (let t = 1; t <= STEPS; t++) {
    f32(probe.grads_at()).set(values(n, t));
    starts.forEach((from, k) => {
      const flags = probe.step_range_of(t, lrAt(t), from, (starts[k + 1] ?? n) - from) >>> 0;
      expect(flags).not.toBe(RMSPROP_INVALID);
    });
  }
  const out = [new Uint8Array(f32(probe.params_at()).slice().buffer)];
  Q8_ROWS.forEach((row, k) => {
    if (!keeps(row.name, c)) return;
    out.push(new Uint8Array(memory.buffer, probe.codes_at(k), n).slice());
    out.push(new Uint8Array(memory.buffer, probe.scales_at(k), 4 * Math.ceil(n / QUANT_BLOCK)).slice());
  });
  return out;
}

const keeps = (name: string, c: Case) => name === "sqAvg" || (name === "momentumBuffer" ? c.momentum > 0 : c.centered === true);

/** The same through createRmsprop with stateBits 8. */
async function runPackage(n: number, c: Case): Promise<Uint8Array[]> {
  const opt = await createRmsprop(n, { ...c, stateBits: 8, nonFinite: "ignore" });
  opt.params.set(values(n, 0));
  for (let t = 1; t <= STEPS; t++) {
    opt.grads.set(values(n, t));
    opt.stepSync({ lr: lrAt(t) });
  }
  const out = [new Uint8Array(opt.params.slice().buffer)];
  for (const row of Q8_ROWS) {
    const q = opt.state8[row.name as "sqAvg"];
    if (!q) continue;
    out.push(q.codes.slice(), new Uint8Array(q.scales.slice().buffer));
  }
  opt.dispose();
  return out;
}

const cases: [string, Case][] = [
  ["the defaults", { momentum: 0, weightDecay: 0, initialScale: 0 }],
  ["momentum, centered, bias correction, S from 0.1", { momentum: 0.9, weightDecay: 0, initialScale: 0.1, centered: true, biasCorrection: true }],
  ["nesterov, decoupled weight decay, maximize", { momentum: 0.5, weightDecay: 0.05, initialScale: 1, nesterov: true, decoupledWeightDecay: true, maximize: true }],
];

describe("include/rmsprop-wasm.h with 8-bit state", () => {
  it("its sizes and code maps are the package's", () => {
    const header = readFileSync("include/rmsprop-wasm.h", "utf8");
    const define = (name: string) => header.match(new RegExp(`#define ${name} (.+?)(?:\\s*/\\*.*)?$`, "m"))?.[1];
    expect(define("RMSPROP_Q8_BLOCK")).toBe(`${QUANT_BLOCK}u`);
    expect(define("RMSPROP_Q8_SCRATCH_BYTES")).toBe(`(3u * RMSPROP_Q8_BLOCK * 4u + 96u)`);
    expect(3 * QUANT_BLOCK * 4 + 96).toBe(QUANT_SCRATCH_BYTES);
    for (const row of Q8_ROWS) {
      const name = `RMSPROP_Q8_${row.c.toUpperCase()}_FORMAT`;
      expect(define(name), name).toBe(`${QUANT_FORMATS[row.q8.format].id}u`);
    }
  });

  it.each(cases)("%s: θ, codes and scales have the bits of createRmsprop (simd and scalar kernels; n = 4500 and 4096)", async (_name, c) => {
    for (const n of [4500, 4096]) {
      const want = await runPackage(n, c);
      for (const backend of ["simd", "scalar"] as const) expect(await runC(backend, n, c), `${backend}, n = ${n}`).toEqual(want);
    }
  });

  it("a call per range (first_index, codes + k, scales + k / 512): the bits of one call", async () => {
    const c = cases[1][1];
    expect(await runC("simd", 4500, c, [2048, 3584])).toEqual(await runPackage(4500, c));
  });

  it("the 8-bit example of docs/embedding.md compiles, and imports the memory, step and quantize_blockwise_8bit", () => {
    const section = readFileSync("docs/embedding.md", "utf8").split("### 8-bit state")[1];
    const code = section?.match(/```c\n([\s\S]*?)```/)?.[1];
    expect(code, "docs/embedding.md has an 8-bit C example").toContain("rmsprop_fill_step_args_q8");
    const source = new URL("../build/c/docs-q8-example.c", import.meta.url);
    mkdirSync(new URL(".", source), { recursive: true });
    writeFileSync(source, code!);
    const module = new WebAssembly.Module(clangWasm({ source, name: "docs-q8-example", exports: ["init_state", "train_step_q8"], pages: 4 }));
    const imports = WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`);
    expect(imports.sort()).toEqual(["env.memory", "rmsprop-wasm.quantize_blockwise_8bit", "rmsprop-wasm.step"]);
  });

  it.each([
    ["a NULL state", BROKEN.noState],
    ["no momentum codes with momentum", BROKEN.noMomentumCodes],
    ["a scratch off 16-byte alignment", BROKEN.misalignedScratch],
    ["no scratch", BROKEN.noScratch],
    ["scales off 4-byte alignment", BROKEN.misalignedScales],
  ])("refuses %s: RMSPROP_INVALID and a block with n = 0", async (_name, broken) => {
    const { probe } = await probeOn("simd");
    expect(probe.setup(4500, 0.9, 0, 0, 0)).toBe(0);
    expect(probe.fill_broken(0) >>> 0).not.toBe(RMSPROP_INVALID);
    expect(probe.args_n()).toBe(7);
    expect(probe.fill_broken(broken) >>> 0).toBe(RMSPROP_INVALID);
    expect(probe.args_n()).toBe(0);
  });

  it("rmsprop_q8_fill refuses an unknown format, a negative or NaN value, and a misaligned scratch", async () => {
    const { probe } = await probeOn("simd");
    expect(probe.setup(4500, 0, 0, 0, 0)).toBe(0);
    expect(probe.q8_fill_with(3, 0, 0) >>> 0).toBe(RMSPROP_INVALID);
    expect(probe.q8_fill_with(0, -1, 0) >>> 0).toBe(RMSPROP_INVALID);
    expect(probe.q8_fill_with(1, NaN, 0) >>> 0).toBe(RMSPROP_INVALID);
    expect(probe.q8_fill_with(2, Infinity, 0) >>> 0).toBe(RMSPROP_INVALID);
    expect(probe.q8_fill_with(0, 1, 1) >>> 0).toBe(RMSPROP_INVALID);
    expect(probe.q8_fill_with(1, -1, 0)).toBe(0);
  });
});
