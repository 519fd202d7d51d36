// The benchmark's pure helpers on fixed rows: the ceiling math, the per-round shares and
// ratios, the target verdicts, the README table and the plot. No timing is measured here.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
// @ts-expect-error: plain .mjs bench modules without types
import { compareWithinGroup, groupCeilings } from "../bench/shares.mjs";
// @ts-expect-error: plain .mjs bench modules without types
import { summaryLines } from "../bench/targets.mjs";
// @ts-expect-error: plain .mjs bench modules without types
import { CONSOLE_COLUMNS, consoleTable, readmeTable, summaryTable } from "../bench/report.mjs";
// @ts-expect-error: plain .mjs bench modules without types
import { throughputPlot } from "../bench/plot.mjs";
// @ts-expect-error: plain .mjs bench modules without types
import { inTrainingLoop } from "../bench/evict.mjs";
// @ts-expect-error: plain .mjs bench modules without types
import { patternsSummary, patternsTable } from "../bench/patterns.mjs";
// @ts-expect-error: a plain .mjs script without types
import { benchOutputs, markedBlock } from "../scripts/readme-bench.mjs";
// @ts-expect-error: plain .mjs bench modules without types
import { header } from "../bench/document.mjs";
import { G, type Row, row } from "./helpers/bench-rows.ts";

/** One warm group at n: the probes, the kernel on 1 and 2 threads, plain JS and tfjs. */
function warmGroup(n: number, section = "sizes"): Row[] {
  return compareWithinGroup([
    row(section, n, "compute probe (data in L1)", 1, [1.6 * G, 1.5 * G, 1.6 * G], { role: "compute" }),
    row(section, n, "traffic probe (no math)", 1, [6 * G, 6 * G, 6 * G], { role: "traffic" }),
    row(section, n, "traffic probe, 2 threads", 2, [3.2 * G, 3 * G, 2.8 * G], { role: "traffic" }),
    row(section, n, "wasm SIMD (default)", 1, [1.2 * G, 1.2 * G, 1.28 * G]),
    row(section, n, "wasm SIMD, 2 threads", 2, [2.55 * G, 2.55 * G, 2.38 * G]),
    row(section, n, "wasm SIMD, nonFinite ignore, 2 threads", 2, [2.8 * G, 2.8 * G, 2.8 * G]),
    row(section, n, "tfjs-backend-wasm", 1, [0.15 * G, 0.16 * G, 0.15 * G]),
    row(section, n, "plain JS loop", 1, [0.25 * G, 0.25 * G, 0.32 * G]),
  ]);
}

const named = (rows: Row[], name: string) => rows.find((r) => r.name === name)!;

describe("bench: the ceiling", () => {
  it("is min(k × compute, the k-thread traffic probe), round by round", () => {
    const ceilings = groupCeilings(warmGroup(1e6));
    // 1 thread: min(1.6, 6), min(1.5, 6), min(1.6, 6) G/s; compute bounds it.
    expect(ceilings[0]).toMatchObject({ threads: 1, bound: "compute" });
    expect(ceilings[0].perRound).toEqual([1.6 * G, 1.5 * G, 1.6 * G]);
    // 2 threads: min(3.2, 3.2), min(3.0, 3.0), min(3.2, 2.8); memory bounds the medians.
    expect(ceilings[1]).toMatchObject({ threads: 2, bound: "memory" });
    expect(ceilings[1].perRound.map((x: number) => x / G)).toEqual([3.2, 3, 2.8]);
  });

  it("gives every contender its share for the threads it ran on, and its ratios", () => {
    const rows = warmGroup(1e6);
    const one = named(rows, "wasm SIMD (default)");
    // 1.2/1.6, 1.2/1.5, 1.28/1.6
    expect(one.ceilingShare).toBeCloseTo(0.8, 12);
    expect(one.ceilingShareRange).toEqual([0.75, 0.8]);
    const two = named(rows, "wasm SIMD, 2 threads");
    // 2.55/3.2, 2.55/3.0, 2.38/2.8 = 0.797, 0.85, 0.85
    expect(two.ceilingShare).toBeCloseTo(0.85, 12);
    // Per round against plain JS: 1.2/0.25, 1.2/0.25, 1.28/0.32 = 4.8, 4.8, 4.
    expect(one.vsPlainJs).toBeCloseTo(4.8, 12);
    expect(one.vsPlainJsRange!.map((x) => +x.toFixed(12))).toEqual([4, 4.8]);
    expect(one.vsTfjsWasm).toBeCloseTo(1.2 / 0.15, 12);
    // Probes are the ceiling, not measured against it.
    expect(named(rows, "traffic probe (no math)").ceilingShare).toBeUndefined();
  });
});

