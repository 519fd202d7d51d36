// Lets the quantization measurements import the package's TypeScript sources directly,
// with esbuild (a dev dependency) stripping the types:
// `node --import ./bench/quantization/ts-hooks.mjs …`.
import { register } from "node:module";

register("./ts-loader.mjs", import.meta.url);
