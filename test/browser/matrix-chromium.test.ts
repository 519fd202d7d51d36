// The engine matrix in Chromium (V8), driven by playwright-core.
import { launchChromium } from "./chromium.ts";
import { awaitMatrix, describeBrowserMatrix, type PageRun } from "./matrix.ts";

describeBrowserMatrix("Chromium", async () => {
  const browser = await launchChromium();
  return {
    version: `Chromium ${browser.version()}`,
    async runMatrixPage(url) {
      const page = await browser.newPage();
      try {
        await page.goto(url);
        return (await page.evaluate(awaitMatrix)) as PageRun;
      } finally {
        await page.close();
      }
    },
    close: () => browser.close(),
  };
});
