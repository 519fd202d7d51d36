// The training curves of the parity runs as one SVG: a panel per task, the f32 run and the
// 8-bit run's training loss (mean over each stretch of steps) against the step, log loss.
const W = 980, H = 380, TOP = 64, BOTTOM = 320;
const COLOURS = { "f32": "#1b6ac9", "8-bit": "#e8590c" };
const escape = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

export function parityPlot(rows) {
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="60" y="24" font-size="15" font-weight="600">Training loss with f32 and with 8-bit optimizer state, from the same start</text>`,
    `<text x="60" y="42" fill="#555">bench/quantization (npm run bench:quantization -- parity); mean training loss per stretch of steps, log scale</text>`,
  ];
  const width = (W - 60 * (rows.length + 1)) / rows.length;
  rows.forEach((row, k) => {
    const left = 60 + k * (width + 60), right = left + width;
    const lines = Object.entries(row.runs).filter(([name]) => COLOURS[name]);
    const points = lines.flatMap(([, run]) => run.curve);
    const lo = Math.log10(Math.min(...points.map((p) => p.loss))), hi = Math.log10(Math.max(...points.map((p) => p.loss)));
    const maxStep = Math.max(...points.map((p) => p.step));
    const px = (step) => left + (step / maxStep) * (right - left);
    const py = (loss) => BOTTOM - ((Math.log10(loss) - lo) / (hi - lo || 1)) * (BOTTOM - TOP);
    parts.push(`<text x="${left}" y="${TOP - 10}" font-weight="600">${escape(`${row.task}, ${JSON.stringify(row.options)}`)}</text>`);
    parts.push(`<line x1="${left}" x2="${right}" y1="${BOTTOM}" y2="${BOTTOM}" stroke="#999"/><line x1="${left}" x2="${left}" y1="${TOP}" y2="${BOTTOM}" stroke="#999"/>`);
    for (const f of [0, 0.5, 1]) {
      const loss = 10 ** (lo + f * (hi - lo));
      parts.push(`<text x="${left - 6}" y="${py(loss) + 4}" text-anchor="end">${loss.toPrecision(2)}</text>`);
    }
    parts.push(`<text x="${right}" y="${BOTTOM + 18}" text-anchor="end">${maxStep} steps</text>`);
    lines.forEach(([name, run], j) => {
      const d = run.curve.map((p, i) => `${i ? "L" : "M"}${px(p.step).toFixed(1)},${py(p.loss).toFixed(1)}`).join(" ");
      parts.push(`<path d="${d}" fill="none" stroke="${COLOURS[name]}" stroke-width="${name === "f32" ? 2.5 : 1.5}"${name === "f32" ? "" : ' stroke-dasharray="5,3"'}/>`);
      const label = `${name}: loss ${run.loss.toFixed(4)}, accuracy ${(100 * run.accuracy).toFixed(2)}%`;
      parts.push(`<text x="${left + 10}" y="${BOTTOM + 36 + 16 * j}" fill="${COLOURS[name]}">${escape(label)}</text>`);
    });
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
