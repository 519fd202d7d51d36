// The source text's worked example, computed by the wasm kernel:
// L(θ) = θ²/2 so ∇L(θ) = θ; θ0 = 2, η = 0.1, β = 0.9, ε = 1e-8, five steps.
// Run: npm run example
import { createRmsprop } from "rmsprop-wasm";

/** Runs the example and returns one row per step: t, θ_t, g, S_{t+1}, θ_{t+1}. */
export async function workedExample({ steps = 5, theta0 = 2, lr = 0.1, beta = 0.9, eps = 1e-8 } = {}) {
  const opt = await createRmsprop(1, { lr, beta, eps });
  opt.params[0] = theta0;
  const rows = [];
  for (let t = 0; t < steps; t++) {
    const theta = opt.params[0];
    opt.grads[0] = theta; // ∇(θ²/2) = θ
    opt.step();
    rows.push({ t, theta, grad: theta, sqAvg: opt.state.sqAvg[0], next: opt.params[0] });
  }
  const { backend } = opt;
  opt.dispose();
  return { backend, rows };
}

const isMain = import.meta.url === new URL(process.argv[1], "file:").href;
if (isMain) {
  const { backend, rows } = await workedExample();
  const fmt = (x) => x.toFixed(6).padStart(9);
  console.log(`RMSProp worked example (L = θ²/2, θ0 = 2, η = 0.1, β = 0.9, ε = 1e-8), backend ${backend}\n`);
  console.log("  t     θ_t         g    S_{t+1}   θ_{t+1}");
  for (const r of rows) {
    console.log(`  ${r.t} ${fmt(r.theta)} ${fmt(r.grad)} ${fmt(r.sqAvg)} ${fmt(r.next)}`);
  }
}
