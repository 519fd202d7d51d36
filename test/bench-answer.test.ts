// What `npm run bench` prints and exports, on fixed rows: the answer's table and findings
// (at most 100 columns, few lines, no target verdicts, a limit never exceeded), the JSON
// document, the command line's rules and the comparison of two runs. No timing here.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error: plain .mjs bench modules without types
import { compareWithinGroup } from "../bench/shares.mjs";
// @ts-expect-error: plain .mjs bench modules without types
import { ANSWER_COLUMNS, answerReport, findings, limitShare } from "../bench/answer.mjs";
// @ts-expect-error: plain .mjs bench modules without types
import { SCHEMA, benchDocument, parseDocument } from "../bench/document.mjs";
// @ts-expect-error: plain .mjs bench modules without types
import { HELP, UsageError, parseArgs } from "../bench/cli.mjs";
// @ts-expect-error: plain .mjs bench modules without types
import { compareReport } from "../bench/compare.mjs";
import { G, type Row, row } from "./helpers/bench-rows.ts";

/** The answer's group at n: the probes, ours on 1 and 2 threads, tfjs and plain JS. `one` is ours on 1 thread. */
function answerGroup(n: number, one = [1.2 * G, 1.2 * G, 1.28 * G], scale = 1): Row[] {
  const s = (rates: number[]) => rates.map((x) => x * scale);
  return compareWithinGroup([
    row("sizes", n, "compute probe (data in L1)", 1, s([1.6 * G, 1.5 * G, 1.6 * G]), { role: "compute" }),
    row("sizes", n, "traffic probe (no math)", 1, s([6 * G, 6 * G, 6 * G]), { role: "traffic" }),
    row("sizes", n, "traffic probe, 2 threads", 2, s([3.2 * G, 3 * G, 2.8 * G]), { role: "traffic" }),
    row("sizes", n, "wasm SIMD (default)", 1, s(one), { tag: "one" }),
    row("sizes", n, 'wasm SIMD, threads "auto"', 2, s([2.55 * G, 2.55 * G, 2.38 * G]), { tag: "many" }),
    row("sizes", n, "tfjs-backend-wasm", 1, s([0.15 * G, 0.16 * G, 0.15 * G])),
    row("sizes", n, "plain JS loop", 1, s([0.25 * G, 0.25 * G, 0.25 * G])),
  ]);
}

/** 1 thread and 2 forced at n, 2 running `x` times the rate of 1. */
const threads = (n: number, x: number) => [
  row("threads", n, "1 thread", 1, [1.2 * G, 1.2 * G, 1.2 * G]),
  row("threads", n, "2 threads (forced)", 2, [1.2 * x * G, 1.2 * x * G, 1.2 * x * G]),
];

const recipe = [
  row("recipe", 1e6, "default step", 1, [1 * G, 1 * G, 1 * G]),
  row("recipe", 1e6, "global clip + step + EMA", 1, [0.8 * G, 0.8 * G, 0.8 * G]),
  row("recipe", 1e6, "global clip + step + EMA, plain JS passes", 1, [0.1 * G, 0.1 * G, 0.1 * G]),
];

/** A default run's document on fixed rows. At 1e7 one thread measures above its limit (1.7 G/s against 1.6). */
function fixedDoc({ otherCores = 0.1, scale = 1, options = {} } = {}) {
  const rows = [
    ...answerGroup(1e5, undefined, scale),
    ...answerGroup(1e6, undefined, scale),
    ...answerGroup(1e7, [1.7 * G, 1.7 * G, 1.7 * G], scale),
    ...[[1e4, 0.6], [2e4, 0.9], [5e4, 1.3], [1e5, 1.5], [2e5, 1.7], [5e5, 1.8]].flatMap(([n, x]) => threads(n, x)),
    ...recipe,
  ];
  const run = {
    date: "2026-12-01T10:00:00.000Z", command: [], plan: "default", sections: ["sizes", "threads", "recipe"], sizes: [1e5, 1e6, 1e7],
    threads: "auto", options, minParamsPerThread: 32768, defaults: { minParamsPerThread: 32768 }, seconds: 41, sectionSeconds: {},
  };
  const machine = { cpu: "Test CPU", cores: 2, memoryBytes: 8 * 2 ** 30, platform: "linux x64", otherCores };
  const versions = { "rmsprop-wasm": "0.1.0", node: "v20.0.0", v8: "11", tinybench: "6", "@tensorflow/tfjs-core": "4", "@tensorflow/tfjs-backend-wasm": "4" };
  return benchDocument({ machine, versions, run, rows, findings: findings({ rows, run, machine }) });
}

