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

function drawPaths(rms, gd) {
  const canvas = $("paths");
  const ctx = canvas.getContext("2d");
  const { width: w, height: h } = canvas;
  const px = (x) => ((x + 4.6) / 6) * w;
  const py = (y) => h / 2 - (y / 2) * (h / 2 - 10);
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = "#e9ecef";
  for (let level = 1; level <= 12; level++) {
    // Contours f = c²/2·0.25: ellipses with semi-axes c/√a.
    const c = level * 0.45;
    ctx.beginPath();
    ctx.ellipse(px(0), py(0), (c / Math.sqrt(CURVATURE[0])) * (w / 6), (c / Math.sqrt(CURVATURE[1])) * ((h / 2 - 10) / 2), 0, 0, 2 * Math.PI);
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
}

async function updatePaths() {
  const lr = Number($("lr").value), beta = Number($("beta").value);
  $("lrValue").textContent = lr.toFixed(3);
  $("betaValue").textContent = beta.toFixed(2);
  const rms = await rmspropPath(lr, beta);
  const gd = gradientDescentPath(lr);
  drawPaths(rms, gd);
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

async function drawBias() {
  const steps = 30, beta = 0.9;
  const raw = await effectiveS(false, steps, beta);
  const corrected = await effectiveS(true, steps, beta);
  const svg = $("bias");
  const w = 560, h = 240, left = 40, bottom = h - 24, top = 10;
  const x = (t) => left + (t / (steps - 1)) * (w - left - 10);
  const y = (v) => bottom - (v / 1.2) * (bottom - top);
  const poly = (vals, colour) =>
    `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${vals.map((v, t) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}"/>`;
  const ticks = [0, 0.5, 1].map((v) => `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v}</text>`).join("");
  svg.innerHTML =
    `<line x1="${left}" x2="${w - 10}" y1="${y(1)}" y2="${y(1)}" stroke="#adb5bd" stroke-dasharray="5 4"/>` +
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${bottom}" stroke="#868e96"/>` +
    `<line x1="${left}" x2="${w - 10}" y1="${bottom}" y2="${bottom}" stroke="#868e96"/>` +
    ticks +
    `<text x="${w - 10}" y="${h - 6}" text-anchor="end" font-size="11">step t (1 … ${steps})</text>` +
    poly(raw, "#e8590c") +
    poly(corrected, "#1b6ac9");
  return { raw, corrected };
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

$("lr").oninput = updatePaths;
$("beta").oninput = updatePaths;
setUpThroughput();
const worked = await workedExample();
await updatePaths();
const bias = await drawBias();
$("status").textContent = "ready.";
// For the browser tests: what the page computed.
globalThis.demo = { worked, bias, runThroughput };
document.body.dataset.ready = "true";
