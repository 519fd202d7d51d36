// The user's answer, what `npm run bench` prints: how fast a step is here and against what
// they would use instead, as one short table and one line per finding, at most 100 columns.
// Pure functions of the measured rows (no timing, no tfjs), so the tests check the text on
// fixed rows and the docs draw it from the committed run.
import { median } from "./stats.mjs";
import { roundRatios } from "./shares.mjs";
import { fmt } from "./report.mjs";
import { BASELINE, MANY, ONE, ONE_THREAD, TFJS_WASM, WARM } from "./names.mjs";
import { R, RECIPE } from "./recipe-targets.mjs";
import { changesTheStep, comparedWithout } from "./user-options.mjs";

/** The widest line the answer prints. */
export const ANSWER_COLUMNS = 100;
/** The sizes of the default run, and of the answer drawn from a full run. */
export const ANSWER_SIZES = [1e5, 1e6, 1e7];
/** The n the recipe's cost is measured at. */
export const RECIPE_N = 1e6;

// A share of the limit at or above this reads "at the limit": the probes that make the
// limit are measured like any row, so a row within noise of it can measure a little above.
const AT_LIMIT = 0.95;

/** A share of the limit in words: never above 100%, since nothing runs faster than the limit. */
export function limitShare(x) {
  return x >= AT_LIMIT ? "at limit" : fmt.pct(x);
}

/** params/s with a unit that keeps three digits: 1.37 G/s, 253 M/s. */
export function perSecond(x) {
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)} G/s`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(x >= 1e8 ? 0 : 1)} M/s`;
  return `${(x / 1e3).toFixed(1)} k/s`;
}

/** An integer with thousands separators: 65,536. */
const grouped = (n) => n.toLocaleString("en-US");

/** The label of a row in the answer: what the user would call it, whatever the row's name. */
function label(r, threads) {
  if (r.tag === ONE) return "rmsprop-wasm, 1 thread";
  if (r.tag === MANY) return `rmsprop-wasm, threads ${threads === "auto" ? '"auto"' : threads}`;
  return r.name;
}

/** The answer's rows at n, in the table's order: ours on 1 thread, on many, plain JS, tfjs. */
function answerRows(rows, n) {
  const at = rows.filter((r) => r.section === WARM && r.n === n);
  return [at.find((r) => r.tag === ONE), at.find((r) => r.tag === MANY), at.find((r) => r.name === BASELINE), at.find((r) => r.name === TFJS_WASM)]
    .filter(Boolean);
}

/**
 * `header` and `body` (rows of strings) as the lines of a text table: `textColumns`
 * left-aligned, the rest right-aligned, two spaces apart. The second column gives way (cut
 * with "…") if the table would pass `width`.
 */
function fitTable(header, body, textColumns, width = ANSWER_COLUMNS) {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const total = widths.reduce((a, w) => a + w, 0) + 2 * (widths.length - 1);
  if (total > width) widths[1] = Math.max(8, widths[1] - (total - width));
  const fit = (x, w) => (x.length > w ? `${x.slice(0, w - 1)}…` : x);
  const line = (cells) => cells.map((x, i) => (i < textColumns ? fit(x, widths[i]).padEnd(widths[i]) : x.padStart(widths[i]))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)];
}

/** The table: at each n, ms per step, its spread, params/s, the speed-ups and the share of the limit. */
export function answerTable(rows, { sizes = ANSWER_SIZES, threads = "auto", limit = true } = {}) {
  const header = ["n", "implementation", "threads", "ms/step", "±", "params/s", "vs plain JS", "vs tfjs", ...(limit ? ["of limit"] : [])];
  const body = [];
  for (const n of sizes) {
    for (const r of answerRows(rows, n)) {
      body.push([
        fmt.n(n), label(r, threads), String(r.threads), fmt.ms(r.msPerStep), fmt.spread(r.spread).slice(1), perSecond(r.paramsPerSec),
        r.vsPlainJs === undefined ? "" : fmt.ratio(r.vsPlainJs), r.vsTfjsWasm === undefined ? "" : fmt.ratio(r.vsTfjsWasm),
        ...(limit ? [r.ceilingShare === undefined ? "" : limitShare(r.ceilingShare)] : []),
      ]);
    }
  }
  const lines = fitTable(header, body, 2);
  // A blank line between sizes: after the rule, whenever n changes.
  const out = lines.slice(0, 2);
  body.forEach((cells, i) => {
    if (i > 0 && cells[0] !== body[i - 1][0]) out.push("");
    out.push(lines[2 + i]);
  });
  return out;
}

/** The fastest of ours at the middle size: the headline. */
function headline(rows, sizes) {
  const n = sizes.includes(1e6) ? 1e6 : sizes[Math.floor((sizes.length - 1) / 2)];
  const ours = answerRows(rows, n).filter((r) => r.tag === ONE || r.tag === MANY);
  if (!ours.length) return undefined;
  const best = ours.reduce((a, b) => (b.msPerStep < a.msPerStep ? b : a));
  const versus = [
    best.vsPlainJs !== undefined && `${fmt.ratio(best.vsPlainJs)} the plain JS loop`,
    best.vsTfjsWasm !== undefined && `${fmt.ratio(best.vsTfjsWasm)} tfjs-backend-wasm`,
  ].filter(Boolean);
  return `n = ${fmt.n(n)}: ${fmt.ms(best.msPerStep)} ms a step on ${fmt.threads(best.threads)}${versus.length ? `, ${versus.join(" and ")}` : ""}.`;
}

