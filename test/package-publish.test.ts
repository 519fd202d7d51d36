// The package as the registry and its users get it: `npm pack` output checked by publint and
// @arethetypeswrong/cli, the exact file list `npm publish` would upload, the metadata a
// registry page shows, an install from the tarball into a consumer with no build step, and
// CommonJS callers (require() of the ES module, or a clear error where Node cannot).
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packTarball } from "./helpers/pack.ts";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));
let tarball: string;
let consumer: string;

/** Runs a command; returns its exit status and output (never throws on a non-zero exit). */
function run(command: string, args: string[], cwd = ".") {
  const r = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  tarball = packTarball();
  // A consumer outside the repository: it sees nothing but what the tarball holds.
  consumer = mkdtempSync(join(tmpdir(), "rmsprop-wasm-consumer-"));
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], { cwd: consumer, stdio: ["ignore", "pipe", "pipe"] });
});

afterAll(() => {
  for (const dir of [dirname(tarball), consumer]) rmSync(dir, { recursive: true, force: true });
});

describe("packaging checks on the packed tarball", () => {
  it("publint finds nothing, suggestions included", () => {
    const { status, out } = run("npx", ["publint", "run", tarball, "--strict", "--level", "suggestion"]);
    expect(out).toContain("All good!");
    expect(status).toBe(0);
  });

  it("@arethetypeswrong/cli: the JS entries resolve with types under node10, node16 (ESM and CJS) and bundler", () => {
    const { status, out } = run("npx", ["attw", tarball, "--entrypoints", ".", "./tfjs", "--format", "json"]);
    const report = JSON.parse(out.slice(out.indexOf("{")));
    expect(report.problems).toEqual({});
    expect(report.analysis.problems).toEqual([]);
    expect(status).toBe(0);
  });
});

describe("npm publish", () => {
  it("uploads exactly the built entries, the kernels, the CommonJS stubs, the AssemblyScript source, the header and the docs", () => {
    const { out } = run("npm", ["publish", "--dry-run", "--ignore-scripts", "--json"]);
    const report = JSON.parse(out.slice(out.indexOf("{"), out.lastIndexOf("}") + 1));
    const files = ((report[pkg.name] ?? report).files as { path: string }[]).map((f) => f.path).sort();
    // Every TypeScript source under src/ as .js and .d.ts; no source maps (src/ is not shipped),
    // nor the kernel ABI's docs, which only the tests read (no module of the package imports them).
    const built = readdirSync("src", { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && f !== "kernel-abi-docs.ts")
      .flatMap((f) => [`dist/${f.replace(/\.ts$/, ".js")}`, `dist/${f.replace(/\.ts$/, ".d.ts")}`]);
    const kernels = ["simd", "scalar", "simd_shared", "scalar_shared"].map((k) => `dist/wasm/rmsprop_${k}.wasm`);
    const assembly = readdirSync("assembly").map((f) => `assembly/${f}`);
    const cjs = ["cjs/index.cjs", "cjs/index.d.cts", "cjs/tfjs.cjs", "cjs/tfjs.d.cts"];
    const docs = ["CHANGELOG.md", "LICENSE", "README.md", "include/rmsprop-wasm.h", "include/rmsprop-wasm-schedules.h", "package.json"];
    expect(files).toEqual([...built, ...kernels, ...assembly, ...cjs, ...docs].sort());
  });

  it("has the metadata a registry page shows: MIT LICENSE, repository, homepage, bugs, a 0.1.0 changelog", () => {
    expect(pkg.license).toBe("MIT");
    expect(readFileSync("LICENSE", "utf8")).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} rmsprop-wasm contributors\n/);
    expect(pkg.repository).toEqual({ type: "git", url: "git+https://github.com/rmsprop-wasm/rmsprop-wasm.git" });
    expect(pkg.homepage).toBe("https://github.com/rmsprop-wasm/rmsprop-wasm#readme");
    expect(pkg.bugs).toEqual({ url: "https://github.com/rmsprop-wasm/rmsprop-wasm/issues" });
    expect(readFileSync("CHANGELOG.md", "utf8")).toContain(`## [${pkg.version}]`);
  });

  it("git ignores the tarballs npm pack leaves", () => {
    expect(run("git", ["check-ignore", "-q", `${pkg.name}-${pkg.version}.tgz`]).status).toBe(0);
  });
});

