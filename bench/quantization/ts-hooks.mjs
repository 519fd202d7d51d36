// Lets the quantization measurements import the package's TypeScript sources and the
// tests' 8-bit harness (test/helpers/q8-harness.ts) directly, with esbuild (a dev
// dependency) stripping the types: `node --import ./bench/quantization/ts-hooks.mjs …`.
// The harness stands in for the optimizer until the optimizer knows `stateBits`.
import { register } from "node:module";

register("./ts-loader.mjs", import.meta.url);