// Threads "pay off" from a gain of 5%: below it, a win is within what two runs of one
// thread differ by on a quiet machine.
const PAYS = 1.05;

/** The speed-up of `many` over 1 thread (the median of the per-round ratios), with its n and threads. */
function threadPair(many, one) {
  return { n: many.n, k: many.threads, x: median(roundRatios(many, one)) };
}

/**
 * Where threads pay off: the smallest n from which k threads beat 1 by PAYS at every larger
 * n measured (one lucky size below a loss is noise), from the threads section (k forced)
 * and the answer's sizes where the threaded row ran k; and from which n the threads the
 * user asked for ("auto") take a second thread.
 */
function threadsFinding(rows, { threads, minParamsPerThread }, { cores }) {
  const forced = rows.filter((r) => r.section === "threads" && r.threads > 1 && !r.role && r.name !== BASELINE)
    .map((many) => threadPair(many, rows.find((r) => r.section === "threads" && r.n === many.n && r.name === ONE_THREAD)));
  const measured = new Set(forced.map((p) => p.n));
  const asked = rows.filter((r) => r.section === WARM && r.tag === MANY && r.threads > 1 && !measured.has(r.n))
    .map((many) => threadPair(many, rows.find((r) => r.section === WARM && r.n === many.n && r.tag === ONE)));
  const pairs = [...forced, ...asked].sort((a, b) => a.n - b.n);
  const who = threads === "auto" ? '"auto"' : `threads ${threads}`;
  if (!pairs.length) return cores === 1 ? `Threads: this machine runs one thread at a time, so ${who} runs 1.` : undefined;
  const uses = `${who} uses 2 at n ≥ ${grouped(2 * minParamsPerThread)}`;
  const k = Math.max(...pairs.map((p) => p.k));
  const first = pairs.find((_, i) => pairs.slice(i).every((p) => p.x >= PAYS));
  const at = (p) => `${fmt.ratio(p.x)} at ${fmt.n(p.n)}`;
  if (!first) {
    const best = pairs.reduce((a, b) => (b.x > a.x ? b : a));
    const behind = pairs.findLast((p) => p.x < PAYS);
    const span = best.n < behind.n ? `${at(best)}, ${at(behind)}` : at(best);
    return `Threads: ${k} do not stay ahead of 1 here (${span}); ${uses}.`;
  }
  const last = pairs.at(-1);
  return `Threads: ${k} pay off from n = ${fmt.n(first.n)} here (${first === last ? fmt.ratio(first.x) : `${fmt.ratio(first.x)}; ${at(last)}`}); ${uses}.`;
}

/** What the fused recipe costs over a plain step, and the same recipe as plain JS passes. */
function recipeFinding(rows) {
  const at = (name) => rows.find((r) => r.section === RECIPE && r.n === RECIPE_N && r.name === name);
  const base = at(R.default), whole = at(R.whole), plain = at(R.plain);
  if (!base || !whole) return undefined;
  // A cost is time over time: the inverse of the rate ratio, per round.
  const cost = median(roundRatios(base, whole)) - 1;
  const adds = cost >= 0.005 ? `+${fmt.pct(cost)} per step` : "no measurable time";
  const versus = plain ? `; in plain JS passes: ${fmt.ratio(median(roundRatios(whole, plain)))} the time` : "";
  return `Recipe: global-norm clip + EMA, fused: ${adds} at ${fmt.n(RECIPE_N)}${versus}.`;
}

/**
 * A range of shares of the limit in words, never above it: "at 79–85% of L", "from 90% up to
 * L", "at L", where L names the limit ("the most this machine allows", or "it" after the first).
 */
function shareRange(shares, limit, first) {
  const lo = Math.min(...shares), hi = Math.max(...shares);
  if (lo >= AT_LIMIT) return `at ${limit}`;
  if (hi >= AT_LIMIT) return `from ${fmt.pct(lo)} up to ${limit}`;
  const [a, b] = [lo, hi].map((x) => (x * 100).toFixed(0));
  return `at ${a === b ? a : `${a}–${b}`}%${first ? ` of ${limit}` : ""}`;
}

/**
 * How close to this machine's limit ours runs, on 1 thread and on many: "1 thread runs at
 * 82–87% of the most this machine allows, 2 threads at 41–49%". What sets the limit
 * (arithmetic or memory) is each row's ceilingBound in the JSON, and the legend says it.
 */
