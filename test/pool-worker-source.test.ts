// The pool worker's bundled text (src/generated/pool-worker.ts) is a build output: it must
// be the bundle of today's src/pool/worker.ts, or Node's workers would run yesterday's code.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bundleWorker, WORKER_MODULE, workerModule } from "../scripts/package-worker.mjs";

describe("the pool worker's bundled text", () => {
  it("is the bundle of the sources as they are (npm run build writes it)", async () => {
    const fresh = workerModule(await bundleWorker());
    expect(readFileSync(WORKER_MODULE, "utf8") === fresh, `${WORKER_MODULE} is stale: run npm run build`).toBe(true);
  });

  it("names no Node built-in a browser could not load, and imports nothing by name", async () => {
    const text = await bundleWorker();
    expect(text).not.toMatch(/\brequire\(/);
    expect(text).not.toMatch(/from\s*["']/);
  });
});
