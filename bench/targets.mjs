// The summary lines: the speed targets checked against this run's own rows (targets live
// here, never in timed unit tests), with the crossover, the ceilings and the costs.
import { median } from "./stats.mjs";
import { groupCeilings, roundRatios } from "./shares.mjs";
import {
  BASELINE, COMPUTE_PROBE, IGNORE, IGNORE_2, ONE_THREAD, PLAIN_VARIANT_PREFIX, SCALAR, SIMD, SIMD_2, SIMD_2_HOT, TFJS_WASM, TRAINING,
  TWO_THREADS_FORCED, VARIANT_PREFIX, WARM,
} from "./names.mjs";
import { fmt } from "./report.mjs";
import { recipeSummary } from "./recipe-targets.mjs";

/**
 * One target's line. A missed one says in the same line what bounds it on this machine, so
 * a loaded or slow machine's MISSED reads as a measurement, not as a broken install.
 */
const target = (what, measured, ok, bound) =>
  `target: ${what}: ${measured} — ${ok ? "met" : bound ? `MISSED; bound: ${bound}` : "MISSED"}`;

/**
 * What bounds a kernel row's ratio to another contender: the ceiling of its group (compute
 * or memory traffic), as a ratio to that contender, and how much of it the row reaches.
 */
function ceilingBound(r, versus, versusName) {
  if (r.ceilingPerSec === undefined || !versus) return undefined;
  return (
    `the ${r.ceilingBound}-bound ceiling (${fmt.rate(r.ceilingPerSec)}) is ${fmt.ratio(r.ceilingPerSec / versus.paramsPerSec)} ` +
    `${versusName} here, and the kernel runs at ${fmt.pct(r.ceilingShare)} of it`
  );
}

/** Median over rounds of rate a / rate b. */
const ratio = (a, b) => median(roundRatios(a, b));

const shareWithRange = (r) => `${fmt.pct(r.ceilingShare)} (${fmt.pct(r.ceilingShareRange[0])}–${fmt.pct(r.ceilingShareRange[1])})`;

