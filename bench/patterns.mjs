// npm run bench:patterns [-- --quick] [-- --load quiet|busy]   (also a section of npm run bench)
//
// Never slower than one thread: `threads: 2` against `threads: 1` in every pattern a
// program steps in, each with the default threadSpinMs and with 20 ms, at several n:
//   back-to-back     steps in a loop (the workers stay awake)
//   alternate 1      two optimizers taking turns, one step each
//   alternate 8      two optimizers taking turns in batches of 8 (a GAN's generator and
//                    discriminator): each batch may find its workers asleep
//   busy gap         a 1 ms busy loop between steps, as a forward and backward pass
//   training loop    1–50 ms of JavaScript that streams a scratch between steps, at n =
//                    1e5 and 8e5 (bench/training-loop-pattern.mjs), with its own targets
// under two loads: a quiet machine, and one core kept busy by another process (a child
// `node` in an endless loop). Interleaved rounds: each round times both thread counts (in
// alternating order) over the same steps, so a ratio compares runs made a moment apart
// under the same load. Only the time inside step() is counted. One row per case: the
// median per-step time of each, the threads the 2-thread optimizer runs (fewer for a small
// n: minParamsPerThread), and the median and range of the per-round ratios (threads 2 /
// threads 1). Targets: ≤ 1.10 on a quiet machine, ≤ 1.25 with one core busy.
import { spawn } from "node:child_process";
import { pathToFileURL } from "node:url";
import { createRmsprop } from "rmsprop-wasm";
import { textTable } from "./text-table.mjs";
import { trainingLoopRows } from "./training-loop-pattern.mjs";
import { median } from "./stats.mjs";

export const LOADS = { quiet: 1.1, busy: 1.25 };
const LOAD_NAMES = { quiet: "quiet", busy: "one core busy" };

/** Busy for `ms` (a forward pass stand-in that keeps this core busy). */
function busy(ms) {
  for (const end = performance.now() + ms; performance.now() < end; );
}

const PATTERNS = {
  "back-to-back": (a, _b, steps) => timed(() => { for (let i = 0; i < steps; i++) a.step(); }, steps),
  "alternate 1": (a, b, steps) => alternate(a, b, steps, 1),
  "alternate 8": (a, b, steps) => alternate(a, b, steps, 8),
  "busy gap": (a, _b, steps) => {
    let ms = 0;
    for (let i = 0; i < steps; i++) {
      busy(1);
      const t = performance.now();
      a.step();
      ms += performance.now() - t;
    }
    return ms / steps;
  },
};

function timed(run, steps) {
  const t = performance.now();
  run();
  return (performance.now() - t) / steps;
}

/** a and b take turns in batches of `batch`; the per-step time of a and b together. */
function alternate(a, b, steps, batch) {
  let ms = 0;
  for (let i = 0; i < steps; i += batch) {
    for (const opt of [a, b]) {
      const t = performance.now();
      for (let k = 0; k < batch; k++) opt.step();
      ms += performance.now() - t;
    }
  }
  return ms / (2 * Math.ceil(steps / batch) * batch);
}

async function pair(n, threads, threadSpinMs) {
  const make = async () => {
    const opt = await createRmsprop(n, { threads, threadSpinMs, nonFinite: "skip" });
    opt.grads.fill(0.5);
    return opt;
  };
  return [await make(), await make()];
}

/** Another process that keeps one core busy until the returned function stops it. */
async function busyCore() {
  const child = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
  const stop = () => child.kill();
  process.once("exit", stop);
  await new Promise((resolve) => setTimeout(resolve, 200)); // running before the first round
  return () => {
    stop();
    process.off("exit", stop);
  };
}

/** The rows of one load: every pattern, spin and n. */
async function measureLoad(load, { sizes, rounds, onUnit, training }) {
  const rows = [];
  const stopBusy = load === "busy" ? await busyCore() : () => {};
  try {
    for (const n of sizes) {
      onUnit(load, n);
      // About 40 ms of stepping per measurement, at least 16 steps.
      const steps = Math.max(16, Math.round(40e3 / (n / 1e3)));
      for (const threadSpinMs of [undefined, 20]) {
        const one = await pair(n, 1, threadSpinMs);
        const two = await pair(n, 2, threadSpinMs);
        for (const [pattern, run] of Object.entries(PATTERNS)) {
          run(...one, 4); // warm the JIT and the thread choice
          run(...two, 4);
          const times = [[], []];
          const ratios = [];
          for (let r = 0; r < rounds; r++) {
            const order = r % 2 ? [1, 0] : [0, 1];
            const got = [];
            for (const k of order) got[k] = run(...[one, two][k], steps);
            times[0].push(got[0]);
            times[1].push(got[1]);
            ratios.push(got[1] / got[0]);
          }
          rows.push({
            load,
            pattern,
            spin: threadSpinMs ?? 0.2,
            n,
            threads: two[0].threads,
            oneUs: 1e3 * median(times[0]),
            twoUs: 1e3 * median(times[1]),
            ratio: median(ratios),
            ratioRange: [Math.min(...ratios), Math.max(...ratios)],
          });
        }
        for (const opt of [...one, ...two]) opt.dispose();
      }
    }
    onUnit(load, "training loop");
    rows.push(...(await trainingLoopRows(load, training)));
  } finally {
    stopBusy();
  }
  return rows;
}

