// A consumer's entry, as a bundler sees it: the package by its name, then every case
// (threads: 2 included) on the page. globalThis.matrix settles to { page } or { failure }.
import { createRmsprop, schedules } from "rmsprop-wasm";
import { runScenarios, variants } from "../scenarios.mjs";

// The everything case holds schedules as plain objects, as JSON would give them. A bundle keeps
// the schedules' code for a program that uses `schedules` (src/schedule-support.ts), as one
// that schedules anything does: this one records the first learning rate it schedules.
globalThis.firstLr = schedules.valueAt(variants.everything.lr, 0);

globalThis.matrix = runScenarios(createRmsprop).then(
  (page) => ({ page }),
  (error) => ({ failure: String(error?.stack ?? error) }),
);