/** `defaults` holds the defaultOptions the run was made with (minParamsPerThread). */
export function summaryLines(rows, defaults) {
  const find = (section, n, name) => rows.find((r) => r.section === section && r.n === n && r.name === name);
  const lines = [""];

  const simd = find(WARM, 1e6, SIMD);
  const plain = find(WARM, 1e6, BASELINE);
  const simdBound = simd && ceilingBound(simd, plain, "the plain JS loop");
  if (simd) lines.push(target("wasm SIMD ≥ 5× the plain JS loop at n = 1e6", fmt.ratio(simd.vsPlainJs), simd.vsPlainJs >= 5, simdBound));

  const variants = rows.filter((r) => r.section === "variants" && r.name.startsWith(VARIANT_PREFIX));
  if (variants.length) {
    const worst = variants.reduce((a, b) => (a.vsPlainJs < b.vsPlainJs ? a : b));
    // The same question against the loop a user would write for that variant.
    const own = variants.map((v) => {
      const name = v.name.slice(VARIANT_PREFIX.length);
      return { name, x: ratio(v, rows.find((r) => r.section === "variants" && r.name === PLAIN_VARIANT_PREFIX + name)) };
    });
    const worstName = worst.name.slice(VARIANT_PREFIX.length);
    const lightest = variants.find((v) => v.name === `${VARIANT_PREFIX}default`) ?? variants.reduce((a, b) => (a.bytesPerParam < b.bytesPerParam ? a : b));
    lines.push(target(
      "every kernel variant ≥ 3× the plain JS loop at n = 1e6",
      `slowest is ${worstName} at ${fmt.ratio(worst.vsPlainJs)}`,
      worst.vsPlainJs >= 3,
      `memory traffic: ${worstName} moves ${worst.bytesPerParam} bytes per parameter, ${lightest.name.slice(VARIANT_PREFIX.length)} ` +
        `${lightest.bytesPerParam}, and the ratio is to the plain JS loop of the default step; against the plain JS loop of ` +
        `the same variant it is ${fmt.ratio(own.find((o) => o.name === worstName).x)}`,
    ));
    const slowest = own.reduce((a, b) => (a.x < b.x ? a : b));
    lines.push(`every kernel variant against the plain JS loop of the same variant at n = 1e6: slowest is ${slowest.name} at ${fmt.ratio(slowest.x)}`);
  }

  const flat = rows.find((r) => r.section === "groups" && r.name.startsWith("flat"));
  const grouped = rows.find((r) => r.section === "groups" && r.name.includes("tensors"));
  if (flat && grouped) {
    // A cost is time over time: the inverse of the rate ratio.
    const cost = ratio(flat, grouped);
    const extraUs = (grouped.msPerStep - flat.msPerStep) * 1000;
    lines.push(target(`${grouped.name} ≤ 1.1× one flat step of n = ${grouped.n}`, fmt.ratio(cost), cost <= 1.1,
      `the fixed work per group and per step (argument blocks, kernel calls): ${extraUs.toFixed(0)} µs on top of a ${fmt.ms(flat.msPerStep)} ms flat step`));
  }

  const one7 = find(WARM, 1e7, SIMD), two7 = find(WARM, 1e7, SIMD_2);
  if (one7 && two7) {
    const x = ratio(two7, one7);
    const [c1, c2] = [1, 2].map((k) => groupCeilings(rows.filter((r) => r.section === WARM && r.n === 1e7)).find((c) => c.threads === k));
    const bound = c1 && c2 ? `the 2-thread ceiling is ${fmt.ratio(c2.perSec / c1.perSec)} the 1-thread one (${c2.bound}-bound)` : undefined;
    lines.push(target("2 threads ≥ 1.6× 1 thread at n = 1e7", fmt.ratio(x), x >= 1.6, bound));
  }
  const one5 = find("threads", 5e4, ONE_THREAD), two5 = find("threads", 5e4, TWO_THREADS_FORCED);
  if (one5 && two5) {
    const x = ratio(two5, one5);
    lines.push(target("2 threads ≥ 1.3× 1 thread at n = 5e4, back-to-back steps", fmt.ratio(x), x >= 1.3,
      `one thread takes ${fmt.ms(one5.msPerStep)} ms a step here, so waking the second thread and the barrier at the end weigh on each step`));
  }
  lines.push(...forcedWarmLines(rows));

  for (const [name, policy, least] of [[SIMD_2, `default "throw"`, 0.8], [IGNORE_2, `"ignore"`, 0.9]]) {
    for (const n of [1e6, 1e7]) {
      const r = find(WARM, n, name);
      if (!r?.ceilingShare) continue;
      const what = `${policy} on ${fmt.threads(r.threads)} ≥ ${fmt.pct(least)} of the ceiling at n = ${fmt.n(n)}`;
      const ignore = find(WARM, n, IGNORE_2);
      const [lo, hi] = r.ceilingShareRange;
      const bound = hi - lo > 0.15
        ? `the machine's load: the share ranged ${fmt.pct(lo)}–${fmt.pct(hi)} over rounds, so other work shared the cores`
        : name === SIMD_2 && ignore?.ceilingShare > r.ceilingShare
          ? `the scan of g for NaN and ±∞ before the step (one more read of g); "ignore", which skips it, reaches ${fmt.pct(ignore.ceilingShare)}`
          : `the ${r.ceilingBound}-bound ceiling is ${fmt.rate(r.ceilingPerSec)}; the rest is the arithmetic and the threads' wake and barrier`;
      lines.push(target(what, shareWithRange(r), r.ceilingShare >= least, bound));
    }
  }

  const scalar = find(WARM, 1e6, SCALAR);
  if (scalar) {
    const bound = simd && `scalar code does one f32 per instruction where SIMD does four: it runs at ` +
      `${fmt.pct(scalar.ceilingShare ?? 0)} of the ceiling, ${fmt.ratio(ratio(simd, scalar))} slower than SIMD`;
    lines.push(target("scalar build ≥ 2× the plain JS loop at n = 1e6", fmt.ratio(scalar.vsPlainJs), scalar.vsPlainJs >= 2, bound));
  }
  const tfjs = find(WARM, 1e6, TFJS_WASM);
  if (simd && tfjs) {
    const x = ratio(simd, tfjs);
    lines.push(target("default backend ≥ 5× tfjs-backend-wasm at n = 1e6", fmt.ratio(x), x >= 5, ceilingBound(simd, tfjs, "tfjs-backend-wasm")));
  }
  if (simd) lines.push(target("default backend ≥ 6× the plain JS loop at n = 1e6", fmt.ratio(simd.vsPlainJs), simd.vsPlainJs >= 6, simdBound));

  lines.push(...crossoverLines(rows, defaults.minParamsPerThread), ...ceilingLines(rows), ...trainingLines(rows));

  const bytes = rows.filter((r) => r.section === "variants" && r.bytesHeld);
  if (bytes.length) {
    const perVariant = bytes.map((r) => `${r.name.slice(VARIANT_PREFIX.length)} ${(r.bytesHeld / r.n).toFixed(2)}`).join(", ");
    lines.push(`memory: bytes held per parameter at n = 1e6: ${perVariant}`);
  }
  const ignore = find(WARM, 1e6, IGNORE);
  if (simd && ignore) {
    lines.push(`cost of the non-finite check (default "throw" vs "ignore") at n = 1e6, 1 thread: ${fmt.pct(ratio(ignore, simd) - 1)}`);
  }
  return lines;
}

