// npm run bench [-- options]        (npm run bench -- --help lists them)
//
// The default run answers "how fast is a step here, and against what I would use instead?"
// in about a minute: this package on 1 thread and on threads "auto", the plain JS loop and
// tfjs-backend-wasm at n = 1e5, 1e6 and 1e7, then one line per finding (answer.mjs). --full
// runs every section (plan.mjs), and --targets (npm run bench:targets) adds the maintainers'
// speed targets (targets.mjs). Every section runs its contenders in interleaved rounds, so
// each ratio compares runs made seconds apart under the same load.
//
// stdout is the report (at most 100 columns) or, with --json, one JSON document
// (document.mjs); stderr shows the progress in place, on a terminal only.
import { mkdirSync, writeFileSync } from "node:fs";
import { HELP, UsageError, parseArgs } from "./cli.mjs";
import { ANSWER_SIZES, answerReport, findings } from "./answer.mjs";
import { benchDocument, header, machineInfo, versions, watchOtherLoad } from "./document.mjs";
import { createProgress } from "./progress.mjs";

/** Prints a usage error the way a command-line tool does, and exits with 2. */
function usage(message) {
  process.stderr.write(`npm run bench: ${message}\nnpm run bench -- --help lists the options.\n`);
  process.exit(2);
}

let args;
try {
  args = parseArgs(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) usage(error.message);
  throw error;
}
if (args.help) {
  console.log(HELP);
  process.exit(0);
}

// Loaded only now: they load the package and tfjs, which --help and a usage error do not need.
const { createRmsprop, defaultOptions } = await import("rmsprop-wasm");
const { answerPlan, fullPlan } = await import("./plan.mjs");

/**
 * The user's sizes and options, checked by the package itself before anything is timed: an
 * optimizer of each n with them, disposed at once. Its message names the rule broken.
 */
async function checkWithPackage({ sizes, threads, options }) {
  for (const n of sizes) {
    try {
      (await createRmsprop(n, { ...options, threads })).dispose();
    } catch (error) {
      if (!(error instanceof RangeError || error instanceof TypeError)) throw error;
      // --threads was checked already (cli.mjs): anything else the package refuses is n or an option.
      usage(`${error.message.startsWith("n ") ? "--n" : "--options"}: ${error.message}`);
    }
  }
}

const machine = machineInfo();
const sizes = args.sizes ?? ANSWER_SIZES;
if (!args.full) await checkWithPackage({ sizes, threads: args.threads, options: args.options });

const sections = args.full ? fullPlan({ only: args.only }) : answerPlan({ sizes, threads: args.threads, options: args.options, cores: machine.cores });
const progress = createProgress(sections.flatMap((s) => s.units));
const started = Date.now();
const date = new Date(started).toISOString();
const otherLoad = watchOtherLoad();
const results = { rows: [] };
for (const section of sections) {
  const { rows = [], ...rest } = await section.run(progress);
  results.rows.push(...rows);
  Object.assign(results, rest);
  // The patterns section keeps a core busy on purpose: the reading stops before it.
  if (section.name !== "patterns") machine.otherCores = Math.round(otherLoad() * 100) / 100;
}
const sectionSeconds = progress.finish();

const run = {
  date,
  command: process.argv.slice(2),
  plan: args.full ? "full" : "default",
  sections: sections.map((s) => s.name),
  sizes: args.full ? ANSWER_SIZES : sizes,
  threads: args.threads,
  options: args.options,
  minParamsPerThread: args.options.minParamsPerThread ?? defaultOptions.minParamsPerThread,
  // What the targets' crossover line compares with, as this build had it.
  defaults: { minParamsPerThread: defaultOptions.minParamsPerThread },
  seconds: Math.round((Date.now() - started) / 1000),
  sectionSeconds,
};
const doc = benchDocument({
  machine,
  versions: versions(),
  run,
  rows: results.rows,
  findings: findings({ rows: results.rows, run, machine }),
  tfjs: results.tfjs,
  patterns: results.patterns,
});

const { detailReport, resultsMarkdown } = await import("./report.mjs");
const { throughputPlot } = await import("./plot.mjs");
const json = `${JSON.stringify(doc, null, 2)}\n`;
const report = [...(args.full ? detailReport(doc, { targets: args.targets }) : []), ...answerReport(doc)].join("\n");
const written = [];
const write = (file, text) => {
  writeFileSync(file, text);
  written.push(file);
};
if (args.jsonFile) write(args.jsonFile, json);
if (args.svg) write(args.svg, throughputPlot(doc.rows, header(doc)));
if (args.out) {
  const base = `bench/results/${args.out}`;
  mkdirSync("bench/results", { recursive: true });
  write(`${base}.json`, json);
  write(`${base}.md`, resultsMarkdown(doc, { targets: args.targets }));
  write(`${base}.svg`, throughputPlot(doc.rows, header(doc)));
}
if (args.json && !args.jsonFile) {
  process.stdout.write(json);
  if (written.length) process.stderr.write(`wrote ${written.join(", ")}\n`);
} else {
  console.log(report + (written.length ? `\nWrote ${written.join(", ")}.` : ""));
}