const width = (lines: string[]) => Math.max(...lines.map((l) => [...l].length));

describe("bench: the answer a user reads", () => {
  const lines: string[] = answerReport(fixedDoc());
  const text = lines.join("\n");

  it("fits 100 columns and, with npm's 4 banner lines, 60 lines; no target verdicts", () => {
    expect(width(lines)).toBeLessThanOrEqual(ANSWER_COLUMNS);
    expect(lines.length + 4).toBeLessThanOrEqual(60);
    expect(text).not.toMatch(/MISSED|target|\bmet\b/i);
  });

  it("tables this package on 1 thread and on threads auto, the plain JS loop and tfjs-backend-wasm at each n", () => {
    for (const n of ["1e5", "1e6", "1e7"]) {
      for (const name of ["rmsprop-wasm, 1 thread", 'rmsprop-wasm, threads "auto"', "plain JS loop", "tfjs-backend-wasm"]) {
        expect(lines.some((l) => l.startsWith(n) && l.includes(name)), `${n} ${name}`).toBe(true);
      }
    }
    // 1e6 on 2 threads: 1e6 / 2.55e9 s = 0.392 ms; 2.55/0.25 = 10.20× plain JS; per round 2.55/0.15, 2.55/0.16, 2.38/0.15 → 15.94× tfjs.
    expect(lines.find((l) => l.startsWith("1e6  rmsprop-wasm, threads"))).toMatch(/\s2\s+0\.392\s+0%\s+2\.55 G\/s\s+10\.20×\s+15\.94×\s+85%$/);
  });

  it("never shows a share above the limit: a row measured over it reads 'at limit'", () => {
    // 1.7 G/s against a 1.6 G/s limit would be 106%.
    expect(lines.find((l) => l.startsWith("1e7  rmsprop-wasm, 1 thread"))).toMatch(/at limit$/);
    expect(text).not.toMatch(/1[0-9]{2}%/);
    expect([limitShare(1.07), limitShare(0.95), limitShare(0.949)]).toEqual(["at limit", "at limit", "95%"]);
  });

  it("says one line per finding: the headline, where threads pay off, the recipe's cost, the limit", () => {
    const said = Object.fromEntries(findings(fixedDoc()).map((f: { id: string; text: string }) => [f.id, f.text]));
    expect(said.headline).toBe("n = 1e6: 0.392 ms a step on 2 threads, 10.20× the plain JS loop and 15.94× tfjs-backend-wasm.");
    // 2 forced beat 1 by 5% from 5e4 (1.3×) at every larger n; the sizes add 1e6 (2.125×) and 1e7 (2.55/1.7 = 1.5×).
    expect(said.threads).toBe('Threads: 2 pay off from n = 5e4 here (1.30×; 1.50× at 1e7); "auto" uses 2 at n ≥ 65,536.');
    // 1 / 0.8 − 1 = 25% more time; the plain passes take 0.8 / 0.1 = 8× the fused step's time.
    expect(said.recipe).toBe("Recipe: global-norm clip + EMA, fused: +25% per step at 1e6; in plain JS passes: 8.00× the time.");
    // One thread: 80% at 1e5 and 1e6, over the limit at 1e7; two threads 85% everywhere.
    expect(said.limit).toBe("Limit: 1 thread runs from 80% up to the most this machine allows, 2 threads at 85%.");
    expect(said.busy).toBeUndefined();
    for (const f of Object.values(said)) expect(`- ${f}`.length).toBeLessThanOrEqual(ANSWER_COLUMNS);
  });

  it("warns when other programs kept the cores busy, and when times spread", () => {
    const doc = fixedDoc({ otherCores: 0.9 });
    doc.rows.find((r: Row) => r.tag === "one").spread = 0.23;
    const said = findings(doc).map((f: { text: string }) => f.text);
    expect(said).toContain("Busy: other programs kept 0.9 of the 2 cores busy during the run; threads had less room.");
    expect(said).toContain("Noisy: times spread up to 23%; the speed-ups, taken round by round, hold better.");
  });

  it("does not find a crossover in one lucky size below a loss", () => {
    const doc = fixedDoc();
    doc.rows = doc.rows.filter((r: Row) => r.section !== "threads").concat(threads(1e4, 1.4), threads(2e4, 0.9), threads(5e4, 1.2));
    // 1e6 and 1e7 (from the sizes) stay ahead, so the crossover is 5e4, not the lucky 1e4.
    expect(findings(doc).find((f: { id: string }) => f.id === "threads").text).toMatch(/^Threads: 2 pay off from n = 5e4 here/);
  });

  it("keeps 100 columns with a long n, many threads and large times", () => {
    const doc = fixedDoc({ scale: 1e-4 });
    doc.run = { ...doc.run, sizes: [123456789], threads: 64 };
    doc.rows = answerGroup(123456789, undefined, 1e-4);
    expect(width(answerReport(doc))).toBeLessThanOrEqual(ANSWER_COLUMNS);
  });

  it("with --options, says what the comparison rows run without, and shows no share of the limit", () => {
    const lines: string[] = answerReport(fixedDoc({ options: { momentum: 0.9, emaDecay: 0.99 } }));
    expect(lines.join("\n")).toContain('Options {"momentum":0.9,"emaDecay":0.99}: the plain JS loop runs without emaDecay;');
    expect(lines.join("\n")).not.toContain("of limit");
    expect(width(lines)).toBeLessThanOrEqual(ANSWER_COLUMNS);
  });
});

