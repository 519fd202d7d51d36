// Launches Debian's Chromium through playwright-core: no browser download of its own.
// scripts/install-test-deps.sh installs it (npm test runs that first).
import { execFileSync } from "node:child_process";
import { chromium, type Browser } from "playwright-core";
import { drivenBrowser, type MatrixBrowser } from "./matrix.ts";

export function chromiumPath(): string {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  try {
    return execFileSync("sh", ["-c", "command -v chromium || command -v chromium-browser"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("Chromium is not installed: run `bash scripts/install-test-deps.sh` (Debian's chromium package)");
  }
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