/**
 * Most a warm threaded step's region (the StepArgs, the ticket, the barrier) adds to half a
 * one-thread step back to back, in µs: 1.7–5.3 at 1e5–1e6 in the committed run of 97d666e,
 * which met the target (one round 8.6). A miss beyond it is not the region's: the worker
 * came late or ran slower (docs/threads.md, "Back to back"). At 1e5 a miss needs only 4 µs
 * over, so there the region can be the bound; from 2e5 on it cannot.
 */
const REGION_US = 10;

/**
 * 2 threads forced against 1, back to back, where the work is large enough for both cores
 * and small enough for the caches: every n from 1e5 to 1e6 the threads section measured.
 * The ceiling there is twice the compute probe, so the target asks for 90% of it.
 */
function forcedWarmLines(rows) {
  const pairs = forcedPairs(rows).filter((p) => p.n >= 1e5 && p.n <= 1e6);
  if (!pairs.length) return [];
  const worst = pairs.reduce((a, b) => (a.x < b.x ? a : b));
  const perRound = roundRatios(worst.two, worst.one);
  const [lo, hi] = [Math.min(...perRound), Math.max(...perRound)];
  // On the verdict's basis (the median of the rounds' ratios), what 2 threads took over half
  // the one-thread step (bench/experiments/late-worker.mjs tells a late worker from a slow one).
  const overUs = 1e3 * worst.one.msPerStep * (1 / worst.x - 1 / 2);
  const at = `at n = ${fmt.n(worst.n)}`;
  const bound = hi - lo > 0.3
    ? `the machine's load: ${at} the ratio ranged ${fmt.ratio(lo)}–${fmt.ratio(hi)} over rounds`
    : overUs <= REGION_US
      ? `the ceiling is 2× here; each step's region (the StepArgs, the ticket, the barrier) costs a few µs of a ` +
        `${fmt.ms(worst.one.msPerStep)} ms one-thread step ${at}`
      : `2 threads took ${overUs.toFixed(0)} µs a step over half the ${fmt.ms(worst.one.msPerStep)} ms one-thread step ${at}, ` +
        `where a step's region costs up to ${REGION_US} µs: the worker came late or ran slower (docs/threads.md, "Back to back")`;
  const measured = `worst ${fmt.ratio(worst.x)} at n = ${fmt.n(worst.n)} (${pairs.map((p) => `${fmt.n(p.n)} ${fmt.ratio(p.x)}`).join(", ")})`;
  return [target("2 threads (forced) ≥ 1.8× 1 thread at every n from 1e5 to 1e6, back-to-back steps", measured, worst.x >= 1.8, bound && bound + aloneRounds(worst.two))];
}

/**
 * Rounds at whose end a threaded row's choice ran its steps alone (bench/contenders.mjs,
 * roundEnd), with what it had measured each way: where 2 threads measured about a step
 * alone's time, threads had been made slow there (docs/threads.md, "Back to back"). Empty
 * where none did, or the run did not record it.
 */
