// The matrix in the server-side runtimes, each a child process that loads the package by
// its name, as a user's program does: Node (a module file, eval'd ESM, CommonJS), Deno and
// Bun from their npm packages. Each gives Node's bits in every case, with threads and a
// synchronous step, and prints nothing on stderr.
import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { checkEnvironment, differences, floats, nodeReference, type MatrixResult } from "./compare.ts";
import { caseKey, lengths, runs, sizeOf, variants } from "./scenarios.mjs";

const FILE = "runtimes";

/** Runs a command from the repository's root; resolves to its stdout and stderr. */
function run(command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 64 << 20, env: { ...process.env, NO_COLOR: "1" } }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(" ")} failed: ${error.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

async function expectNodeBits(environment: string, command: string, args: string[]): Promise<MatrixResult> {
  const { stdout, stderr } = await run(command, args);
  const got = JSON.parse(stdout) as MatrixResult;
  expect(await checkEnvironment(FILE, environment, got, "sync")).toEqual([]);
  expect(stderr).toBe("");
  return got;
}

// Eval'd ESM resolves "rmsprop-wasm" and the relative import from the working directory.
const evalSource = `
import { createRmsprop } from "rmsprop-wasm";
import { runScenarios } from "./test/matrix/scenarios.mjs";
console.log(JSON.stringify(await runScenarios(createRmsprop)));
`;

describe("the matrix in Node, Deno and Bun", () => {
  it("in Node, every backend and thread count gives the Math.fround reference's bits", async () => {
    const node = await nodeReference();
    // The reference is the "js" backend: every other run must equal it, case by case.
    const asReference: MatrixResult = { ...node, cases: {} };
    for (const [backend, threads] of runs) {
      for (const variant of Object.keys(variants)) {
        for (const n of lengths) asReference.cases[caseKey(backend, threads, variant, n)] = { ...node.cases[caseKey("js", 1, variant, n)], backend, threads: Math.min(threads, sizeOf(variant, n)) };
      }
    }
    expect(differences(node, asReference, "sync")).toEqual([]);
    expect(node.autoBackend).toBe("simd");
    // The awkward values reach the results: NaNs from the unclamped centered form, and a skipped step.
    expect(floats(node.cases[caseKey("js", 1, "tfjsCentered", 1030)].arrays!.params).some(Number.isNaN)).toBe(true);
    expect(node.cases[caseKey("simd", 2, "nonFinite", 1030)].steps!.map((s) => s.applied)).toEqual([true, false, true]);
    // 8-bit state ran on two threads and is compared by its codes and scales (1030 + 4096
    // parameters: ten blocks of 512 and one of 6), with codes of many values to round.
    const q8 = node.cases[caseKey("simd", 2, "eightBit", 1030)];
    expect(q8.threads).toBe(2);
    expect(Object.keys(q8.arrays!).sort()).toEqual(
      ["gradAvgCodes", "gradAvgScales", "momentumBufferCodes", "momentumBufferScales", "params", "sqAvgCodes", "sqAvgScales"],
    );
    expect(floats(q8.arrays!.sqAvgScales).length).toBe(11);
    for (const name of ["sqAvgCodes", "momentumBufferCodes", "gradAvgCodes"]) expect(new Set(atob(q8.arrays![name])).size).toBeGreaterThan(100);
  });

  it("a flipped bit is reported with its case, array and index", async () => {
    const node = await nodeReference();
    const key = caseKey("scalar", 2, "everything", 1030);
    const params = floats(node.cases[key].arrays!.params);
    new Uint32Array(params.buffer)[517] ^= 1;
    const bytes = new Uint8Array(params.buffer);
    const flipped = { ...node.cases[key], arrays: { ...node.cases[key].arrays, params: btoa(String.fromCharCode(...bytes)) } };
    expect(differences({ ...node, cases: { ...node.cases, [key]: flipped } }, node, "sync")).toEqual([
      expect.stringMatching(/^scalar\/2t\/everything\/n=1030: params\[517\] = .* but Node has /),
    ]);
  });

  it("Node, a module file", async () => {
    const got = await expectNodeBits("Node, module file", process.execPath, ["test/matrix/run.mjs"]);
    expect(got.runtime).toMatchObject({ runtime: "node", version: process.versions.node });
  });

  // Regression: the worker source used require(), missing when the parent is eval'd ESM.
  it("Node, eval'd ESM (node --input-type=module -e)", async () => {
    await expectNodeBits("Node, --input-type=module -e", process.execPath, ["--input-type=module", "-e", evalSource]);
  });

  it("Node, a CommonJS file with await import()", async () => {
    await expectNodeBits("Node, CommonJS + import()", process.execPath, ["test/matrix/run.cjs"]);
  });

  // Regression: Deno's parentPort has no close(); each threaded dispose() printed an error.
  it("Deno, from its npm package, with nothing on stderr", async () => {
    const got = await expectNodeBits("Deno", "node_modules/.bin/deno", ["run", "--allow-read", "test/matrix/run.mjs"]);
    expect(got.runtime.runtime).toBe("deno");
  });

  it("Bun, from its npm package, with nothing on stderr", async () => {
    const got = await expectNodeBits("Bun", "node_modules/.bin/bun", ["test/matrix/run.mjs"]);
    expect(got.runtime.runtime).toBe("bun");
  });
});
