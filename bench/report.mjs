// Formats benchmark rows: the console table, the Markdown table, and the summary lines
// that check the speed targets (targets live here, never in timed unit tests).
import { median } from "./stats.mjs";
import { PLAIN_VARIANT_PREFIX, VARIANT_PREFIX } from "./contenders.mjs";

const fmt = {
  n: (n) => (Number.isInteger(Math.log10(n)) || n % 1e6 === 0 ? n.toExponential(0).replace("e+", "e") : String(n)),
  ms: (x) => (x < 1 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(0)),
  rate: (x) => `${(x / 1e6).toFixed(0)} M/s`,
  gb: (x) => x.toFixed(2),
  pct: (x) => `±${(x * 100).toFixed(0)}%`,
  ratio: (x) => `${x.toFixed(2)}×`,
};

function cells(r) {
  return [
    r.section,
    fmt.n(r.n),
    r.name,
    fmt.ms(r.medianMs),
    fmt.pct(r.spread),
    fmt.rate(r.paramsPerSec),
    fmt.gb(r.gbPerSec),
    fmt.ratio(r.vsPlainJs),
    `${fmt.ratio(r.vsPlainJsRange[0])}–${fmt.ratio(r.vsPlainJsRange[1])}`,
  ];
}

const header = ["section", "n", "implementation", "median ms", "spread", "params/s", "GB/s", "vs plain JS", "ratio range"];

