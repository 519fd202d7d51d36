// What a web page that uses rmsprop-wasm downloads, measured with esbuild (docs/bundle-size.md).
//   node scripts/bundle-size.mjs            the table in docs/bundle-size.md, from dist/
//   node scripts/bundle-size.mjs --json     the same numbers as JSON
// A consumer entry imports createRmsprop by the package's name and runs SIMD on one thread.
// esbuild bundles it with code splitting, as an app's production build would; the page
// loads the entry chunk, the chunks it imports statically, and the one chunk of the kernel
// build that runs (each build is a dynamic import() in src/backend.ts). With --synthetic
// the SIMD build is swapped for a generated SIMD module of about 90 KB: the size the kernel
// may reach with more compile-time variants, to check the target still holds then.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { generatedModule } from "./package-wasm.mjs";

const root = resolve(fileURLToPath(new URL("..", import.meta.url)));

/** The consumer: the package by its name, SIMD on one thread, one step. */
export const consumerEntry = `import { createRmsprop } from "rmsprop-wasm";
const opt = await createRmsprop(1024, { backend: "simd" });
opt.grads.fill(1);
opt.step();
globalThis.rmspropResult = { backend: opt.backend, first: opt.params[0] };
`;

const builds = ["simd", "scalar", "simd-shared", "scalar-shared"];
const generatedInput = (name) => `dist/generated/wasm-${name}.js`;

/**
 * Source of a synthetic SIMD module: `count` functions, each an f32x4 loop of 40 operations
 * picked by a seeded generator, with a scalar tail. Unlike the real kernel's variants, which
 * repeat one loop with small changes, no two bodies share structure, so it compresses worse
 * than the real kernel does (about 4.3 times under gzip against 6.8): a pessimistic stand-in.
 */
function syntheticSource(count) {
  let state = 1;
  const pick = (m) => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) % m);
  const ops = ["f32x4.add", "f32x4.sub", "f32x4.mul", "f32x4.div", "f32x4.pmax", "f32x4.min"];
  let source = "";
  for (let k = 0; k < count; k++) {
    const names = ["a", "b", "c", "l", "m"];
    const lines = [];
    for (let i = 0; i < 40; i++) {
      const call = `${ops[pick(ops.length)]}(${names[pick(names.length)]}, ${names[pick(names.length)]})`;
      lines.push(`    const t${i} = ${pick(5) === 0 ? `f32x4.sqrt(${call})` : call};`);
      names.push(`t${i}`);
    }
    source += `export function k${k}(p: usize, g: usize, q: usize, n: usize, lr: f32, beta: f32): void {
  const l = f32x4.splat(lr), m = f32x4.splat(beta);
  for (let o: usize = 0; o < (n & ~15); o += 16) {
    const a = v128.load(p + o), b = v128.load(g + o), c = v128.load(q + o);
${lines.join("\n")}
    v128.store(p + o, t39);
    v128.store(q + o, t38);
  }
  for (let o: usize = n & ~15; o < n; o += 4) store<f32>(p + o, load<f32>(g + o) * lr + <f32>${k});
}
`;
  }
  return source;
}

