// What a person sees on the demo page (examples/demo, npm run demo), at a phone's width and a
// desktop's, in Chromium: no failed request (the favicon included), no sideways scroll, every
// legend entry visible on its plot, tick labels on every axis. The screenshots are kept in
// test-results/ for a person to look at.
import { mkdirSync, writeFileSync } from "node:fs";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error: plain .mjs without types
import { serveDemo } from "../../scripts/serve-demo.mjs";
import { launchChromium } from "./chromium.ts";

let browser: Browser;
let server: { url: string; close(): Promise<void> };

beforeAll(async () => {
  [browser, server] = await Promise.all([launchChromium(), serveDemo({ port: 0, isolation: true })]);
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Which series of the bias plot is topmost at each of its own points, sampled along it. */
const topmostSeries = `(() => {
  const svg = document.getElementById("bias");
  svg.scrollIntoView(); // elementFromPoint sees only what is in the viewport
  const rect = svg.getBoundingClientRect();
  const box = { left: rect.left + svg.clientLeft, top: rect.top + svg.clientTop }; // inside the border
  const found = {};
  for (const el of svg.querySelectorAll("[data-series]")) {
    const series = el.dataset.series;
    let points;
    if (el.tagName === "polyline") points = el.getAttribute("points").split(" ").map((p) => p.split(",").map(Number));
    else if (el.tagName === "circle") points = [[Number(el.getAttribute("cx")), Number(el.getAttribute("cy")) - 2.5]];
    else points = [[Number(el.getAttribute("x1")) + 3, Number(el.getAttribute("y1"))]]; // inside the first dash
    for (const [x, y] of points) {
      const hit = document.elementFromPoint(box.left + x, box.top + y);
      if (hit?.dataset?.series === series) found[series] = true;
    }
  }
  return found;
})()`;

describe("the demo page, as a person sees it", () => {
  for (const width of [390, 1000]) {
    it(`at ${width} px: no failed request, no sideways scroll, every legend entry and tick label visible`, async () => {
      const page = await browser.newPage({ viewport: { width, height: 900 } });
      const failed: string[] = [];
      const errors: string[] = [];
      page.on("response", (r) => {
        if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
      });
      page.on("pageerror", (e) => errors.push(e.message));
      try {
        await page.goto(server.url);
        await page.waitForSelector("body[data-ready=true]", { timeout: 30_000 });
        // The icon the page names, and the /favicon.ico every browser asks an origin for.
        const icons = (await page.evaluate(`Promise.all([document.querySelector("link[rel=icon]").href, "/favicon.ico"].map((u) => fetch(u).then((r) => [r.status, r.headers.get("content-type")])))`)) as [number, string][];
        expect(icons).toEqual([[200, "image/svg+xml"], [200, "image/svg+xml"]]);
        expect(failed).toEqual([]);
        expect(errors).toEqual([]);

        const scroll = (await page.evaluate(`({ page: document.documentElement.scrollWidth, view: document.documentElement.clientWidth })`)) as { page: number; view: number };
        expect(scroll.page).toBeLessThanOrEqual(scroll.view);
        // Each plot fits the page's width.
        for (const id of ["paths", "bias"]) {
          const right = (await page.$eval(`#${id}`, (e) => e.getBoundingClientRect().right)) as number;
          expect(right).toBeLessThanOrEqual(width);
        }

        // Bias plot: the orange, blue and dashed reference series are each on top somewhere.
        expect(await page.evaluate(topmostSeries)).toEqual({ raw: true, corrected: true, reference: true });
        // Its three legend entries are shown.
        expect(await page.$$eval("#bias + .legend span", (s) => s.map((e) => e.textContent!.trim()))).toEqual([
          "St as the update sees it, no correction", "with biasCorrection", "E[g²] = 1",
        ]);

        // Tick labels: the SVG's are text elements on both axes; the canvas reports what it drew.
        const svgLabels = (await page.$$eval("#bias text", (t) => t.map((e) => e.textContent))) as string[];
        for (const label of ["1", "5", "10", "15", "20", "25", "30", "0", "0.25", "0.5", "0.75", "step t", "S"]) expect(svgLabels).toContain(label);
        const axes = (await page.evaluate("globalThis.demo.axes")) as Record<string, { x: number[]; y: number[] }>;
        expect(axes.paths).toEqual({ x: [-4, -3, -2, -1, 0, 1], y: [-2, -1, 0, 1, 2] });
        expect(axes.bias).toEqual({ x: [1, 5, 10, 15, 20, 25, 30], y: [0, 0.25, 0.5, 0.75, 1] });
        // The canvas's tick labels are really painted: dark text pixels under its x axis and left of its y axis.
        const inked = (await page.$eval("#paths", (c) => {
          const canvas = c as HTMLCanvasElement;
          const { data, width: w, height: h } = canvas.getContext("2d")!.getImageData(0, 0, canvas.width, canvas.height);
          const dpr = w / canvas.getBoundingClientRect().width;
          const dark = (x0: number, y0: number, x1: number, y1: number) => {
            let n = 0;
            for (let y = Math.floor(y0 * dpr); y < Math.min(h, y1 * dpr); y++) {
              for (let x = Math.floor(x0 * dpr); x < Math.min(w, x1 * dpr); x++) {
                const i = (y * w + x) * 4;
                if (data[i + 3] > 128 && data[i] < 120 && data[i + 1] < 120 && data[i + 2] < 120) n++;
              }
            }
            return n;
          };
          const cssW = w / dpr, cssH = h / dpr;
          return { under: dark(40, cssH - 18, cssW, cssH), left: dark(0, 0, 26, cssH - 24) };
        })) as { under: number; left: number };
        expect(inked.under).toBeGreaterThan(20);
        expect(inked.left).toBeGreaterThan(20);

        const png = await page.screenshot({ fullPage: true });
        mkdirSync("test-results", { recursive: true });
        writeFileSync(`test-results/demo-${width}.png`, png);
        expect(new DataView(png.buffer, png.byteOffset).getUint32(16)).toBe(width); // IHDR width: nothing wider than the view
      } finally {
        await page.close();
      }
    }, 90_000);
  }
});