export function printTable(rows, machine) {
  console.log(`\n${machine.date.slice(0, 10)} · ${machine.cpu} · ${machine.cores} cores · Node ${machine.node}`);
  console.log("median step time (± median absolute deviation); ratio = plain JS time / this time, per round\n");
  const body = rows.map(cells);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (c) => c.map((x, i) => (i < 3 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join("  ");
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  body.forEach((row, i) => {
    if (i > 0 && (rows[i].n !== rows[i - 1].n || rows[i].section !== rows[i - 1].section)) console.log("");
    console.log(line(row));
  });
}

/** The same rows as a Markdown table, for the README. */
export function markdownTable(rows, machine) {
  const lines = [
    `Run of ${machine.date.slice(0, 10)} on ${machine.cpu} (${machine.cores} cores), Node ${machine.node}` +
      `${machine.quick ? ", --quick" : ""}. Ratios are per-round medians (range over rounds); spread is the median absolute deviation.`,
    "",
    `| ${header.slice(0, 7).join(" | ")} | vs plain JS (range) |`,
    "|---|---|---|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    const c = cells(r);
    lines.push(`| ${c.slice(0, 7).join(" | ")} | **${c[7]}** (${c[8]}) |`);
  }
  return lines.join("\n") + "\n";
}

/** Per-round ratio a/b of two rows' medians, summarised by its median. */
function roundRatio(a, b) {
  return median(a.roundMs.map((t, r) => t / b.roundMs[r]));
}

/** The speed targets, checked in the bench output. */
export function summaryLines(rows) {
  const find = (section, test) => rows.find((r) => r.section === section && test(r));
  const verdict = (ok) => (ok ? "met" : "MISSED");
  const lines = [""];
  const simd = find("sizes", (r) => r.n === 1e6 && r.name === "wasm SIMD (default)");
  const ignore = find("sizes", (r) => r.n === 1e6 && r.name === "wasm SIMD, nonFinite ignore");
  if (simd) {
    lines.push(`target: wasm SIMD ≥ 5× the plain JS loop at n = 1e6: ${fmt.ratio(simd.vsPlainJs)} — ${verdict(simd.vsPlainJs >= 5)}`);
  }
  const variants = rows.filter((r) => r.section === "variants" && r.name.startsWith(VARIANT_PREFIX));
  if (variants.length) {
    const worst = variants.reduce((a, b) => (a.vsPlainJs < b.vsPlainJs ? a : b));
    lines.push(
      `target: every kernel variant ≥ 3× the plain JS loop at n = 1e6: slowest is ${worst.name.slice(VARIANT_PREFIX.length)} at ` +
        `${fmt.ratio(worst.vsPlainJs)} — ${verdict(worst.vsPlainJs >= 3)}`,
    );
    // The same question against the loop a user would write for that variant.
    const own = variants.map((v) => {
      const name = v.name.slice(VARIANT_PREFIX.length);
      const plain = rows.find((r) => r.section === "variants" && r.name === PLAIN_VARIANT_PREFIX + name);
      return { name, x: roundRatio(plain, v) };
    });
    const slowest = own.reduce((a, b) => (a.x < b.x ? a : b));
    lines.push(
      `every kernel variant against the plain JS loop of the same variant at n = 1e6: slowest is ${slowest.name} at ${fmt.ratio(slowest.x)}`,
    );
  }
  const flat = find("groups", (r) => r.name.startsWith("flat"));
  const grouped = find("groups", (r) => r.name.includes("tensors"));
  if (flat && grouped) {
    const cost = roundRatio(grouped, flat);
    lines.push(`target: ${grouped.name} ≤ 1.1× one flat step of n = ${grouped.n}: ${fmt.ratio(cost)} — ${verdict(cost <= 1.1)}`);
  }
  const two = find("sizes", (r) => r.n === 1e7 && r.name === "wasm SIMD, 2 threads");
  const one = find("sizes", (r) => r.n === 1e7 && r.name === "wasm SIMD (default)");
  if (two && one) {
    const speedup = roundRatio(one, two);
    lines.push(`target: 2 threads ≥ 1.6× 1 thread at n = 1e7: ${fmt.ratio(speedup)} — ${verdict(speedup >= 1.6)}`);
  }
  for (const n of [1e7, 3e7]) {
    const step = find("sizes", (r) => r.n === n && r.name === "wasm SIMD, 2 threads");
    const probe = find("sizes", (r) => r.n === n && r.name === "traffic probe, 2 threads");
    if (step && probe) {
      // Same bytes moved per parameter (20) plus the scan's 4: compare bandwidth, not time.
      const share = step.gbPerSec / probe.gbPerSec;
      lines.push(
        `target: 2 threads ≥ 85% of the probe's bandwidth at n = ${fmt.n(n)}: ${(share * 100).toFixed(0)}% — ${verdict(share >= 0.85)}`,
      );
    }
  }
  const wasmPeer = find("sizes", (r) => r.n === 1e6 && r.name === "tfjs-backend-wasm");
  if (simd && wasmPeer) {
    const x = roundRatio(wasmPeer, simd);
    lines.push(`target: default backend ≥ 5× tfjs-backend-wasm at n = 1e6: ${fmt.ratio(x)} — ${verdict(x >= 5)}`);
  }
  if (simd) {
    lines.push(`target: default backend ≥ 6× the plain JS loop at n = 1e6: ${fmt.ratio(simd.vsPlainJs)} — ${verdict(simd.vsPlainJs >= 6)}`);
  }
  const crossover = rows
    .filter((r) => r.section === "threads" && r.name.startsWith("2 threads"))
    .find((r) => roundRatio(rows.find((o) => o.section === "threads" && o.n === r.n && o.name === "1 thread"), r) > 1);
  if (crossover) lines.push(`threads: 2 threads first beat 1 thread at n = ${fmt.n(crossover.n)} (the default minParamsPerThread is 131072, so n ≥ 262144 uses 2)`);
  const bytes = rows.filter((r) => r.section === "variants" && r.bytesHeld);
  if (bytes.length) {
    const perVariant = bytes.map((r) => `${r.name.slice(VARIANT_PREFIX.length)} ${(r.bytesHeld / r.n).toFixed(2)}`).join(", ");
    lines.push(`memory: bytes held per parameter at n = 1e6: ${perVariant}`);
  }
  if (simd && ignore) {
    const cost = roundRatio(simd, ignore) - 1;
    lines.push(`cost of the non-finite check (default "throw" vs "ignore") at n = 1e6: ${(cost * 100).toFixed(0)}%`);
  }
  return lines;
}
