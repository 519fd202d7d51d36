// Formats benchmark rows: the console table, the full Markdown table (bench/results/) and
// the short tables of docs/benchmark.md and the README.
import { groupCeilings } from "./shares.mjs";
import { summaryLines } from "./targets.mjs";
import { tfjsTable } from "./tfjs-table.mjs";
import { patternsMarkdown, patternsTable } from "./patterns.mjs";
import { header } from "./document.mjs";
import { BASELINE, IGNORE_2, SCALAR, SIMD, SIMD_2, SIMD_2_HOT, TFJS_WASM, TRAINING, WARM } from "./names.mjs";

export const fmt = {
  // 5e4, 1e6, 3e7: one significant digit reads best; other n (a sum of tensor sizes) in full.
  n: (n) => (n >= 1e4 && Number(n.toExponential(0)) === n ? n.toExponential(0).replace("e+", "e") : String(n)),
  ms: (x) => (x < 1 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(0)),
  rate: (x) => `${(x / 1e6).toFixed(0)} M/s`,
  gb: (x) => x.toFixed(2),
  spread: (x) => `±${(x * 100).toFixed(0)}%`,
  pct: (x) => `${(x * 100).toFixed(0)}%`,
  ratio: (x) => `${x.toFixed(2)}×`,
  threads: (k) => `${k} thread${k > 1 ? "s" : ""}`,
};

const or = (value, format) => (value === undefined ? "" : format(value));
const range = ([lo, hi], format) => `${format(lo)}–${format(hi)}`;

const columns = [
  ["section", (r) => r.section],
  ["n", (r) => fmt.n(r.n)],
  ["implementation", (r) => r.name],
  ["threads", (r) => String(r.threads)],
  ["ms/step", (r) => fmt.ms(r.msPerStep)],
  ["spread", (r) => fmt.spread(r.spread)],
  ["params/s", (r) => fmt.rate(r.paramsPerSec)],
  ["GB/s", (r) => (r.bytesPerParam ? fmt.gb(r.gbPerSec) : "")],
  ["of ceiling", (r) => or(r.ceilingShare, fmt.pct)],
  ["ceiling range", (r) => or(r.ceilingShareRange, (x) => range(x, fmt.pct))],
  ["vs plain JS", (r) => or(r.vsPlainJs, fmt.ratio)],
  ["ratio range", (r) => or(r.vsPlainJsRange, (x) => range(x, fmt.ratio))],
  ["vs tfjs-wasm", (r) => or(r.vsTfjsWasm, fmt.ratio)],
];
// Left-aligned text columns; the rest are numbers.
const TEXT_COLUMNS = 3;

function runLine(machine) {
  return `${machine.date.slice(0, 10)} · ${machine.cpu} · ${machine.cores} cores · Node ${machine.node}${machine.quick ? " · --quick" : ""}`;
}

const LEGEND =
  "ms/step: median (± median absolute deviation); for the compute probe, what a step of n would " +
  "take at its rate. Ratios and shares of the ceiling are taken " +
  "per round, then the median (and range over rounds). Ceiling for k threads: min(k × the compute " +
  "probe, the k-thread traffic probe).";

/** The width the console output keeps to. */
export const CONSOLE_COLUMNS = 120;

/** `text` broken at spaces into lines of at most `width` characters. */
export function wrap(text, width = CONSOLE_COLUMNS) {
  const lines = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return [...lines, line].join("\n");
}

