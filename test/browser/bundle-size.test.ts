// Item "load only the build in use" (docs/bundle-size.md): a consumer that runs SIMD on one
// thread, bundled by esbuild with code splitting, loads one kernel build and stays within
// 72 KB minified with today's kernel (docs/bundle-size.md says why: 65 KB before stateBits); a synthetic SIMD kernel of about 90 KB that
// compresses worse grows only the page's kernel chunk. Chromium then runs the bundle and is
// seen to request exactly those files.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain .mjs without types
import { measureBundle, syntheticSimdWasm } from "../../scripts/bundle-size.mjs";
// @ts-expect-error: plain .mjs without types
import { serveDemo } from "../../scripts/serve-demo.mjs";
import { createRmsprop } from "../../src/index.ts";
import { launchChromium } from "./chromium.ts";

interface Measured {
  files: { file: string; bytes: number; build: string | null; loaded: boolean }[];
  page: { bytes: number; builds: string[] };
  entry: string;
}

const TARGET_BYTES = 72_000;

describe("a SIMD, one-thread page loads only the SIMD build", () => {
  it("esbuild splits every build into a chunk of its own; the page's files are within 72 KB", async () => {
    const m = (await measureBundle({ minify: true })) as Measured;
    expect(m.files.filter((f) => f.build).map((f) => f.build).sort()).toEqual(["scalar", "scalar-shared", "simd", "simd-shared"]);
    expect(m.page.builds).toEqual(["simd"]);
    expect(m.page.bytes).toBeLessThanOrEqual(TARGET_BYTES);
  });

  it("a synthetic SIMD kernel of about 90 KB grows only the page's kernel chunk", async () => {
    const wasm = syntheticSimdWasm() as Uint8Array;
    expect(wasm.length).toBeGreaterThan(88_000);
    const real = (await measureBundle({ minify: true })) as Measured;
    const m = (await measureBundle({ minify: true, simdWasm: wasm })) as Measured;
    expect(m.page.builds).toEqual(["simd"]);
    const simdChunk = (x: Measured) => x.files.find((f) => f.build === "simd")!.bytes;
    expect(simdChunk(m)).toBeGreaterThan(simdChunk(real));
    expect(m.page.bytes - real.page.bytes).toBe(simdChunk(m) - simdChunk(real));
  }, 120_000);

  describe("in Chromium", () => {
    let out: string;
    let browser: Browser;
    let server: { url: string; close(): Promise<void> };
    let measured: Measured;

    beforeAll(async () => {
      out = mkdtempSync(join(tmpdir(), "rmsprop-wasm-split-"));
      measured = (await measureBundle({ minify: true, keepIn: out })) as Measured;
      writeFileSync(join(out, "index.html"), `<!doctype html><meta charset="utf-8"><script type="module" src="./${measured.entry}"></script>`);
      [browser, server] = await Promise.all([launchChromium(), serveDemo({ port: 0, isolation: false, mounts: { "split/": out } })]);
    }, 90_000);

    afterAll(async () => {
      await browser?.close();
      await server?.close();
      if (out) rmSync(out, { recursive: true, force: true });
    });

    it("the page requests the entry and the SIMD chunk, no other build, and steps as Node does", async () => {
      const page = await browser.newPage();
      const requested: string[] = [];
      page.on("request", (r) => requested.push(new URL(r.url()).pathname.replace("/split/", "")));
      try {
        await page.goto(`${server.url}split/`);
        const result = (await page.evaluate(`(async () => {
          while (globalThis.rmspropResult === undefined) await new Promise((wait) => setTimeout(wait, 20));
          return globalThis.rmspropResult;
        })()`)) as { backend: string; first: number };
        const expected = await createRmsprop(1024, { backend: "js" });
        expected.grads.fill(1);
        expected.step();
        expect(result).toEqual({ backend: "simd", first: expected.params[0] });
        const loaded = measured.files.filter((f) => f.loaded).map((f) => f.file);
        expect(requested.filter((path) => path !== "favicon.ico").sort()).toEqual(["", ...loaded].sort());
      } finally {
        await page.close();
      }
    }, 60_000);
  });
});
