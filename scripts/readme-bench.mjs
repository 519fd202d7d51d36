// Rewrites the benchmark blocks of docs/benchmark.md (the short table with the run's summary
// lines, and the tfjs section) and the README's performance summary, each between its
// markers, and the full table and plot next to them, from the committed run
// bench/results/readme.json. So the docs always quote one real, full run, never hand-typed
// numbers. `npm run bench:readme` makes that run first; this script alone redraws from it
// (after a change to how the results are drawn).
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { readmeTable, resultsMarkdown, summaryTable } from "../bench/report.mjs";
import { summaryLines } from "../bench/targets.mjs";
import { throughputPlot } from "../bench/plot.mjs";
import { tfjsTable } from "../bench/tfjs.mjs";
import { patternsMarkdown, patternsTable } from "../bench/patterns.mjs";

const RUN = "bench/results/readme.json";
const PAGE = "docs/benchmark.md";

/**
 * What the committed run draws: the full results Markdown, the plot, and the text of each
 * marked block, by file and marker name.
 */
export function benchOutputs(run = JSON.parse(readFileSync(RUN, "utf8"))) {
  const { machine, rows, tfjs, patterns } = run;
  if (machine.quick || !machine.sections.includes("training loop") || !machine.sections.includes("sizes")) {
    throw new Error(`${RUN} is a --quick or partial run; the docs quote a full run (npm run bench:readme)`);
  }
  const summary = summaryLines(rows, machine.defaults);
  const tfjsLines = tfjs ? ["```text", tfjsTable(tfjs.rows), "", ...tfjs.summary, "```"] : [];
  // The same tfjs report bench/run.mjs appends, so the full table has every row of the run.
  const tfjsReport = tfjs ? `\n## tfjs adapter\n\n${tfjsLines.join("\n")}\n` : "";
  const patternsLines = patterns ? ["```text", patternsTable(patterns.rows), "", ...patterns.summary, "```"] : [];
  const headline = `Run of ${machine.date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}`;
  const pageBlock = [
    `${headline}, ${machine.seconds} s in all. Warm: back-to-back steps. Training loop: 64 MiB streamed ` +
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
    `${headline}. Milliseconds per step, and how many times faster than the plain JS loop a user would ` +
      "write (Float32Arrays, f64 arithmetic), as per-round medians. Warm: back-to-back steps; training " +
      "loop: 64 MiB streamed between steps, so the arrays come from DRAM.",
    "",
    summaryTable(rows),
  ].join("\n");
  return {
    resultsMarkdown: resultsMarkdown(rows, machine, summary) + tfjsReport + (patterns ? patternsMarkdown(patterns) : ""),
    plot: throughputPlot(rows, machine),
    blocks: [
      { file: PAGE, name: "bench", text: pageBlock },
      ...(tfjs ? [{ file: PAGE, name: "bench-tfjs", text: tfjsLines.join("\n") }] : []),
      ...(patterns ? [{ file: PAGE, name: "bench-patterns", text: patternsLines.join("\n") }] : []),
      { file: "README.md", name: "bench-summary", text: readmeBlock },
    ],
  };
}

/** The text between `<!-- NAME:start -->` and `<!-- NAME:end -->` in `text`, and where it is. */
export function markedBlock(text, name) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) throw new Error(`lacks the ${start} … ${end} markers`);
  return { from: i + start.length, to: j, text: text.slice(i + start.length, j).trim() };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const out = benchOutputs();
  writeFileSync("bench/results/readme.md", out.resultsMarkdown);
  writeFileSync("bench/results/readme.svg", out.plot);
  for (const { file, name, text } of out.blocks) {
    const current = readFileSync(file, "utf8");
    let at;
    try {
      at = markedBlock(current, name);
    } catch (error) {
      throw new Error(`${file} ${error.message}`);
    }
    writeFileSync(file, `${current.slice(0, at.from)}\n${text}\n${current.slice(at.to)}`);
  }
  console.log(`${PAGE}'s benchmark blocks, the README's summary, bench/results/readme.md and readme.svg: redrawn from ${RUN}`);
}
