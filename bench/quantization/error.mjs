// The choice of the code maps, by their error: each candidate stores S (and M) between the
// steps of RMSProp with momentum on the same seeded gradient stream (streams.mjs), against
// an f64 model of the same algorithm (simulate.mjs). Then the centered case, S stored
// against V = S − G² stored, and the block sizes.
import { floatFormat, M_CANDIDATES, S_CANDIDATES } from "./candidates.mjs";
import { gradientStream } from "./streams.mjs";
import { simulate } from "./simulate.mjs";
import { rng } from "../../test/helpers/rng.mjs";

const pct = (x) => `${(100 * x).toFixed(1)}%`;
const cell = (s) => (s ? `${pct(s.median)} / ${pct(s.p99)}` : "");

/** Rounds with one random offset per block and call, as the kernel does. */
const perBlock = (f) => ({ ...f, encode: (xs, codes, random) => { const r = random?.(); return f.encode(xs, codes, random && (() => r)); } });

export function errorRows({ quick = false } = {}) {
  const n = 8192, steps = quick ? 200 : 600;
  const stream = gradientStream(n, steps, 1);
  const rows = { s: [], m: [], blocks: [] };
  const chosenS = floatFormat({ e: 5, m: 3, signed: false, floor: true });
  const chosenM = floatFormat({ e: 3, m: 4, signed: true });
  for (const beta of [0.9, 0.99]) {
    for (const f of S_CANDIDATES) {
      for (const rounding of ["nearest", "stochastic"]) {
        const r = simulate({ stream, n, steps, beta, mu: 0, sFormat: f, block: 256, random: rounding === "stochastic" ? rng(7) : undefined });
        rows.s.push({ beta, format: f.name, rounding, S: r.S, step: r.step });
      }
    }
    for (const f of M_CANDIDATES) {
      const r = simulate({ stream, n, steps, beta, mu: 0.9, sFormat: perBlock(chosenS), mFormat: perBlock(f), block: 256, random: rng(7) });
      rows.m.push({ beta, format: f.name, M: r.M, step: r.step });
    }
    for (const block of [64, 256, 512, 1024, 2048]) {
      const r = simulate({ stream, n, steps, beta, mu: 0.9, sFormat: perBlock(chosenS), mFormat: perBlock(chosenM), block, random: rng(7) });
      rows.blocks.push({ beta, block, S: r.S, M: r.M, step: r.step });
    }
  }
  return rows;
}

export function printError(rows) {
  console.log("S, no momentum, blocks of 256: relative RMS error per element, median / p99");
  console.log("| β | code map of S | rounding | S | step |\n|---|---|---|---:|---:|");
  for (const r of rows.s) console.log(`| ${r.beta} | ${r.format} | ${r.rounding} | ${cell(r.S)} | ${cell(r.step)} |`);
  console.log("\nM, with S in u8e5m3, stochastic rounding per block");
  console.log("| β | code map of M | M | step |\n|---|---|---:|---:|");
  for (const r of rows.m) console.log(`| ${r.beta} | ${r.format} | ${cell(r.M)} | ${cell(r.step)} |`);
  console.log("\nBlock sizes, u8e5m3 S and s8e3m4 M");
  console.log("| β | block | S | M | step |\n|---|---:|---:|---:|---:|");
  for (const r of rows.blocks) console.log(`| ${r.beta} | ${r.block} | ${cell(r.S)} | ${cell(r.M)} | ${cell(r.step)} |`);
}

/**
 * Centered: S and G stored apart against V = S − G² and G, each step of a stream with a
 * large mean against its noise; how often the step passes 10× the f64 model's.
 */
export function centeredRows({ quick = false } = {}) {
  const n = 8192, steps = quick ? 200 : 600, block = 256, eps = 1e-8;
  const stream = gradientStream(n, steps, 1);
  const sF = perBlock(floatFormat({ e: 5, m: 3, signed: false, floor: true }));
  const gF = perBlock(floatFormat({ e: 4, m: 3, signed: true }));
  const rows = [];
  for (const beta of [0.9, 0.99]) {
    for (const stored of ["S and G", "V = S − G² and G"]) {
      const random = rng(3);
      const S = new Float64Array(n), G = new Float64Array(n);
      const codesX = new Uint8Array(n), codesG = new Uint8Array(n), scX = [], scG = [];
      let blowups = 0, count = 0;
      for (let t = 0; t < steps; t++) {
        for (let b = 0, start = 0; start < n; b++, start += block) {
          const xs = new Float64Array(block), gs = new Float64Array(block);
          if (t > 0) {
            sF.decode(codesX.subarray(start, start + block), scX[b], xs);
            gF.decode(codesG.subarray(start, start + block), scG[b], gs);
          }
          for (let j = 0; j < block; j++) {
            const i = start + j, g = stream[t * n + i];
            S[i] = beta * S[i] + (1 - beta) * g * g;
            G[i] = beta * G[i] + (1 - beta) * g;
            const u = g / Math.sqrt(Math.max(S[i] - G[i] * G[i], 0) + eps);
            const sOld = stored === "S and G" ? xs[j] : xs[j] + gs[j] * gs[j];
            const sNew = beta * sOld + (1 - beta) * g * g, gNew = beta * gs[j] + (1 - beta) * g;
            const v = Math.max(sNew - gNew * gNew, 0);
            const uq = g / Math.sqrt(v + eps);
            if (g !== 0) {
              count++;
              if (Math.abs(uq) > 10 * Math.abs(u) + 1) blowups++;
            }
            xs[j] = stored === "S and G" ? sNew : v;
            gs[j] = gNew;
          }
          scX[b] = sF.encode(xs, codesX.subarray(start, start + block), random);
          scG[b] = gF.encode(gs, codesG.subarray(start, start + block), random);
        }
      }
      rows.push({ beta, stored, blowups, count });
    }
  }
  return rows;
}

export function printCentered(rows) {
  console.log("\nCentered: steps more than 10× (+1) the f64 model's, of all steps with g ≠ 0");
  console.log("| β | stored | such steps |\n|---|---|---:|");
  for (const r of rows) console.log(`| ${r.beta} | ${r.stored} | ${r.blowups} of ${r.count} (${pct(r.blowups / r.count)}) |`);
}
