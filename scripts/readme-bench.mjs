// Rewrites the benchmark blocks of docs/benchmark.md (the answer as `npm run bench` prints
// it, the short table with the run's summary lines, the targets, the tfjs and patterns
// sections) and the README's performance summary, each between its markers, and the full
// table and plot next to them, from the committed run bench/results/readme.json. So the
// docs always quote one real run of every section, never hand-typed numbers. `npm run
// bench:readme` makes that run first (`npm run bench -- --full --out readme`); this script
// alone redraws from it (after a change to how the results are drawn).
import { readFileSync, writeFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { readmeTable, resultsMarkdown, summaryOf, withTargets } from "../bench/report.mjs";
import { summaryLines } from "../bench/targets.mjs";
import { throughputPlot } from "../bench/plot.mjs";
import { tfjsTable } from "../bench/tfjs-table.mjs";
import { patternsSummary, patternsTable } from "../bench/patterns.mjs";
import { answerReport, findings, runLine, wrapIndented } from "../bench/answer.mjs";
import { header, parseDocument } from "../bench/document.mjs";

const RUN = "bench/results/readme.json";
const PAGE = "docs/benchmark.md";

/** Lines as a fenced text block. */
const fenced = (lines) => ["```text", ...lines, "```"].join("\n");

/**
 * What the committed run draws: the full results Markdown, the plot, and the text of each
 * marked block, by file and marker name.
 */
export function benchOutputs(saved = parseDocument(readFileSync(RUN, "utf8"), RUN)) {
  // The patterns' lines drawn again from their rows, as the kernel's targets are (summaryLines):
  // a change to how a line reads shows in the docs without a new run.
  const doc = saved.patterns ? { ...saved, patterns: { ...saved.patterns, summary: patternsSummary(saved.patterns.rows) } } : saved;
  const { run, rows, tfjs, patterns } = doc;
  if (run.plan !== "full" || !run.sections.includes("training loop") || !run.sections.includes("sizes")) {
    throw new Error(`${RUN} is not a run of every section; the docs quote one (npm run bench:readme)`);
  }
  const date = run.date.slice(0, 10);
  const machine = `${doc.machine.cpu} (${doc.machine.cores} cores), Node ${doc.versions.node}`;
  const targets = [
    ...summaryLines(rows, run.defaults),
    ...(tfjs?.summary ?? []),
    ...(patterns?.summary ?? []),
  ].filter((l) => l.startsWith("target:"));
  const pageBlock = [
    `Run of ${date} on ${machine}, ${run.seconds} s in all (\`npm run bench -- --full\`). Warm: ` +
      "back-to-back steps. Training loop: 64 MiB streamed between steps. Shares of the ceiling and ratios " +
      "are per-round medians. Every row and its spread: [bench/results/readme.md](../bench/results/readme.md).",
    "",
    readmeTable(rows),
    "",
    fenced(summaryOf(doc, false).filter(Boolean)),
  ].join("\n");
  // The answer as `npm run bench` prints it, from the same run's rows (its own footer says
  // how long a default run took; this run took the full suite's time).
  const answer = answerReport(doc, { footer: false });
  const said = findings(doc).map((f) => wrapIndented(`- ${f.text}`)).flat();
  const readmeBlock = fenced([runLine(doc), ...said]);
  return {
    resultsMarkdown: resultsMarkdown(doc, { targets: true }),
    plot: throughputPlot(rows, header(doc)),
    blocks: [
      { file: PAGE, name: "bench-answer", text: fenced(answer) },
      { file: PAGE, name: "bench", text: pageBlock },
      { file: PAGE, name: "bench-targets", text: fenced(targets) },
      ...(tfjs ? [{ file: PAGE, name: "bench-tfjs", text: fenced([tfjsTable(tfjs.rows), "", ...withTargets(tfjs.summary, false)]) }] : []),
      ...(patterns ? [{ file: PAGE, name: "bench-patterns", text: fenced([patternsTable(patterns.rows)]) }] : []),
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
