// Worker threads over shared memory, in one place: bit-identical to one thread for every
// variant and size, the non-finite policies across shares, the crossover, steps with random
// gaps (the workers spin, sleep, are woken or not), region numbers that wrap, the spin,
// dispose, and the pool's source run through bundlers. Failures: test/thread-faults.test.ts.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { createRmsprop, type Rmsprop, type RmspropOptions } from "../src/index.ts";
import { machineOverride } from "../src/machine.ts";
import { CTRL, SHARE_WORDS } from "../src/pool/control-block.ts";
import { SLOT_BITS } from "../src/pool/region.ts";
import { controlBlock, poolWorkers, sleepingWorkers, testing } from "../src/pool/testing.ts";
import { awkwardFloats, bitReport, rng } from "./helpers/data.ts";
import { everyKernelVariant } from "./helpers/optimizers.ts";

// 3 and 4 threads on a machine of fewer cores: the shares and claims are what is tested.
machineOverride.threads = 64;
const scratch = mkdtempSync(join(tmpdir(), "rmsprop-wasm-pool-"));
afterAll(() => {
  machineOverride.threads = undefined;
  rmSync(scratch, { recursive: true, force: true });
});

// A threaded optimizer against a one-thread one, skips included; prints "same" when the bits agree.
const program = `
import { createRmsprop } from ${JSON.stringify(resolve("src/index.ts"))};
import { machineOverride } from ${JSON.stringify(resolve("src/machine.ts"))};
machineOverride.threads = 64;
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

const made: Rmsprop[] = [];
afterAll(() => {
  for (const opt of made) {
    try {
      opt.dispose();
    } catch {
      // already disposed by the test
    }
  }
});

async function make(n: number, options: RmspropOptions): Promise<Rmsprop> {
  const opt = await createRmsprop(n, { nonFinite: "ignore", minParamsPerThread: 1, ...options });
  made.push(opt);
  return opt;
}

async function expectSameAsOneThread(n: number, options: RmspropOptions, threads: number, seed: number) {
  const one = await make(n, { ...options, threads: 1 });
  const many = await make(n, { ...options, threads });
  expect(many.threads).toBe(Math.min(threads, n));
  for (const opt of [one, many]) opt.params.set(awkwardFloats(n, seed));
  for (let t = 0; t < 3; t++) {
    const grads = awkwardFloats(n, seed + 10 + t);
    for (const opt of [one, many]) {
      opt.grads.set(grads);
      await opt.step(t === 1 ? { lr: 0.002 } : undefined);
    }
  }
  expect(stateReport(many, one), `${JSON.stringify(options)}, n = ${n}, threads = ${threads}`).toEqual([]);
  one.dispose();
  many.dispose();
}

describe("threads", () => {
  it.each([1, 2, 3, 4, 5, 7, 8, 9, 17, 1023, 1025])("n = %i on 2 and 3 threads equals 1 thread, bit for bit", async (n) => {
    await expectSameAsOneThread(n, {}, 2, n);
    await expectSameAsOneThread(n, { backend: "scalar" }, 3, n);
  });

  it("every kernel variant on 2 threads equals 1 thread", async () => {
    for (const variant of everyKernelVariant()) await expectSameAsOneThread(1031, variant, 2, 7);
  });

  it("parameter groups are split across threads too", async () => {
    const groups = [
      { size: 333, momentum: 0.9 },
      { size: 5, lr: 0.5, centered: true },
      { size: 700, weightDecay: 0.1 },
    ];
    await expectSameAsOneThread(1038, { groups }, 3, 11);
  });

  it("a large n runs on 2 threads by default crossover, a small one on 1", async () => {
    const big = await createRmsprop(65_536, { threads: 2 });
    const small = await createRmsprop(65_535, { threads: 2 });
    made.push(big, small);
    expect(big.threads).toBe(2);
    expect(small.threads).toBe(1);
    expect(big.options.minParamsPerThread).toBe(32768);
  });

  it.each(["throw", "skip"] as const)('nonFinite "%s" finds the first bad gradient in any slice and changes nothing', async (nonFinite) => {
    const n = 4099;
    const opt = await make(n, { threads: 3, nonFinite, momentum: 0.5 });
    opt.params.set(awkwardFloats(n, 1));
    opt.grads.set(awkwardFloats(n, 2));
    await opt.step();
    for (const bad of [0, 1366, 1367, 2800, 4098]) {
      const before = [opt.params.slice(), opt.state.sqAvg.slice(), opt.state.momentumBuffer!.slice()];
      opt.grads[bad] = NaN;
      if (bad + 1500 < n) opt.grads[bad + 1500] = -Infinity;
      if (nonFinite === "throw") {
        await expect(async () => opt.step()).rejects.toThrow(`grads[${bad}] is NaN`);
      } else {
        expect(await opt.step()).toEqual({ applied: false, nonFiniteIndex: bad, stepCount: 1 });
      }
      expect([opt.params, opt.state.sqAvg, opt.state.momentumBuffer]).toEqual(before);
      opt.grads.set(awkwardFloats(n, 2));
    }
    expect((await opt.step()).applied).toBe(true);
    expect(opt.stepCount).toBe(2);
  });

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


  it("region numbers wrap past 2^20 and claims still work", async () => {
    // Move the ticket and every word that holds one to 20 regions before the region number
    // (the ticket's high 20 bits) wraps to 0.
    const n = 2000;
    const one = await createRmsprop(n, { nonFinite: "skip", momentum: 0.9 });
    const many = await createRmsprop(n, { nonFinite: "skip", momentum: 0.9, threads: 3, minParamsPerThread: 1 });
    try {
      const ctrl = controlBlock()!;
      const start = ((1 << 20) - 20) << SLOT_BITS;
      for (const word of [CTRL.SCANNED, CTRL.JOINED, CTRL.STEPPED]) Atomics.store(ctrl, word, start);
      for (let t = 0; t < 64; t++) for (const words of [...SHARE_WORDS.claim, ...SHARE_WORDS.done]) Atomics.store(ctrl, words[t], start);
      Atomics.store(ctrl, CTRL.REGION, start);
      testing.threads = 3; // every step a region (a step alone opens none)
      try {
        expect(race(one, many, 120, 5)).toBe(-1);
      } finally {
        testing.threads = undefined;
      }
      expect(Atomics.load(ctrl, CTRL.REGION) >>> SLOT_BITS).toBe(100); // 120 regions: 20 up to the wrap, 100 after it
      expect(stateReport(many, one)).toEqual([]);
    } finally {
      one.dispose();
      many.dispose();
    }
  });

  it("threadSpinMs decides whether workers are still awake when the next step comes", async () => {
    // Every step runs on the threads (for n = 1000 the choice would soon run them alone).
    testing.threads = 3;
    /**
     * Whether the second of two steps woke workers, with `ready` polled for between them
     * (up to 2 s; false if it never held: a machine too loaded to see it, then tried again).
     */
    const secondStepWoke = async (threadSpinMs: number | undefined, ready: () => boolean) => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const opt = await createRmsprop(1000, { threads: 3, minParamsPerThread: 1, threadSpinMs });
        try {
          opt.grads.fill(0.5);
          opt.step();
          const since = performance.now();
          while (!ready() && performance.now() - since < 2000) await new Promise((resolve) => setTimeout(resolve, 1));
          if (!ready()) continue;
          opt.step();
          return opt.threading.lastStep!.woke;
        } finally {
          opt.dispose();
        }
      }
      throw new Error("the workers never reached the state polled for");
    };
    try {
      // The default 0.2 ms: every worker of the pool falls asleep (an idle optimizer costs no
      // CPU), and the next step wakes them.
      expect(await secondStepWoke(undefined, () => sleepingWorkers() === poolWorkers())).toBe(true);
      // 1000 ms: once its 2 workers have woken for the first step, they still poll at the next.
      expect(await secondStepWoke(1000, () => sleepingWorkers() <= poolWorkers() - 2)).toBe(false);
    } finally {
      testing.threads = undefined;
    }
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
      pause(2);
      // dispose() waits for every worker's last write: nothing changes once it returned but
      // the claim dispose() clears itself (bytes 8–27 of the block, src/placements.ts).
      const after = new Uint8Array(memory.buffer);
      expect(after.every((b, i) => b === before[i] || (i >= 8 && i < 28 && b === 0))).toBe(true);
    }
  });
  it("refuses threads with the js backend, and dispose ends the workers", async () => {
    await expect(createRmsprop(10, { threads: 2, backend: "js" })).rejects.toThrow(/options.threads = 2 needs a wasm backend/);
    const opt = await make(1000, { threads: 4 });
    expect(opt.threads).toBe(4);
    opt.dispose();
    expect(() => opt.step()).toThrow(/disposed/);
  });
});