// The console's table: section and n head each group, the ranges and the tfjs column stay
// in bench/results/NAME.md, and the short headers are explained once under the legend.
const consoleColumns = [
  ["implementation", (r) => r.name],
  ["thr", (r) => String(r.threads)],
  ["ms/step", (r) => fmt.ms(r.msPerStep)],
  ["±", (r) => fmt.spread(r.spread).slice(1)],
  ["params/s", (r) => fmt.rate(r.paramsPerSec)],
  ["GB/s", (r) => (r.bytesPerParam ? fmt.gb(r.gbPerSec) : "")],
  ["ceiling", (r) => or(r.ceilingShare, fmt.pct)],
  ["vs JS", (r) => or(r.vsPlainJs, fmt.ratio)],
  ["vs tfjs", (r) => or(r.vsTfjsWasm, fmt.ratio)],
];
const CONSOLE_HEADERS =
  "thr: threads that ran · ±: spread · ceiling: share of the ceiling · vs JS: against the plain JS loop · " +
  "vs tfjs: against tfjs-backend-wasm. Every column and the ranges: bench/results/NAME.md.";

/** The console table's lines, each at most CONSOLE_COLUMNS wide (a long name is cut with "…"). */
export function consoleTable(rows, machine) {
  const out = [runLine(machine), wrap(LEGEND), wrap(CONSOLE_HEADERS), ""];
  const header = consoleColumns.map(([h]) => h);
  const body = rows.map((r) => consoleColumns.map(([, cell]) => cell(r)));
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const rest = widths.slice(1).reduce((a, w) => a + w + 2, 0);
  widths[0] = Math.min(widths[0], CONSOLE_COLUMNS - rest);
  const fit = (x, w) => (x.length > w ? x.slice(0, w - 1) + "…" : x);
  const line = (c) => c.map((x, i) => (i === 0 ? fit(x, widths[i]).padEnd(widths[i]) : x.padStart(widths[i]))).join("  ").trimEnd();
  out.push(line(header), widths.map((w) => "-".repeat(w)).join("  "));
  rows.forEach((r, i) => {
    if (i === 0 || r.n !== rows[i - 1].n || r.section !== rows[i - 1].section) out.push(`${i ? "\n" : ""}${r.section} · n = ${fmt.n(r.n)}`);
    out.push(line(body[i]));
  });
  return out.join("\n");
}

export function printTable(rows, machine) {
  console.log(`\n${consoleTable(rows, machine)}`);
}

function markdown(header, body, textColumns) {
  const align = header.map((_, i) => (i < textColumns ? "---" : "---:"));
  return [`| ${header.join(" | ")} |`, `| ${align.join(" | ")} |`, ...body.map((c) => `| ${c.join(" | ")} |`)].join("\n");
}

/** Every row as a Markdown table. */
function fullTable(rows, machine) {
  const body = rows.map((r) => columns.map(([, cell]) => cell(r)));
  return `Run of ${runLine(machine)}. ${LEGEND}\n\n${markdown(columns.map(([h]) => h), body, TEXT_COLUMNS)}\n`;
}

/** Summary lines without the maintainers' target verdicts, unless `targets`. */
export const withTargets = (lines, targets) => (targets ? lines : lines.filter((l) => !l.startsWith("target:")));

/** The summary lines of a full run's rows: the crossover, the ceilings, the costs, and the targets if asked. */
export function summaryOf(doc, targets) {
  return withTargets(summaryLines(doc.rows, doc.run.defaults), targets);
}

/**
 * What bench/results/NAME.md holds: every row, the summary lines, and the tfjs and patterns
 * sections' tables and lines (each with its targets if `targets`).
 */
export function resultsMarkdown(doc, { targets = false } = {}) {
  const { tfjs, patterns } = doc;
  const tfjsReport = tfjs ? `\n## tfjs adapter\n\n\`\`\`text\n${tfjsTable(tfjs.rows)}\n\n${withTargets(tfjs.summary, targets).join("\n")}\n\`\`\`\n` : "";
  const patternsReport = patterns ? patternsMarkdown({ rows: patterns.rows, summary: withTargets(patterns.summary, targets) }) : "";
  return `${fullTable(doc.rows, header(doc))}\n${summaryOf(doc, targets).join("\n").trim()}\n${tfjsReport}${patternsReport}`;
}

