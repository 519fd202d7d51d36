// The engine matrix in a browser, the same for each one: the page test/matrix/page/ runs
// every case on the main thread and in a module worker, from one load, once on a
// cross-origin isolated server and once on a plain one. The browser is started once per file.
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain .mjs without types
import { serveDemo } from "../../scripts/serve-demo.mjs";
import { checkEnvironment, type MatrixResult, type ThreadsExpected } from "../matrix/compare.ts";

/** What a matrix page's globalThis.matrix settles to (a bundle's page runs no worker). */
export type PageRun = { page: MatrixResult; worker?: MatrixResult } | { failure: string };

/** The little a test needs from a browser, whichever protocol drives it. */
export interface MatrixBrowser {
  /** The browser's own name and version, e.g. "Firefox 153.7.0". */
  readonly version: string;
  /** Opens `url`, waits for the matrix page to finish, and returns what it reported. */
  runMatrixPage(url: string): Promise<PageRun>;
  close(): Promise<void>;
}

/** What a playwright page offers that the matrix uses. */
interface DrivenPage {
  goto(url: string): Promise<unknown>;
  evaluate(expression: string): Promise<unknown>;
  close(): Promise<void>;
}

/** A MatrixBrowser over a browser that playwright drives: one page per run. */
export function drivenBrowser(version: string, newPage: () => Promise<DrivenPage>, close: () => Promise<void>): MatrixBrowser {
  return {
    version,
    async runMatrixPage(url) {
      const page = await newPage();
      try {
        await page.goto(url);
        return (await page.evaluate(awaitMatrix)) as PageRun;
      } finally {
        await page.close();
      }
    },
    close,
  };
}

interface Server {
  url: string;
  close(): Promise<void>;
}

/** How long one page load of the whole matrix (page and worker) may take. */
export const PAGE_TIMEOUT_MS = 120_000;

/**
 * In a page, the expression that waits for the matrix and returns it; if it takes too long,
 * a failure that says where the page had got to (globalThis.matrixProgress).
 */
export const awaitMatrix = `(async () => {
  const until = Date.now() + ${PAGE_TIMEOUT_MS - 15_000};
  const late = () => ({ failure: "timed out; the page had got to: " + (globalThis.matrixProgress ?? "its start") });
  while (globalThis.matrix === undefined) {
    if (Date.now() > until) return late();
    await new Promise((wait) => setTimeout(wait, 20));
  }
  return Promise.race([globalThis.matrix, new Promise((settle) => setTimeout(() => settle(late()), until - Date.now()))]);
})()`;

/** The page's results, or the page's own failure as the test's error. */
export function completed(run: PageRun): { page: MatrixResult; worker: MatrixResult } {
  if ("failure" in run) throw new Error(`the matrix page failed: ${run.failure}`);
  if (!run.worker) throw new Error("the matrix page reported no worker results");
  return { page: run.page, worker: run.worker };
}

/**
 * Defines the browser's two tests, with its own launch and servers. Threads are expected
 * on an isolated page wherever the engine can send shared memory to a worker; elsewhere
 * threads: 2 is refused with an error that says why, and one thread gives the same bits.
 */
export function describeBrowserMatrix(name: string, launch: () => Promise<MatrixBrowser>, { sharedMemory = true } = {}): void {
  const file = name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  let browser: MatrixBrowser;
  let isolated: Server;
  let plain: Server;
  const mounts = { "test/": resolve("test") }; // the matrix page and the PRNG it imports
  const check = async (where: string, got: MatrixResult, threads: ThreadsExpected) =>
    checkEnvironment(file, `${name}, ${where}`, got, threads, browser.version);

  describe(`the matrix in ${name}`, () => {
    beforeAll(async () => {
      [browser, isolated, plain] = await Promise.all([
        launch(),
        serveDemo({ port: 0, isolation: true, mounts }),
        serveDemo({ port: 0, isolation: false, mounts }),
      ]);
    }, 90_000);

    afterAll(async () => {
      await browser?.close();
      await isolated?.close();
      await plain?.close();
    });

    const isolatedTitle = sharedMemory
      ? "a cross-origin isolated page and its module worker give Node's bits, on 2 threads too"
      : "a cross-origin isolated page and its module worker: Node's bits on one thread; threads: 2 says the engine cannot share memory";
    it(isolatedTitle, async () => {
      const { page, worker } = completed(await browser.runMatrixPage(`${isolated.url}test/matrix/page/`));
      expect([page.runtime.crossOriginIsolated, worker.runtime.crossOriginIsolated]).toEqual([true, true]);
      expect([page.runtime.scope, worker.runtime.scope]).toEqual(["window", "worker"]);
      // On the window a threaded step is a Promise; in the worker it blocks, as in Node.
      expect(await check("page, isolated", page, sharedMemory ? "promise" : "no-shared-memory")).toEqual([]);
      expect(await check("module worker, isolated", worker, sharedMemory ? "sync" : "no-shared-memory")).toEqual([]);
    }, PAGE_TIMEOUT_MS);

    it("without COOP/COEP, one thread gives Node's bits and threads: 2 names the two headers", async () => {
      const { page, worker } = completed(await browser.runMatrixPage(`${plain.url}test/matrix/page/`));
      expect([page.runtime.crossOriginIsolated, worker.runtime.crossOriginIsolated]).toEqual([false, false]);
      expect(await check("page, not isolated", page, "no-isolation")).toEqual([]);
      expect(await check("module worker, not isolated", worker, "no-isolation")).toEqual([]);
    }, PAGE_TIMEOUT_MS);
  });
}
