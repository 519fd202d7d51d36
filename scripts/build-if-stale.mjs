// Runs `npm run build` only when dist/ is older than what it is built from, so the examples,
// the demo and the benchmark start at once on a built tree (a full build takes half a minute).
//   node scripts/build-if-stale.mjs     builds if needed, says why on stderr, else is silent
// Stale means: an expected output is missing, or some input is newer than the oldest
// output. mtimes err on the safe side: a checkout or an edit touches the file, so it rebuilds.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { binaries, moduleName } from "./package-wasm.mjs";

/** Every file under `dir` (relative to `root`), or none when it does not exist. */
function filesUnder(root, dir) {
  const full = join(root, dir);
  if (!existsSync(full)) return [];
  return readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(root, join(e.parentPath ?? e.path, e.name)));
}

/** What `npm run build` reads: the kernel, the wrapper, the example kernel, the configs and the packager. */
export function buildInputs(root) {
  return [
    ...filesUnder(root, "assembly"),
    ...filesUnder(root, "src").filter((f) => !f.startsWith(join("src", "generated"))),
    "examples/logistic-regression/model.ts",
    "examples/logistic-regression/asconfig.json",
    "asconfig.json",
    "tsconfig.json",
    "tsconfig.build.json",
    "package.json",
    "scripts/package-wasm.mjs",
    "scripts/package-worker.mjs",
  ].filter((f) => existsSync(join(root, f)));
}

/** What `npm run build` writes and the examples use: one JS file per source file, the kernels. */
export function buildOutputs(root) {
  const js = filesUnder(root, "src")
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts") && !f.startsWith(join("src", "generated")))
    .map((f) => join("dist", relative("src", f)).replace(/\.ts$/, ".js"));
  const generated = [...Object.keys(binaries).map((build) => `dist/generated/${moduleName(build)}.js`), "dist/generated/pool-worker.js"];
  const wasm = Object.values(binaries).map((path) => `dist/wasm/${path.slice("build/".length)}`);
  return [...js, ...generated, ...wasm, "build/logistic_regression.wasm"];
}

/** Why the build in `root` is stale, or undefined when dist/ is current. */
export function whyStale(root) {
  const outputs = buildOutputs(root);
  const missing = outputs.find((f) => !existsSync(join(root, f)));
  if (missing) return `${missing} is missing`;
  const mtime = (f) => statSync(join(root, f)).mtimeMs;
  const oldest = outputs.reduce((a, b) => (mtime(b) < mtime(a) ? b : a));
  const newest = buildInputs(root).reduce((a, b) => (mtime(b) > mtime(a) ? b : a));
  return mtime(newest) > mtime(oldest) ? `${newest} is newer than ${oldest}` : undefined;
}

const isMain = process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url;
if (isMain) {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const why = whyStale(root);
  if (why) {
    console.error(`rmsprop-wasm: building first (${why})`);
    execFileSync(process.platform === "win32" ? "npm.cmd" : "npm", ["run", "build", "--silent"], { cwd: root, stdio: "inherit" });
  }
}
