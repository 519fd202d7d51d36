// The engine matrix in Firefox ESR (SpiderMonkey), driven by puppeteer-core over WebDriver BiDi.
import { launchFirefox } from "./firefox.ts";
import { awaitMatrix, describeBrowserMatrix, type PageRun } from "./matrix.ts";

describeBrowserMatrix("Firefox", async () => {
  const browser = await launchFirefox();
  const [product, version] = (await browser.version()).split("/"); // "firefox/153.7.0"
  return {
    version: `${product[0].toUpperCase()}${product.slice(1)} ${version}`,
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
