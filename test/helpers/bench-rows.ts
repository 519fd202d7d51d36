// Benchmark rows as bench/measure.mjs makes them, built from fixed per-round rates, for the
// tests of the bench's arithmetic and text (no timing).

export interface Row {
  section: string;
  n: number;
  name: string;
  threads: number;
  role?: string;
  tag?: string;
  roundRates: number[];
  msPerStep: number;
  ceilingShare?: number;
  ceilingShareRange?: number[];
  vsPlainJs?: number;
  vsPlainJsRange?: number[];
  vsTfjsWasm?: number;
  [key: string]: unknown;
}

export const G = 1e9;

/** A measured row from its per-round rates (params/s): its median rate is the middle of three. */
export function row(section: string, n: number, name: string, threads: number, roundRates: number[], extra: Partial<Row> = {}): Row {
  const rate = [...roundRates].sort((a, b) => a - b)[1];
  return { section, n, name, threads, roundRates, work: n, paramsPerSec: rate, msPerStep: (n / rate) * 1000, spread: 0, ...extra };
}
