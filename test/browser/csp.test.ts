// Threads on a page with a strict Content-Security-Policy (script-src 'self'
// 'wasm-unsafe-eval'; worker-src 'self'), in real Chromium: the pool's workers start from the
// package's own module file, which such a page allows, and give the bits of one thread.
// Where that file is missing (a bundler that left it behind) the inline worker (a blob:
// URL) is what the policy refuses: threads: 2 is refused at creation naming the policy, and
// threads: "auto" runs on one thread and says why in opt.threading.fallback.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain .mjs without types
import { serveDemo } from "../../scripts/serve-demo.mjs";
import { launchChromium } from "./chromium.ts";

interface Server {
  url: string;
  close(): Promise<void>;
}

const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'";
const WORKER_FILE = "dist/pool/worker.js";

let browser: Browser;
let strict: Server;
let strictWithoutFile: Server;
let withoutFile: Server;

beforeAll(async () => {
  [browser, strict, strictWithoutFile, withoutFile] = await Promise.all([
    launchChromium(),
    serveDemo({ port: 0, csp: CSP }),
    serveDemo({ port: 0, csp: CSP, hidden: [WORKER_FILE] }),
    serveDemo({ port: 0, hidden: [WORKER_FILE] }),
  ]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  for (const server of [strict, strictWithoutFile, withoutFile]) await server?.close();
});

async function pageOn(server: Server): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${server.url}dist/index.js`);
  return page;
}

/**
 * In the page: an optimizer with `options` and one on 1 thread take 5 steps from the same
 * data; their threads, the fallback, whether the bits agree, or the creation's error.
 */
const run = (options: string) => `(async () => {
  const { createRmsprop } = await import(location.origin + "/dist/index.js");
  const n = 200000;
  let many;
  try {
    many = await createRmsprop(n, ${options});
  } catch (e) {
    return { error: String(e) };
  }
  const one = await createRmsprop(n);
  for (const opt of [one, many]) for (let i = 0; i < n; i++) opt.params[i] = Math.sin(i);
  for (let t = 0; t < 5; t++) {
    for (const opt of [one, many]) {
      for (let i = 0; i < n; i++) opt.grads[i] = Math.cos(i * (t + 1));
      await opt.step();
    }
  }
  const same = one.params.every((v, i) => Object.is(v, many.params[i]));
  const result = { threads: many.threads, fallback: many.threading.fallback ?? null, same, isolated: crossOriginIsolated };
  one.dispose();
  many.dispose();
  return result;
})()`;

describe("a strict Content-Security-Policy page, in Chromium", () => {
  it("runs threads: 2 from the package's module worker, bit for bit as 1 thread", async () => {
    const page = await pageOn(strict);
    expect(await page.evaluate(run("{ threads: 2, minParamsPerThread: 1 }"))).toEqual({ threads: 2, fallback: null, same: true, isolated: true });
    await page.close();
  });

  it("refuses threads: 2 at creation, naming the policy, when only the inline worker is left", async () => {
    const page = await pageOn(strictWithoutFile);
    const result = (await page.evaluate(run("{ threads: 2, minParamsPerThread: 1 }"))) as { error: string };
    expect(result.error).toMatch(/options\.threads = 2 needs worker threads, which could not start here: the module worker was not found at \S+dist\/pool\/worker\.js \(HTTP 404\)/);
    expect(result.error).toMatch(/the inline worker \(a blob: URL\) was refused: the page's Content-Security-Policy \(worker-src\) does not allow blob/);
    expect(result.error).not.toMatch(/undefined/);
    await page.close();
  });

  it('runs threads: "auto" on one thread there, and says why', async () => {
    const page = await pageOn(strictWithoutFile);
    const result = (await page.evaluate(run('{ threads: "auto", minParamsPerThread: 1 }'))) as { threads: number; fallback: string; same: boolean };
    expect(result.threads).toBe(1);
    expect(result.same).toBe(true);
    expect(result.fallback).toMatch(/worker threads could not start here: .*Content-Security-Policy/);
    await page.close();
  });

  it("without a policy, a page whose bundler left the worker file behind runs the inline worker", async () => {
    const page = await pageOn(withoutFile);
    expect(await page.evaluate(run("{ threads: 2, minParamsPerThread: 1 }"))).toEqual({ threads: 2, fallback: null, same: true, isolated: true });
    await page.close();
  });
});