function aloneRounds(row) {
  const alone = (row.roundEnds ?? []).map((end, r) => ({ ...end, round: r + 1 })).filter((end) => end.threads === 1);
  if (!alone.length) return "";
  const each = alone.map((end) => `round ${end.round} (${end.warmUs} µs a step on 2 threads, ${end.aloneUs} alone)`);
  return `; the choice ran alone at the end of ${each.join(", ")}`;
}

/** The threads section's rows in pairs, by n: 1 thread and 2 forced, and 2 over 1 (the median over rounds). */
function forcedPairs(rows) {
  const threads = rows.filter((r) => r.section === "threads");
  return threads
    .filter((r) => r.name === TWO_THREADS_FORCED)
    .map((two) => ({ n: two.n, two, one: threads.find((r) => r.n === two.n && r.name === ONE_THREAD) }))
    .filter((p) => p.one)
    .map((p) => ({ ...p, x: ratio(p.two, p.one) }));
}

/**
 * The crossover: the smallest n from which 2 forced threads beat 1 at every larger n
 * measured (one lucky size below a loss is noise, not a crossover), next to the n from
 * which the default uses 2.
 */
function crossoverLines(rows, minParamsPerThread) {
  const pairs = forcedPairs(rows);
  if (!pairs.length) return [];
  const first = pairs.find((_, i) => pairs.slice(i).every((p) => p.x > 1));
  const measured = pairs.map((p) => `${fmt.n(p.n)} ${fmt.ratio(p.x)}`).join(", ");
  const uses = `the default minParamsPerThread is ${minParamsPerThread}, so n ≥ ${2 * minParamsPerThread} uses 2`;
  const where = first ? `2 threads beat 1 thread from n = ${fmt.n(first.n)} on` : "2 threads do not stay ahead of 1 thread at any n here";
  return [`threads: ${where} (${uses}); 2 threads over 1: ${measured}`];
}

/** The ceilings at 1e6 and 1e7, warm and in the training loop, and the probe's call cost. */
function ceilingLines(rows) {
  const lines = [];
  for (const section of [WARM, TRAINING]) {
    for (const n of [1e6, 1e7]) {
      const ceilings = groupCeilings(rows.filter((r) => r.section === section && r.n === n));
      if (!ceilings.length) continue;
      const each = ceilings.map((c) => `${fmt.threads(c.threads)} ${fmt.rate(c.perSec)} (${c.bound}-bound)`);
      lines.push(`ceiling (${section}) at n = ${fmt.n(n)}: ${each.join(", ")}`);
    }
  }
  const probes = rows.filter((r) => r.name === COMPUTE_PROBE);
  if (probes.length) {
    const rates = probes.map((r) => r.paramsPerSec);
    const calls = probes.map((r) => r.callShare);
    lines.push(
      `compute probe (1 thread, data in L1): ${fmt.rate(median(rates))} (${fmt.rate(Math.min(...rates))}–${fmt.rate(Math.max(...rates))} over sections); ` +
        `a JS→wasm call alone costs ${fmt.pct(median(calls))} of one probe call`,
    );
  }
  lines.push(...recipeSummary(rows));
  return lines;
}

/** In the training loop: each kernel row's share of the ceiling and its cost against warm. */
function trainingLines(rows) {
  const lines = [];
  for (const r of rows.filter((x) => x.section === TRAINING && (x.name === SIMD || x.name === SIMD_2 || x.name === SIMD_2_HOT))) {
    const warm = rows.find((x) => x.section === WARM && x.n === r.n && x.name === r.name);
    const share = r.ceilingShare === undefined ? "" : `${shareWithRange(r)} of the ceiling, `;
    const slower = warm ? `, ${fmt.ratio(r.msPerStep / warm.msPerStep)} its warm ms/step` : "";
    lines.push(`training loop at n = ${fmt.n(r.n)}: ${r.name} (${fmt.threads(r.threads)} ran): ${share}${fmt.ratio(r.vsPlainJs)} plain JS${slower}`);
  }
  return lines;
}
