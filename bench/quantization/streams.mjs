// Seeded gradient streams for the quantization measurements: what a layer's gradients look
// like to an optimizer, with the awkward parts on purpose. Per element: a scale spread over
// three decades (so S spans six within one block), a mean that is zero for most, small for
// some and large against the noise for a few (high signal-to-noise, the hard case of
// centered RMSProp), Gaussian noise, rare spikes of 30×, 3% dead elements whose gradient is
// always 0, and a decay of the whole stream by 10× over the run (the loss going down).
import { rng } from "../../test/helpers/rng.mjs";

/** Box–Muller over a seeded uniform stream. */
export function gaussian(random) {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * `steps` gradients of `n` elements as one Float32Array (step t at t·n). Deterministic for
 * a seed.
 */
export function gradientStream(n, steps, seed) {
  const r = rng(seed);
  const normal = gaussian(r);
  const scale = new Float64Array(n), mean = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const dead = r() < 0.03;
    scale[i] = dead ? 0 : 10 ** (-3 * r());
    const kind = r();
    const snr = kind < 0.6 ? 0 : kind < 0.9 ? 0.3 : 3;
    mean[i] = scale[i] * snr * normal();
  }
  const out = new Float32Array(n * steps);
  for (let t = 0; t < steps; t++) {
    const decay = 10 ** (-t / steps);
    for (let i = 0; i < n; i++) {
      const spike = r() < 0.001 ? 30 : 1;
      out[t * n + i] = decay * spike * (mean[i] + scale[i] * normal());
    }
  }
  return out;
}
