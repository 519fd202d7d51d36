// The package in real headless Chromium: in a page and in a Web Worker, bit for bit the
// same as in Node; threads under cross-origin isolation and a clear error without it; and
// the demo page, rendered and checked (table values, canvas pixels, a screenshot).
import { mkdirSync, writeFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain .mjs without types
import { serveDemo } from "../../scripts/serve-demo.mjs";
// @ts-expect-error: plain .mjs without types
import { workedExample } from "../../examples/worked-example.mjs";
import { launchChromium } from "./chromium.ts";

interface Server {
  url: string;
  close(): Promise<void>;
}

let browser: Browser;
let isolated: Server;
let plain: Server;

beforeAll(async () => {
  [browser, isolated, plain] = await Promise.all([
    launchChromium(),
    serveDemo({ port: 0, isolation: true }),
    serveDemo({ port: 0, isolation: false }),
  ]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await isolated?.close();
  await plain?.close();
});

/** A blank page on a server, with the package importable at /dist/index.js. */
async function blankPage(server: Server): Promise<Page> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // Any served page works as an origin; the demo's own script is not needed here.
  await page.goto(`${server.url}dist/index.js`);
  return page;
}

// Code run in the browser is passed as strings: vitest rewrites import() in functions.
const workedInPage = `
  const { createRmsprop } = await import(origin + "/dist/index.js");
  const opt = await createRmsprop(1, { lr: 0.1, beta: 0.9, eps: 1e-8 });
  opt.params[0] = 2;
  const bits = [];
  for (let t = 0; t < 5; t++) {
    opt.grads[0] = opt.params[0];
    opt.step();
    bits.push(new Uint32Array(opt.params.slice().buffer)[0], new Uint32Array(opt.state.sqAvg.slice().buffer)[0]);
  }
  return { bits, backend: opt.backend };
`;

/** The same run in Node, as f32 bit patterns. */
async function workedBitsInNode(): Promise<number[]> {
  const { rows } = (await workedExample()) as { rows: { next: number; sqAvg: number }[] };
  const bits = (x: number) => new Uint32Array(new Float32Array([x]).buffer)[0];
  return rows.flatMap((r) => [bits(r.next), bits(r.sqAvg)]);
}

describe("in Chromium", () => {
  it("loads in a page and computes the worked example bit for bit as Node does", async () => {
    const page = await blankPage(isolated);
    const result = await page.evaluate(`(async (origin) => { ${workedInPage} })(location.origin)`);
    expect(result).toEqual({ bits: await workedBitsInNode(), backend: "simd" });
    await page.close();
  });

  it("loads in a module Web Worker, where a threaded step is synchronous", async () => {
    const page = await blankPage(isolated);
    const result = await page.evaluate(`new Promise((resolve, reject) => {
      const source = \`
        self.onmessage = async () => {
          try {
            const origin = ORIGIN;
            const run = async () => { ${workedInPage} };
            const worked = await run();
            const { createRmsprop } = await import(origin + "/dist/index.js");
            const opt = await createRmsprop(1000, { threads: 2, minParamsPerThread: 1 });
            opt.grads.fill(1);
            const stepped = opt.step();
            const synced = opt.stepSync();
            self.postMessage({ worked, threads: opt.threads, sync: !(stepped instanceof Promise), applied: stepped.applied, stepSync: synced.stepCount });
          } catch (e) { self.postMessage({ error: String(e) }); }
        };\`;
      const url = URL.createObjectURL(new Blob([source.replace("ORIGIN", JSON.stringify(location.origin))], { type: "text/javascript" }));
      const worker = new Worker(url, { type: "module" });
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(new Error(e.message));
      worker.postMessage("go");
    })`);
    expect(result).toEqual({ worked: { bits: await workedBitsInNode(), backend: "simd" }, threads: 2, sync: true, applied: true, stepSync: 2 });
    await page.close();
  });

  it("runs 2 threads on a cross-origin isolated page: a Promise on the main thread, the same bits as 1 thread", async () => {
    const page = await blankPage(isolated);
    const result = await page.evaluate(`(async () => {
      const { createRmsprop } = await import(location.origin + "/dist/index.js");
      const n = 300000;
      const one = await createRmsprop(n, {});
      const two = await createRmsprop(n, { threads: 2 });
      for (const opt of [one, two]) {
        for (let i = 0; i < n; i++) {
          opt.params[i] = Math.sin(i);
          opt.grads[i] = Math.cos(i * 0.37);
        }
      }
      // stepSync() cannot block here: it refuses before touching anything.
      let stepSync = "no error";
      try { two.stepSync(); } catch (e) { stepSync = e.message; }
      const pending = two.step();
      const isPromise = pending instanceof Promise;
      if (two.threads !== 2) throw new Error("expected 2 threads, got " + two.threads);
      await pending;
      await two.step();
      one.step();
      one.stepSync(); // one thread: synchronous on the main thread too
      const a = new Uint32Array(one.params.slice().buffer), b = new Uint32Array(two.params.slice().buffer);
      let differ = 0;
      for (let i = 0; i < n; i++) differ += Number(a[i] !== b[i]);
      // While a step is still running, save/load/dispose refuse rather than race it.
      const saved = two.save();
      const running = two.step();
      const refusals = [];
      for (const use of [() => two.dispose(), () => two.load(saved), () => two.save(), () => two.step()]) {
        try { use(); refusals.push("no error"); } catch (e) { refusals.push(e.message); }
      }
      await running;
      const stepCount = two.stepCount;
      two.dispose();
      return { isolated: crossOriginIsolated, threads: 2, isPromise, stepSync, differ, stepCount, refusals };
    })()`);
    expect(result).toEqual({
      isolated: true,
      threads: 2,
      isPromise: true,
      stepSync:
        "stepSync(): a browser window's main thread cannot block while the worker threads step; use `await opt.step()` there, or run the optimizer in a Web Worker",
      differ: 0,
      stepCount: 3,
      refusals: [
        "dispose(): a step is still running; await it first",
        "load(bytes): a step is still running; await it first",
        "save(): a step is still running; await it first",
        "step(): a step is still running; await it first",
      ],
    });
    await page.close();
  });

  it("a main-thread step reads grads as they were at step(): writes before its Promise settles are neither applied nor unchecked", async () => {
    const page = await blankPage(isolated);
    const result = await page.evaluate(`(async () => {
      const { createRmsprop } = await import(location.origin + "/dist/index.js");
      // Large shares, and workers kept awake to claim them: the caller then awaits a share in
      // flight at each barrier, and the page's tasks run in between.
      const n = 1 << 22;
      const one = await createRmsprop(n, {});
      const two = await createRmsprop(n, { threads: 2, threadSpinMs: 50 });
      const fill = (opt, t) => { for (let i = 0; i < n; i++) opt.grads[i] = Math.cos(i * 0.37 + t); };
      for (const opt of [one, two]) { for (let i = 0; i < n; i++) opt.params[i] = Math.sin(i); fill(opt, 0); }
      const refusals = [];
      let differ = 0;
      for (let t = 0; t < 6; t++) {
        const pending = two.step();
        // A microtask and a task: they run while the step awaits its workers.
        queueMicrotask(() => { two.grads[0] = NaN; });
        setTimeout(() => { two.grads[n - 1] = Infinity; }, 0);
        await pending;
        one.step();
        const a = new Uint32Array(one.params.slice().buffer), b = new Uint32Array(two.params.slice().buffer);
        const s = new Uint32Array(one.state.sqAvg.slice().buffer), u = new Uint32Array(two.state.sqAvg.slice().buffer);
        for (let i = 0; i < n; i++) differ += Number(a[i] !== b[i] || s[i] !== u[i]);
        await new Promise((resolve) => setTimeout(resolve, 0)); // the task has run
        try { await two.step(); refusals.push("applied"); } catch (e) { refusals.push(e.message.slice(0, 41)); }
        fill(one, t + 1);
        fill(two, t + 1);
      }
      const stepCount = two.stepCount;
      one.dispose();
      two.dispose();
      return { threads: 2, differ, stepCount, refusals: [...new Set(refusals)] };
    })()`);
    expect(result).toEqual({ threads: 2, differ: 0, stepCount: 6, refusals: ["grads[0] is NaN; the step was not applied"] });
    await page.close();
  });

  it("without cross-origin isolation, threads fail with an error that names the headers", async () => {
    const page = await blankPage(plain);
    const result = (await page.evaluate(`(async () => {
      const { createRmsprop } = await import(location.origin + "/dist/index.js");
      const error = await createRmsprop(300000, { threads: 2 }).then(() => "no error", (e) => e.message);
      const single = await createRmsprop(10, {});
      single.grads.fill(1);
      return { isolated: crossOriginIsolated, error, singleWorks: single.step().applied };
    })()`)) as { isolated: boolean; error: string; singleWorks: boolean };
    expect(result.isolated).toBe(false);
    expect(result.error).toMatch(/options.threads = 2 needs shared WebAssembly memory/);
    expect(result.error).toMatch(/Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp|cannot create a shared WebAssembly.Memory/);
    expect(result.singleWorks).toBe(true);
    await page.close();
  });

  it("renders the demo: the corrected table, both paths, the bias curves, a throughput run", async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1400 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(isolated.url);
    await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
    // The table, against values computed here in f64.
    const cells = await page.$$eval("#worked tbody tr", (rows) => rows.map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent)));
    let theta = 2, S = 0;
    cells.forEach((row, t) => {
      const g = theta;
      S = 0.9 * S + 0.1 * g * g;
      const next = theta - (0.1 / Math.sqrt(S + 1e-8)) * g;
      expect(row.slice(0, 5)).toEqual([String(t), theta.toFixed(6), g.toFixed(6), S.toFixed(6), next.toFixed(6)]);
      theta = next;
    });
    expect(cells[1][4]).toBe("1.473875");
    expect(await page.$$eval("#worked td.wrong", (c) => c.length)).toBe(4); // the text's θ₂ … θ₅
    // Both paths are drawn: count the blue (RMSProp) and orange (GD) pixels on the canvas.
    const colours = await page.$eval("#paths", (canvas) => {
      const { data } = (canvas as HTMLCanvasElement).getContext("2d")!.getImageData(0, 0, 560, 320);
      let blue = 0, orange = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i] < 60 && data[i + 2] > 180) blue++;
        if (data[i] > 200 && data[i + 1] > 60 && data[i + 1] < 120 && data[i + 2] < 40) orange++;
      }
      return { blue, orange };
    });
    expect(colours.blue).toBeGreaterThan(300);
    expect(colours.orange).toBeGreaterThan(300);
    expect(await page.textContent("#pathSummary")).toMatch(/y changed sign \d+× for gradient descent/);
    // The bias curves: the corrected S seen by the update is 1 from the first step.
    const bias = (await page.evaluate("globalThis.demo.bias")) as { raw: number[]; corrected: number[] };
    expect(bias.raw[0]).toBeCloseTo(0.1, 3);
    expect(bias.corrected[0]).toBeCloseTo(1, 3);
    expect(bias.raw[29]).toBeCloseTo(1 - 0.9 ** 30, 3);
    // A throughput run with the progress bar.
    await page.selectOption("#n", "100000");
    await page.click("#run");
    await page.waitForFunction(() => /M params\/s/.test(document.getElementById("speed")!.textContent ?? ""), null, { timeout: 60_000 });
    expect(await page.$eval("#progress", (p) => (p as HTMLProgressElement).value)).toBe(1);
    // The screenshot: a real PNG of the whole page, kept for a person to look at.
    const png = await page.screenshot({ fullPage: true });
    mkdirSync("test-results", { recursive: true });
    writeFileSync("test-results/demo.png", png);
    expect(png.subarray(1, 4).toString()).toBe("PNG");
    const view = new DataView(png.buffer, png.byteOffset);
    expect(view.getUint32(16)).toBe(1000); // IHDR width
    expect(view.getUint32(20)).toBeGreaterThan(1000); // the full page's height
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);
});
