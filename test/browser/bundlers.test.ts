// The package through the two bundlers a web app most likely uses: a consumer entry
// (test/matrix/bundle/) that imports "rmsprop-wasm" by name and runs every case, threads: 2
// included, built by esbuild and by Vite into a temporary folder, served cross-origin
// isolated, and run in Chromium. Both bundles give Node's bits. Both split the code, as a
// production build does: each kernel build is a chunk of its own, loaded when it runs.
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build as esbuild, version as esbuildVersion } from "esbuild";
import { build as vite, version as viteVersion } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain .mjs without types
import { serveDemo } from "../../scripts/serve-demo.mjs";
import { checkEnvironment } from "../matrix/compare.ts";
import { chromiumMatrix } from "./chromium.ts";
import { PAGE_TIMEOUT_MS, type MatrixBrowser } from "./matrix.ts";

const entry = resolve("test/matrix/bundle");
let out: string;
let browser: MatrixBrowser;
let server: { url: string; close(): Promise<void> };

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "rmsprop-wasm-bundles-"));
  const [esbuildOut, viteOut] = [join(out, "esbuild"), join(out, "vite")];
  await esbuild({
    entryPoints: [join(entry, "main.mjs")], bundle: true, splitting: true, format: "esm",
    outdir: esbuildOut, outExtension: { ".js": ".mjs" }, logLevel: "error",
  });
  copyFileSync(join(entry, "index.html"), join(esbuildOut, "index.html"));
  await vite({ configFile: false, root: entry, base: "./", logLevel: "error", build: { outDir: viteOut, emptyOutDir: true, target: "esnext" } });
  [browser, server] = await Promise.all([
    chromiumMatrix(),
    serveDemo({ port: 0, isolation: true, mounts: { "bundle/esbuild/": esbuildOut, "bundle/vite/": viteOut } }),
  ]);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

describe("bundled by esbuild and by Vite, in Chromium", () => {
  const versions: Record<string, string> = { esbuild: esbuildVersion, Vite: viteVersion };
  for (const bundler of ["esbuild", "Vite"]) {
    it(`${bundler}: the bundle imports rmsprop-wasm by name and gives Node's bits, on 2 threads too`, async () => {
      const run = await browser.runMatrixPage(`${server.url}bundle/${bundler.toLowerCase()}/`);
      if ("failure" in run) throw new Error(`the ${bundler} bundle failed: ${run.failure}`);
      expect(run.page.runtime.crossOriginIsolated).toBe(true);
      expect(await checkEnvironment("bundlers", `${bundler} ${versions[bundler]} bundle, Chromium page`, run.page, "promise", browser.version)).toEqual([]);
    }, PAGE_TIMEOUT_MS);
  }
});
