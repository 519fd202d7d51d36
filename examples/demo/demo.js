// The demo page's logic. The library does the optimisation; this file only draws.
import { createRmsprop } from "../../dist/index.js";

const $ = (id) => document.getElementById(id);

// 1. The worked example ------------------------------------------------------------

/** What the source text printed for θ_{t+1}: wrong from t = 1 on (see docs/worked-example.md). */
const sourceText = [1.683, 1.449, 1.292, 1.179, 1.095];

async function workedExample() {
  const opt = await createRmsprop(1, { lr: 0.1, beta: 0.9, eps: 1e-8 });
  opt.params[0] = 2;
  const rows = [];
  for (let t = 0; t < 5; t++) {
    const theta = opt.params[0];
    opt.grads[0] = theta;
    opt.step();
    rows.push({ t, theta, grad: theta, sqAvg: opt.state.sqAvg[0], next: opt.params[0] });
  }
  opt.dispose();
  $("worked").tBodies[0].innerHTML = rows
    .map((r) => {
      // 1.683 is θ₁ truncated, not wrong; from t = 1 on the text is off by far more.
      const wrong = Math.abs(sourceText[r.t] - r.next) > 1e-3;
      return `<tr><td>${r.t}</td><td>${r.theta.toFixed(6)}</td><td>${r.grad.toFixed(6)}</td><td>${r.sqAvg.toFixed(6)}</td>` +
        `<td><b>${r.next.toFixed(6)}</b></td><td class="${wrong ? "wrong" : ""}">${sourceText[r.t].toFixed(3)}</td></tr>`;
    })
    .join("");
  return rows;
}

// 2. Paths on an ill-conditioned quadratic ----------------------------------------------

const CURVATURE = [1, 20];
const START = [-4, 1.6];
const STEPS = 60;

async function rmspropPath(lr, beta) {
  const opt = await createRmsprop(2, { lr, beta });
  opt.params.set(START);
  const path = [[...opt.params]];
  for (let t = 0; t < STEPS; t++) {
    opt.grads[0] = CURVATURE[0] * opt.params[0];
    opt.grads[1] = CURVATURE[1] * opt.params[1];
    opt.step();
    path.push([...opt.params]);
  }
  opt.dispose();
  return path;
}

/** Plain gradient descent, the baseline (a line of arithmetic, no optimizer needed). */
function gradientDescentPath(lr) {
  let [x, y] = START;
  const path = [[x, y]];
  for (let t = 0; t < STEPS; t++) {
    x -= lr * CURVATURE[0] * x;
    y -= lr * CURVATURE[1] * y;
    path.push([x, y]);
  }
  return path;
}

/** A plot's CSS width: its natural 560 px, or the width of its box on a narrower page. */
function plotWidth(element) {
  const box = element.parentElement;
  const style = getComputedStyle(box);
  const inner = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  return Math.max(240, Math.min(560, Math.floor(inner) - 2)); // 2: the plot's border
}

/** Tick values from `lo` to `hi` by `step`. */
const ticks = (lo, hi, step) => Array.from({ length: Math.round((hi - lo) / step) + 1 }, (_, i) => lo + i * step);

let lastPaths;

