// The engine matrix in Firefox ESR (SpiderMonkey), driven by puppeteer-core over WebDriver BiDi.
import { launchFirefox } from "./firefox.ts";
import { describeBrowserMatrix, drivenBrowser } from "./matrix.ts";

describeBrowserMatrix("Firefox", async () => {
  const browser = await launchFirefox();
  const [product, version] = (await browser.version()).split("/"); // "firefox/153.7.0"
  const name = `${product[0].toUpperCase()}${product.slice(1)} ${version}`;
  return drivenBrowser(name, () => browser.newPage(), () => browser.close());
});
