// Rewrites the README's benchmark block (between the bench markers), and the table and plot
// next to it, from the committed run bench/results/readme.json, so the README always quotes
// one real, full run, never hand-typed numbers. `npm run bench:readme` makes that run
// first; this script alone redraws from it (after a change to how the results are drawn).
import { readFileSync, writeFileSync } from "node:fs";
import { readmeTable, resultsMarkdown } from "../bench/report.mjs";
import { summaryLines } from "../bench/targets.mjs";
import { throughputPlot } from "../bench/plot.mjs";

const RUN = "bench/results/readme.json";
const start = "<!-- bench:start -->";
const end = "<!-- bench:end -->";

const { machine, rows } = JSON.parse(readFileSync(RUN, "utf8"));
if (machine.quick || !machine.sections.includes("training loop") || !machine.sections.includes("sizes")) {
  throw new Error(`${RUN} is a --quick or partial run; the README quotes a full run (npm run bench:readme)`);
}
const summary = summaryLines(rows, machine.defaults);
writeFileSync("bench/results/readme.md", resultsMarkdown(rows, machine, summary));
writeFileSync("bench/results/readme.svg", throughputPlot(rows, machine));
const block = [
  `Run of ${machine.date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}, ` +
    `${machine.seconds} s in all. Warm: back-to-back steps. Training loop: 64 MiB streamed ` +
    "between steps. Shares of the ceiling and ratios are per-round medians. Every row and its spread: " +
    "[bench/results/readme.md](bench/results/readme.md).",
  "",
  readmeTable(rows),
  "",
  "```text",
  ...summary.filter(Boolean),
  "```",
].join("\n");

const readme = readFileSync("README.md", "utf8");
const i = readme.indexOf(start);
const j = readme.indexOf(end);
if (i < 0 || j < i) throw new Error(`README.md lacks the ${start} … ${end} markers`);
writeFileSync("README.md", `${readme.slice(0, i + start.length)}\n${block}\n${readme.slice(j)}`);
console.log(`README.md's benchmark block, bench/results/readme.md and readme.svg: redrawn from ${RUN}`);