/** The synthetic SIMD module (about 90 KB), compiled by asc once and kept in build/. */
export function syntheticSimdWasm() {
  const count = 390;
  const out = join(root, `build/synthetic-simd-${count}.wasm`);
  if (!existsSync(out)) {
    const dir = mkdtempSync(join(tmpdir(), "rmsprop-wasm-synthetic-"));
    try {
      writeFileSync(join(dir, "synthetic.ts"), syntheticSource(count));
      execFileSync(
        process.execPath,
        [join(root, "node_modules/assemblyscript/bin/asc.js"), join(dir, "synthetic.ts"), "-o", join(dir, "synthetic.wasm"),
          "-O3", "--shrinkLevel", "0", "--converge", "--noAssert", "--runtime", "stub", "--importMemory", "--initialMemory", "0",
          "--enable", "simd", "--use", "abort="],
        { stdio: ["ignore", "ignore", "inherit"] },
      );
      mkdirSync(join(root, "build"), { recursive: true });
      writeFileSync(out, readFileSync(join(dir, "synthetic.wasm")));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return readFileSync(out);
}

/**
 * Bundles the consumer with esbuild (splitting on, ESM) and returns every output file and
 * the ones the page loads. `simdWasm` replaces the SIMD build's bytes.
 */
export async function measureBundle({ minify = true, simdWasm, keepIn } = {}) {
  const outdir = keepIn ?? mkdtempSync(join(tmpdir(), "rmsprop-wasm-size-"));
  try {
    const plugins = simdWasm
      ? [{
          name: "synthetic-simd",
          setup(b) {
            b.onLoad({ filter: /[\\/]dist[\\/]generated[\\/]wasm-simd\.js$/ }, () => ({ contents: generatedModule(simdWasm), loader: "js" }));
          },
        }]
      : [];
    const result = await build({
      stdin: { contents: consumerEntry, resolveDir: root, sourcefile: "consumer.mjs" },
      entryNames: "consumer",
      bundle: true, splitting: true, format: "esm", target: "es2022", minify, outdir,
      metafile: true, write: true, logLevel: "error", plugins,
    });
    const outputs = result.metafile.outputs;
    const files = Object.entries(outputs).map(([path, out]) => {
      const bytes = readFileSync(resolve(root, path));
      return { path, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, inputs: Object.keys(out.inputs), imports: out.imports };
    });
    const byPath = new Map(files.map((f) => [f.path, f]));
    const loaded = new Set();
    const load = (path) => {
      if (loaded.has(path)) return;
      loaded.add(path);
      for (const i of byPath.get(path).imports) if (i.kind === "import-statement") load(i.path);
    };
    // The consumer's own file: the chunks of dynamic imports have an entryPoint too.
    load(files.find((f) => /(^|[\\/])consumer\.js$/.test(f.path)).path);
    const buildOf = (f) => builds.find((name) => f.inputs.includes(generatedInput(name)));
    load(files.find((f) => buildOf(f) === "simd").path);
    const page = files.filter((f) => loaded.has(f.path));
    const sum = (list, key) => list.reduce((total, f) => total + f[key], 0);
    return {
      minify,
      files: files.map(({ path, bytes, gzip }) => ({ file: path.slice(path.lastIndexOf("/") + 1), bytes, gzip, build: buildOf(byPath.get(path)) ?? null, loaded: loaded.has(path) })),
      entry: "consumer.js",
      page: { bytes: sum(page, "bytes"), gzip: sum(page, "gzip"), builds: page.map(buildOf).filter(Boolean) },
      all: { bytes: sum(files, "bytes"), gzip: sum(files, "gzip") },
    };
  } finally {
    if (!keepIn) rmSync(outdir, { recursive: true, force: true });
  }
}

const isMain = process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url;
if (isMain) {
  const wasm = readFileSync(join(root, "dist/wasm/rmsprop_simd.wasm"));
  const synthetic = syntheticSimdWasm();
  const runs = [];
  for (const [kernel, simdWasm] of [["real", undefined], ["synthetic", synthetic]]) {
    for (const minify of [true, false]) runs.push({ kernel, simdBytes: (simdWasm ?? wasm).length, ...(await measureBundle({ minify, simdWasm })) });
  }
  if (process.argv.includes("--json")) {
    console.log(JSON.stringify(runs, null, 2));
  } else {
    const kb = (b) => (b / 1000).toFixed(1);
    console.log("| SIMD kernel | minified | page loads (KB) | gzip (KB) | every chunk (KB) |");
    console.log("|---|---|--:|--:|--:|");
    for (const r of runs) {
      console.log(`| ${r.kernel}, ${kb(r.simdBytes)} KB of wasm | ${r.minify ? "yes" : "no"} | ${kb(r.page.bytes)} | ${kb(r.page.gzip)} | ${kb(r.all.bytes)} |`);
    }
  }
}