/**
 * What --full prints before the answer: every row under its section and n, the summary
 * lines, the tfjs section and the patterns section (the targets only with --targets).
 */
export function detailReport(doc, { targets = false } = {}) {
  const { tfjs, patterns } = doc;
  const lines = (list) => withTargets(list, targets).map((l) => wrap(l));
  return [
    ...(doc.rows.length ? [consoleTable(doc.rows, header(doc)), ...lines(summaryLines(doc.rows, doc.run.defaults))] : []),
    ...(tfjs ? ["", "tfjs adapter: rmsprop-wasm/tfjs against tf.train.rmsprop, a dense model of 1,001,000 parameters", "", tfjsTable(tfjs.rows), "", ...lines(tfjs.summary)] : []),
    ...(patterns ? ["", "Threads in every pattern: the time of threads: 2 over threads: 1", "", patternsTable(patterns.rows), "", ...lines(patterns.summary)] : []),
    "",
    "",
  ];
}

/** The contenders docs/benchmark.md's short table shows, in its order. */
const BENCH_PAGE_CONTENDERS = [SIMD, SIMD_2, SIMD_2_HOT, IGNORE_2, SCALAR, TFJS_WASM, BASELINE];
/** The contenders of the README's performance summary: the default on 1 and 2 threads, tfjs, plain JS. */
const SUMMARY_CONTENDERS = [SIMD, SIMD_2, TFJS_WASM, BASELINE];
const SHORT_SIZES = [1e6, 1e7];

/**
 * The short table of docs/benchmark.md: at 1e6 and 1e7, the ceilings, then each contender
 * warm (back-to-back steps) and in the training loop: ms/step, share of the ceiling, ratio
 * to plain JS.
 */
export function readmeTable(rows) {
  return shortTable(rows, BENCH_PAGE_CONTENDERS, true);
}

/** The README's summary: the same columns without the ceilings, for the contenders a user compares. */
export function summaryTable(rows) {
  return shortTable(rows, SUMMARY_CONTENDERS, false);
}

function shortTable(rows, contenders, ceilings) {
  const at = (section, n) => rows.filter((r) => r.section === section && r.n === n);
  const header = ceilings
    ? ["n", "implementation", "threads", "warm ms/step", "of ceiling", "vs plain JS", "training loop ms/step", "of ceiling", "vs plain JS"]
    : ["n", "implementation", "threads", "warm ms/step", "vs plain JS", "training loop ms/step", "vs plain JS"];
  const body = [];
  for (const n of SHORT_SIZES) {
    const warm = at(WARM, n);
    const trained = at(TRAINING, n);
    if (!warm.length) continue;
    if (ceilings) {
      const warmCeilings = groupCeilings(warm);
      const trainedCeilings = groupCeilings(trained);
      for (const threads of [1, 2]) {
        const w = warmCeilings.find((c) => c.threads === threads);
        const t = trainedCeilings.find((c) => c.threads === threads);
        const cells = (c) => (c ? [fmt.ms((n / c.perSec) * 1000), `${c.bound}-bound`, ""] : ["—", "", ""]);
        body.push([fmt.n(n), `**ceiling**, ${fmt.threads(threads)}`, String(threads), ...cells(w), ...cells(t)]);
      }
    }
    for (const name of contenders) {
      const w = warm.find((r) => r.name === name);
      const t = trained.find((r) => r.name === name);
      if (!w && !t) continue;
      const ratio = (r) => or(r.vsPlainJs, (x) => `**${fmt.ratio(x)}**`);
      const cells = ceilings
        ? (r) => (r ? [fmt.ms(r.msPerStep), or(r.ceilingShare, fmt.pct), ratio(r)] : ["—", "", ""])
        : (r) => (r ? [fmt.ms(r.msPerStep), ratio(r)] : ["—", ""]);
      body.push([fmt.n(n), name, String((w ?? t).threads), ...cells(w), ...cells(t)]);
    }
  }
  return markdown(header, body, 2);
}
