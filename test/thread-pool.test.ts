// The thread pool under stress and through bundlers: its workers run the source text of
// threadProgram, so whatever a bundler does to that function must still run on its own.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";

const scratch = mkdtempSync(join(tmpdir(), "rmsprop-wasm-pool-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// A threaded optimizer against a one-thread one, skips included; prints "same" when the bits agree.
const program = `
import { createRmsprop } from ${JSON.stringify(resolve("src/index.ts"))};
const n = 3000;
const one = await createRmsprop(n, { nonFinite: "skip" });
const three = await createRmsprop(n, { nonFinite: "skip", threads: 3, minParamsPerThread: 1 });
for (const opt of [one, three]) opt.params.fill(0.5);
const results = [[], []];
for (let t = 0; t < 20; t++) {
  [one, three].forEach((opt, k) => {
    for (let i = 0; i < n; i++) opt.grads[i] = Math.sin(i + t);
    if (t % 5 === 2) opt.grads[(t * 131) % n] = NaN;
    results[k].push(JSON.stringify(opt.step()));
  });
}
const same = three.threads === 3 && results[0].join() === results[1].join() && one.params.every((v, i) => Object.is(v, three.params[i]));
console.log(same ? "same" : "different");
one.dispose();
three.dispose();
`;

describe("thread pool", () => {
  // keepNames (tsx, many server bundles) follows each named function with a call to a
  // helper of the bundle, which the worker's copy of threadProgram would not have.
  it.each([
    ["minify", { minify: true }],
    ["minify and keepNames", { minify: true, keepNames: true }],
    ["keepNames", { keepNames: true }],
  ] as const)("runs bit for bit as one thread when bundled by esbuild with %s", async (_, options) => {
    const outfile = join(scratch, `${Object.keys(options).join("-")}.mjs`);
    await build({
      stdin: { contents: program, resolveDir: process.cwd(), loader: "js" },
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile,
      logLevel: "silent",
      ...options,
    });
    const output = execFileSync(process.execPath, [outfile], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    expect(output.trim()).toBe("same");
  });
});
