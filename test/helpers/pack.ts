// The package as the registry would get it: `npm pack` of the current build (npm test builds
// first; --ignore-scripts so packing does not build again), unpacked where a consumer's
// node_modules would hold it.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Packs the package into a new temporary folder; returns the tarball's path. */
export function packTarball(): string {
  const dir = mkdtempSync(join(tmpdir(), "rmsprop-wasm-pack-"));
  execFileSync("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", dir], { stdio: ["ignore", "pipe", "pipe"] });
  const [file] = readdirSync(dir).filter((f) => f.endsWith(".tgz"));
  if (!file) throw new Error(`npm pack left no .tgz in ${dir}`);
  return join(dir, file);
}

/**
 * A consumer project at `dir` (emptied first) with the tarball unpacked as
 * node_modules/rmsprop-wasm and its own package.json, so that "rmsprop-wasm" is resolved
 * there and never as this repository's self-reference.
 */
export function unpackAsDependency(tarball: string, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  const target = join(dir, "node_modules", "rmsprop-wasm");
  mkdirSync(target, { recursive: true });
  execFileSync("tar", ["-xzf", tarball, "--strip-components=1", "-C", target]);
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }) + "\n");
}
