// Two worker threads placing optimizers on one shared memory: a placement that overlaps a
// live optimizer of another thread is refused (the claims in the memory, src/placements.ts),
// whichever thread placed it and whichever starts first; two that race for overlapping
// bytes never both succeed; and dispose() frees the bytes for the other thread.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Worker } from "node:worker_threads";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRmsprop } from "../src/index.ts";

const scratch = mkdtempSync(join(tmpdir(), "rmsprop-wasm-placement-"));
const script = join(scratch, "placer.mjs");

// A worker that places, steps and disposes one optimizer at a time on the memory it is given.
const source = `
import { parentPort, workerData } from "node:worker_threads";
import { createRmsprop } from ${JSON.stringify(resolve("src/index.ts"))};
const { memory } = workerData;
let opt;
parentPort.on("message", async (m) => {
  try {
    if (m.cmd === "create") {
      // A race: both workers wait for the same word, then place at once.
      if (m.go) while (Atomics.load(m.go, 0) === 0);
      opt = await createRmsprop(m.n, { memory, offset: m.offset });
      opt.params.fill(m.fill);
      parentPort.postMessage({ ok: true });
    } else if (m.cmd === "step") {
      for (let t = 0; t < m.times; t++) {
        opt.grads.set(opt.params);
        opt.step();
      }
      parentPort.postMessage({ ok: true, theta: opt.params[0] });
    } else if (m.cmd === "dispose") {
      opt?.dispose();
      opt = undefined;
      parentPort.postMessage({ ok: true });
    }
  } catch (e) {
    parentPort.postMessage({ error: e.message });
  }
});
`;

interface Reply {
  ok?: boolean;
  error?: string;
  theta?: number;
}

class Placer {
  readonly worker: Worker;
  constructor(memory: WebAssembly.Memory) {
    this.worker = new Worker(script, { workerData: { memory } });
  }
  ask(message: object): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.worker.once("message", resolve);
      this.worker.once("error", reject);
      this.worker.postMessage(message);
    });
  }
}

let memory: WebAssembly.Memory;
let a: Placer, b: Placer;

beforeAll(async () => {
  await build({ stdin: { contents: source, resolveDir: process.cwd(), loader: "js" }, bundle: true, platform: "node", format: "esm", outfile: script, logLevel: "silent" });
  memory = new WebAssembly.Memory({ initial: 4, maximum: 16, shared: true });
  [a, b] = [new Placer(memory), new Placer(memory)];
});

afterAll(async () => {
  await Promise.all([a?.worker.terminate(), b?.worker.terminate()]);
  rmSync(scratch, { recursive: true, force: true });
});

describe("optimizers placed by two threads on one shared memory", () => {
  it("the issue's case: the second placement on the same bytes is refused, and the first trains as if alone", async () => {
    expect(await a.ask({ cmd: "create", n: 1000, offset: 0, fill: 2 })).toEqual({ ok: true });
    const refused = await b.ask({ cmd: "create", n: 1000, offset: 0, fill: 5 });
    expect(refused.error).toMatch(/^options.offset 0: this optimizer needs bytes 0–\d+ of options.memory, but another live optimizer holds bytes 0–\d+ \(one placed by another thread on this shared memory\)/);
    const alone = await createRmsprop(1, { lr: 0.01 });
    alone.params[0] = 2;
    for (let t = 0; t < 200; t++) {
      alone.grads[0] = alone.params[0];
      alone.step();
    }
    expect((await a.ask({ cmd: "step", times: 200 })).theta).toBe(alone.params[0]);
    alone.dispose();
    expect(await a.ask({ cmd: "dispose" })).toEqual({ ok: true });
    expect(await b.ask({ cmd: "dispose" })).toEqual({ ok: true });
  });

  it("partial overlaps are refused from either side; dispose() frees the bytes for the other thread", async () => {
    expect(await a.ask({ cmd: "create", n: 1000, offset: 8192, fill: 1 })).toEqual({ ok: true });
    // Starts inside a's block; ends beyond it.
    expect((await b.ask({ cmd: "create", n: 1000, offset: 8192 + 4096, fill: 1 })).error).toMatch(/another live optimizer holds bytes 8192–/);
    // Starts before a's block and reaches into it.
    expect((await b.ask({ cmd: "create", n: 1000, offset: 4096, fill: 1 })).error).toMatch(/another live optimizer holds bytes 8192–/);
    // Clear of it, on either side.
    expect(await b.ask({ cmd: "create", n: 10, offset: 0, fill: 1 })).toEqual({ ok: true });
    expect(await b.ask({ cmd: "dispose" })).toEqual({ ok: true });
    expect(await b.ask({ cmd: "create", n: 1000, offset: 65536, fill: 1 })).toEqual({ ok: true });
    // This thread sees both, too.
    await expect(createRmsprop(100, { memory, offset: 65536 + 1024 })).rejects.toThrow(/another live optimizer holds bytes 65536–/);
    expect(await a.ask({ cmd: "dispose" })).toEqual({ ok: true });
    const here = await createRmsprop(1000, { memory, offset: 8192 });
    expect((await b.ask({ cmd: "dispose" })).ok).toBe(true);
    expect((await a.ask({ cmd: "create", n: 1000, offset: 8192 + 64, fill: 1 })).error).toMatch(/another live optimizer holds bytes 8192–/);
    here.dispose();
  });

  it("two placements racing for overlapping bytes never both succeed", async () => {
    let both = 0;
    let placed = 0;
    for (let round = 0; round < 40; round++) {
      const go = new Int32Array(new SharedArrayBuffer(4));
      const offsets = round % 2 ? [0, 0] : [0, 64 * (1 + (round % 7))];
      const replies = Promise.all([
        a.ask({ cmd: "create", n: 2000, offset: offsets[0], fill: 1, go }),
        b.ask({ cmd: "create", n: 2000, offset: offsets[1], fill: 1, go }),
      ]);
      Atomics.store(go, 0, 1);
      const [ra, rb] = await replies;
      if (ra.ok && rb.ok) both++;
      placed += Number(Boolean(ra.ok)) + Number(Boolean(rb.ok));
      for (const r of [ra, rb]) if (r.error) expect(r.error).toMatch(/another live optimizer holds bytes|changed while this optimizer claimed them|wrote this optimizer's claim/);
      await Promise.all([a.ask({ cmd: "dispose" }), b.ask({ cmd: "dispose" })]);
    }
    expect(both).toBe(0);
    expect(placed).toBeGreaterThan(0);
    // Every claim was released: the whole range is free again.
    const all = await createRmsprop(4000, { memory, offset: 0 });
    all.dispose();
  });

  it("data that merely looks like a claim does not block; a claim left by a thread that ended is freed by zeroing the bytes the error names", async () => {
    const mem = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
    const words = new Int32Array(mem.buffer);
    words.fill(0x4d4c4352); // the claim's magic everywhere, with no valid check word
    const opt = await createRmsprop(100, { memory: mem, offset: 1024 });
    opt.dispose();
    // A worker that ends without dispose() leaves its claim.
    const gone = new Placer(mem);
    expect(await gone.ask({ cmd: "create", n: 100, offset: 4096, fill: 1 })).toEqual({ ok: true });
    await gone.worker.terminate();
    const error = (await createRmsprop(100, { memory: mem, offset: 4096 }).catch((e: unknown) => e)) as Error;
    const [, from, to] = /lives in bytes (\d+)–(\d+): zero them/.exec(error.message)!;
    new Uint8Array(mem.buffer).fill(0, Number(from), Number(to) + 1);
    const again = await createRmsprop(100, { memory: mem, offset: 4096 });
    again.dispose();
  });
});
