// Formats benchmark rows: the console table, and the summary lines that check targets.

const fmt = {
  n: (n) => n.toExponential(0).replace("e+", "e"),
  ms: (x) => (x < 1 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(0)),
  rate: (x) => `${(x / 1e6).toFixed(0)} M/s`,
  gb: (x) => x.toFixed(2),
  pct: (x) => `±${(x * 100).toFixed(0)}%`,
  ratio: (x) => `${x.toFixed(2)}×`,
};

export function printTable(rows, machine) {
  console.log(`\n${machine.date.slice(0, 10)} · ${machine.cpu} · ${machine.cores} cores · Node ${machine.node}`);
  console.log("median step time (± median absolute deviation); ratio = plain JS time / this time, per round\n");
  const header = ["n", "implementation", "median ms", "spread", "params/s", "GB/s", "vs plain JS", "ratio range"];
  const body = rows.map((r) => [
    fmt.n(r.n),
    r.name,
    fmt.ms(r.medianMs),
    fmt.pct(r.spread),
    fmt.rate(r.paramsPerSec),
    fmt.gb(r.gbPerSec),
    fmt.ratio(r.vsPlainJs),
    `${fmt.ratio(r.vsPlainJsRange[0])}–${fmt.ratio(r.vsPlainJsRange[1])}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  let last;
  for (const [i, row] of body.entries()) {
    if (last !== undefined && rows[i].n !== last) console.log("");
    last = rows[i].n;
    console.log(line(row));
  }
}

/** The speed targets, checked in the bench output (never in a timed unit test). */
export function summaryLines(rows) {
  const at = (name, n) => rows.find((r) => r.name === name && r.n === n);
  const lines = [];
  const simd = at("wasm SIMD (default)", 1e6);
  if (simd) {
    const ok = simd.vsPlainJs >= 5;
    lines.push(
      `\ntarget: wasm SIMD ≥ 5× the plain JS loop at n = 1e6: ${fmt.ratio(simd.vsPlainJs)} — ${ok ? "met" : "MISSED"}`,
    );
  }
  const ignore = at("wasm SIMD, nonFinite ignore", 1e6);
  if (simd && ignore) {
    const cost = simd.medianMs / ignore.medianMs - 1;
    lines.push(`cost of the non-finite check (default "throw" vs "ignore") at n = 1e6: ${(cost * 100).toFixed(0)}%`);
  }
  return lines;
}

/** The same rows as a Markdown table, for the README. */
export function markdownTable(rows, machine) {
  const lines = [
    `Run of ${machine.date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}` +
      `${machine.quick ? ", --quick" : ""}; ratios are per-round medians, spread is the median absolute deviation.`,
    "",
    "| n | implementation | median ms | spread | params/s | GB/s | vs plain JS (range) |",
    "|---|---|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    lines.push(
      `| ${fmt.n(r.n)} | ${r.name} | ${fmt.ms(r.medianMs)} | ${fmt.pct(r.spread)} | ${fmt.rate(r.paramsPerSec)} | ` +
        `${fmt.gb(r.gbPerSec)} | **${fmt.ratio(r.vsPlainJs)}** (${fmt.ratio(r.vsPlainJsRange[0])}–${fmt.ratio(r.vsPlainJsRange[1])}) |`,
    );
  }
  return lines.join("\n") + "\n";
}
