// The matrix in a browser: every case on the page's main thread, then every case in a
// module Web Worker, from one page load. globalThis.matrix settles to { page, worker }, or
// to { failure } with the reason, so the driver of any browser reads one JSON value.
import { createRmsprop } from "/dist/index.js";
import { runScenarios } from "../scenarios.mjs";

/** createRmsprop that first notes where the page has got to, for a failure to report. */
function tracked(where) {
  return (n, options) => {
    globalThis.matrixProgress = `${where}: createRmsprop(${n}, ${JSON.stringify(options)})`;
    return createRmsprop(n, options);
  };
}

function inModuleWorker() {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./worker.mjs", import.meta.url), { type: "module" });
    worker.onmessage = ({ data }) => {
      if (data.progress) {
        globalThis.matrixProgress = `the module worker: ${data.progress}`;
        return;
      }
      worker.terminate();
      if (data.failure) reject(new Error(data.failure));
      else resolve(data);
    };
    worker.onerror = (event) => reject(new Error(`the module worker failed to load: ${event.message ?? "no message"}`));
  });
}

globalThis.matrix = (async () => ({ page: await runScenarios(tracked("the page")), worker: await inModuleWorker() }))().catch(
  (error) => ({ failure: String(error?.stack ?? error) }),
);
