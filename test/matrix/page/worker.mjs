// The module worker of page.mjs: the same scenarios, where a threaded step is synchronous.
import { createRmsprop } from "/dist/index.js";
import { runScenarios } from "../scenarios.mjs";

runScenarios(createRmsprop).then(
  (result) => postMessage(result),
  (error) => postMessage({ failure: String(error?.stack ?? error) }),
);
