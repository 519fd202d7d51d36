// What a run measures, section by section, and how long each unit of it (a section at one
// n) is expected to take, for the progress line's estimate. The default run answers the
// user's question in about a minute; --full adds every section the maintainers' targets and
// the docs quote.
import { answerContenders, groupContenders, sizeContenders, threadContenders, trainingContenders, variantContenders, VARIANTS } from "./contenders.mjs";
import { recipeContenders, recipeCostContenders, RECIPE } from "./recipe.mjs";
import { measure, measureSpread } from "./measure.mjs";
import { tfjsSection } from "./tfjs.mjs";
import { LOADS, patternsSection, patternsUnits } from "./patterns.mjs";
import { TRAINING_GAPS, TRAINING_RUNS, TRAINING_SIZES, trainingSchedule } from "./training-loop-pattern.mjs";
import { ANSWER_SIZES, RECIPE_N } from "./answer.mjs";
import { fmt } from "./report.mjs";

// tinybench's settings: each task runs for `time` ms and at least `iterations` times, after
// a warm-up of `warmupTime` ms and at least `warmupIterations`; `rounds` interleaved rounds.
const ANSWER = { rounds: 5, time: 200, iterations: 5, warmupTime: 20, warmupIterations: 2 };
const CROSSOVER = { rounds: 3, time: 100, iterations: 5, warmupTime: 10, warmupIterations: 2 };
const WARM = { rounds: 3, time: 250, iterations: 5, warmupTime: 20, warmupIterations: 2 };
// Each training-loop sample also streams 64 MiB (a few ms, outside the timing), so the
// samples are counted, not timed; fewer where one step alone takes tens of ms.
const TRAINING_SAMPLES = { 1e5: 30, 1e6: 20, 1e7: 8 };
const training = (n) => ({ rounds: 3, time: 1, iterations: TRAINING_SAMPLES[n], warmupTime: 1, warmupIterations: 2 });

/** The n at which the default run looks for where threads start to pay off. */
export const CROSSOVER_SIZES = [1e4, 2e4, 5e4, 1e5, 2e5, 5e5];

// Guesses of a step's time in ns per parameter (the committed run's 2-core machine), for the
// estimate only: they matter for the slow tasks, whose minimum iterations outlast the time
// budget, and a slower machine corrects them as the run goes (progress.mjs).
const NS = { ours: 0.8, threads: 0.5, traffic: 0.4, plain: 4, tfjsWasm: 6.5, tfjsCpu: 240, reference: 11, scalar: 3, recipe: 10 };
const COMPUTE_PROBE_MS = 0.021; // its sample: 16 calls on 2,048 parameters, whatever n is
// Setting up a contender (seeded arrays, an optimizer, a tfjs variable), per parameter; the
// peers also take two steps outside the timing (their warm-up and leak check).
const SETUP_NS = 60;
const SETUP_STEPS = 2;
// Streaming the 64 MiB scratch before each training-loop sample.
const EVICT_MS = 15;

/** Seconds tinybench takes for one task of `ms` per step: the warm-up, then the run. */
const taskSeconds = (s, ms) => (Math.max(s.warmupTime, s.warmupIterations * ms) + Math.max(s.time, s.iterations * ms)) / 1000;

/** Seconds one unit takes: its contenders' setup, then `rounds` rounds of every task (`ns` per parameter each, or ms). */
function expected(settings, n, steps) {
  const ms = steps.map((x) => (typeof x === "number" ? (x * n) / 1e6 : x.ms));
  const setup = ms.reduce((a, t) => a + (SETUP_NS * n) / 1e9 + (SETUP_STEPS * t) / 1000, 0);
  return setup + settings.rounds * ms.reduce((a, t) => a + taskSeconds(settings, t), 0);
}
const probe = { ms: COMPUTE_PROBE_MS };

/**
 * A section that measures `contenders(n)` at each n of `sizes` with `settings` (or
 * settings(n)); `steps(n)` lists its tasks' guesses for the estimate. Returns { rows }.
 */
function overSizes(name, sizes, contenders, settings, steps) {
  const at = (n) => (typeof settings === "function" ? settings(n) : settings);
  return {
    name,
    units: sizes.map((n) => ({ section: name, label: `n = ${fmt.n(n)}`, expected: expected(at(n), n, steps(n)) })),
    run: async (progress) => {
      const rows = [];
      for (const n of sizes) {
        progress.unit(`n = ${fmt.n(n)}`);
        rows.push(...(await measure(name, n, await contenders(n), at(n), progress.task)));
      }
      return { rows };
    },
  };
}

/**
 * As overSizes, its rounds spread over the sizes (measureSpread): one unit per round. For
 * the threads sections, whose rows the host's slow phases of a few seconds decided whole
 * (docs/threads.md, "Back to back").
 */
function spreadOverSizes(name, sizes, contenders, settings, steps) {
  // The contenders are made once per n (in the first round): the section's seconds, evenly.
  const expectedRound = sizes.reduce((a, n) => a + expected(settings, n, steps(n)), 0) / settings.rounds;
  const label = (r) => `round ${r + 1} of ${settings.rounds}`;
  return {
    name,
    units: Array.from({ length: settings.rounds }, (_, r) => ({ section: name, label: label(r), expected: expectedRound })),
    run: async (progress) => ({
      rows: await measureSpread(name, sizes, contenders, settings, { onRound: (r) => progress.unit(label(r)), onTask: progress.task }),
    }),
  };
}

