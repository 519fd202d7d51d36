// The module worker of page.mjs: the same cases, where a threaded step is synchronous. It
// tells the page which optimizer it is creating, so that a hang says where.
import { createRmsprop } from "/dist/index.js";
import { runScenarios } from "../scenarios.mjs";

const tracked = (n, options) => {
  postMessage({ progress: `createRmsprop(${n}, ${JSON.stringify(options)})` });
  return createRmsprop(n, options);
};

runScenarios(tracked).then(
  (result) => postMessage(result),
  (error) => postMessage({ failure: String(error?.stack ?? error) }),
);
