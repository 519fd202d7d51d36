// The schedules' code in a bundle (src/schedule-support.ts): left out of a program that never
// uses them, so a page without schedules pays nothing for them (docs/bundle-size.md); in
// every program that uses `schedules`, restores a checkpoint, or takes the tfjs adapter. A
// bundle without it refuses a schedule given as data with an error that says what to do.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { createRmsprop, schedules } from "../src/index.ts";

const DIR = "test-results/schedule-bundle";

/** Bundles `source` against the built package (as an app's build would), runs it in node, and returns its output and size. */
async function bundled(name: string, source: string): Promise<{ out: string; bytes: number }> {
  mkdirSync(DIR, { recursive: true });
  writeFileSync(`${DIR}/${name}.mjs`, source);
  await build({ entryPoints: [`${DIR}/${name}.mjs`], bundle: true, format: "esm", platform: "node", minify: true, outfile: `${DIR}/${name}.out.mjs`, logLevel: "silent" });
  const out = execFileSync(process.execPath, [`${DIR}/${name}.out.mjs`], { encoding: "utf8" }).trim();
  return { out, bytes: readFileSync(`${DIR}/${name}.out.mjs`).length };
}

const literal = `{ kind: "cosine", from: 0.1, to: 0, steps: 4 }`;

describe("the schedules' code in a bundle", () => {
  it("is left out of a program that never uses schedules, which refuses one given as data and says what to do", async () => {
    const plain = await bundled("plain", `import { createRmsprop } from "../../dist/index.js";
const opt = await createRmsprop(8);
opt.grads.fill(1);
opt.step();
console.log(opt.stepCount);`);
    const data = await bundled("data", `import { createRmsprop } from "../../dist/index.js";
try {
  await createRmsprop(8, { lr: ${literal} });
  console.log("created");
} catch (error) {
  console.log(error.message);
}`);
    expect(plain.out).toBe("1");
    expect(data.out).toMatch(/^options\.lr is a schedule, but this program's bundle left out the schedules' code, .*schedules\.cosine/);
    const using = await bundled("using", `import { createRmsprop, schedules } from "../../dist/index.js";
const opt = await createRmsprop(8, { lr: schedules.cosine({ from: 0.1, to: 0, steps: 4 }) });
console.log(opt.options.lr.kind);`);
    expect(using.out).toBe("cosine");
    // What a page without schedules saves (minified, the schedules' checks and arithmetic).
    expect(using.bytes - plain.bytes).toBeGreaterThan(6000);
  });

  it("is in a program that restores a checkpoint, whose options may hold schedules", async () => {
    // Saved by a program that schedules (this one, through the sources), restored by a bundle that only restores.
    const opt = await createRmsprop(8, { lr: schedules.warmupCosine({ peak: 0.1, warmup: 2, steps: 10 }) });
    opt.grads.fill(1);
    opt.step();
    mkdirSync(DIR, { recursive: true });
    writeFileSync(`${DIR}/scheduled.ckpt`, opt.save());
    const { out } = await bundled("restore", `import { readFileSync } from "node:fs";
import { restoreRmsprop } from "../../dist/index.js";
const opt = await restoreRmsprop(new Uint8Array(readFileSync("${DIR}/scheduled.ckpt")));
opt.grads.fill(1);
opt.step();
console.log(opt.options.lr.kind, opt.stepCount);`);
    expect(out).toBe("warmupCosine 2");
    opt.dispose();
  });
});
