// A consumer's entry, as a bundler sees it: the package by its name, then every case
// (threads: 2 included) on the page. globalThis.matrix settles to { page } or { failure }.
import { createRmsprop } from "rmsprop-wasm";
import { runScenarios } from "../scenarios.mjs";

globalThis.matrix = runScenarios(createRmsprop).then(
  (page) => ({ page }),
  (error) => ({ failure: String(error?.stack ?? error) }),
);
