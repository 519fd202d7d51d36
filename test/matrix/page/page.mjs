// The matrix in a browser: every case in a module Web Worker, then every case on the page's
// main thread, from one page load. globalThis.matrix settles to { page, worker }, or
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

// The worker runs first: Firefox (ESR 153) may never start a worker's nested worker once
// workers have ended in the page, while a page's own workers start regardless.
globalThis.matrix = (async () => {
  const worker = await inModuleWorker();
  return { page: await runScenarios(tracked("the page")), worker };
})().catch(
  (error) => ({ failure: String(error?.stack ?? error) }),
);

// ?report=URL: the page also posts its result there, for a browser run without a driver.
const report = new URLSearchParams(location.search).get("report");
if (report) globalThis.matrix.then((result) => fetch(report, { method: "POST", body: JSON.stringify(result) }));
