// Trains examples/rust-model/model.rs, examples/c-model's perceptron written in Rust, whose
// own code calls the rmsprop-wasm kernel: the kernel is instantiated on the model's memory
// and passed in as its "rmsprop-wasm" import. Run: npm run example:rust-model (needs rustc
// with the wasm32-unknown-unknown target: bash scripts/install-test-deps.sh).
import { MODEL_PAGES, perceptronExample, PORTED_VARIANTS } from "../c-model/train.mjs";
import { rustWasm } from "./build.mjs";

const example = perceptronExample(() => rustWasm({ source: new URL("model.rs", import.meta.url), name: "rust-model", pages: MODEL_PAGES }));
export const { loadModel, train } = example;

if (import.meta.url === `file://${process.argv[1]}`) await example.printVariants(PORTED_VARIANTS);
