// The benchmark as a picture: parameters per second against n, log-log, one line per
// implementation, the traffic probes dashed as the ceiling. Plain SVG, no dependencies.

// Fixed colours per implementation, so the same line looks the same in every run.
const colours = {
  "wasm SIMD (default)": "#1b6ac9",
  "wasm SIMD, nonFinite ignore": "#74c0fc",
  "wasm SIMD, 2 threads": "#2b8a3e",
  "wasm scalar": "#862e9c",
  "traffic probe (no math)": "#868e96",
  "traffic probe, 2 threads": "#343a40",
  "tfjs-backend-wasm": "#f08c00",
  "tfjs-backend-cpu": "#c92a2a",
  "Math.fround reference": "#0b7285",
  "plain JS loop": "#e64980",
};
const fallback = ["#5c940d", "#a61e4d", "#495057"];
const W = 900, H = 520;
const plot = { left: 80, right: 620, top: 50, bottom: 460 };

const escape = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const log = Math.log10;

function decades(lo, hi) {
  const out = [];
  for (let e = Math.floor(log(lo)); e <= Math.ceil(log(hi)); e++) out.push(10 ** e);
  return out;
}

const si = (x) => (x >= 1e9 ? `${x / 1e9}G` : x >= 1e6 ? `${x / 1e6}M` : x >= 1e3 ? `${x / 1e3}k` : `${x}`);

export function throughputPlot(rows, machine) {
  const sized = rows.filter((r) => r.section === "sizes");
  const names = [...new Set(sized.map((r) => r.name))];
  const xs = sized.map((r) => r.n), ys = sized.map((r) => r.paramsPerSec);
  const xTicks = decades(Math.min(...xs), Math.max(...xs));
  const yTicks = decades(Math.min(...ys), Math.max(...ys));
  const [x0, x1] = [log(Math.min(...xs)), log(Math.max(...xs))];
  const [y0, y1] = [log(yTicks[0]), log(yTicks[yTicks.length - 1])];
  const px = (n) => plot.left + ((log(n) - x0) / (x1 - x0)) * (plot.right - plot.left);
  const py = (v) => plot.bottom - ((log(v) - y0) / (y1 - y0)) * (plot.bottom - plot.top);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${plot.left}" y="24" font-size="15" font-weight="600">RMSProp step throughput (parameters/s, higher is better)</text>`,
    `<text x="${plot.left}" y="40" fill="#555">${escape(`${machine.date.slice(0, 10)} · ${machine.cpu} · ${machine.cores} cores · Node ${machine.node} · medians`)}</text>`,
  ];
  for (const t of xTicks.filter((t) => log(t) >= x0 - 1e-9 && log(t) <= x1 + 1e-9)) {
    parts.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${plot.top}" y2="${plot.bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${px(t)}" y="${plot.bottom + 18}" text-anchor="middle">${si(t)}</text>`);
  }
  for (const t of yTicks) {
    parts.push(`<line x1="${plot.left}" x2="${plot.right}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/>`);
    parts.push(`<text x="${plot.left - 8}" y="${py(t) + 4}" text-anchor="end">${si(t)}</text>`);
  }
  parts.push(`<rect x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" height="${plot.bottom - plot.top}" fill="none" stroke="#888"/>`);
  parts.push(`<text x="${(plot.left + plot.right) / 2}" y="${plot.bottom + 38}" text-anchor="middle">n (parameters)</text>`);
  parts.push(`<text transform="translate(22 ${(plot.top + plot.bottom) / 2}) rotate(-90)" text-anchor="middle">parameters per second</text>`);
  names.forEach((name, i) => {
    const pts = sized.filter((r) => r.name === name).sort((a, b) => a.n - b.n);
    const color = colours[name] ?? fallback[i % fallback.length];
    const dashed = name.startsWith("traffic probe") ? ` stroke-dasharray="6 4"` : "";
    const d = pts.map((r, k) => `${k ? "L" : "M"}${px(r.n).toFixed(1)},${py(r.paramsPerSec).toFixed(1)}`).join(" ");
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dashed}/>`);
    for (const r of pts) parts.push(`<circle cx="${px(r.n).toFixed(1)}" cy="${py(r.paramsPerSec).toFixed(1)}" r="3" fill="${color}"/>`);
    const ly = plot.top + 10 + i * 20;
    parts.push(`<line x1="${plot.right + 20}" x2="${plot.right + 48}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dashed}/>`);
    parts.push(`<text x="${plot.right + 54}" y="${ly + 4}">${escape(name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