function drawPaths(rms, gd) {
  lastPaths = [rms, gd];
  const canvas = $("paths");
  // Sized to the page in CSS pixels and drawn at the screen's resolution, so the tick labels
  // stay legible on a phone instead of being scaled down with the bitmap.
  const w = plotWidth(canvas), h = Math.round((w * 320) / 560);
  const dpr = window.devicePixelRatio || 1;
  Object.assign(canvas.style, { width: `${w}px`, height: `${h}px` });
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(h * dpr);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const left = 32, right = w - 8, top = 8, bottom = h - 24;
  const X = [-4.6, 1.4], Y = [-2, 2];
  const sx = (right - left) / (X[1] - X[0]), sy = (bottom - top) / (Y[1] - Y[0]);
  const px = (x) => left + (x - X[0]) * sx;
  const py = (y) => bottom - (y - Y[0]) * sy;
  ctx.clearRect(0, 0, w, h);
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, right - left, bottom - top);
  ctx.clip();
  ctx.strokeStyle = "#e9ecef";
  ctx.lineWidth = 1;
  for (let level = 1; level <= 12; level++) {
    // Contours of f: ellipses with semi-axes c/√a along each axis.
    const c = level * 0.45;
    ctx.beginPath();
    ctx.ellipse(px(0), py(0), (c / Math.sqrt(CURVATURE[0])) * sx, (c / Math.sqrt(CURVATURE[1])) * sy, 0, 0, 2 * Math.PI);
    ctx.stroke();
  }
  const line = (path, colour) => {
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    path.forEach(([x, y], i) => (i ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
    ctx.stroke();
    for (const [x, y] of path) ctx.fillRect(px(x) - 1.5, py(y) - 1.5, 3, 3);
  };
  line(gd, "#e8590c");
  line(rms, "#1b6ac9");
  ctx.fillStyle = "#212529";
  ctx.fillRect(px(0) - 3, py(0) - 3, 6, 6);
  ctx.restore();
  // Axes with their tick labels.
  const xTicks = ticks(-4, 1, 1), yTicks = ticks(-2, 2, 1);
  ctx.strokeStyle = "#868e96";
  ctx.fillStyle = "#495057";
  ctx.lineWidth = 1;
  ctx.font = "11px system-ui, sans-serif";
  ctx.beginPath();
  ctx.moveTo(left, top);
  ctx.lineTo(left, bottom);
  ctx.lineTo(right, bottom);
  for (const x of xTicks) {
    ctx.moveTo(px(x), bottom);
    ctx.lineTo(px(x), bottom + 4);
  }
  for (const y of yTicks) {
    ctx.moveTo(left - 4, py(y));
    ctx.lineTo(left, py(y));
  }
  ctx.stroke();
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  for (const x of xTicks) ctx.fillText(String(x), px(x), bottom + 6);
  ctx.textAlign = "right";
  ctx.fillText("x", right, bottom - 14);
  ctx.textBaseline = "middle";
  for (const y of yTicks) ctx.fillText(String(y), left - 6, py(y));
  ctx.textAlign = "left";
  ctx.fillText("y", left + 4, top + 6);
  return { x: xTicks, y: yTicks };
}

async function updatePaths() {
  const lr = Number($("lr").value), beta = Number($("beta").value);
  $("lrValue").textContent = lr.toFixed(3);
  $("betaValue").textContent = beta.toFixed(2);
  const rms = await rmspropPath(lr, beta);
  const gd = gradientDescentPath(lr);
  axes.paths = drawPaths(rms, gd);
  // How much each zig-zags along the steep axis: sign changes of y.
  const flips = (path) => path.slice(1).filter(([, y], i) => Math.sign(y) !== Math.sign(path[i][1])).length;
  $("pathSummary").textContent =
    `after ${STEPS} steps: y changed sign ${flips(gd)}× for gradient descent, ${flips(rms)}× for RMSProp; ` +
    `distance to the minimum ${Math.hypot(...gd.at(-1)).toFixed(3)} vs ${Math.hypot(...rms.at(-1)).toFixed(3)}`;
}

// 3. Early bias ---------------------------------------------------------------------

/** S as the update saw it at each step, recovered from the library's θ change: Δθ = η·g/√(Ŝ + ε). */
async function effectiveS(biasCorrection, steps, beta) {
  const lr = 0.001, eps = 1e-8;
  const opt = await createRmsprop(1, { lr, beta, eps, biasCorrection });
  const out = [];
  for (let t = 0; t < steps; t++) {
    const before = opt.params[0];
    opt.grads[0] = 1;
    opt.step();
    const delta = before - opt.params[0];
    out.push((lr / delta) ** 2 - eps);
  }
  opt.dispose();
  return out;
}

async function biasCurves() {
  const steps = 30, beta = 0.9;
  return { raw: await effectiveS(false, steps, beta), corrected: await effectiveS(true, steps, beta) };
}

function drawBias({ raw, corrected }) {
  const steps = raw.length;
  const svg = $("bias");
  const w = plotWidth(svg), h = 240, left = 40, right = w - 12, top = 12, bottom = h - 40;
  svg.setAttribute("width", String(w));
  const x = (t) => left + (t / (steps - 1)) * (right - left); // t = 0 is step 1
  const y = (v) => bottom - (v / 1.2) * (bottom - top);
  const points = (vals) => vals.map((v, t) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ");
  const xTicks = [1, 5, 10, 15, 20, 25, 30], yTicks = [0, 0.25, 0.5, 0.75, 1];
  const text = (tx, ty, anchor, label) => `<text x="${tx}" y="${ty}" text-anchor="${anchor}" font-size="11" fill="#495057">${label}</text>`;
  svg.innerHTML =
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#868e96"/>` +
    `<line x1="${left}" x2="${right}" y1="${bottom}" y2="${bottom}" stroke="#868e96"/>` +
    xTicks.map((t) => `<line x1="${x(t - 1)}" x2="${x(t - 1)}" y1="${bottom}" y2="${bottom + 4}" stroke="#868e96"/>` + text(x(t - 1), bottom + 16, "middle", t)).join("") +
    yTicks.map((v) => `<line x1="${left - 4}" x2="${left}" y1="${y(v)}" y2="${y(v)}" stroke="#868e96"/>` + text(left - 6, y(v) + 4, "end", v)).join("") +
    text((left + right) / 2, h - 6, "middle", "step t") +
    `<text x="12" y="${(top + bottom) / 2}" text-anchor="middle" font-size="11" fill="#495057" transform="rotate(-90 12 ${(top + bottom) / 2})">S</text>` +
    `<polyline data-series="raw" fill="none" stroke="#e8590c" stroke-width="2" points="${points(raw)}"/>` +
    `<polyline data-series="corrected" fill="none" stroke="#1b6ac9" stroke-width="2" points="${points(corrected)}"/>` +
    corrected.map((v, t) => `<circle data-series="corrected" cx="${x(t).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="#1b6ac9"/>`).join("") +
    // Drawn last and dashed: the corrected curve lies on it, so it must stay on top to be seen.
    `<line data-series="reference" x1="${left}" x2="${right}" y1="${y(1)}" y2="${y(1)}" stroke="#495057" stroke-width="1.5" stroke-dasharray="6 4"/>` +
    text(right, y(1) - 8, "end", "E[g²] = 1");
  return { x: xTicks, y: yTicks };
}

// 4. Throughput ---------------------------------------------------------------------

function setUpThroughput() {
  const isolated = globalThis.crossOriginIsolated === true;
  $("isolation").textContent = isolated ? "this page is isolated, threads are available" : "this page is not isolated, 1 thread only";
  const cores = navigator.hardwareConcurrency || 2;
  const choices = isolated ? [...new Set([1, 2, Math.min(cores, 8)])] : [1];
  $("threads").innerHTML = choices.map((k) => `<option>${k}</option>`).join("");
  $("run").onclick = runThroughput;
}

async function runThroughput() {
  const n = Number($("n").value), threads = Number($("threads").value);
  const progress = $("progress");
  $("run").disabled = true;
  $("speed").textContent = "running…";
  const opt = await createRmsprop(n, { threads, minParamsPerThread: 1 });
  opt.grads.fill(0.5);
  await opt.step(); // warm-up, untimed: the first touch of fresh memory costs page faults
  const steps = Math.max(20, Math.round(2e8 / n));
  let done = 0;
  let seconds = 0;
  while (done < steps) {
    // Work in slices, so the page repaints the progress bar between them; only the
    // slices are timed, not the waits for a frame.
    const sliceEnd = Math.min(steps, done + Math.max(1, Math.round(steps / 25)));
    const started = performance.now();
    for (; done < sliceEnd; done++) await opt.step();
    seconds += (performance.now() - started) / 1000;
    progress.value = done / steps;
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  opt.dispose();
  const rate = (n * steps) / seconds;
  $("speed").textContent = `${(rate / 1e6).toFixed(0)} M params/s (n = ${n.toLocaleString()}, ${threads} thread${threads > 1 ? "s" : ""}, ${steps} steps)`;
  $("run").disabled = false;
  return rate;
}

// ---------------------------------------------------------------------------------

/** The tick values each plot drew on its axes, for the browser tests. */
const axes = {};

$("lr").oninput = updatePaths;
$("beta").oninput = updatePaths;
setUpThroughput();
const worked = await workedExample();
await updatePaths();
const bias = await biasCurves();
axes.bias = drawBias(bias);
// The plots follow the page's width (a phone turned sideways, a resized window).
addEventListener("resize", () => {
  if (lastPaths) axes.paths = drawPaths(...lastPaths);
  axes.bias = drawBias(bias);
});
$("status").textContent = "ready.";
// For the browser tests: what the page computed.
globalThis.demo = { worked, bias, axes, runThroughput };
document.body.dataset.ready = "true";
