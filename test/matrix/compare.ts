// Compares one environment's matrix run with Node's, case by case and bit by bit, and
// records what the environment showed (version, SIMD, threads) for the README's table.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRmsprop } from "rmsprop-wasm";
import { caseKey, lengths, runScenarios, runs, sizeOf, variants } from "./scenarios.mjs";

export interface CaseResult {
  backend?: string;
  threads?: number;
  stepCount?: number;
  steps?: { applied: boolean; nonFiniteIndex: number; promised: boolean }[];
  arrays?: Record<string, string>;
  error?: string;
}

export interface MatrixResult {
  runtime: { runtime: string; version: string; engine: string; scope: string; crossOriginIsolated?: boolean };
  autoBackend: string;
  cases: Record<string, CaseResult>;
}

/**
 * What threads do in an environment: run with a synchronous step (Node, Deno, Bun,
 * workers), run with a Promise (a window's main thread), or are refused, on a page without
 * COOP/COEP or by an engine that cannot send shared memory to a worker.
 */
export type ThreadsExpected = "sync" | "promise" | "no-isolation" | "no-shared-memory";

/** The errors threads: 2 gets where it is refused. */
export const refusals: Record<string, RegExp> = {
  "no-isolation": /Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp/,
  "no-shared-memory": /cannot send a shared WebAssembly.Memory to a worker/,
};

let reference: Promise<MatrixResult> | undefined;

/** Node's run, in this process, through the package's own name: what every engine must match. */
export function nodeReference(): Promise<MatrixResult> {
  reference ??= runScenarios(createRmsprop) as Promise<MatrixResult>;
  return reference;
}

/** The floats behind a case's base64 bits. */
export function floats(base64: string): Float32Array {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer);
}

/** Where two arrays of bits first differ, said with both values. */
function firstDifference(name: string, got: string, want: string): string {
  if (name.endsWith("Codes")) {
    // 8-bit codes: bytes, not floats.
    const [a, b] = [got, want].map((x) => Uint8Array.from(atob(x), (c) => c.charCodeAt(0)));
    const i = a.findIndex((code, k) => code !== b[k]);
    return a.length !== b.length ? `${name} has ${a.length} codes, Node's ${b.length}` : `${name}[${i}] = ${a[i]} but Node has ${b[i]}`;
  }
  const a = floats(got);
  const b = floats(want);
  if (a.length !== b.length) return `${name} has ${a.length} floats, Node's ${b.length}`;
  const ua = new Uint32Array(a.buffer);
  const ub = new Uint32Array(b.buffer);
  const i = ua.findIndex((w, k) => w !== ub[k]);
  return `${name}[${i}] = ${a[i]} (0x${ua[i].toString(16)}) but Node has ${b[i]} (0x${ub[i].toString(16)})`;
}

/**
 * Every way `got` departs from Node's run and from the threads expected: one line per
 * case, naming the case and the first differing index. Empty when all is the same.
 */
export function differences(got: MatrixResult, want: MatrixResult, threads: ThreadsExpected): string[] {
  const problems: string[] = [];
  for (const [backend, asked] of runs as [string, number][]) {
    for (const variant of Object.keys(variants)) {
      for (const n of lengths) {
        const key = caseKey(backend, asked, variant, n) as string;
        const g = got.cases[key];
        const w = want.cases[key];
        if (!g) {
          problems.push(`${key}: missing`);
          continue;
        }
        const refusal = refusals[threads];
        if (asked > 1 && refusal) {
          if (!g.error || !refusal.test(g.error)) problems.push(`${key}: expected an error matching ${refusal}, got ${g.error ?? "a run"}`);
          continue;
        }
        if (g.error) {
          problems.push(`${key}: ${g.error}`);
          continue;
        }
        const runsThreads = Math.min(asked, sizeOf(variant, n));
        if (g.backend !== backend) problems.push(`${key}: backend ${g.backend}`);
        if (g.threads !== runsThreads) problems.push(`${key}: ${g.threads} threads ran, expected ${runsThreads}`);
        const promised = runsThreads > 1 && threads === "promise";
        if (g.steps!.some((s) => s.promised !== promised)) problems.push(`${key}: step() ${promised ? "should" : "should not"} return a Promise`);
        const outcome = (r: CaseResult) => JSON.stringify([r.stepCount, r.steps!.map((s) => [s.applied, s.nonFiniteIndex])]);
        if (outcome(g) !== outcome(w)) problems.push(`${key}: steps ${outcome(g)}, Node's ${outcome(w)}`);
        for (const [name, bits] of Object.entries(w.arrays!)) {
          const mine = g.arrays![name];
          if (mine === undefined) problems.push(`${key}: no ${name}`);
          else if (mine !== bits) problems.push(`${key}: ${firstDifference(name, mine, bits)}`);
        }
      }
    }
  }
  return problems;
}

/** One row of the README's "Where it runs" table, as observed. */
export interface Observation {
  environment: string;
  runtime: MatrixResult["runtime"];
  /** A browser's version as its driver reports it (the user agent is in runtime.version). */
  browserVersion?: string;
  autoBackend: string;
  threads: ThreadsExpected;
  sameBits: boolean;
  cases: number;
}

/** Appends an observation to test-results/matrix/<file>.json (git-ignored), one file per test file. */
export function observe(file: string, observation: Observation): void {
  mkdirSync("test-results/matrix", { recursive: true });
  const path = `test-results/matrix/${file}.json`;
  let all: Observation[] = [];
  try {
    all = JSON.parse(readFileSync(path, "utf8")) as Observation[];
  } catch {
    // first observation of this run
  }
  all = all.filter((o) => o.environment !== observation.environment);
  all.push(observation);
  writeFileSync(path, JSON.stringify(all, null, 2) + "\n");
}

/**
 * Compares, records, and returns the problems: the tests assert that the list is empty,
 * so a failure prints every case that differs and where.
 */
export async function checkEnvironment(
  file: string,
  environment: string,
  got: MatrixResult,
  threads: ThreadsExpected,
  browserVersion?: string,
): Promise<string[]> {
  const problems = differences(got, await nodeReference(), threads);
  observe(file, {
    environment,
    runtime: got.runtime,
    browserVersion,
    autoBackend: got.autoBackend,
    threads,
    sameBits: problems.length === 0,
    cases: Object.keys(got.cases).length,
  });
  return problems;
}
