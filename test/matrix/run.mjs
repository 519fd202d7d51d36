// The matrix as a module file: imports the package by its name and prints the results as
// JSON. Node runs it, and so do Deno and Bun, unchanged.
import { createRmsprop } from "rmsprop-wasm";
import { runScenarios } from "./scenarios.mjs";

console.log(JSON.stringify(await runScenarios(createRmsprop)));
