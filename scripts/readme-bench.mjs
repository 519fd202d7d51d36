// Rewrites the benchmark blocks of docs/benchmark.md (the short table with the run's summary
// lines, and the tfjs section) and the README's performance summary, each between its
// markers, and the full table and plot next to them, from the committed run
// bench/results/readme.json. So the docs always quote one real, full run, never hand-typed
// numbers. `npm run bench:readme` makes that run first; this script alone redraws from it
// (after a change to how the results are drawn).
import { readFileSync, writeFileSync } from "node:fs";
import { readmeTable, resultsMarkdown, summaryTable } from "../bench/report.mjs";
import { summaryLines } from "../bench/targets.mjs";
import { throughputPlot } from "../bench/plot.mjs";
import { tfjsTable } from "../bench/tfjs.mjs";

const RUN = "bench/results/readme.json";
const PAGE = "docs/benchmark.md";

const { machine, rows, tfjs } = JSON.parse(readFileSync(RUN, "utf8"));
if (machine.quick || !machine.sections.includes("training loop") || !machine.sections.includes("sizes")) {
  throw new Error(`${RUN} is a --quick or partial run; the docs quote a full run (npm run bench:readme)`);
}
const summary = summaryLines(rows, machine.defaults);
const tfjsLines = tfjs ? ["```text", tfjsTable(tfjs.rows), "", ...tfjs.summary, "```"] : [];
// The same tfjs report bench/run.mjs appends, so the full table has every row of the run.
const tfjsReport = tfjs ? `\n## tfjs adapter\n\n${tfjsLines.join("\n")}\n` : "";
writeFileSync("bench/results/readme.md", resultsMarkdown(rows, machine, summary) + tfjsReport);
writeFileSync("bench/results/readme.svg", throughputPlot(rows, machine));

const run = `Run of ${machine.date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}`;
const pageBlock = [
  `${run}, ${machine.seconds} s in all. Warm: back-to-back steps. Training loop: 64 MiB streamed ` +
    "between steps. Shares of the ceiling and ratios are per-round medians. Every row and its spread: " +
    "[bench/results/readme.md](../bench/results/readme.md).",
  "",
  readmeTable(rows),
  "",
  "```text",
  ...summary.filter(Boolean),
  "```",
].join("\n");
const readmeBlock = [
  `${run}. Milliseconds per step, and how many times faster than the plain JS loop a user would ` +
    "write (Float32Arrays, f64 arithmetic), as per-round medians. Warm: back-to-back steps; training " +
    "loop: 64 MiB streamed between steps, so the arrays come from DRAM.",
  "",
  summaryTable(rows),
].join("\n");

/** Replaces what is between `<!-- NAME:start -->` and `<!-- NAME:end -->` in `file`. */
function rewrite(file, name, block) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const text = readFileSync(file, "utf8");
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`${file} lacks the ${start} … ${end} markers`);
  writeFileSync(file, `${text.slice(0, i + start.length)}\n${block}\n${text.slice(j)}`);
}

rewrite(PAGE, "bench", pageBlock);
if (tfjs) rewrite(PAGE, "bench-tfjs", tfjsLines.join("\n"));
rewrite("README.md", "bench-summary", readmeBlock);
console.log(`${PAGE}'s benchmark blocks, the README's summary, bench/results/readme.md and readme.svg: redrawn from ${RUN}`);
