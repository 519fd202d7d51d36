// The summary lines: the speed targets checked against this run's own rows (targets live
// here, never in timed unit tests), with the crossover, the ceilings and the costs.
import { median } from "./stats.mjs";
import { groupCeilings, roundRatios } from "./shares.mjs";
import {
  COMPUTE_PROBE, IGNORE, IGNORE_2, ONE_THREAD, PLAIN_VARIANT_PREFIX, SCALAR, SIMD, SIMD_2, SIMD_2_HOT, TFJS_WASM, TRAINING,
  TWO_THREADS_FORCED, VARIANT_PREFIX, WARM,
} from "./names.mjs";
import { fmt } from "./report.mjs";

const verdict = (ok) => (ok ? "met" : "MISSED");
const target = (what, measured, ok) => `target: ${what}: ${measured} — ${verdict(ok)}`;

/** Median over rounds of rate a / rate b. */
const ratio = (a, b) => median(roundRatios(a, b));

const shareWithRange = (r) => `${fmt.pct(r.ceilingShare)} (${fmt.pct(r.ceilingShareRange[0])}–${fmt.pct(r.ceilingShareRange[1])})`;

/** `defaults` holds the defaultOptions the run was made with (minParamsPerThread). */
export function summaryLines(rows, defaults) {
  const find = (section, n, name) => rows.find((r) => r.section === section && r.n === n && r.name === name);
  const lines = [""];

  const simd = find(WARM, 1e6, SIMD);
  if (simd) lines.push(target("wasm SIMD ≥ 5× the plain JS loop at n = 1e6", fmt.ratio(simd.vsPlainJs), simd.vsPlainJs >= 5));

  const variants = rows.filter((r) => r.section === "variants" && r.name.startsWith(VARIANT_PREFIX));
  if (variants.length) {
    const worst = variants.reduce((a, b) => (a.vsPlainJs < b.vsPlainJs ? a : b));
    lines.push(target(
      "every kernel variant ≥ 3× the plain JS loop at n = 1e6",
      `slowest is ${worst.name.slice(VARIANT_PREFIX.length)} at ${fmt.ratio(worst.vsPlainJs)}`,
      worst.vsPlainJs >= 3,
    ));
    // The same question against the loop a user would write for that variant.
    const own = variants.map((v) => {
      const name = v.name.slice(VARIANT_PREFIX.length);
      return { name, x: ratio(v, rows.find((r) => r.section === "variants" && r.name === PLAIN_VARIANT_PREFIX + name)) };
    });
    const slowest = own.reduce((a, b) => (a.x < b.x ? a : b));
    lines.push(`every kernel variant against the plain JS loop of the same variant at n = 1e6: slowest is ${slowest.name} at ${fmt.ratio(slowest.x)}`);
  }

  const flat = rows.find((r) => r.section === "groups" && r.name.startsWith("flat"));
  const grouped = rows.find((r) => r.section === "groups" && r.name.includes("tensors"));
  if (flat && grouped) {
    // A cost is time over time: the inverse of the rate ratio.
    const cost = ratio(flat, grouped);
    lines.push(target(`${grouped.name} ≤ 1.1× one flat step of n = ${grouped.n}`, fmt.ratio(cost), cost <= 1.1));
  }

  const one7 = find(WARM, 1e7, SIMD), two7 = find(WARM, 1e7, SIMD_2);
  if (one7 && two7) {
    const x = ratio(two7, one7);
    lines.push(target("2 threads ≥ 1.6× 1 thread at n = 1e7", fmt.ratio(x), x >= 1.6));
  }
  const one5 = find("threads", 5e4, ONE_THREAD), two5 = find("threads", 5e4, TWO_THREADS_FORCED);
  if (one5 && two5) {
    const x = ratio(two5, one5);
    lines.push(target("2 threads ≥ 1.2× 1 thread at n = 5e4, back-to-back steps", fmt.ratio(x), x >= 1.2));
  }

  for (const [name, policy, least] of [[SIMD_2, `default "throw"`, 0.8], [IGNORE_2, `"ignore"`, 0.9]]) {
    for (const n of [1e6, 1e7]) {
      const r = find(WARM, n, name);
      if (!r?.ceilingShare) continue;
      const what = `${policy} on ${fmt.threads(r.threads)} ≥ ${fmt.pct(least)} of the ceiling at n = ${fmt.n(n)}`;
      lines.push(target(what, shareWithRange(r), r.ceilingShare >= least));
    }
  }

  const scalar = find(WARM, 1e6, SCALAR);
  if (scalar) lines.push(target("scalar build ≥ 2× the plain JS loop at n = 1e6", fmt.ratio(scalar.vsPlainJs), scalar.vsPlainJs >= 2));
  const tfjs = find(WARM, 1e6, TFJS_WASM);
  if (simd && tfjs) {
    const x = ratio(simd, tfjs);
    lines.push(target("default backend ≥ 5× tfjs-backend-wasm at n = 1e6", fmt.ratio(x), x >= 5));
  }
  if (simd) lines.push(target("default backend ≥ 6× the plain JS loop at n = 1e6", fmt.ratio(simd.vsPlainJs), simd.vsPlainJs >= 6));

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
 * The crossover: the smallest n from which 2 forced threads beat 1 at every larger n
 * measured (one lucky size below a loss is noise, not a crossover), next to the n from
 * which the default uses 2.
 */
function crossoverLines(rows, minParamsPerThread) {
  const pairs = rows
    .filter((r) => r.section === "threads" && r.name === TWO_THREADS_FORCED)
    .map((two) => ({ n: two.n, x: ratio(two, rows.find((r) => r.section === "threads" && r.n === two.n && r.name === ONE_THREAD)) }));
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
