// The matrix in a browser: every case on the page's main thread, then every case in a
// module Web Worker, from one page load. globalThis.matrix settles to { page, worker }, or
// to { failure } with the reason, so the driver of any browser reads one JSON value.
import { createRmsprop } from "/dist/index.js";
import { runScenarios } from "../scenarios.mjs";

function inModuleWorker() {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./worker.mjs", import.meta.url), { type: "module" });
    worker.onmessage = ({ data }) => {
      worker.terminate();
      if (data.failure) reject(new Error(data.failure));
      else resolve(data);
    };
    worker.onerror = (event) => reject(new Error(`the module worker failed to load: ${event.message ?? "no message"}`));
  });
}

globalThis.matrix = (async () => ({ page: await runScenarios(createRmsprop), worker: await inModuleWorker() }))().catch(
  (error) => ({ failure: String(error?.stack ?? error) }),
);
