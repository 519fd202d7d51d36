// The checks every host with 8-bit state must pass (test/fixtures/c-q8-probe.c through
// include/rmsprop-wasm.h, and its Rust and Zig twins through the examples' binding files):
// the probe lays out codes and block scales, fills them and steps with its language's
// helpers, and its θ, codes and scales must have the bits of createRmsprop with stateBits 8
// fed the same gradients; its helpers refuse what the header's refuse.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { beforeAll, expect, it } from "vitest";
import { createRmsprop, instantiateKernel, type RmspropOptions } from "../../src/index.ts";
import { QUANT_BLOCK } from "../../src/quantization.ts";
import { Q8_ROWS } from "../../src/state-arrays.ts";
import { rng } from "./data.ts";

/** What a probe returns for refused arguments: this bit, plus the reason's number in the ports. */
export const RMSPROP_INVALID = 0x80000000;
/** The reasons the Rust and Zig helpers give (their error variants), as the probes number them. */
export const REASONS = { stepArgs: 1, format: 2, value: 3, array: 4, scratch: 5 } as const;
export type Reason = keyof typeof REASONS;
const SWITCHES = { nesterov: 1, centered: 2, biasCorrection: 4, decoupledWeightDecay: 8, maximize: 16 } as const;
/** Bits of fill_broken's argument: the one thing a refused fill_step_args_q8 call gets wrong. */
export const BROKEN = { noState: 1, noMomentumCodes: 2, misalignedScratch: 4, misalignedScales: 8, noScratch: 16, stepZero: 32, noGradAvgScales: 64 } as const;
/** Bits of q8_fill_with's `broken`: a scratch off 16-byte alignment (C), too few scales for the codes (Rust, Zig). */
export const FILL_BROKEN = { misalignedScratch: 1, shortScales: 2 } as const;
const STEPS = 5;
const PAGES = 4;
/** The exports every probe has, and the names to keep when linking one. */
export const PROBE_EXPORTS = ["params_at", "grads_at", "codes_at", "scales_at", "setup", "step_range_of", "fill_broken", "args_n", "q8_fill_with"];

interface Probe {
  params_at(): number;
  grads_at(): number;
  codes_at(k: number): number;
  scales_at(k: number): number;
  setup(n: number, momentum: number, weightDecay: number, initialScale: number, switches: number): number;
  step_range_of(t: number, lr: number, from: number, count: number): number;
  fill_broken(broken: number): number;
  args_n(): number;
  q8_fill_with(format: number, value: number, broken: number): number;
}

export interface Q8Host {
  /** The probe's wasm bytes, built for a memory of `pages` 64 KiB pages (called once, in beforeAll). */
  build(pages: number): BufferSource;
  /** What the probe returns when its helpers refuse for `reason`. */
  refusal(reason: Reason): number;
  /** The fill_step_args_q8 refusals this language can express: name, BROKEN bits, reason. */
  stepRefusals: [string, number, Reason][];
  /** The q8_fill refusals: name, format, value, FILL_BROKEN bits, reason. */
  fillRefusals: [string, number, number, number, Reason][];
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

const keeps = (name: string, c: Case) => name === "sqAvg" || (name === "momentumBuffer" ? c.momentum > 0 : c.centered === true);

/** The same through createRmsprop with stateBits 8: θ, then each 8-bit array's codes and scales. */
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

/** Registers the bit-for-bit and refusal tests of one host's probe (inside a describe). */
export function q8HostTests(host: Q8Host): void {
  let bytes: BufferSource;
  beforeAll(() => {
    bytes = host.build(PAGES);
  }, 120_000);

  async function probeOn(backend: "simd" | "scalar"): Promise<{ probe: Probe; memory: WebAssembly.Memory }> {
    const memory = new WebAssembly.Memory({ initial: PAGES });
    const kernel = await instantiateKernel(memory, { backend });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory }, "rmsprop-wasm": kernel });
    return { probe: instance.exports as unknown as Probe, memory };
  }

  /** θ, then each 8-bit array's codes and scales, after STEPS steps of the probe (cut into calls at `cuts`). */
  async function runHost(backend: "simd" | "scalar", n: number, c: Case, cuts: number[] = []): Promise<Uint8Array[]> {
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
        expect(flags & RMSPROP_INVALID).toBe(0);
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

  it.each(cases)("%s: θ, codes and scales have the bits of createRmsprop (simd and scalar kernels; n = 4500 and 4096)", async (_name, c) => {
    for (const n of [4500, 4096]) {
      const want = await runPackage(n, c);
      for (const backend of ["simd", "scalar"] as const) expect(await runHost(backend, n, c), `${backend}, n = ${n}`).toEqual(want);
    }
  });

  it("a call per range (first_index, codes + k, scales + k / 512): the bits of one call", async () => {
    const c = cases[1][1];
    expect(await runHost("simd", 4500, c, [2048, 3584])).toEqual(await runPackage(4500, c));
  });

  it.each(host.stepRefusals)("refuses %s: the refusal and a block with n = 0", async (_name, broken, reason) => {
    const { probe } = await probeOn("simd");
    expect(probe.setup(4500, 0.9, 0, 0, 0)).toBe(0);
    expect(probe.fill_broken(0) & RMSPROP_INVALID).toBe(0);
    expect(probe.args_n()).toBe(7);
    expect(probe.fill_broken(broken) >>> 0).toBe(host.refusal(reason));
    expect(probe.args_n()).toBe(0);
  });

  it("q8_fill refuses what it cannot encode, and writes nothing then", async () => {
    const { probe, memory } = await probeOn("simd");
    expect(probe.setup(4500, 0, 0, 0, 0)).toBe(0);
    const state = () => [new Uint8Array(memory.buffer, probe.codes_at(0), 7).slice(), new Float32Array(memory.buffer, probe.scales_at(0), 1)[0]];
    expect(probe.q8_fill_with(1, 2, 0)).toBe(0); // M's map at 2: codes and scale differ from S's zeros
    const before = state();
    for (const [name, format, value, broken, reason] of host.fillRefusals) {
      expect(probe.q8_fill_with(format, value, broken) >>> 0, name).toBe(host.refusal(reason));
      expect(state(), name).toEqual(before);
    }
    expect(probe.q8_fill_with(1, -1, 0)).toBe(0);
    expect(state()).not.toEqual(before);
  });
}

