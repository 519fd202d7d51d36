// Trains examples/zig-model/model.zig, examples/c-model's perceptron written in Zig, whose
// own code calls the rmsprop-wasm kernel: the kernel is instantiated on the model's memory
// and passed in as its "rmsprop-wasm" import. Run: npm run example:zig-model (needs Zig 0.11
// from bash scripts/install-test-deps.sh).
import { MODEL_PAGES, perceptronExample, PORTED_VARIANTS } from "../c-model/train.mjs";
import { zigWasm } from "./build.mjs";

const example = perceptronExample(() => zigWasm({ source: new URL("model.zig", import.meta.url), name: "zig-model", pages: MODEL_PAGES }));
export const { loadModel, train } = example;

if (import.meta.url === `file://${process.argv[1]}`) await example.printVariants(PORTED_VARIANTS);
