// RMSProp with momentum over a gradient stream, twice side by side: an f64 model with exact
// state, and the same algorithm with S and M stored in an 8-bit format between steps. The
// per-element error of S, M and the step θ moves is what the format costs.

/**
 * Per-element relative RMS error over the second half of the run (step t ≥ steps/2):
 * √(Σ (x₈ − x₆₄)² / Σ x₆₄²) for x = S, M and the step. Elements whose f64 value is
 * always 0 (dead ones) are left out.
 */
export function simulate({ stream, n, steps, beta, mu, eps = 1e-8, sFormat, mFormat, block, random }) {
  const S = new Float64Array(n), M = new Float64Array(n);
  const sq = new Float64Array(n), mq = new Float64Array(n);
  const sCodes = new Uint8Array(block), mCodes = new Uint8Array(block);
  const sScale = new Float64Array(Math.ceil(n / block)), mScale = new Float64Array(sScale.length);
  const sBlock = new Float64Array(block), mBlock = new Float64Array(block);
  const codesS = new Uint8Array(n), codesM = new Uint8Array(n);
  const acc = { S: [new Float64Array(n), new Float64Array(n)], M: [new Float64Array(n), new Float64Array(n)], step: [new Float64Array(n), new Float64Array(n)] };
  const add = (name, i, exact, got) => {
    acc[name][0][i] += (got - exact) ** 2;
    acc[name][1][i] += exact * exact;
  };
  for (let t = 0; t < steps; t++) {
    const sample = t >= steps / 2;
    for (let b = 0, start = 0; start < n; b++, start += block) {
      const len = Math.min(block, n - start);
      const sView = sBlock.subarray(0, len), mView = mBlock.subarray(0, len);
      if (t === 0) {
        sView.fill(0);
        mView.fill(0);
      } else {
        sFormat.decode(codesS.subarray(start, start + len), sScale[b], sView);
        if (mu > 0) mFormat.decode(codesM.subarray(start, start + len), mScale[b], mView);
      }
      for (let j = 0; j < len; j++) {
        const i = start + j;
        const g = stream[t * n + i];
        S[i] = beta * S[i] + (1 - beta) * g * g;
        const u = g / Math.sqrt(S[i] + eps);
        M[i] = mu * M[i] + u;
        sq[i] = beta * sView[j] + (1 - beta) * g * g;
        const uq = g / Math.sqrt(sq[i] + eps);
        mq[i] = mu * mView[j] + uq;
        if (sample) {
          add("step", i, mu > 0 ? M[i] : u, mu > 0 ? mq[i] : uq);
        }
        sView[j] = sq[i];
        mView[j] = mq[i];
      }
      sScale[b] = sFormat.encode(sView, sCodes.subarray(0, len), random);
      codesS.set(sCodes.subarray(0, len), start);
      if (mu > 0) {
        mScale[b] = mFormat.encode(mView, mCodes.subarray(0, len), random);
        codesM.set(mCodes.subarray(0, len), start);
      }
      if (sample) {
        // The error of what the next step will read back.
        sFormat.decode(codesS.subarray(start, start + len), sScale[b], sView);
        if (mu > 0) mFormat.decode(codesM.subarray(start, start + len), mScale[b], mView);
        for (let j = 0; j < len; j++) {
          add("S", start + j, S[start + j], sView[j]);
          if (mu > 0) add("M", start + j, M[start + j], mView[j]);
        }
      }
    }
  }
  const summary = {};
  for (const [name, [err, ref]] of Object.entries(acc)) {
    const rel = [];
    for (let i = 0; i < n; i++) if (ref[i] > 0) rel.push(Math.sqrt(err[i] / ref[i]));
    if (!rel.length) continue;
    rel.sort((a, b) => a - b);
    const q = (p) => rel[Math.min(rel.length - 1, Math.floor(p * rel.length))];
    summary[name] = { median: q(0.5), p90: q(0.9), p99: q(0.99), max: rel[rel.length - 1] };
  }
  return summary;
}