describe("bench: the JSON document", () => {
  it("holds the schema, the machine, the versions, the run, every row with its spread, and the findings", () => {
    const doc = JSON.parse(JSON.stringify(fixedDoc()));
    expect(Object.keys(doc)).toEqual(["schema", "machine", "versions", "run", "rows", "findings"]);
    expect(doc.schema).toBe(SCHEMA);
    expect(doc.rows).toHaveLength(3 * 7 + 6 * 2 + 3);
    for (const r of doc.rows) expect(typeof r.spread).toBe("number");
    expect(doc.findings.map((f: { id: string }) => f.id)).toEqual(["headline", "threads", "recipe", "limit"]);
  });

  it("reads back from a file with npm's banner before it, and refuses another document", () => {
    const text = `\n> rmsprop-wasm@0.1.0 bench\n> node bench/run.mjs --json --options '{"a":1}'\n\n${JSON.stringify(fixedDoc())}\n`;
    expect(parseDocument(text).run.seconds).toBe(41);
    expect(() => parseDocument('{"schema":"other"}', "x.json")).toThrow(/x\.json is not a bench document of rmsprop-wasm-bench\/1/);
    expect(() => parseDocument("not json", "y.json")).toThrow(/y\.json is not JSON/);
  });

  it("has every field the committed run holds described in docs/benchmark.md", () => {
    const saved = JSON.parse(readFileSync("bench/results/readme.json", "utf8"));
    const section = readFileSync("docs/benchmark.md", "utf8").split("## The JSON document")[1]?.split("\n## ")[0] ?? "";
    const keys: string[] = [
      ...Object.keys(saved), ...Object.keys(saved.machine), ...Object.keys(saved.versions), ...Object.keys(saved.run),
      ...new Set<string>(saved.rows.flatMap((r: object) => Object.keys(r))),
    ];
    for (const key of keys) expect(section, key).toContain(`\`${key}\``);
  });
});