function limitFinding(rows, sizes) {
  const ours = sizes.flatMap((n) => answerRows(rows, n)).filter((r) => (r.tag === ONE || r.tag === MANY) && r.ceilingShare !== undefined);
  if (!ours.length) return undefined;
  const parts = [...new Set(ours.map((r) => r.threads))].sort((a, b) => a - b).map((k, i) => {
    const shares = ours.filter((r) => r.threads === k).map((r) => r.ceilingShare);
    const share = shareRange(shares, i === 0 ? "the most this machine allows" : "it", i === 0);
    return i === 0 ? `${fmt.threads(k)} ${k === 1 ? "runs" : "run"} ${share}` : `${fmt.threads(k)} ${share}`;
  });
  return `Limit: ${parts.join(", ")}.`;
}

/** A warning when the rows spread widely: another program shared the cores. */
function noiseFinding(rows, sizes) {
  const spread = Math.max(...sizes.flatMap((n) => answerRows(rows, n)).map((r) => r.spread));
  if (!(spread > 0.1)) return undefined;
  return `Noisy: times spread up to ${fmt.pct(spread)}; the speed-ups, taken round by round, hold better.`;
}

/** A warning when other programs kept cores busy: threads and the limit had less to work with. */
function busyFinding({ cores, otherCores }) {
  if (!(otherCores >= 0.25)) return undefined;
  return `Busy: other programs kept ${otherCores.toFixed(1)} of the ${cores} cores busy during the run; threads had less room.`;
}

/** What the comparison rows run without, when the user's options have no counterpart there. */
function optionNotes(options) {
  const without = comparedWithout(options);
  const notes = [];
  if (without.plain.length) notes.push(`the plain JS loop runs without ${without.plain.join(", ")}`);
  if (without.tfjs.length) notes.push(`tf.train.rmsprop without ${without.tfjs.join(", ")}`);
  if (changesTheStep(options)) notes.push("no share of the limit, which stands for a default step");
  return notes.length ? [`Options ${JSON.stringify(options)}: ${notes.join("; ")}.`] : [`Options ${JSON.stringify(options)}.`];
}

/** `text` broken at spaces into lines of at most `width`, the lines after the first indented by `indent`. */
export function wrapIndented(text, width = ANSWER_COLUMNS, indent = "  ") {
  const lines = [];
  let line = "";
  for (const word of text.split(" ")) {
    const next = line ? `${line} ${word}` : word;
    if (line && next.length > width) {
      lines.push(line);
      line = `${indent}${word}`;
    } else {
      line = next;
    }
  }
  return [...lines, line];
}

/**
 * The findings as sentences of one line each: the headline, where threads pay off, what the
 * recipe costs, how close to the limit ours runs, and a warning if the run was noisy or the
 * machine busy. `doc` holds the rows, the run (sizes, threads, options, minParamsPerThread)
 * and the machine (cores, otherCores).
 */
export function findings({ rows, run, machine }) {
  const sizes = run.sizes ?? ANSWER_SIZES;
  const limit = !changesTheStep(run.options ?? {});
  return [
    { id: "headline", text: headline(rows, sizes) },
    { id: "threads", text: threadsFinding(rows, run, machine) },
    { id: "recipe", text: recipeFinding(rows) },
    { id: "limit", text: limit ? limitFinding(rows, sizes) : undefined },
    { id: "noise", text: noiseFinding(rows, sizes) },
    { id: "busy", text: busyFinding(machine) },
  ].filter((f) => f.text);
}

/** The first line: the package, the machine and the runtime. */
export function runLine({ versions, machine, run }) {
  return [`rmsprop-wasm ${versions["rmsprop-wasm"]}`, machine.cpu, `${machine.cores} cores`, `Node ${versions.node}`, machine.platform, run.date.slice(0, 10)].join(" · ");
}

/**
 * What `npm run bench` prints: the run line, what was timed, the table and its legend, the
 * options' notes, the findings, and where to go next. At most 100 columns, and as many
 * lines as the sizes ask (under 50 for the default three).
 */
export function answerReport(doc, { footer = true } = {}) {
  const { run } = doc;
  const options = run.options ?? {};
  const limit = !changesTheStep(options);
  const given = Object.keys(options).length > 0;
  const sizes = run.sizes ?? ANSWER_SIZES;
  // A --full --only run without the sizes section has findings but no table.
  const table = sizes.some((n) => answerRows(doc.rows, n).length) ? answerTable(doc.rows, { sizes, threads: run.threads, limit }) : [];
  const out = [
    runLine(doc),
    ...(table.length
      ? [
          "One RMSProp step over n float32 parameters, back-to-back, on seeded data. Medians of interleaved",
          `rounds; vs: how many times faster than that row, round by round.${limit ? " of limit: share of the most" : ""}`,
          ...(limit ? ["this machine allows a step (its arithmetic or its memory, measured in the same rounds)."] : []),
          "",
          ...table,
        ]
      : []),
    "",
    ...(given ? optionNotes(options).flatMap((l) => wrapIndented(l)) : []),
    ...findings(doc).flatMap((f) => wrapIndented(`- ${f.text}`)),
    ...(footer ? ["", `Took ${run.seconds} s. More: --full (every section, about 11 minutes), --json, --svg FILE, --help.`] : []),
  ];
  return out;
}
