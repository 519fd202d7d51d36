// Ratios between contenders measured at the same n, each taken round by round (the same
// minute, the same machine load) and then summarised by its median and range.
//
// The ceiling for k threads is min(k × the compute probe, the k-thread traffic probe): the
// arithmetic of k cores with data in L1, or the bytes memory moves, whichever is lower.
import { median } from "./stats.mjs";
import { BASELINE, TFJS_WASM } from "./names.mjs";

/** Median and range of a per-round series. */
export function summary(series) {
  return { median: median(series), range: [Math.min(...series), Math.max(...series)] };
}

/** Per round, rate of a / rate of b. */
export function roundRatios(a, b) {
  return a.roundRates.map((rate, r) => rate / b.roundRates[r]);
}

/**
 * The ceilings of one (section, n) group, one per traffic probe: per round in params/s,
 * their median, and what bounds them (judged on the medians of the two probes).
 */
export function groupCeilings(group) {
  const compute = group.find((r) => r.role === "compute");
  if (!compute) return [];
  return group
    .filter((r) => r.role === "traffic")
    .map((traffic) => {
      const k = traffic.threads;
      const perRound = compute.roundRates.map((rate, r) => Math.min(k * rate, traffic.roundRates[r]));
      const bound = k * median(compute.roundRates) <= median(traffic.roundRates) ? "compute" : "memory";
      return { threads: k, perRound, perSec: median(perRound), bound };
    });
}

/**
 * Adds to each row of one (section, n) group its ratio to the plain JS loop and to
 * tfjs-backend-wasm (where the group has them), and, for every row that is not a probe,
 * its share of the ceiling for the threads it ran on.
 */
export function compareWithinGroup(group) {
  const base = group.find((r) => r.name === BASELINE);
  const tfjs = group.find((r) => r.name === TFJS_WASM);
  const ceilings = new Map(groupCeilings(group).map((c) => [c.threads, c]));
  return group.map((row) => {
    const out = { ...row };
    if (base) {
      const { median: m, range } = summary(roundRatios(row, base));
      Object.assign(out, { vsPlainJs: m, vsPlainJsRange: range });
    }
    if (tfjs) out.vsTfjsWasm = median(roundRatios(row, tfjs));
    const ceiling = ceilings.get(row.threads);
    if (ceiling && !row.role) {
      const { median: m, range } = summary(row.roundRates.map((rate, r) => rate / ceiling.perRound[r]));
      Object.assign(out, { ceilingShare: m, ceilingShareRange: range, ceilingPerSec: ceiling.perSec, ceilingBound: ceiling.bound });
    }
    return out;
  });
}
