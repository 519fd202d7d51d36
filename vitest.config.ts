// Two projects, so that `npm test` can run either alone (`vitest run --project unit`):
//   unit     the library in this Node process: kernel, reference, options, threads, tfjs
//   engines  other engines and toolchains: browsers, Deno, Bun, bundlers, clang, rustc, zig,
//            tsc and npm on the packed package
// Timeouts are sized for a loaded 2-core machine (CI may share it with other jobs): a test
// that takes 5 s alone can take 15 s there. No test asserts on wall-clock time.
import { defineConfig } from "vitest/config";

// Tests that drive a compiler or npm on the packed package, in the engines project.
const toolchainTests = ["test/c-*.test.ts", "test/rust-model.test.ts", "test/zig-model.test.ts", "test/package-*.test.ts"];
const slowMachine = { testTimeout: 60_000, hookTimeout: 120_000 };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/browser/**", "test/matrix/**", ...toolchainTests],
          ...slowMachine,
        },
      },
      {
        test: {
          name: "engines",
          include: ["test/browser/**/*.test.ts", "test/matrix/**/*.test.ts", ...toolchainTests],
          ...slowMachine,
        },
      },
    ],
  },
});