describe("installed from the tarball", () => {
  it("imports by name and steps, with no build step in the consumer", () => {
    const installed = join(consumer, "node_modules", pkg.name);
    expect(readdirSync(installed).sort()).toEqual(["CHANGELOG.md", "LICENSE", "README.md", "assembly", "cjs", "dist", "include", "package.json"]);
    const script = `
      import { createRmsprop } from "rmsprop-wasm";
      const opt = await createRmsprop(3, { lr: 0.5 });
      opt.grads.set([1, -1, 0]);
      console.log(JSON.stringify([opt.stepSync(), Array.from(opt.params)]));`;
    const { status, out } = run(process.execPath, ["--input-type=module", "-e", script], consumer);
    expect(status, out).toBe(0);
    // S = 0.1·g², θ = −0.5·g/√(S + 1e-8), rounded to f32
    const step = Math.fround(0.5 / Math.sqrt(Math.fround(0.1) + 1e-8));
    expect(JSON.parse(out)).toEqual([{ applied: true, nonFiniteIndex: -1, stepCount: 1 }, [-step, step, 0]]);
  });

  it("its prepare script builds only in a source tree: a no-op in the installed package", () => {
    const { status, out } = run("npm", ["run", "prepare"], join(consumer, "node_modules", pkg.name));
    expect(status, out).toBe(0);
    expect(out).not.toMatch(/rmsprop-wasm@[\d.]+ build/);
  });

  it("its prepare script runs the build where tsconfig.build.json is (a clone)", () => {
    const clone = mkdtempSync(join(tmpdir(), "rmsprop-wasm-clone-"));
    writeFileSync(join(clone, "tsconfig.build.json"), "{}");
    const marker = `node -e "require('fs').writeFileSync('built', 'yes')"`;
    writeFileSync(join(clone, "package.json"), JSON.stringify({ name: "clone", scripts: { prepare: pkg.scripts.prepare, build: marker } }));
    expect(run("npm", ["run", "prepare"], clone).status).toBe(0);
    expect(readFileSync(join(clone, "built"), "utf8")).toBe("yes");
    rmSync(clone, { recursive: true, force: true });
  });
});

describe("CommonJS callers", () => {
  it("require() gives the ES module itself where Node can require ES modules (20.19+, 22.12+, 24)", () => {
    const script = `
      const cjs = require("rmsprop-wasm");
      import("rmsprop-wasm").then(async (esm) => {
        const opt = await cjs.createRmsprop(2);
        console.log(JSON.stringify([cjs.createRmsprop === esm.createRmsprop, opt.stepSync().stepCount, require.resolve("rmsprop-wasm/tfjs")]));
      });`;
    const { status, out } = run(process.execPath, ["-e", script], consumer);
    if (out.includes("rmsprop-wasm is an ES module")) return; // an older Node: the next test's case
    expect(status, out).toBe(0);
    const [same, steps, tfjs] = JSON.parse(out);
    expect([same, steps]).toEqual([true, 1]);
    // (tfjs-core, its peer, is not installed here: resolving the subpath is what is checked)
    expect(tfjs).toMatch(/node_modules\/rmsprop-wasm\/cjs\/tfjs\.cjs$/);
  });

  it("where Node cannot require ES modules, the error names the package and the way out", () => {
    const { status, out } = run(process.execPath, ["--no-experimental-require-module", "-e", 'require("rmsprop-wasm")'], consumer);
    expect(status).not.toBe(0);
    expect(out).toMatch(/Error: rmsprop-wasm is an ES module, and Node\.js v[\d.]+ cannot require\(\) ES modules here/);
    expect(out).toContain('await import("rmsprop-wasm")');
  });
});
