// npm run bench:quantization [-- error|speed|model|parity …] [--quick]
//
// The measurements behind docs/quantization.md: the code maps' error against an f64 model
// (error), the 8-bit step's speed against the f32 step's (speed: warm, from DRAM, on two
// threads, and in a training loop through the optimizer on two threads), the model of the
// step on many threads built on what this machine measures (model), and training from the
// same start with f32 and 8-bit state (parity, which also redraws
// docs/quantization-parity.svg). Markdown tables on stdout; everything as JSON in
// bench/results/quantization.json.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { centeredRows, errorRows, printCentered, printError } from "./error.mjs";
import { parityRows, printParity } from "./parity.mjs";
import { parityPlot } from "./plot.mjs";
import { blockRows, printSpeed, speedRows } from "./speed.mjs";
import { modelRows, printModel } from "./model.mjs";
import { printThreads, threadRows } from "./threads.mjs";
import { printTraining, trainingRows } from "./training.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const quick = process.argv.includes("--quick");
const asked = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const want = (part) => asked.length === 0 || asked.includes(part);
const results = { date: new Date().toISOString(), node: process.version, quick };

if (want("error")) {
  results.error = errorRows({ quick });
  results.centered = centeredRows({ quick });
  printError(results.error);
  printCentered(results.centered);
}
if (want("speed")) {
  results.speed = await speedRows();
  results.blocks = blockRows();
  results.threads = await threadRows();
  results.training = await trainingRows({ iterations: quick ? 10 : 40 });
  console.log();
  printSpeed(results.speed, results.blocks);
  printThreads(results.threads);
  printTraining(results.training);
}
if (want("model")) {
  results.model = await modelRows(results.speed ?? (await speedRows({ dram: false })));
  printModel(results.model);
}
if (want("parity")) {
  results.parity = await parityRows();
  printParity(results.parity);
  if (!quick) writeFileSync(join(root, "docs", "quantization-parity.svg"), parityPlot(results.parity));
}
mkdirSync(join(root, "bench", "results"), { recursive: true });
writeFileSync(join(root, "bench", "results", "quantization.json"), JSON.stringify(results, null, 1));
