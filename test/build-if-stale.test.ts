// scripts/build-if-stale.mjs: the examples skip `npm run build` exactly when dist/ is current.
// Checked on a small tree in a temporary folder whose file times the test sets.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
// @ts-expect-error: plain .mjs without types
import { buildOutputs, whyStale } from "../scripts/build-if-stale.mjs";

let root: string;
const SOURCE_TIME = 1_700_000_000; // seconds
const BUILT_TIME = SOURCE_TIME + 60;

function file(path: string, seconds: number): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), "");
  utimesSync(join(root, path), seconds, seconds);
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "rmsprop-wasm-stale-"));
  for (const input of ["assembly/rmsprop.ts", "src/index.ts", "src/tfjs/index.ts", "package.json", "asconfig.json"]) file(input, SOURCE_TIME);
  file("src/generated/wasm-simd.ts", BUILT_TIME + 100); // a build output under src/: not an input
  for (const output of buildOutputs(root) as string[]) file(output, BUILT_TIME);
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("build-if-stale", () => {
  it("expects one JS file per source file and every kernel build", () => {
    expect(buildOutputs(root)).toEqual(
      expect.arrayContaining([
        join("dist", "index.js"), join("dist", "tfjs", "index.js"),
        "dist/generated/wasm-simd.js", "dist/generated/wasm-scalar-shared.js",
        "dist/wasm/rmsprop_simd.wasm", "dist/wasm/rmsprop_scalar_shared.wasm", "build/logistic_regression.wasm",
      ]),
    );
  });

  it("a tree built after its last edit is current", () => {
    expect(whyStale(root)).toBeUndefined();
  });

  it("an edited source, kernel or config makes it stale, naming the file", () => {
    file("assembly/rmsprop.ts", BUILT_TIME + 1);
    expect(whyStale(root)).toMatch(/^assembly\/rmsprop\.ts is newer than /);
    file("assembly/rmsprop.ts", SOURCE_TIME);
    file("src/tfjs/index.ts", BUILT_TIME + 1);
    expect(whyStale(root)).toMatch(/^src\/tfjs\/index\.ts is newer than /);
  });

  it("a missing output, or a new source file without its output, makes it stale", () => {
    rmSync(join(root, "dist/wasm/rmsprop_simd.wasm"));
    expect(whyStale(root)).toBe("dist/wasm/rmsprop_simd.wasm is missing");
    file("dist/wasm/rmsprop_simd.wasm", BUILT_TIME);
    file("src/new-module.ts", SOURCE_TIME);
    expect(whyStale(root)).toBe(`${join("dist", "new-module.js")} is missing`);
  });

  it("one output older than an input is enough", () => {
    file("dist/generated/wasm-scalar.js", SOURCE_TIME - 1);
    expect(whyStale(root)).toMatch(/ is newer than dist\/generated\/wasm-scalar\.js$/);
  });

  it("every example, the demo and the benchmark go through it instead of a full build", () => {
    const scripts = JSON.parse(readFileSync("package.json", "utf8")).scripts as Record<string, string>;
    for (const name of ["example", "example:logistic-regression", "example:c-model", "demo", "bench", "bench:tfjs"]) {
      expect(scripts[name]).toMatch(/^node scripts\/build-if-stale\.mjs && /);
    }
  });
});
