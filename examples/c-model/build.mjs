// Compiles C that includes include/rmsprop-wasm.h into a wasm32 module with Debian's clang
// and wasm-ld: no libc, the memory imported, the kernel imported from "rmsprop-wasm".
// Used by the c-model example and by the tests. clang is a test and example tool, never
// a build step of the package: `npm install` on a user's machine does not need it.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = new URL("../../", import.meta.url);
const PAGE = 65536;

/**
 * Compiles one C file to `build/c/<name>.wasm` and returns its bytes. `exports` are the C
 * functions the host calls; `pages` is the size of the memory the module imports (it holds
 * the module's static arrays and its stack, from address 0).
 */
export function clangWasm({ source, name, exports, pages }) {
  const outDir = new URL("build/c/", root);
  mkdirSync(outDir, { recursive: true });
  const out = fileURLToPath(new URL(`${name}.wasm`, outDir));
  const args = [
    "--target=wasm32", "-std=c99", "-O2", "-nostdlib", "-ffreestanding",
    "-Wall", "-Wextra", "-pedantic", "-Werror",
    "-I", fileURLToPath(new URL("include", root)),
    "-Wl,--no-entry", "-Wl,--import-memory", `-Wl,--initial-memory=${pages * PAGE}`,
    ...exports.map((e) => `-Wl,--export=${e}`),
    fileURLToPath(source), "-o", out,
  ];
  try {
    execFileSync(process.env.CLANG ?? "clang", args, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const why = error.code === "ENOENT" ? "clang is not installed (bash scripts/install-test-deps.sh installs clang and lld)" : String(error.stderr);
    throw new Error(`compiling ${fileURLToPath(source)} failed: ${why}`);
  }
  return readFileSync(out);
}
