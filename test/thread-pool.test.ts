// The thread pool under stress and through bundlers: its workers run the source text of
// threadProgram, so whatever a bundler does to that function must still run on its own.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { createRmsprop, type Rmsprop, type RmspropOptions } from "../src/index.ts";
import { CONTROL_WORDS } from "../src/thread-pool.ts";
import { awkwardFloats, bitReport, rng } from "./helpers/data.ts";

const scratch = mkdtempSync(join(tmpdir(), "rmsprop-wasm-pool-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// A threaded optimizer against a one-thread one, skips included; prints "same" when the bits agree.
const program = `
import { createRmsprop } from ${JSON.stringify(resolve("src/index.ts"))};
const n = 3000;
const one = await createRmsprop(n, { nonFinite: "skip" });
const three = await createRmsprop(n, { nonFinite: "skip", threads: 3, minParamsPerThread: 1 });
for (const opt of [one, three]) opt.params.fill(0.5);
const results = [[], []];
for (let t = 0; t < 20; t++) {
  [one, three].forEach((opt, k) => {
    for (let i = 0; i < n; i++) opt.grads[i] = Math.sin(i + t);
    if (t % 5 === 2) opt.grads[(t * 131) % n] = NaN;
    results[k].push(JSON.stringify(opt.step()));
  });
}
const same = three.threads === 3 && results[0].join() === results[1].join() && one.params.every((v, i) => Object.is(v, three.params[i]));
console.log(same ? "same" : "different");
one.dispose();
three.dispose();
`;

/** Blocks this thread for about `ms`: the workers keep spinning, or fall asleep on the futex. */
function pause(ms: number): void {
  if (ms > 0) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Every state array's bits, as a list of differences (empty when `got` equals `want`). */
function stateReport(got: Rmsprop, want: Rmsprop): string[] {
  const names = ["sqAvg", "momentumBuffer", "gradAvg"] as const;
  return [
    bitReport("params", got.params, want.params),
    ...names.map((name) => (want.state[name] ? bitReport(name, got.state[name]!, want.state[name]!) : "")),
  ].filter(Boolean);
}

/**
 * `regions` steps of `many` and of the one-thread `one` from the same grads, with random
 * gaps between them: none (the workers spin), a short busy loop, or a futex sleep past the
 * spin (they sleep, and are woken or not). About one step in six has a NaN or ±∞ at a
 * random index. Returns the first step whose result differs, or −1.
 */
function race(one: Rmsprop, many: Rmsprop, regions: number, seed: number): number {
  const random = rng(seed);
  const n = one.n;
  const base = awkwardFloats(n, seed);
  for (const opt of [one, many]) opt.params.set(awkwardFloats(n, seed + 1));
  for (let t = 0; t < regions; t++) {
    const gap = random();
    if (gap < 0.3) pause(random() * 1.5);
    else if (gap < 0.6) for (const end = performance.now() + random() * 0.3; performance.now() < end; );
    const flip = Math.floor(random() * n);
    const bad = random() < 1 / 6 ? Math.floor(random() * n) : -1;
    const value = [NaN, Infinity, -Infinity][t % 3];
    const results = [one, many].map((opt) => {
      opt.grads.set(base);
      opt.grads[flip] *= -1.5;
      if (bad >= 0) opt.grads[bad] = value;
      return JSON.stringify(opt.step());
    });
    if (results[0] !== results[1]) return t;
  }
  return -1;
}

/** The words of a control block at byte `control` of `memory`. */
const controlWords = (memory: WebAssembly.Memory, control: number) => new Int32Array(memory.buffer, control, CONTROL_WORDS);

describe("thread pool", () => {
  // keepNames follows each named function with a call to a helper of the bundle, which
  // the workers' copy of threadProgram would not have.
  it.each([
    ["minify", { minify: true }],
    ["minify and keepNames", { minify: true, keepNames: true }],
    ["keepNames", { keepNames: true }],
  ] as const)("runs bit for bit as one thread when bundled by esbuild with %s", async (_, options) => {
    const outfile = join(scratch, `${Object.keys(options).join("-")}.mjs`);
    await build({
      stdin: { contents: program, resolveDir: process.cwd(), loader: "js" },
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile,
      logLevel: "silent",
      ...options,
    });
    const output = execFileSync(process.execPath, [outfile], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(output.trim()).toBe("same");
  });

  it.each([
    [2, { nonFinite: "skip" }],
    [3, { nonFinite: "skip", momentum: 0.9, centered: true }],
    [4, { nonFinite: "ignore" }],
    [3, { nonFinite: "skip", groups: [{ size: 301, momentum: 0.5 }, { size: 2, lr: 0.1 }, { size: 700, centered: true }] }],
  ] as const)("%i threads, %j: steps with random gaps and bad gradients keep the bits of 1 thread", async (threads, options) => {
    const n = 1003;
    const one = await createRmsprop(n, options as RmspropOptions);
    const many = await createRmsprop(n, { ...(options as RmspropOptions), threads, minParamsPerThread: 1 });
    try {
      expect(many.threads).toBe(threads);
      expect(race(one, many, 400, 17 * threads)).toBe(-1);
      expect(stateReport(many, one)).toEqual([]);
    } finally {
      one.dispose();
      many.dispose();
    }
  });

  it("fewer parameters than shares (empty shares) keep the bits of 1 thread", async () => {
    // 4 threads cut a step into 16 shares of 4 elements: 6 parameters leave 14 empty.
    const one = await createRmsprop(6, { nonFinite: "skip" });
    const many = await createRmsprop(6, { nonFinite: "skip", threads: 4, minParamsPerThread: 1 });
    try {
      expect(race(one, many, 200, 3)).toBe(-1);
      expect(stateReport(many, one)).toEqual([]);
    } finally {
      one.dispose();
      many.dispose();
    }
  });

  it("region numbers wrap past 2^31 − 1 and claims still work", async () => {
    // The control block of an external memory is in reach: move the region number and
    // every claim word (claim words first, so no worker can claim with the new number) to
    // 20 regions before Int32 overflow.
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
    const n = 2000;
    const one = await createRmsprop(n, { nonFinite: "skip", momentum: 0.9 });
    const many = await createRmsprop(n, { nonFinite: "skip", momentum: 0.9, threads: 3, minParamsPerThread: 1, memory });
    try {
      const ctrl = controlWords(memory, 0);
      const start = 0x7fffffff - 20;
      for (let w = 16; w < CONTROL_WORDS; w++) Atomics.store(ctrl, w, start);
      Atomics.store(ctrl, 0, start);
      expect(race(one, many, 120, 5)).toBe(-1);
      expect(Atomics.load(ctrl, 0)).toBe(-0x80000000 + 99); // 120 regions: 21 up to 2^31 − 1, 99 after the wrap
      expect(stateReport(many, one)).toEqual([]);
    } finally {
      one.dispose();
      many.dispose();
    }
  });

  it("threadSpinMs decides whether workers are still awake when the next step comes", async () => {
    // SLEEPERS (control word 5) counts the workers asleep on the futex.
    const sleepers = async (threadSpinMs: number | undefined) => {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
      const opt = await createRmsprop(1000, { threads: 3, minParamsPerThread: 1, memory, threadSpinMs });
      opt.grads.fill(0.5);
      const seen: number[] = [];
      for (let t = 0; t < 5; t++) {
        opt.step();
        await new Promise((resolve) => setTimeout(resolve, 20));
        seen.push(Atomics.load(new Int32Array(memory.buffer, 0, CONTROL_WORDS), 5));
      }
      opt.dispose();
      return seen;
    };
    expect(await sleepers(undefined)).toEqual([2, 2, 2, 2, 2]); // 0.2 ms: both asleep 20 ms later
    expect(await sleepers(500)).toEqual([0, 0, 0, 0, 0]); // still spinning
  });

  it("after dispose() no worker writes an external memory", async () => {
    // With nonFinite "ignore" a worker that mistook dispose()'s wake for a region would step
    // every share once more; with momentum, params keep moving on the same grads.
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
    const random = rng(9);
    for (let k = 0; k < 20; k++) {
      const opt = await createRmsprop(2000, { threads: 2 + (k % 3), minParamsPerThread: 1, momentum: 0.9, memory });
      opt.params.fill(1);
      opt.grads.fill(0.5);
      const steps = 1 + Math.floor(random() * 20);
      for (let t = 0; t < steps; t++) {
        if (random() < 0.3) pause(random());
        opt.step();
      }
      const before = new Uint8Array(memory.buffer).slice();
      opt.dispose();
      const disposed = new Uint8Array(memory.buffer).slice();
      pause(2);
      const after = new Uint8Array(memory.buffer);
      // Past the control block nothing changed in dispose(), and nothing at all changes once
      // it returned: it waits for every worker's last write.
      const arrays = 4 * CONTROL_WORDS;
      expect(disposed.subarray(arrays).every((b, i) => b === before[arrays + i])).toBe(true);
      expect(after.every((b, i) => b === disposed[i])).toBe(true);
    }
  });
});