describe("bench: summary lines", () => {
  const threads = (n: number, one: number, two: number) =>
    compareWithinGroup([
      row("threads", n, "1 thread", 1, [one, one, one]),
      row("threads", n, "2 threads (forced)", 2, [two, two, two]),
      row("threads", n, "plain JS loop", 1, [0.25 * G, 0.25 * G, 0.25 * G]),
    ]);
  const rows = [
    ...warmGroup(1e6),
    ...warmGroup(1e7),
    ...threads(2e4, 1.3 * G, 0.5 * G),
    ...threads(5e4, 1.3 * G, 1.4 * G),
    ...threads(1e5, 1.3 * G, 1.9 * G),
  ];
  // A win at 2e4 before the losses would be noise, not the crossover.
  const noisy = [...threads(1e4, 1.3 * G, 1.4 * G), ...threads(2e4, 1.3 * G, 0.5 * G), ...threads(5e4, 1.3 * G, 1.4 * G)];
  const lines: string[] = summaryLines(rows, { minParamsPerThread: 32768 });
  const line = (start: string) => lines.find((l) => l.startsWith(start));

  it("checks the ceiling targets with the measured share and its range", () => {
    expect(line('target: default "throw" on 2 threads ≥ 80% of the ceiling at n = 1e6')).toBe(
      'target: default "throw" on 2 threads ≥ 80% of the ceiling at n = 1e6: 85% (80%–85%) — met',
    );
    // 2.8/3.2, 2.8/3.0, 2.8/2.8
    expect(line('target: "ignore" on 2 threads ≥ 90% of the ceiling at n = 1e7')).toMatch(/: 93% \(88%–100%\) — met$/);
  });

  it("checks 2 threads against 1 at 5e4 and names the crossover next to the default", () => {
    // A missed target says what bounds it, in the same line.
    expect(line("target: 2 threads ≥ 1.3× 1 thread at n = 5e4")).toMatch(
      /: 1\.08× — MISSED; bound: one thread takes 0\.038 ms a step here, so waking the second thread and the barrier/,
    );
    expect(line("threads:")).toBe(
      "threads: 2 threads beat 1 thread from n = 5e4 on (the default minParamsPerThread is 32768, so n ≥ 65536 uses 2); " +
        "2 threads over 1: 2e4 0.38×, 5e4 1.08×, 1e5 1.46×",
    );
  });

  it("checks 2 forced threads against 1 at every n from 1e5 to 1e6, and says what bounds a miss", () => {
    expect(line("target: 2 threads (forced) ≥ 1.8× 1 thread")).toBe(
      "target: 2 threads (forced) ≥ 1.8× 1 thread at every n from 1e5 to 1e6, back-to-back steps: worst 1.46× at n = 1e5 (1e5 1.46×) — " +
        "MISSED; bound: 2 threads took 14 µs a step over half the 0.077 ms one-thread step at n = 1e5, where a step's region costs up to 10 µs: " +
        'the worker came late or ran slower (docs/threads.md, "Back to back")',
    );
    // Within what the region costs, the line says so: 0.077 × (1/1.75 − 1/2) ms is 5.5 µs.
    const close = summaryLines(threads(1e5, 1.3 * G, 1.75 * 1.3 * G), { minParamsPerThread: 32768 }).find((l: string) => l.startsWith("target: 2 threads (forced)"));
    expect(close).toMatch(/: worst 1\.75× at n = 1e5 \(1e5 1\.75×\) — MISSED; bound: the ceiling is 2× here; each step's region \(the StepArgs, the ticket, the barrier\) costs a few µs of a 0\.077 ms one-thread step at n = 1e5$/);
    // The worst n decides; per-round ratios that scatter name the load instead.
    const wide = [...threads(1e5, 1.3 * G, 2.5 * G), ...threads(1e6, 1.3 * G, 2.4 * G)];
    const met = summaryLines(wide, { minParamsPerThread: 32768 }).find((l: string) => l.startsWith("target: 2 threads (forced)"));
    expect(met).toBe(
      "target: 2 threads (forced) ≥ 1.8× 1 thread at every n from 1e5 to 1e6, back-to-back steps: worst 1.85× at n = 1e6 (1e5 1.92×, 1e6 1.85×) — met",
    );
    const scattered = threads(1e5, 1.3 * G, 1.9 * G).map((r: Record<string, unknown>) => (r.name === "2 threads (forced)" ? { ...r, roundRates: [1.3 * G, 2.5 * G, 1.9 * G] } : r));
    expect(summaryLines(scattered, { minParamsPerThread: 32768 }).find((l: string) => l.startsWith("target: 2 threads (forced)"))).toMatch(
      /: worst 1\.46× at n = 1e5 \(1e5 1\.46×\) — MISSED; bound: the machine's load: at n = 1e5 the ratio ranged 1\.00×–1\.92× over rounds$/,
    );
    // Where the run recorded how the choice stood at each round's end, the rounds it ran alone.
    const ends = [{ threads: 1, aloneUs: 77.1, warmUs: 96.4 }, { threads: 2, aloneUs: 76.8, warmUs: 41.2 }, { threads: 2, aloneUs: 77, warmUs: 42 }];
    const recorded = scattered.map((r: Record<string, unknown>) => (r.name === "2 threads (forced)" ? { ...r, roundEnds: ends } : r));
    expect(summaryLines(recorded, { minParamsPerThread: 32768 }).find((l: string) => l.startsWith("target: 2 threads (forced)"))).toMatch(
      /over rounds; the choice ran alone at the end of round 1 \(96\.4 µs a step on 2 threads, 77\.1 alone\)$/,
    );
  });

  it("takes the crossover where 2 threads stay ahead, not at a lucky size", () => {
    const [noisyLine] = summaryLines(noisy, { minParamsPerThread: 32768 }).filter((l: string) => l.startsWith("threads:"));
    expect(noisyLine).toMatch(/^threads: 2 threads beat 1 thread from n = 5e4 on/);
  });

  it("states the ceilings and the docs/benchmark.md table shows them with every contender", () => {
    expect(line("ceiling (sizes) at n = 1e6")).toBe(
      "ceiling (sizes) at n = 1e6: 1 thread 1600 M/s (compute-bound), 2 threads 3000 M/s (memory-bound)",
    );
    const trained = warmGroup(1e6, "training loop");
    const table: string = readmeTable([...rows, ...trained]);
    expect(table).toContain("| 1e6 | **ceiling**, 2 threads | 2 | 0.333 | memory-bound |  | 0.333 | memory-bound |  |");
    expect(table).toContain("| 1e6 | wasm SIMD, 2 threads | 2 | 0.392 | 85% | **10.20×** | 0.392 | 85% | **10.20×** |");
    // No training-loop rows at 1e7: its cells say so.
    expect(table).toContain("| 1e7 | wasm SIMD (default) | 1 | 8.33 | 80% | **4.80×** | — |  |  |");
  });

  it("the README summary has the default on 1 and 2 threads, tfjs and plain JS, without ceilings", () => {
    const table: string = summaryTable([...rows, ...warmGroup(1e6, "training loop")]);
    expect(table.split("\n")[0]).toBe(
      "| n | implementation | threads | warm ms/step | vs plain JS | training loop ms/step | vs plain JS |",
    );
    // 1e6 / 2.55e9 per s = 0.392 ms; 2.55 / 0.25 = 10.20× in the median round.
    expect(table).toContain("| 1e6 | wasm SIMD, 2 threads | 2 | 0.392 | **10.20×** | 0.392 | **10.20×** |");
    expect(table).toContain("| 1e6 | tfjs-backend-wasm | 1 |");
    expect(table).not.toContain("ceiling");
    expect(table).not.toContain("nonFinite ignore");
  });
});

describe("bench: the plot and the training loop", () => {
  it("draws the warm and the training-loop panels, each with its ceilings", () => {
    const rows = [...warmGroup(1e5), ...warmGroup(1e6), ...warmGroup(1e5, "training loop"), ...warmGroup(1e6, "training loop")];
    const svg: string = throughputPlot(rows, { date: "2026-01-01T00:00:00Z", cpu: "test", cores: 2, node: "v20" });
    expect(svg).toContain("Warm cache: back-to-back steps");
    expect(svg).toContain("Training loop: 64 MiB streamed between steps");
    expect(svg.match(/stroke-dasharray/g)!.length).toBe(2 * 2 + 2); // two ceilings per panel, and their legend
  });

  it("never times a step without an eviction before it", () => {
    let steps = 0;
    const c = inTrainingLoop({ name: "counter", step: () => ++steps });
    expect(() => c.step()).toThrow(/without an eviction/);
    c.beforeEach();
    expect(c.step()).toBe(1);
    expect(() => c.step()).toThrow(/without an eviction/);
  });
});

describe("bench: the docs quote the committed run", () => {
  it("docs/benchmark.md, the README summary and bench/results/readme.* are what bench/results/readme.json draws", () => {
    // Redraw them with `node scripts/readme-bench.mjs` after a change to the run or to how it is drawn.
    const out = benchOutputs();
    for (const { file, name, text } of out.blocks as { file: string; name: string; text: string }[]) {
      expect(markedBlock(readFileSync(file, "utf8"), name).text, `${file} <!-- ${name} -->`).toBe(text);
    }
    expect(readFileSync("bench/results/readme.md", "utf8")).toBe(out.resultsMarkdown);
    expect(readFileSync("bench/results/readme.svg", "utf8")).toBe(out.plot);
  });

  it("the README's opening figures are the committed run's, at n = 1e6 against the plain JS loop", () => {
    // Typed by hand in the opening paragraph: update them after `npm run bench:readme`.
    const { rows } = JSON.parse(readFileSync("bench/results/readme.json", "utf8"));
    const at = (name: string) => rows.find((r: Row) => r.section === "sizes" && r.n === 1e6 && r.name === name).vsPlainJs.toFixed(2);
    const opening = readFileSync("README.md", "utf8").split("\n## ")[0].replace(/\s+/g, " ");
    expect(opening).toContain(`at n = 1e6, it ran ${at("wasm SIMD (default)")}× as fast as the loop you would write by hand on one thread, and ${at('wasm SIMD, threads "auto"')}× on two`);
  });
});

describe("bench: what a person sees", () => {
  // The README's run, as bench/results/readme.json keeps it: real rows, real names.
  const saved = JSON.parse(readFileSync("bench/results/readme.json", "utf8"));

  it("the console table of --full fits 120 columns, a name too long for it is cut with an ellipsis", () => {
    const lines: string[] = consoleTable(saved.rows, header(saved)).split("\n");
    expect(lines.length).toBeGreaterThan(saved.rows.length);
    expect(Math.max(...lines.map((l) => [...l].length))).toBeLessThanOrEqual(CONSOLE_COLUMNS);
    const long = { ...saved.rows[0], name: "x".repeat(200) };
    const cut: string[] = consoleTable([long], header(saved)).split("\n");
    expect(Math.max(...cut.map((l) => [...l].length))).toBeLessThanOrEqual(CONSOLE_COLUMNS);
    expect(cut.some((l) => l.includes("x…"))).toBe(true);
    // Every measured row is there, under a heading of its section and n.
    for (const r of saved.rows) expect(lines.some((l) => l.startsWith(r.name.slice(0, 30)))).toBe(true);
    expect(lines).toContain("sizes · n = 1e6");
  });

  it("every MISSED target of a real run says in its line what bounds it", async () => {
    const lines: string[] = summaryLines(saved.rows, saved.run.defaults);
    // Whatever a run misses (a quiet machine may meet more), each miss names its bound.
    for (const l of lines.filter((x) => x.includes("MISSED"))) expect(l).toMatch(/ — MISSED; bound: \S/);
    // The default backend against plain JS: the ceiling, as a ratio to plain JS, bounds it
    // (the run's own row, made to miss where the run met it).
    const simd = saved.rows.find((r: Row) => r.section === "sizes" && r.n === 1e6 && r.name === "wasm SIMD (default)");
    const plain = saved.rows.find((r: Row) => r.section === "sizes" && r.n === 1e6 && r.name === "plain JS loop");
    const best = (simd.ceilingPerSec / plain.paramsPerSec).toFixed(2);
    const missing = saved.rows.map((r: Row) => (r === simd ? { ...r, vsPlainJs: 4 } : r));
    const line = summaryLines(missing, saved.run.defaults).find((l: string) => l.startsWith("target: default backend ≥ 6×"));
    expect(line).toContain(`4.00× — MISSED; bound: the ${simd.ceilingBound}-bound ceiling`);
    expect(line).toContain(`is ${best}× the plain JS loop here`);
  });
});

describe("bench: the tfjs section's targets", () => {
  it("a missed trainOnBatch target names the forward and backward pass as its bound", async () => {
    // @ts-expect-error: plain .mjs bench module without types
    const { summaryLines: tfjsSummary } = await import("../bench/tfjs.mjs");
    const saved = JSON.parse(readFileSync("bench/results/readme.json", "utf8"));
    const lines: string[] = tfjsSummary(saved.tfjs.rows);
    const cpu = lines.find((l) => l.includes("on tfjs-backend-cpu"))!;
    const at = (name: string) => saved.tfjs.rows.find((r: Row) => r.section === "tfjs-backend-cpu" && r.name === name);
    const theirs = at("trainOnBatch, batch 32: tf.train.rmsprop").medianMs;
    const ours = at("trainOnBatch, batch 32: rmsprop-wasm/tfjs").medianMs;
    const step = at("step: rmsprop-wasm/tfjs").medianMs;
    expect(cpu).toContain(`MISSED; bound: tfjs's forward and backward pass, ${(ours - step).toFixed(0)} ms of the ${ours.toFixed(0)} ms`);
    expect(cpu).toContain(`it would be ${(theirs / (ours - step)).toFixed(2)}×`);
  });
});

describe("bench: the patterns section's targets", () => {
  const row = (load: string, pattern: string, n: number, threads: number, ratio: number) => ({
    load, pattern, spin: 0.2, n, threads, oneUs: 100, twoUs: 100 * ratio, ratio, ratioRange: [ratio - 0.05, ratio + 0.05],
  });
  it("checks the worst ratio of each load against its bound, and names the case", () => {
    const rows = [
      row("quiet", "back-to-back", 5e4, 1, 1.03),
      row("quiet", "busy gap", 1e6, 2, 1.08),
      row("busy", "alternate 8", 5e4, 1, 0.94),
      row("busy", "alternate 1", 2e5, 2, 1.31),
    ];
    expect(patternsSummary(rows)).toEqual([
      "target: threads: 2 at most 1.10× the time of threads: 1 in every pattern (quiet): worst 1.08× (busy gap, threadSpinMs 0.2, n = 1e+6) — met",
      "target: threads: 2 at most 1.25× the time of threads: 1 in every pattern (one core busy): worst 1.31× " +
        "(alternate 1, threadSpinMs 0.2, n = 2e+5) — MISSED; bound: noise: two 1-thread optimizers differed by up to 1.06× in this load",
    ]);
    const table: string[] = patternsTable(rows).split("\n");
    expect(table).toHaveLength(2 + rows.length);
    expect(table[5]).toMatch(/^one core busy\s+alternate 1\s+0\.2\s+2e\+5\s+2\s+100\.0\s+131\.0\s+1\.31×\s+1\.26–1\.36$/);
  });

  it("quotes what memory allowed in a training-loop row, and bounds a miss by it only where the bytes alone took too long", () => {
    const probed = (gap: number, ratio: number, one: number, two: number) => ({
      ...row("quiet", `training loop, ${gap} ms`, 8e5, 2, ratio), traffic: { one, two },
    });
    const line = (rows: object[]) => patternsSummary(rows).find((l: string) => l.includes("n = 8e5"));
    const start = "target: threads: 2 at most 0.70× the time of threads: 1 in a training loop at n = 8e5 (every gap): ";
    const figures = (one: string, two: string) =>
      `moving a step's bytes without its arithmetic (the traffic probe) took ${one}× one thread's step on 1 thread and ${two}× on 2 in the same loop`;
    expect(line([probed(1, 0.66, 0.6, 0.45), probed(20, 0.69, 0.62, 0.47)])).toBe(
      `${start}0.69×, worst at 20 ms between steps (there, ${figures("0.62", "0.47")}) — met`,
    );
    // The bytes alone, on 2 threads, took more than the target allows the step: memory bounds it.
    expect(line([probed(1, 0.66, 0.6, 0.45), probed(50, 0.77, 0.6, 0.72)])).toBe(
      `${start}0.77×, worst at 50 ms between steps — MISSED; bound: memory: ${figures("0.60", "0.72")}`,
    );
    // They took less: the figures, not a bound.
    expect(line([probed(50, 0.77, 0.6, 0.62)])).toBe(`${start}0.77×, worst at 50 ms between steps — MISSED (there, ${figures("0.60", "0.62")})`);
    // A row without probes (the busy load, an older run's document) reads as before.
    expect(line([row("quiet", "training loop, 5 ms", 8e5, 2, 0.75)])).toBe(`${start}0.75×, worst at 5 ms between steps — MISSED`);
  });
});
