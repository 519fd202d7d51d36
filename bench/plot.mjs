// The benchmark as a picture: parameters per second against n, log-log, in two panels:
// back-to-back steps (a warm cache) and the training loop (the cache evicted between
// steps). One line per implementation, the ceilings of 1 and 2 threads dashed. Plain SVG.
import { groupCeilings } from "./shares.mjs";
import {
  AUTO, BASELINE, IGNORE, IGNORE_2, SCALAR, SIMD, SIMD_2, SIMD_2_HOT, TFJS_WASM, TRAINING, WARM,
} from "./names.mjs";

const CEILING_1 = "ceiling, 1 thread";
const CEILING_2 = "ceiling, 2 threads";

// Fixed colours per implementation, so the same line looks the same in every run.
const colours = {
  [SIMD]: "#1b6ac9",
  [IGNORE]: "#74c0fc",
  [SIMD_2]: "#2b8a3e",
  [AUTO]: "#5f3dc4",
  [SIMD_2_HOT]: "#fab005",
  [IGNORE_2]: "#8ce99a",
  [SCALAR]: "#862e9c",
  [TFJS_WASM]: "#f08c00",
  "tfjs-backend-cpu": "#c92a2a",
  "Math.fround reference": "#0b7285",
  [BASELINE]: "#e64980",
  [CEILING_1]: "#868e96",
  [CEILING_2]: "#343a40",
};
const fallback = ["#5c940d", "#a61e4d", "#495057"];
const W = 1240, H = 520;
const top = 70, bottom = 460;
const panels = [
  { section: WARM, title: "Warm cache: back-to-back steps" },
  { section: TRAINING, title: "Training loop: 64 MiB streamed between steps" },
];
// The panels share the width left of the legend: two side by side (a --full run), or one
// (the default run has no training loop).
const PLOT_LEFT = 80, PLOT_RIGHT = 910, PANEL_GAP = 70;
const legendX = 940;

const escape = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
const log = Math.log10;
const si = (x) => (x >= 1e9 ? `${x / 1e9}G` : x >= 1e6 ? `${x / 1e6}M` : x >= 1e3 ? `${x / 1e3}k` : `${x}`);

function decades(lo, hi) {
  const out = [];
  for (let e = Math.floor(log(lo)); e <= Math.ceil(log(hi)); e++) out.push(10 ** e);
  return out;
}

/** The points of one section: each implementation's params/s by n, and the ceilings. */
function series(rows, section) {
  const mine = rows.filter((r) => r.section === section);
  const lines = new Map();
  const add = (name, n, v) => lines.set(name, [...(lines.get(name) ?? []), { n, v }]);
  for (const r of mine) if (!r.role) add(r.name, r.n, r.paramsPerSec);
  for (const n of new Set(mine.map((r) => r.n))) {
    for (const c of groupCeilings(mine.filter((r) => r.n === n))) add(c.threads === 1 ? CEILING_1 : CEILING_2, n, c.perSec);
  }
  for (const pts of lines.values()) pts.sort((a, b) => a.n - b.n);
  return lines;
}

export function throughputPlot(rows, machine) {
  const present = panels.map((p) => ({ ...p, lines: series(rows, p.section) })).filter((p) => p.lines.size);
  const each = (PLOT_RIGHT - PLOT_LEFT - PANEL_GAP * (present.length - 1)) / Math.max(1, present.length);
  const bySection = present.map((p, i) => ({ ...p, left: PLOT_LEFT + i * (each + PANEL_GAP), right: PLOT_LEFT + i * (each + PANEL_GAP) + each }));
  const points = bySection.flatMap((p) => [...p.lines.values()].flat());
  // One n axis for both panels, so a training-loop point sits under its warm one.
  const [x0, x1] = [log(Math.min(...points.map((p) => p.n))), log(Math.max(...points.map((p) => p.n)))];
  if (!points.length) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="40"><text x="10" y="24">no sizes or training-loop rows in this run</text></svg>\n`;
  const yTicks = decades(Math.min(...points.map((p) => p.v)), Math.max(...points.map((p) => p.v)));
  const [y0, y1] = [log(yTicks[0]), log(yTicks[yTicks.length - 1])];
  const py = (v) => bottom - ((log(v) - y0) / (y1 - y0)) * (bottom - top);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="80" y="24" font-size="15" font-weight="600">RMSProp step throughput (parameters/s, higher is better)</text>`,
    `<text x="80" y="40" fill="#555">${escape(`${machine.date.slice(0, 10)} · ${machine.cpu} · ${machine.cores} cores · Node ${machine.node} · medians`)}</text>`,
  ];
  const names = [];
  for (const panel of bySection) {
    const px = (n) => panel.left + ((log(n) - x0) / (x1 - x0 || 1)) * (panel.right - panel.left);
    parts.push(`<text x="${panel.left}" y="${top - 10}" font-weight="600">${escape(panel.title)}</text>`);
    for (const t of decades(10 ** x0, 10 ** x1).filter((t) => log(t) >= x0 - 1e-9 && log(t) <= x1 + 1e-9)) {
      parts.push(`<line x1="${px(t)}" x2="${px(t)}" y1="${top}" y2="${bottom}" stroke="#eee"/>`);
      parts.push(`<text x="${px(t)}" y="${bottom + 18}" text-anchor="middle">${si(t)}</text>`);
    }
    for (const t of yTicks) {
      parts.push(`<line x1="${panel.left}" x2="${panel.right}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/>`);
      parts.push(`<text x="${panel.left - 8}" y="${py(t) + 4}" text-anchor="end">${si(t)}</text>`);
    }
    parts.push(`<rect x="${panel.left}" y="${top}" width="${panel.right - panel.left}" height="${bottom - top}" fill="none" stroke="#888"/>`);
    parts.push(`<text x="${(panel.left + panel.right) / 2}" y="${bottom + 38}" text-anchor="middle">n (parameters)</text>`);
    for (const [name, pts] of panel.lines) {
      if (!names.includes(name)) names.push(name);
      const { color, dash } = style(name, names.indexOf(name));
      const d = pts.map((p, k) => `${k ? "L" : "M"}${px(p.n).toFixed(1)},${py(p.v).toFixed(1)}`).join(" ");
      parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash}/>`);
      for (const p of pts) parts.push(`<circle cx="${px(p.n).toFixed(1)}" cy="${py(p.v).toFixed(1)}" r="3" fill="${color}"/>`);
    }
  }
  parts.push(`<text transform="translate(22 ${(top + bottom) / 2}) rotate(-90)" text-anchor="middle">parameters per second</text>`);
  names.forEach((name, i) => {
    const { color, dash } = style(name, i);
    const ly = top + 10 + i * 20;
    parts.push(`<line x1="${legendX}" x2="${legendX + 28}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash}/>`);
    parts.push(`<text x="${legendX + 34}" y="${ly + 4}">${escape(name)}</text>`);
  });
  const noteY = top + 10 + names.length * 20 + 10;
  parts.push(`<text x="${legendX}" y="${noteY}" fill="#555">dashed: min(k × compute probe,</text>`);
  parts.push(`<text x="${legendX}" y="${noteY + 16}" fill="#555">k-thread traffic probe)</text>`);
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

function style(name, i) {
  const ceiling = name === CEILING_1 || name === CEILING_2;
  return { color: colours[name] ?? fallback[i % fallback.length], dash: ceiling ? ` stroke-dasharray="6 4"` : "" };
}