/**
 * The default run: at each of `sizes`, this package on 1 thread and on `threads` (with the
 * user's `options`), the probes of the limit, tfjs-backend-wasm and the plain JS loop; 1
 * thread against the machine's k at small n (where threads start to pay off), if k > 1;
 * and what the recipe costs at 1e6.
 */
export function answerPlan({ sizes = ANSWER_SIZES, threads = "auto", options = {}, cores }) {
  const k = Math.min(threads === "auto" ? cores : threads, cores);
  const { ours, plain, tfjsWasm, traffic, recipe } = NS;
  return [
    overSizes("sizes", sizes, (n) => answerContenders(n, { threads, options }), ANSWER, () => [ours, ours, traffic, traffic, probe, tfjsWasm, plain]),
    ...(k > 1
      ? [spreadOverSizes("threads", CROSSOVER_SIZES, (n) => threadContenders(n, { threads: k, options, plain: false }), CROSSOVER, () => [ours, ours])]
      : []),
    overSizes(RECIPE, [RECIPE_N], recipeCostContenders, ANSWER, () => [ours, ours * 1.4, recipe]),
  ];
}

/** Everything: the sections of the full suite, or those whose names start with a word of `only`. */
export function fullPlan({ only } = {}) {
  const { ours, threads, plain, tfjsWasm, tfjsCpu, traffic, reference, scalar, recipe } = NS;
  const sections = [
    overSizes("sizes", [1e4, 1e5, 1e6, 1e7], sizeContenders, WARM, (n) => [
      ours, threads, ours, threads, threads, scalar, traffic, traffic, probe, tfjsWasm, ...(n <= 1e6 ? [tfjsCpu] : []), reference, plain,
    ]),
    spreadOverSizes("threads", [5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7], threadContenders, WARM, () => [ours, threads, plain]),
    overSizes("variants", [1e6], variantContenders, WARM, () => Object.keys(VARIANTS).flatMap(() => [ours * 1.5, plain * 1.5]).concat(plain)),
    {
      name: "groups",
      units: [{ section: "groups", label: "1,000 tensors in 2 groups", expected: expected(WARM, 1.3e6, [ours, ours, plain]) }],
      run: async (progress) => {
        progress.unit("1,000 tensors in 2 groups");
        const grouped = await groupContenders(1000);
        return { rows: await measure("groups", grouped.n, grouped.list, WARM, progress.task) };
      },
    },
    overSizes("training loop", Object.keys(TRAINING_SAMPLES).map(Number), trainingContenders, training, (n) =>
      [ours, threads, threads, traffic, traffic, tfjsWasm, plain].map((ns) => ({ ms: EVICT_MS + (ns * n) / 1e6 })).concat(probe),
    ),
    overSizes(RECIPE, [1e6, 1e7], recipeContenders, (n) => (n >= 1e7 ? { ...WARM, time: 500 } : WARM), () => [
      ours, ours, ours, threads, threads, threads, ours * 1.3, ours * 1.4, traffic, recipe, recipe,
    ]),
    {
      name: "tfjs",
      // The committed run's seconds per backend: a model of 1M parameters on each.
      units: [{ section: "tfjs", label: "tfjs-backend-cpu", expected: 38 }, { section: "tfjs", label: "tfjs-backend-wasm", expected: 22 }],
      run: async (progress) => ({ tfjs: await tfjsSection({ onBackend: (backend) => progress.unit(`tfjs-backend-${backend}`) }) }),
    },
    {
      name: "patterns",
      // About 24 s per load and n in the committed run, and 55 s for a load's training loop
      // (its last unit) where each row ran one pair for 180 steps (100 of them the warm-up),
      // scaled by the loops each load's rows run now (TRAINING_RUNS): fixed step counts,
      // not time budgets.
      units: Array.from({ length: patternsUnits(false) }, (_, i) => {
        const perLoad = patternsUnits(false) / Object.keys(LOADS).length;
        const load = Object.keys(LOADS)[Math.floor(i / perLoad)];
        const { pairs, iterations, probeTraffic } = TRAINING_RUNS[load];
        // The load's loops per row, from its schedule: a pair's loop steps two optimizers, a
        // traffic loop three (half again).
        const runs = trainingSchedule({ sizes: TRAINING_SIZES, gaps: TRAINING_GAPS, pairs, probeTraffic });
        const loops = runs.reduce((a, r) => a + (r.kind === "pair" ? 1 : 1.5), 0) / (TRAINING_SIZES.length * TRAINING_GAPS.length);
        return { section: "patterns", label: `unit ${i + 1}`, expected: (i + 1) % perLoad === 0 ? (loops * (100 + iterations) * 55) / 180 : 24 };
      }),
      run: async (progress) => ({
        patterns: await patternsSection({ onUnit: (load, n) => progress.unit(`${load}, ${typeof n === "number" ? `n = ${fmt.n(n)}` : n}`) }),
      }),
    },
  ];
  return only ? sections.filter((s) => only.some((word) => s.name.startsWith(word))) : sections;
}
