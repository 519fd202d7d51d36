// npm run bench:compare -- a.json b.json
//
// Two runs side by side, as saved by `npm run -s bench -- --json > a.json` on two machines
// (or two versions, or two settings): the answer's rows and each machine's limit, at every n
// both have, with b's time against a's. Times on two machines share no rounds, so "b vs a"
// divides two medians; the speed-ups against the plain JS loop, taken within each run, are
// the steadier comparison and are shown for both.
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { ANSWER_COLUMNS, wrapIndented } from "./answer.mjs";
import { parseDocument } from "./document.mjs";
import { groupCeilings } from "./shares.mjs";
import { fmt } from "./report.mjs";
import { BASELINE, MANY, ONE, TFJS_WASM, WARM } from "./names.mjs";
import { textTable } from "./text-table.mjs";

/** One run's comparable rows at each n: its answer rows and its limits, by a label both runs share. */
function comparable(doc) {
  const out = new Map();
  const warm = doc.rows.filter((r) => r.section === WARM);
  for (const n of [...new Set(warm.map((r) => r.n))]) {
    const at = warm.filter((r) => r.n === n);
    const add = (label, r, ms = r.msPerStep) => out.set(`${n}\u0000${label}`, { n, label, threads: r.threads, ms, vsPlainJs: r.vsPlainJs });
    for (const r of at) {
      if (r.tag === ONE) add("rmsprop-wasm, 1 thread", r);
      else if (r.tag === MANY) add("rmsprop-wasm, threaded", r);
      else if (r.name === BASELINE || r.name === TFJS_WASM) add(r.name, r);
    }
    // The limits: what the fastest step of k threads would take here.
    for (const c of groupCeilings(at)) add(`limit, ${c.threads === 1 ? "1 thread" : "k threads"}`, { threads: c.threads }, (n / c.perSec) * 1000);
  }
  return out;
}

/** "3.48× faster" or "1.25× slower": b's time against a's. */
function versus(aMs, bMs) {
  return bMs <= aMs ? `${fmt.ratio(aMs / bMs)} faster` : `${fmt.ratio(bMs / aMs)} slower`;
}

/** What one run is, in a line: file, date, machine, runtime, package. */
function describe(doc, file) {
  return `${file}: ${doc.run.date.slice(0, 10)}, ${doc.machine.cpu} (${doc.machine.cores} cores), Node ${doc.versions.node}, ` +
    `rmsprop-wasm ${doc.versions["rmsprop-wasm"]}${doc.run.plan === "full" ? ", --full" : ""}` +
    `${Object.keys(doc.run.options ?? {}).length ? `, options ${JSON.stringify(doc.run.options)}` : ""}`;
}

/** The comparison's lines (at most 100 columns), from two documents and their file names. */
export function compareReport(a, b, files = ["a", "b"]) {
  const [ra, rb] = [comparable(a), comparable(b)];
  const keys = [...ra.keys()].filter((k) => rb.has(k));
  const lines = [...wrapIndented(`a: ${describe(a, files[0])}`), ...wrapIndented(`b: ${describe(b, files[1])}`), ""];
  if (!keys.length) return [...lines, "The two runs share no size: nothing to compare (--n sets a run's sizes)."];
  const body = keys.map((k) => {
    const [x, y] = [ra.get(k), rb.get(k)];
    const speedups = x.vsPlainJs !== undefined && y.vsPlainJs !== undefined ? `${fmt.ratio(x.vsPlainJs)} → ${fmt.ratio(y.vsPlainJs)}` : "";
    return [fmt.n(x.n), x.label, `${x.threads}/${y.threads}`, fmt.ms(x.ms), fmt.ms(y.ms), versus(x.ms, y.ms), speedups];
  });
  const table = textTable(["n", "implementation", "threads a/b", "a ms/step", "b ms/step", "b against a", "vs plain JS, a → b"], body, 2);
  return [
    ...lines,
    ...table.split("\n").map((l) => l.trimEnd()),
    "",
    ...wrapIndented(
      "Times are each run's medians; b against a divides them (two machines share no rounds). A limit is the fastest " +
        "a step of that many threads can run on the machine. The speed-ups over the plain JS loop are taken round by " +
        "round within each run.",
      ANSWER_COLUMNS,
      "",
    ),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const files = process.argv.slice(2);
  if (files.length !== 2) {
    process.stderr.write("npm run bench:compare -- a.json b.json: two files written by npm run -s bench -- --json\n");
    process.exit(2);
  }
  let docs;
  try {
    docs = files.map((file) => parseDocument(readFileSync(file, "utf8"), file));
  } catch (error) {
    process.stderr.write(`npm run bench:compare: ${error.message}\n`);
    process.exit(2);
  }
  console.log(compareReport(docs[0], docs[1], files).join("\n"));
}