/** The q8_fill refusals every language shares: the format and the value. */
export const VALUE_REFUSALS: Q8Host["fillRefusals"] = [
  ["an unknown format", 3, 0, 0, "format"],
  ["a negative S", 0, -1, 0, "value"],
  ["NaN", 1, NaN, 0, "value"],
  ["∞", 2, Infinity, 0, "value"],
];

/** The fill_step_args_q8 refusals every language can express. */
export const STATE_REFUSALS: Q8Host["stepRefusals"] = [
  ["no momentum codes with momentum", BROKEN.noMomentumCodes, "array"],
  ["no G scales when centered", BROKEN.noGradAvgScales, "array"],
  ["no scratch", BROKEN.noScratch, "scratch"],
  ["t = 0", BROKEN.stepZero, "stepArgs"],
];

/** The refusals of a pointer that may be misaligned (C's, and Rust's raw pointers); Zig's types carry the alignment. */
export const ALIGNMENT_REFUSALS: Q8Host["stepRefusals"] = [
  ["a scratch off 16-byte alignment", BROKEN.misalignedScratch, "scratch"],
  ["scales off 4-byte alignment", BROKEN.misalignedScales, "array"],
];

/**
 * Compiles the `lang` example under "8-bit state" in `doc` as `file` (next to a copy of the
 * language's `binding` file, as a user would put it) and returns its imports, sorted.
 */
export function docsExampleImports(spec: {
  doc: string;
  lang: string;
  file: string;
  binding?: string;
  compile(source: URL): BufferSource;
}): string[] {
  const section = readFileSync(spec.doc, "utf8").split(/^#+ 8-bit state$/m)[1];
  const code = section?.match(new RegExp("```" + spec.lang + "\\n([\\s\\S]*?)```"))?.[1];
  expect(code, `${spec.doc} has an 8-bit ${spec.lang} example`).toMatch(/fill_step_args_q8|fillStepArgsQ8/);
  const dir = new URL(`../../build/docs-q8-${spec.lang}/`, import.meta.url);
  mkdirSync(dir, { recursive: true });
  if (spec.binding) copyFileSync(spec.binding, new URL(basename(spec.binding), dir));
  const source = new URL(spec.file, dir);
  writeFileSync(source, code!);
  const module = new WebAssembly.Module(spec.compile(source));
  return WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`).sort();
}

/** What an 8-bit example imports: its memory, the step and the quantizer that fills its state. */
export const Q8_EXAMPLE_IMPORTS = ["env.memory", "rmsprop-wasm.quantize_blockwise_8bit", "rmsprop-wasm.step"];

/**
 * The 8-bit checks of a language's binding file (examples/<lang>-model/rmsprop_wasm.<ext>):
 * its probe test/fixtures/<lang>-q8-probe.<ext> through q8HostTests, each refusal with its
 * reason, and the language's example in docs/embedding-rust-zig.md compiled next to a copy
 * of the binding. `alignmentChecked`: the binding's state holds pointers that may be
 * misaligned (Rust's raw pointers), so it refuses them too.
 */
export function bindingQ8Tests(spec: {
  lang: "rust" | "zig";
  ext: string;
  alignmentChecked: boolean;
  compile(source: URL, name: string, pages: number): BufferSource;
}): void {
  q8HostTests({
    build: (pages) => spec.compile(new URL(`../fixtures/${spec.lang}-q8-probe.${spec.ext}`, import.meta.url), `${spec.lang}-q8-probe`, pages),
    refusal: (reason) => (RMSPROP_INVALID | REASONS[reason]) >>> 0,
    stepRefusals: spec.alignmentChecked ? [...STATE_REFUSALS, ...ALIGNMENT_REFUSALS] : STATE_REFUSALS,
    fillRefusals: [...VALUE_REFUSALS, ["scales too few for the codes", 0, 1, FILL_BROKEN.shortScales, "array"]],
  });

  it("the 8-bit example of docs/embedding-rust-zig.md compiles, and imports the memory, step and quantize_blockwise_8bit", () => {
    const imports = docsExampleImports({
      doc: "docs/embedding-rust-zig.md",
      lang: spec.lang,
      file: `model.${spec.ext}`,
      binding: `examples/${spec.lang}-model/rmsprop_wasm.${spec.ext}`,
      compile: (source) => spec.compile(source, `docs-q8-${spec.lang}`, 4),
    });
    expect(imports).toEqual(Q8_EXAMPLE_IMPORTS);
  });
}
