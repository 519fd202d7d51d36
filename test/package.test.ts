// The built package, as a consumer sees it: `import "rmsprop-wasm"` resolves to dist/
// through package.json "exports", with types, and the entry imports nothing by bare name
// (so it loads in a browser page without an import map or a bundler).
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));

describe("package", () => {
  it("exports an ESM entry with types", () => {
    expect(pkg.name).toBe("rmsprop-wasm");
    expect(pkg.type).toBe("module");
    expect(pkg.exports["."]).toEqual({
      import: { types: "./dist/index.d.ts", default: "./dist/index.js" },
      // require() of the ES module where Node can, a clear error where it cannot (test/package-publish.test.ts)
      require: { types: "./cjs/index.d.cts", default: "./cjs/index.cjs" },
      default: { types: "./dist/index.d.ts", default: "./dist/index.js" },
    });
    expect(readFileSync("dist/index.d.ts", "utf8")).toMatch(/createRmsprop/);
  });

  it("the built entry imports nothing by bare name", () => {
    // dist/tfjs/ is the rmsprop-wasm/tfjs subpath: it imports its peer, tfjs-core, by name.
    const files = readdirSync("dist", { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".js") && !f.startsWith("tfjs/"));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const source = readFileSync(`dist/${file}`, "utf8");
      for (const [, spec] of source.matchAll(/(?:import|export)[^"']*?from\s*["']([^"']+)["']/g)) {
        expect(spec, `${file} imports ${spec}`).toMatch(/^\.\.?\/.*\.js$/);
      }
    }
  });

  it("imports by package name and runs a step", async () => {
    const { createRmsprop } = await import("rmsprop-wasm");
    const opt = await createRmsprop(5);
    opt.params.fill(1);
    opt.grads.fill(1);
    opt.step();
    // S = 0.1, θ = 1 − 0.01/√(0.1 + 1e-8)
    expect(opt.params[4]).toBeCloseTo(1 - 0.01 / Math.sqrt(0.1 + 1e-8), 6);
  });
});
