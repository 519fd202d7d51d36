// The published types, as TypeScript users meet them: the packed package compiled (strict)
// by the oldest TypeScript it supports (docs/typescript.md) and by the current one, under
// nodenext, bundler and node10 resolution; every subpath resolved by TypeScript itself.
// The oldest TypeScript is installed by scripts/install-test-deps.sh (npm test's pretest).
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { packTarball, unpackAsDependency } from "./helpers/pack.ts";

/** The oldest supported TypeScript; keep in step with scripts/install-test-deps.sh and the docs. */
const TS_MIN = "5.0.4";
const compilers = {
  [TS_MIN]: resolve(`build/tools/typescript-${TS_MIN}/node_modules/typescript`),
  current: resolve("node_modules/typescript"),
};
// Inside the repository, so that tfjs-core and the @types resolve from its node_modules.
const consumer = resolve("build/consumers/ts");
const fixtures = "test/fixtures/ts-consumer";

/** A tsconfig for one setting; `files` are the fixture files it compiles. */
function tsconfig(name: string, options: Record<string, unknown>, files: string[]): string {
  const compilerOptions = { strict: true, noEmit: true, target: "es2022", lib: ["es2022", "dom"], ...options };
  writeFileSync(join(consumer, `tsconfig.${name}.json`), JSON.stringify({ compilerOptions, files }, null, 2));
  return `tsconfig.${name}.json`;
}

/** tsc's output, "" when it compiled without errors. */
function compile(ts: string, config: string): string {
  try {
    execFileSync(process.execPath, [join(ts, "bin", "tsc"), "-p", config], { cwd: consumer, stdio: ["ignore", "pipe", "pipe"] });
    return "";
  } catch (error) {
    const { stdout, stderr } = error as { stdout: Buffer; stderr: Buffer };
    return `${stdout}${stderr}` || String(error);
  }
}

beforeAll(() => {
  if (!existsSync(join(compilers[TS_MIN], "package.json"))) {
    throw new Error(`TypeScript ${TS_MIN} is not installed: run bash scripts/install-test-deps.sh`);
  }
  const tarball = packTarball();
  unpackAsDependency(tarball, consumer);
  rmSync(dirname(tarball), { recursive: true, force: true });
  for (const file of readdirSync(fixtures)) copyFileSync(join(fixtures, file), join(consumer, file));
});

describe.each(Object.entries(compilers))("TypeScript %s, strict", (version, ts) => {
  it("nodenext, with @types/node: stepSync, await step(), Symbol.dispose", () => {
    expect(compile(ts, tsconfig("nodenext", { module: "nodenext", moduleResolution: "nodenext", types: ["node"] }, ["core.ts"]))).toBe("");
  });

  // lib.dom is the only lib that declares the WebAssembly namespace: a Node project that
  // checks the libraries' .d.ts must not meet it there.
  it("nodenext, a Node project without the DOM lib (lib ES2022, types node, skipLibCheck false)", () => {
    const options = { module: "nodenext", moduleResolution: "nodenext", lib: ["es2022"], types: ["node"], skipLibCheck: false };
    expect(compile(ts, tsconfig("node-only", options, ["core.ts", "node-only.ts"]))).toBe("");
  });

  it("bundler, without @types/node (a browser project): Symbol.dispose without ESNext.Disposable", () => {
    expect(compile(ts, tsconfig("bundler", { module: "esnext", moduleResolution: "bundler", types: [] }, ["core.ts"]))).toBe("");
  });

  // tfjs-core's own types need a newer DOM lib than TypeScript 5.0's (its @webgpu/types),
  // so there the libraries' .d.ts are not checked: the resolution and the consumer's code are.
  const skipLibCheck = version === TS_MIN;
  it("bundler: the rmsprop-wasm/tfjs subpath with tfjs-core's types", () => {
    expect(compile(ts, tsconfig("tfjs", { module: "esnext", moduleResolution: "bundler", skipLibCheck }, ["tfjs.ts"]))).toBe("");
  });

  it("node10 (moduleResolution node, which ignores exports): both entries through typesVersions", () => {
    expect(compile(ts, tsconfig("node10", { module: "commonjs", moduleResolution: "node", skipLibCheck }, ["node10.ts"]))).toBe("");
  });

  // TypeScript learned require() of ES modules in 5.8; before it, the CommonJS entry's .d.cts
  // (which re-exports the ES module's types) compiles for the consumer only with skipLibCheck.
  it("nodenext, a CommonJS .cts file: the require condition's types", () => {
    const options = { module: "nodenext", moduleResolution: "nodenext", skipLibCheck: version === TS_MIN };
    expect(compile(ts, tsconfig("require", options, ["require.cts"]))).toBe("");
  });

  if (version === "current") {
    it("`using` disposes the optimizer at the end of the block", () => {
      const config = tsconfig("using", { module: "nodenext", moduleResolution: "nodenext", types: ["node"], lib: ["esnext", "dom"] }, ["using.ts"]);
      expect(compile(ts, config)).toBe("");
    });
  }

  it("every subpath resolves for TypeScript under node10, node16 (from ESM and from CJS) and bundler", () => {
    const tsApi = createRequire(import.meta.url)(ts) as typeof import("typescript");
    const from = join(consumer, "core.ts");
    const node16 = { moduleResolution: tsApi.ModuleResolutionKind.Node16, module: tsApi.ModuleKind.Node16 };
    const resolutions = {
      node10: [{ moduleResolution: tsApi.ModuleResolutionKind.Node10, module: tsApi.ModuleKind.CommonJS }, undefined],
      "node16 (ESM)": [node16, tsApi.ModuleKind.ESNext],
      "node16 (CJS)": [node16, tsApi.ModuleKind.CommonJS],
      bundler: [{ moduleResolution: tsApi.ModuleResolutionKind.Bundler, module: tsApi.ModuleKind.ESNext }, undefined],
    } as const;
    // The .wasm subpaths are assets (bytes to read or a URL for a bundler), not modules
    // with types; "./assembly" is AssemblyScript source, for asc and its editor setup.
    const subpaths = {
      "rmsprop-wasm": "node_modules/rmsprop-wasm/dist/index.d.ts",
      "rmsprop-wasm/tfjs": "node_modules/rmsprop-wasm/dist/tfjs/index.d.ts",
      "rmsprop-wasm/assembly": "node_modules/rmsprop-wasm/assembly/index.ts",
    };
    // A CommonJS file's import is a require(): the "require" condition's types.
    const required: Record<string, string> = {
      "rmsprop-wasm": "node_modules/rmsprop-wasm/cjs/index.d.cts",
      "rmsprop-wasm/tfjs": "node_modules/rmsprop-wasm/cjs/tfjs.d.cts",
    };
    const got: Record<string, string | undefined> = {};
    const want: Record<string, string> = {};
    for (const [name, [options, mode]] of Object.entries(resolutions)) {
      for (const [spec, file] of Object.entries(subpaths)) {
        const settings = { ...options, allowImportingTsExtensions: true, noEmit: true };
        const { resolvedModule } = tsApi.resolveModuleName(spec, from, settings, tsApi.sys, undefined, undefined, mode);
        got[`${name} ${spec}`] = resolvedModule?.resolvedFileName.replace(`${consumer}/`, "");
        want[`${name} ${spec}`] = (name === "node16 (CJS)" && required[spec]) || file;
      }
    }
    expect(got).toEqual(want);
  });
});
