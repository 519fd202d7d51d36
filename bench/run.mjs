// npm run bench [-- --quick] [-- --only training,threads] [-- --out NAME]
//
// Runs every contender in one process, section by section, each n in interleaved rounds
// so that every ratio compares runs made seconds apart under the same machine load:
//   sizes          back-to-back steps (a warm cache), 1e4 … 3e7, with the ceiling's probes
//   threads        1 against 2 forced threads, for the crossover
//   variants       every kernel variant at 1e6, each against its own plain JS loop
//   groups         1,000 tensors in 2 groups against one flat step
//   training loop  a 64 MiB scratch streamed between steps, as a forward and backward pass do
//   recipe         clipping, an EMA, against the default step and the same recipe in JS and tfjs
//   patterns       2 threads against 1 in every way a program steps, quiet and with a core busy
// Shows progress on stderr (section, elapsed, an estimate of what is left), prints the
// tables (120 columns wide) and the target checks on stdout, and writes bench/results/NAME.json, .md and .svg
// (NAME is "latest", which git ignores; `npm run bench:readme` writes "readme").
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import { defaultOptions } from "rmsprop-wasm";
import { RECIPE, recipeContenders } from "./recipe.mjs";
import { groupContenders, sizeContenders, threadContenders, trainingContenders, variantContenders } from "./contenders.mjs";
import { measure } from "./measure.mjs";
import { createProgress } from "./progress.mjs";
import { fmt, printTable, resultsMarkdown } from "./report.mjs";
import { summaryLines } from "./targets.mjs";
import { throughputPlot } from "./plot.mjs";
import { tfjsSection, tfjsTable } from "./tfjs.mjs";
import { patternsMarkdown, patternsSection, patternsUnits } from "./patterns.mjs";

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const quick = args.includes("--quick");
const only = option("--only", undefined)?.split(",");
const out = option("--out", "latest");

// Back-to-back steps: tinybench runs each task for `time` ms, at least `iterations` times.
const warm = { rounds: quick ? 2 : 3, time: quick ? 100 : 250, iterations: 5, warmupTime: 20, warmupIterations: 2 };
// Each training-loop sample also streams 64 MiB (a few ms, outside the timing), so the
// samples are counted, not timed; fewer where one step alone takes tens of ms.
const trainingSamples = quick ? { 1e5: 10, 1e6: 8 } : { 1e5: 30, 1e6: 20, 1e7: 8 };
const training = (n) => ({ rounds: quick ? 2 : 3, time: 1, iterations: trainingSamples[n], warmupTime: 1, warmupIterations: 2 });

/** A section that measures `contenders(n)` at each n of `sizes`. */
function overSizes(name, sizes, contenders, settings) {
  return {
    name,
    units: sizes.length,
    run: async (progress) => {
      const rows = [];
      for (const n of sizes) {
        progress.unit(name, `n = ${fmt.n(n)}`);
        rows.push(...(await measure(name, n, await contenders(n), typeof settings === "function" ? settings(n) : settings)));
      }
      return rows;
    },
  };
}

const sections = [
  overSizes("sizes", quick ? [1e4, 1e5, 1e6] : [1e4, 1e5, 1e6, 1e7, 3e7], sizeContenders, warm),
  overSizes("threads", quick ? [1e4, 5e4, 1e6] : [5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7], threadContenders, warm),
  overSizes("variants", [1e6], variantContenders, warm),
  {
    name: "groups",
    units: 1,
    run: async (progress) => {
      progress.unit("groups", "1,000 tensors in 2 groups");
      const grouped = await groupContenders(1000);
      return measure("groups", grouped.n, grouped.list, warm);
    },
  },
  overSizes("training loop", Object.keys(trainingSamples).map(Number), trainingContenders, training),
  overSizes(RECIPE, quick ? [1e6] : [1e6, 1e7], recipeContenders, (n) => (n >= 1e7 ? { ...warm, time: quick ? 200 : 500 } : warm)),
];
/** rmsprop-wasm/tfjs against tf.train.rmsprop: its own table, ratios to tfjs, not plain JS. */
const tfjsAdapter = {
  name: "tfjs",
  units: 2,
  run: (progress) => tfjsSection({ quick, onBackend: (backend) => progress.unit("tfjs", `tfjs-backend-${backend}`) }),
};

/** 2 threads against 1 in every pattern, under each load: its own table, ratios to 1 thread. */
const patternsStudy = {
  name: "patterns",
  units: patternsUnits(quick),
  run: (progress) => patternsSection({ quick, onUnit: (load, n) => progress.unit("patterns", `${load}, n = ${fmt.n(n)}`) }),
};

/** Seconds per section of the last run made the same way, for the progress estimate. */
function previousSeconds() {
  try {
    const last = JSON.parse(readFileSync(`bench/results/${out}.json`, "utf8")).machine;
    return last.quick === quick && last.sectionSeconds ? last.sectionSeconds : {};
  } catch {
    return {};
  }
}

const started = Date.now();
const chosen = sections.filter((section) => !only || only.some((word) => section.name.startsWith(word)));
const withTfjs = !only || only.includes(tfjsAdapter.name);
const withPatterns = !only || only.includes(patternsStudy.name);
const extra = [...(withTfjs ? [tfjsAdapter] : []), ...(withPatterns ? [patternsStudy] : [])];
const progress = createProgress([...chosen, ...extra].map((s) => ({ section: s.name, units: s.units })), {
  previous: previousSeconds(),
});
const rows = [];
for (const section of chosen) rows.push(...(await section.run(progress)));
const tfjs = withTfjs ? await tfjsAdapter.run(progress) : undefined;
const patterns = withPatterns ? await patternsStudy.run(progress) : undefined;
const sectionSeconds = progress.finish();

const machine = {
  date: new Date().toISOString(),
  cpu: os.cpus()[0]?.model ?? "unknown",
  cores: os.cpus().length,
  node: process.version,
  platform: `${os.platform()} ${os.arch()}`,
  quick,
  sections: only ?? [...sections, tfjsAdapter, patternsStudy].map((s) => s.name),
  // What the summary compares the crossover with, as this build had it.
  defaults: { minParamsPerThread: defaultOptions.minParamsPerThread },
  seconds: Math.round((Date.now() - started) / 1000),
  sectionSeconds,
};
printTable(rows, machine);
const summary = summaryLines(rows, machine.defaults);
for (const line of summary) console.log(line);
const tfjsReport = tfjs ? `\n## tfjs adapter\n\n\`\`\`\n${tfjsTable(tfjs.rows)}\n\`\`\`\n\n${tfjs.summary.join("\n")}\n` : "";
console.log(tfjsReport);
const patternsReport = patterns ? patternsMarkdown(patterns) : "";
console.log(patternsReport);
const base = `bench/results/${out}`;
mkdirSync("bench/results", { recursive: true });
writeFileSync(`${base}.json`, JSON.stringify({ machine, rows, tfjs, patterns }, null, 2) + "\n");
writeFileSync(`${base}.md`, resultsMarkdown(rows, machine, summary) + tfjsReport + patternsReport);
writeFileSync(`${base}.svg`, throughputPlot(rows, machine));
console.log(`\nwrote ${base}.json, .md and .svg`);
