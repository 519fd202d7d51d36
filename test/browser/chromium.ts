// Launches Debian's Chromium through playwright-core: no browser download of its own.
// scripts/install-test-deps.sh installs it (npm test runs that first).
import { chromium, type Browser } from "playwright-core";
import { drivenBrowser, type MatrixBrowser } from "./matrix.ts";
import { systemBinary } from "./system-binary.ts";

export function chromiumPath(): string {
  return systemBinary(["chromium", "chromium-browser"], "chromium package", "CHROMIUM_PATH");
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    // As root in a sandboxless container, and quiet on a machine without a network.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Chromium as the engine matrix drives it. */
export async function chromiumMatrix(): Promise<MatrixBrowser> {
  const browser = await launchChromium();
  return drivenBrowser(`Chromium ${browser.version()}`, () => browser.newPage(), () => browser.close());
}
