// A logistic-regression model as its own AssemblyScript module: the forward and backward
// pass over a batch in linear memory. It knows nothing of the optimizer: it reads the
// weights and writes the gradient at byte offsets it is given, which the host points at
// an rmsprop-wasm optimizer's params and grads in the same memory (zero copies).
//
// Memory (all f32, offsets from the host): x [m × d] row-major, y [m] in {0, 1},
// weights [d + 1] (the last is the bias), grads [d + 1].

@inline function sigmoid(z: f32): f32 {
  return 1 / (1 + Mathf.exp(-z));
}

/**
 * Mean binary cross-entropy of the batch, and its gradient with respect to the weights
 * written to `grads`.
 */
export function loss_and_grad(x: usize, y: usize, m: i32, d: i32, weights: usize, grads: usize): f32 {
  const bias = load<f32>(weights + (<usize>d << 2));
  for (let j = 0; j <= d; j++) store<f32>(grads + (<usize>j << 2), 0);
  let loss: f64 = 0;
  for (let i = 0; i < m; i++) {
    const row = x + (<usize>(i * d) << 2);
    let z = bias;
    for (let j = 0; j < d; j++) z += load<f32>(row + (<usize>j << 2)) * load<f32>(weights + (<usize>j << 2));
    const p = sigmoid(z);
    const target = load<f32>(y + (<usize>i << 2));
    // log(p) and log(1 − p), kept finite for p that round to 0 or 1.
    loss -= target > 0.5 ? Math.log(max<f64>(p, 1e-12)) : Math.log(max<f64>(1 - p, 1e-12));
    const err = (p - target) / <f32>m;
    for (let j = 0; j < d; j++) {
      const at = grads + (<usize>j << 2);
      store<f32>(at, load<f32>(at) + err * load<f32>(row + (<usize>j << 2)));
    }
    const atBias = grads + (<usize>d << 2);
    store<f32>(atBias, load<f32>(atBias) + err);
  }
  return <f32>(loss / m);
}
