// The training recipe section's names and target lines: apart from its contenders
// (bench/recipe.mjs), so the report and the docs' redraw load without tfjs.
import { median } from "./stats.mjs";
import { roundRatios } from "./shares.mjs";

export const RECIPE = "recipe";

export const R = {
  default: "default step",
  global: "globalClipNorm",
  clipValue: "clipValue",
  ema: "emaDecay (EMA)",
  whole: "global clip + step + EMA",
  plain: "global clip + step + EMA, plain JS passes",
  tfjs: "global clip + step + EMA, tfjs ops (wasm)",
  probe: "traffic probe (no math)",
};
export const two = (name) => `${name}, 2 threads`;

/** The recipe's targets, from the rows of the section (median over rounds of per-round ratios). */
export function recipeSummary(rows) {
  const lines = [];
  const at = (n, name) => rows.find((r) => r.section === RECIPE && r.n === n && r.name === name);
  const ratio = (a, b) => median(roundRatios(b, a)); // time of a / time of b = rate of b / rate of a
  const check = (label, value, limit, atMost, bound) => {
    const met = atMost ? value <= limit : value >= limit;
    lines.push(`target: ${label} ${atMost ? "≤" : "≥"} ${limit}×: ${value.toFixed(2)}× — ${met ? "met" : `MISSED; bound: ${bound}`}`);
  };
  for (const n of [...new Set(rows.filter((r) => r.section === RECIPE).map((r) => r.n))]) {
    const label = n >= 1e7 ? "1e7" : n >= 1e6 ? "1e6" : String(n);
    for (const name of [(x) => x, two]) {
      const base = at(n, name(R.default)), global = at(n, name(R.global)), value = at(n, name(R.clipValue));
      if (!base || !global || !value) continue;
      const threads = base.threads;
      check(
        `globalClipNorm step time / default step at n = ${label}, ${threads} thread${threads > 1 ? "s" : ""}`,
        ratio(global, base), n >= 1e7 ? 1.05 : 1.1, true,
        "the scan's f64 sum of squares (promote, multiply, add per element) where the default scan only tests bits: " +
          `the default step with nonFinite "ignore" (no scan at all) is the floor`,
      );
      check(
        `clipValue step time / default step at n = ${label}, ${threads} thread${threads > 1 ? "s" : ""}`,
        ratio(value, base), 1.03, true,
        "a multiply and two clamps per element in a compute-bound loop (1 thread: the f32 divider; 2 threads: both cores)",
      );
    }
    const ema = at(n, R.ema), probe = at(n, R.probe);
    if (ema && probe) {
      // The probe moves 20 bytes per parameter; the EMA step 28 (with the scan 32): its
      // ceiling is the probe's byte rate spread over the EMA step's bytes.
      const share = median(ema.roundRates.map((rate, r) => rate / ((probe.roundRates[r] * 20) / ema.bytesPerParam)));
      lines.push(`EMA step at n = ${label}: ${(100 * share).toFixed(0)}% of its own traffic ceiling (${ema.bytesPerParam} bytes per parameter)`);
    }
    const whole = at(n, R.whole), plain = at(n, R.plain), tfjsRow = at(n, R.tfjs);
    if (whole && plain) check(`the fused recipe against plain JS passes at n = ${label}`, ratio(plain, whole), 5, false, "memory traffic of the fused step against four JS passes");
    if (whole && tfjsRow) check(`the fused recipe against tfjs ops at n = ${label}`, ratio(tfjsRow, whole), 8, false, "the fused loop's arithmetic on one thread (compute-bound: the f32 divider); this contender does not use the second core");
  }
  return lines;
}
