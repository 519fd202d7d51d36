// npm run bench [-- --quick]
//
// Runs every contender in one process, in interleaved rounds, so each ratio compares runs
// made seconds apart under the same machine load. Sections: sizes (1e4 … 3e7, with the
// traffic probe and the tfjs peers), the threads crossover, every kernel variant at 1e6,
// and parameter groups. Prints tables and the target checks, and writes to bench/results/:
// latest.json, latest.md (the README's table) and latest.svg (the plot).
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { Bench } from "tinybench";
import { BASELINE, groupContenders, sizeContenders, threadContenders, variantContenders } from "./contenders.mjs";
import { median, relativeMad } from "./stats.mjs";
import { markdownTable, printTable, summaryLines } from "./report.mjs";
import { throughputPlot } from "./plot.mjs";
import { tfjsSection, tfjsTable } from "./tfjs.mjs";

const quick = process.argv.includes("--quick");
const sizes = quick ? [1e4, 1e5, 1e6] : [1e4, 1e5, 1e6, 1e7, 3e7];
const threadSizes = quick ? [1e5, 3e5, 1e6] : [3e4, 1e5, 2e5, 3e5, 5e5, 1e6, 1e7];
const rounds = quick ? 2 : 3;
const timePerTaskMs = quick ? 100 : 250;

/** Measures a list of contenders over the same n; the ratio baseline is the plain JS loop. */
async function measure(section, n, list) {
  const samples = new Map(list.map((c) => [c.name, []]));
  const roundMedians = new Map(list.map((c) => [c.name, []]));
  for (let round = 0; round < rounds; round++) {
    // Alternate the order so no contender always runs first (warmest or coldest).
    const order = round % 2 ? [...list].reverse() : list;
    const bench = new Bench({ retainSamples: true, time: timePerTaskMs, iterations: 5, warmupTime: 20, warmupIterations: 2 });
    for (const c of order) bench.add(c.name, c.step, c.beforeAll ? { beforeAll: c.beforeAll } : {});
    await bench.run();
    for (const task of bench.tasks) {
      // concat, not push(...): a fast task yields more samples than a call takes arguments.
      samples.set(task.name, samples.get(task.name).concat(task.result.latency.samples));
      roundMedians.get(task.name).push(task.result.latency.p50);
    }
  }
  for (const c of list) c.dispose();
  const base = roundMedians.get(BASELINE);
  return list.map((c) => {
    const ms = median(samples.get(c.name));
    // The ratio is taken round by round (same minute, same load), then summarised.
    const ratios = roundMedians.get(c.name).map((t, r) => base[r] / t);
    return {
      section,
      name: c.name,
      n,
      medianMs: ms,
      spread: relativeMad(samples.get(c.name)),
      samples: samples.get(c.name).length,
      roundMs: roundMedians.get(c.name),
      paramsPerSec: n / (ms / 1000),
      gbPerSec: (n * c.bytesPerParam) / (ms / 1000) / 1e9,
      bytesPerParam: c.bytesPerParam,
      bytesHeld: c.bytesHeld,
      threads: c.threads,
      vsPlainJs: median(ratios),
      vsPlainJsRange: [Math.min(...ratios), Math.max(...ratios)],
    };
  });
}

const started = Date.now();
const rows = [];
for (const n of sizes) {
  console.log(`sizes: n = ${n.toExponential(0)} …`);
  rows.push(...(await measure("sizes", n, await sizeContenders(n))));
}
for (const n of threadSizes) {
  console.log(`threads: n = ${n.toExponential(0)} …`);
  rows.push(...(await measure("threads", n, await threadContenders(n))));
}
console.log("variants: n = 1e6 …");
rows.push(...(await measure("variants", 1e6, await variantContenders(1e6))));
console.log("groups …");
const grouped = await groupContenders(1000);
rows.push(...(await measure("groups", grouped.n, grouped.list)));
const tfjs = await tfjsSection({ quick });

const machine = {
  date: new Date().toISOString(),
  cpu: os.cpus()[0]?.model ?? "unknown",
  cores: os.cpus().length,
  node: process.version,
  platform: `${os.platform()} ${os.arch()}`,
  quick,
  seconds: Math.round((Date.now() - started) / 1000),
};
printTable(rows, machine);
const summary = summaryLines(rows);
for (const line of summary) console.log(line);
console.log(`\n${tfjsTable(tfjs.rows)}\n\n${tfjs.summary.join("\n")}`);
mkdirSync("bench/results", { recursive: true });
writeFileSync("bench/results/latest.json", JSON.stringify({ machine, rows }, null, 2) + "\n");
writeFileSync("bench/results/latest.md", markdownTable(rows, machine) + "\n" + summary.join("\n").trim() + "\n");
writeFileSync("bench/results/latest.svg", throughputPlot(rows, machine));
console.log("\nwrote bench/results/latest.json, latest.md and latest.svg");
