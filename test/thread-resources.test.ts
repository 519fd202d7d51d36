// What threads cost and how many run: threads "auto" and the clamp to the machine's cores,
// dispose() releasing the memory at once (no forced collection), a failed feature check
// asked again, and creation under an address-space limit throwing instead of aborting.
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { createRmsprop } from "../src/index.ts";
import { sharedMemoryCheck } from "../src/features.ts";
import { machineOverride } from "../src/machine.ts";
import { poolWorkers } from "../src/pool/testing.ts";

afterEach(() => {
  machineOverride.threads = undefined;
});

/** The collector, for the test that proves a disposed optimizer is collectable. */
function collector(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

describe("thread resources", () => {
  it('threads "auto" runs on every core, fewer for a small n; a larger number is clamped to the cores', async () => {
    const cores = Math.min(64, availableParallelism());
    const auto = await createRmsprop(1_000_000, { threads: "auto", minParamsPerThread: 1 });
    expect(auto.threads).toBe(cores);
    expect(auto.options.threads).toBe("auto");
    const small = await createRmsprop(100, { threads: "auto" });
    expect(small.threads).toBe(1); // below minParamsPerThread
    const many = await createRmsprop(1_000_000, { threads: 64, minParamsPerThread: 1 });
    expect(many.threads).toBe(cores);
    machineOverride.threads = 3; // a 3-core machine
    const three = await createRmsprop(1_000_000, { threads: "auto", minParamsPerThread: 1 });
    expect(three.threads).toBe(3);
    const js = await createRmsprop(1_000_000, { threads: "auto", backend: "js" });
    expect(js.threads).toBe(1); // "auto" takes what works: the js backend has no threads
    for (const opt of [auto, small, many, three, js]) opt.dispose();
    await expect(createRmsprop(10, { threads: "all" as unknown as number })).rejects.toThrow(
      /options\.threads must be an integer in \[1, 64\] or "auto"; got "all"/,
    );
  });

  it("opt.threading says why fewer threads run than asked, and how the last step ran", async () => {
    machineOverride.threads = 2;
    const small = await createRmsprop(1000, { threads: 2 });
    expect(small.threading).toMatchObject({ requested: 2, threads: 1, lastStep: undefined, estimates: undefined });
    expect(small.threading.fallback).toBe("n = 1000 runs on 1 thread: each needs at least options.minParamsPerThread = 32768 parameters");
    const many = await createRmsprop(1e6, { threads: 8, minParamsPerThread: 1 });
    expect(many.threading).toMatchObject({ requested: 8, threads: 2, fallback: "this machine runs 2 threads at once" });
    const js = await createRmsprop(1e6, { threads: "auto", backend: "js" });
    expect(js.threading).toMatchObject({ requested: "auto", threads: 1, fallback: 'the "js" backend runs on the calling thread' });
    const full = await createRmsprop(1e6, { threads: 2 });
    expect(full.threading.fallback).toBeUndefined();
    full.grads.fill(0.5);
    full.step();
    const { lastStep, estimates } = full.threading;
    expect(lastStep).toEqual({ threads: expect.any(Number), woke: expect.any(Boolean), trying: expect.any(Boolean) });
    expect(estimates?.threaded.map((t) => t.threads)).toEqual([2]);
    expect(Object.isFrozen(full.threading)).toBe(true);
    for (const opt of [small, many, js, full]) opt.dispose();
    expect(() => full.threading).toThrow(/disposed/);
  });

  it("100 threaded optimizers run on the process's one pool: no thread starts per optimizer", async () => {
    machineOverride.threads = 2;
    const osThreads = () => readdirSync("/proc/self/task").length;
    const one = await createRmsprop(4096, { momentum: 0.9 });
    const first = await createRmsprop(4096, { threads: 2, minParamsPerThread: 1, momentum: 0.9 });
    const before = osThreads();
    const workers = poolWorkers();
    expect(workers).toBeGreaterThanOrEqual(1);
    const opts = await Promise.all(Array.from({ length: 100 }, () => createRmsprop(4096, { threads: 2, minParamsPerThread: 1, momentum: 0.9 })));
    expect(poolWorkers()).toBe(workers);
    expect(osThreads()).toBeLessThanOrEqual(before + 1); // not 100 more (a runtime thread may come and go)
    // Each one steps on the pool with its own memory, bit for bit as one thread.
    for (const opt of [one, first, ...opts]) {
      opt.params.fill(1);
      opt.grads.fill(0.25);
      opt.step();
      opt.step();
    }
    for (const opt of [first, ...opts]) expect(opt.params).toEqual(one.params);
    expect(opts.every((opt) => opt.threads === 2)).toBe(true);
    for (const opt of [one, first, ...opts]) opt.dispose();
  });

  it("a disposed threaded optimizer that is still referenced holds none of its memory", async () => {
    const gc = collector();
    const opts = await Promise.all(Array.from({ length: 3 }, () => createRmsprop(100_000, { threads: 2, minParamsPerThread: 1 })));
    const buffers = opts.map((opt) => {
      opt.grads.fill(1);
      opt.step();
      return new WeakRef(opt.params.buffer);
    });
    for (const opt of opts) opt.dispose();
    await new Promise((r) => setTimeout(r, 0)); // WeakRefs hold their target to the end of the job
    gc();
    expect(buffers.map((b) => b.deref())).toEqual([undefined, undefined, undefined]);
    expect(opts.length).toBe(3); // still referenced
  });

  it("60 create/step/dispose cycles of n = 1e7 on 2 threads stay under 1 GiB of RSS without a forced collection", async () => {
    machineOverride.threads = 2;
    const before = process.memoryUsage().rss;
    let peak = before;
    for (let i = 0; i < 60; i++) {
      const opt = await createRmsprop(10_000_000, { threads: 2 });
      opt.grads.fill(0.5);
      opt.step();
      opt.dispose();
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    // Each optimizer is 120 MB: 60 kept would be 7.2 GB.
    expect(peak - before).toBeLessThan(2 ** 30);
  });

  it("dispose() frees at once beside a live threaded optimizer: 60 create/step/dispose cycles of n = 4e6 grow RSS by < 300 MiB", async () => {
    // The pool's workers sleep in Atomics.wait between steps, where their collector never
    // runs: each kept the kernel instance, and so the memory, of every optimizer it had
    // served until it collected (RSS grew by 12 MB a cycle at n = 1e6).
    machineOverride.threads = 2;
    const gc = collector();
    const live = await createRmsprop(100_000, { threads: 2, minParamsPerThread: 1 });
    live.grads.fill(1);
    live.step();
    gc();
    const before = process.memoryUsage().rss;
    let peak = before;
    for (let i = 0; i < 60; i++) {
      const opt = await createRmsprop(4_000_000, { threads: 2 });
      opt.grads.fill(0.5);
      opt.step();
      opt.dispose();
      gc();
      peak = Math.max(peak, process.memoryUsage().rss);
    }
    live.dispose();
    // Each optimizer is 48 MB: 60 kept would be 2.9 GB.
    expect((peak - before) / 2 ** 20).toBeLessThan(300);
  });

  it.each([
    ["node --no-harmony-sharedarraybuffer", ["--no-harmony-sharedarraybuffer"], ""],
    ["the global removed", [], "delete globalThis.SharedArrayBuffer;"],
  ])("without SharedArrayBuffer (%s), threads: 2 is refused naming it and \"auto\" runs one thread saying why", (_, flags, prelude) => {
    // Before: a V8 fatal check (the flag) or "worker 1 failed: TypeError" (the global).
    const program = `${prelude}
      const { createRmsprop } = await import(${JSON.stringify(resolve("dist/index.js"))});
      for (const threads of [2, "auto"]) {
        try {
          const opt = await createRmsprop(1e6, { threads });
          opt.grads.fill(1);
          opt.step();
          console.log(JSON.stringify({ threads: opt.threads, fallback: opt.threading.fallback }));
          opt.dispose();
        } catch (e) {
          console.log(JSON.stringify({ error: e.message }));
        }
      }`;
    const lines = execFileSync(process.execPath, [...flags, "--input-type=module", "-e", program], { encoding: "utf8" }).trim().split("\n");
    const [explicit, auto] = lines.map((line) => JSON.parse(line));
    expect(explicit.error).toMatch(/^options\.threads = 2 needs shared WebAssembly memory, but SharedArrayBuffer is not available here/);
    expect(auto).toEqual({ threads: 1, fallback: expect.stringMatching(/SharedArrayBuffer is not available here/) });
  });

  it("a failed shared-memory check is asked again, not remembered", () => {
    const Memory = WebAssembly.Memory;
    let calls = 0;
    (WebAssembly as { Memory: unknown }).Memory = function (descriptor: WebAssembly.MemoryDescriptor) {
      if (calls++ === 0) throw new RangeError("WebAssembly.Memory(): could not allocate memory");
      return new Memory(descriptor);
    };
    try {
      expect(sharedMemoryCheck()).toMatch(/cannot create a shared WebAssembly.Memory/);
      expect(sharedMemoryCheck()).toBeUndefined();
      expect(calls).toBe(2);
    } finally {
      (WebAssembly as { Memory: unknown }).Memory = Memory;
    }
  });

  it.each([1_000_000, 1_500_000, 12_000_000])("under an address-space limit (ulimit -v %i), creation throws a RangeError instead of aborting the process", (kib) => {
    // V8 reserves about 10 GiB of address space for a shared memory and some for each
    // isolate (a worker's code range is kept at 8 MB): the workers start, and the memory
    // is what does not fit.
    const program = `
      import { createRmsprop } from ${JSON.stringify(resolve("dist/index.js"))};
      try {
        const opt = await createRmsprop(1e6, { threads: 2 });
        console.log("created", opt.threads);
        opt.dispose();
      } catch (e) {
        console.log(e.name + ": " + e.message);
      }`;
    const output = execFileSync("bash", ["-c", `ulimit -v ${kib} && exec "$0" --input-type=module -e "$1"`, process.execPath, program], {
      encoding: "utf8",
    });
    expect(output).toMatch(/^(RangeError: n = 1000000 needs \d+ bytes of memory.*ulimit -v|created 2)/);
  });
});
