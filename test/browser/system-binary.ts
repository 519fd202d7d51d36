// The tests drive the system's browsers and tools, never a download of their own:
// scripts/install-test-deps.sh installs them from Debian (npm test runs it first).
import { execFileSync } from "node:child_process";

/**
 * The path of the first of `names` on PATH, or of the path in the environment variable
 * `override` when it is set. A missing binary is an error with the install hint.
 */
export function systemBinary(names: string[], what: string, override?: string): string {
  const fromEnv = override ? process.env[override] : undefined;
  if (fromEnv) return fromEnv;
  try {
    return execFileSync("sh", ["-c", names.map((name) => `command -v ${name}`).join(" || ")], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(`${names[0]} is not installed: run \`bash scripts/install-test-deps.sh\` (Debian's ${what})`);
  }
}
