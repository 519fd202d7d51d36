// Debian's Firefox ESR for the engine matrix, run headless on a fresh profile with no
// driver at all: the matrix page posts its result to a small collector here. Driven over
// WebDriver BiDi (puppeteer-core), Firefox 153 now and then never starts a module worker's
// nested worker, so a threaded optimizer in a worker hangs; without the driver it does not.
// scripts/install-test-deps.sh installs Firefox (npm test runs that first).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PAGE_TIMEOUT_MS, type MatrixBrowser, type PageRun } from "./matrix.ts";
import { systemBinary } from "./system-binary.ts";

export function firefoxPath(): string {
  return systemBinary(["firefox-esr", "firefox"], "firefox-esr package", "FIREFOX_PATH");
}

/** Firefox as the engine matrix drives it: one headless Firefox per page load. */
export async function firefoxMatrix(): Promise<MatrixBrowser> {
  const binary = firefoxPath();
  const version = execFileSync(binary, ["--version"], { encoding: "utf8" }).trim().replace(/^Mozilla /, ""); // "Firefox 153.7.0esr"
  const waiting = new Map<string, (body: string) => void>();
  const collector = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      res.writeHead(204, { "access-control-allow-origin": "*" }).end();
      waiting.get(req.url ?? "")?.(body);
    });
  });
  await new Promise<void>((listening) => collector.listen(0, "127.0.0.1", listening));
  const { port } = collector.address() as { port: number };
  let runs = 0;
  return {
    version,
    async runMatrixPage(url) {
      const path = `/report/${++runs}`;
      const reported = new Promise<string>((resolve) => waiting.set(path, resolve));
      const profile = mkdtempSync(join(tmpdir(), "rmsprop-wasm-firefox-"));
      const page = `${url}?report=${encodeURIComponent(`http://127.0.0.1:${port}${path}`)}`;
      const firefox = spawn(binary, ["--headless", "--no-remote", "--profile", profile, page], { stdio: "ignore" });
      const exited = new Promise<string>((resolve) => firefox.once("exit", (code) => resolve(JSON.stringify({ failure: `Firefox exited (${code}) before the page reported` }))));
      const late = new Promise<string>((resolve) =>
        setTimeout(() => resolve(JSON.stringify({ failure: "the page did not report in time" })), PAGE_TIMEOUT_MS - 15_000).unref(),
      );
      try {
        return JSON.parse(await Promise.race([reported, exited, late])) as PageRun;
      } finally {
        waiting.delete(path);
        firefox.kill();
        await exited;
        rmSync(profile, { recursive: true, force: true });
      }
    },
    close: () => new Promise<void>((closed) => collector.close(() => closed())),
  };
}
