// An experiment for the README's scalar-build claim, not part of the package: the default
// RMSProp step without SIMD, once one element at a time and once with four independent
// elements interleaved (so four √ and four ÷ are in flight). Same operations, same order
// per element, same bits. If the divider's latency were the limit, `interleaved` would be
// faster; if its throughput is, both run at the same speed.

export function oneByOne(p: usize, g: usize, s: usize, n: usize, lr: f32, beta: f32, oneMinusBeta: f32, eps: f32): void {
  for (let o: usize = 0; o < n << 2; o += 4) {
    const gi = load<f32>(g + o);
    const si = beta * load<f32>(s + o) + oneMinusBeta * (gi * gi);
    store<f32>(s + o, si);
    store<f32>(p + o, load<f32>(p + o) - lr * (gi / Mathf.sqrt(si + eps)));
  }
}

export function interleaved(p: usize, g: usize, s: usize, n: usize, lr: f32, beta: f32, oneMinusBeta: f32, eps: f32): void {
  for (let o: usize = 0; o < n << 2; o += 16) {
    const g0 = load<f32>(g + o), g1 = load<f32>(g + o, 4), g2 = load<f32>(g + o, 8), g3 = load<f32>(g + o, 12);
    const s0 = beta * load<f32>(s + o) + oneMinusBeta * (g0 * g0);
    const s1 = beta * load<f32>(s + o, 4) + oneMinusBeta * (g1 * g1);
    const s2 = beta * load<f32>(s + o, 8) + oneMinusBeta * (g2 * g2);
    const s3 = beta * load<f32>(s + o, 12) + oneMinusBeta * (g3 * g3);
    const d0 = Mathf.sqrt(s0 + eps), d1 = Mathf.sqrt(s1 + eps), d2 = Mathf.sqrt(s2 + eps), d3 = Mathf.sqrt(s3 + eps);
    const u0 = g0 / d0, u1 = g1 / d1, u2 = g2 / d2, u3 = g3 / d3;
    store<f32>(s + o, s0);
    store<f32>(s + o, s1, 4);
    store<f32>(s + o, s2, 8);
    store<f32>(s + o, s3, 12);
    store<f32>(p + o, load<f32>(p + o) - lr * u0);
    store<f32>(p + o, load<f32>(p + o, 4) - lr * u1, 4);
    store<f32>(p + o, load<f32>(p + o, 8) - lr * u2, 8);
    store<f32>(p + o, load<f32>(p + o, 12) - lr * u3, 12);
  }
}