/** The target lines: the worst median ratio of each load against its bound. */
export function patternsSummary(rows) {
  const lines = [];
  for (const [load, bound] of Object.entries(LOADS)) {
    const mine = rows.filter((r) => r.load === load);
    if (mine.length === 0) continue;
    const worst = mine.reduce((a, b) => (b.ratio > a.ratio ? b : a));
    const where = `${worst.pattern}, threadSpinMs ${worst.spin}, n = ${worst.n.toExponential(0)}`;
    const met = worst.ratio <= bound;
    // Where both optimizers run one thread (a small n), a ratio is the machine's noise alone.
    const same = mine.filter((r) => r.threads === 1).map((r) => Math.max(r.ratio, 1 / r.ratio));
    const noise = same.length ? `two 1-thread optimizers differed by up to ${Math.max(...same).toFixed(2)}× in this load` : "no 1-thread pair to compare";
    lines.push(
      `target: threads: 2 at most ${bound.toFixed(2)}× the time of threads: 1 in every pattern (${LOAD_NAMES[load]}): ` +
        `worst ${worst.ratio.toFixed(2)}× (${where}) — ${met ? "met" : `MISSED; bound: noise: ${noise}`}`,
    );
  }
  lines.push(...speedTargets(rows.filter((r) => r.load === "quiet")));
  return lines;
}

/**
 * Where threads must pay, on a quiet machine: in a training loop (every gap) at most 1.03×
 * one thread's time at n = 1e5 and 0.70× at 8e5; two optimizers taking single steps in
 * turn at 1e7 at least 1.6× one thread (the time at most 1 / 1.6).
 */
export const SPEED_TARGETS = [
  { what: "in a training loop at n = 1e5 (every gap)", match: (r) => r.pattern.startsWith("training loop") && r.n === 1e5, bound: 1.03 },
  { what: "in a training loop at n = 8e5 (every gap)", match: (r) => r.pattern.startsWith("training loop") && r.n === 8e5, bound: 0.7 },
  { what: "alternating single steps of two optimizers at n = 1e7 (default spin)", match: (r) => r.pattern === "alternate 1" && r.n === 1e7 && r.spin === 0.2, bound: 1 / 1.6 },
];

function speedTargets(quiet) {
  return SPEED_TARGETS.flatMap(({ what, match, bound }) => {
    const mine = quiet.filter(match);
    if (mine.length === 0) return [];
    const worst = mine.reduce((a, b) => (b.ratio > a.ratio ? b : a));
    const where = worst.pattern.startsWith("training loop") ? `, worst at ${worst.pattern.slice("training loop, ".length)} between steps` : "";
    const met = worst.ratio <= bound;
    const verdict = met ? `${trafficText(worst, true, bound)} — met` : ` — ${trafficText(worst, false, bound)}`;
    return [`target: threads: 2 at most ${bound.toFixed(2)}× the time of threads: 1 ${what}: ${worst.ratio.toFixed(2)}×${where}${verdict}`];
  });
}

/**
 * What memory allowed, where the row timed the traffic probes (training-loop-pattern.mjs,
 * measureTraffic): after a met verdict, or a miss without a bound, the probes' figures; a
 * miss is bounded by memory only where moving the bytes alone, on 2 threads, took more
 * than the target allows the whole step.
 */
function trafficText(row, met, bound) {
  if (!row.traffic) return met ? "" : "MISSED";
  const { one, two } = row.traffic;
  const figures = `moving a step's bytes without its arithmetic (the traffic probe) took ${one.toFixed(2)}× one thread's step ` +
    `on 1 thread and ${two.toFixed(2)}× on 2 in the same loop`;
  if (met) return ` (there, ${figures})`;
  return two > bound ? `MISSED; bound: memory: ${figures}` : `MISSED (there, ${figures})`;
}

/** The section's rows as a console table. */
export function patternsTable(rows) {
  const header = ["load", "pattern", "spin ms", "n", "threads", "1 thread µs", "2 threads µs", "ratio", "ratio range"];
  const body = rows.map((r) => [
    LOAD_NAMES[r.load],
    r.pattern,
    String(r.spin),
    r.n.toExponential(0),
    String(r.threads),
    r.oneUs.toFixed(1),
    r.twoUs.toFixed(1),
    `${r.ratio.toFixed(2)}×`,
    `${r.ratioRange[0].toFixed(2)}–${r.ratioRange[1].toFixed(2)}`,
  ]);
  return textTable(header, body, 2);
}

/** The section as the results Markdown gets it (bench/run.mjs, scripts/readme-bench.mjs). */
export function patternsMarkdown({ rows, summary }) {
  return `\n## Threads in every pattern\n\n\`\`\`text\n${patternsTable(rows)}\n\n${summary.join("\n")}\n\`\`\`\n`;
}

/** Runs the section under each of `loads` and returns its rows and its summary lines. */
export async function patternsSection({ quick = false, loads = Object.keys(LOADS), onUnit = (load, n) => console.error(`patterns: ${LOAD_NAMES[load]}, ${typeof n === "number" ? `n = ${n.toExponential(0)}` : n} …`) } = {}) {
  const settings = { sizes: quick ? [5e4, 1e6] : [5e4, 2e5, 1e6, 1e7], rounds: quick ? 5 : 9, onUnit, training: quick ? { warmUp: 40, iterations: 12, pairs: 1 } : {} };
  const rows = [];
  for (const load of loads) rows.push(...(await measureLoad(load, settings)));
  return { rows, summary: patternsSummary(rows) };
}

/** Units of progress: one per load and n, and one per load for the training loop. */
export const patternsUnits = (quick) => Object.keys(LOADS).length * ((quick ? 2 : 4) + 1);

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const args = process.argv.slice(2);
  const load = args.includes("--load") ? args[args.indexOf("--load") + 1] : undefined;
  if (load !== undefined && !(load in LOADS)) throw new Error(`--load is quiet or busy, not ${load}`);
  const { rows, summary } = await patternsSection({ quick: args.includes("--quick"), loads: load ? [load] : undefined });
  console.log(`\n${patternsTable(rows)}\n`);
  for (const line of summary) console.log(line);
}