describe("bench: the command line", () => {
  it("runs the default answer when given nothing", () => {
    expect(parseArgs([])).toMatchObject({ full: false, targets: false, sizes: undefined, threads: "auto", options: {}, json: false, help: false });
  });

  it("takes sizes, threads, options, --json with or without a file, --svg", () => {
    const args = parseArgs(["--n", "1e6,2.5e5,1e6", "--threads", "2", "--options", '{"momentum":0.9}', "--json", "--svg", "p.svg"]);
    expect(args).toMatchObject({ sizes: [250000, 1e6], threads: 2, options: { momentum: 0.9 }, json: true, jsonFile: undefined, svg: "p.svg" });
    expect(parseArgs(["--json", "a.json"])).toMatchObject({ json: true, jsonFile: "a.json" });
    // threads in --options is the threaded row's, and leaves the options.
    expect(parseArgs(["--options", '{"threads":3,"lr":0.1}'])).toMatchObject({ threads: 3, options: { lr: 0.1 } });
  });

  it("refuses what it cannot run, naming the option and the rule", () => {
    const refuses = (argv: string[], message: RegExp) => {
      expect(() => parseArgs(argv)).toThrow(UsageError);
      expect(() => parseArgs(argv)).toThrow(message);
    };
    refuses(["--n", "1e6,abc"], /^--n: each size must be a positive integer .*got "abc"/);
    refuses(["--n", "0.5"], /^--n: each size must be a positive integer/);
    refuses(["--n"], /^--n needs a value/);
    refuses(["--threads", "0"], /^--threads must be an integer in \[1, 64\] or auto; got "0"/);
    refuses(["--options", "{momentum:1}"], /^--options must be a JSON object/);
    refuses(["--options", "[1]"], /^--options must be a JSON object/);
    refuses(["--options", '{"memory":1}'], /^--options: memory is not for the bench/);
    refuses(["--options", '{"groups":[]}'], /^--options: groups is not for the bench/);
    refuses(["--threads", "2", "--options", '{"threads":2}'], /give the threads once/);
    refuses(["--full", "--n", "1e6"], /^--n shapes the default run/);
    refuses(["--only", "sizes"], /^--only picks sections of --full/);
    refuses(["--quick"], /--quick is gone/);
    refuses(["--fast"], /^unknown option --fast$/);
  });

  it("--targets is --full with the maintainers' verdicts; --help fits 100 columns", () => {
    expect(parseArgs(["--targets"])).toMatchObject({ full: true, targets: true });
    expect(parseArgs(["-h"]).help).toBe(true);
    expect(width(HELP.split("\n"))).toBeLessThanOrEqual(ANSWER_COLUMNS);
  });
});

describe("bench: comparing two runs", () => {
  it("puts b's time against a's for the answer's rows and each machine's limit, within 100 columns", () => {
    const lines: string[] = compareReport(fixedDoc(), fixedDoc({ scale: 2 }), ["a.json", "b.json"]);
    expect(width(lines)).toBeLessThanOrEqual(ANSWER_COLUMNS);
    expect(lines[0]).toBe("a: a.json: 2026-12-01, Test CPU (2 cores), Node v20.0.0, rmsprop-wasm 0.1.0");
    // Twice the rate: half the time; the speed-ups within each run stay 4.80×.
    expect(lines.find((l) => l.startsWith("1e6  rmsprop-wasm, 1 thread"))).toMatch(/1\/1\s+0\.833\s+0\.417\s+2\.00× faster\s+4\.80× → 4\.80×$/);
    // The 1-thread limit at 1e6: 1e6 / 1.6e9 s.
    expect(lines.find((l) => l.startsWith("1e6  limit, 1 thread"))).toMatch(/0\.625\s+0\.313\s+2\.00× faster$/);
    const slower: string[] = compareReport(fixedDoc({ scale: 2 }), fixedDoc());
    expect(slower.find((l) => l.startsWith("1e5  plain JS loop"))).toContain("2.00× slower");
  });
});
