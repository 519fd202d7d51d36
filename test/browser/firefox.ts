// Launches Debian's Firefox ESR through puppeteer-core over WebDriver BiDi: no browser
// download of its own. scripts/install-test-deps.sh installs it (npm test runs that first).
import { execFileSync } from "node:child_process";
import puppeteer, { type Browser } from "puppeteer-core";

export function firefoxPath(): string {
  const fromEnv = process.env.FIREFOX_PATH;
  if (fromEnv) return fromEnv;
  try {
    return execFileSync("sh", ["-c", "command -v firefox-esr || command -v firefox"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("Firefox is not installed: run `bash scripts/install-test-deps.sh` (Debian's firefox-esr package)");
  }
}

export function launchFirefox(): Promise<Browser> {
  return puppeteer.launch({ browser: "firefox", executablePath: firefoxPath(), headless: true });
}
