// Compiles a Rust file into a wasm32-unknown-unknown cdylib with rustc alone (no cargo, no
// crates): the memory imported, the kernel imported from "rmsprop-wasm" through
// rmsprop_wasm.rs. rustc is a test and example tool, never a build step of the package.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = new URL("../../", import.meta.url);
const PAGE = 65536;
const TARGET = "wasm32-unknown-unknown";

/**
 * A rustc that has the wasm32-unknown-unknown standard library: $RUSTC, or the first on
 * PATH whose sysroot holds it. A rustup rustc earlier on PATH often lacks the target while
 * Debian's (rustc + libstd-rust-dev-wasm32) has it.
 */
export function findRustc() {
  const candidates = [process.env.RUSTC, ...(process.env.PATH ?? "").split(delimiter).filter(Boolean).map((dir) => join(dir, "rustc"))];
  for (const rustc of candidates) {
    if (!rustc || (rustc.includes("/") && !existsSync(rustc))) continue;
    try {
      const sysroot = execFileSync(rustc, ["--print", "sysroot"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
      if (existsSync(join(sysroot, "lib", "rustlib", TARGET, "lib"))) return rustc;
    } catch {
      // not runnable: try the next one
    }
  }
  throw new Error(`no rustc with the ${TARGET} standard library on PATH (bash scripts/install-test-deps.sh installs Debian's rustc and libstd-rust-dev-wasm32)`);
}

/** Compiles `source` to `build/rust/<name>.wasm` and returns its bytes; `pages` is the size of the memory it imports. */
export function rustWasm({ source, name, pages }) {
  const outDir = new URL("build/rust/", root);
  mkdirSync(outDir, { recursive: true });
  const out = fileURLToPath(new URL(`${name}.wasm`, outDir));
  const args = [
    "--edition", "2021", "--target", TARGET, "--crate-type", "cdylib", "-C", "opt-level=2", "-C", "panic=abort",
    "-C", "strip=debuginfo", "-D", "warnings",
    // The module's statics and a 64 KiB stack live in the memory the host gives it.
    "-C", "link-arg=--import-memory", "-C", `link-arg=--initial-memory=${pages * PAGE}`, "-C", "link-arg=-zstack-size=65536",
    fileURLToPath(source), "-o", out,
  ];
  try {
    execFileSync(findRustc(), args, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    throw new Error(`compiling ${fileURLToPath(source)} failed: ${error.stderr ? String(error.stderr) : error.message}`);
  }
  return readFileSync(out);
}
