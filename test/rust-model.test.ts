// examples/rust-model: examples/c-model's perceptron in Rust (rustc, wasm32-unknown-unknown),
// calling the kernel through #[link(wasm_import_module = "rmsprop-wasm")]. See
// test/helpers/wasm-model.ts for what it must do; docs/embedding.md shows its binding verbatim.
// Its binding's 8-bit helpers pass test/helpers/q8-host.ts, as the C header's do.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { exampleModelTests, readmeSnippet, type ExampleModel } from "./helpers/wasm-model.ts";
import { bindingQ8Tests } from "./helpers/q8-host.ts";
// @ts-expect-error: a plain .mjs example without types
import * as example from "../examples/rust-model/train.mjs";
// @ts-expect-error: a plain .mjs build script without types
import { rustWasm } from "../examples/rust-model/build.mjs";

describe("examples/rust-model", () => {
  exampleModelTests(example as ExampleModel);

  it("docs/embedding.md's Rust snippet is examples/rust-model/rmsprop_wasm.rs's code", () => {
    const snippet = readmeSnippet(readFileSync("docs/embedding.md", "utf8"), "## Embedding from C, C++, Rust or Zig", "rust");
    expect(snippet.split("\n").length).toBeGreaterThan(4);
    expect(readFileSync("examples/rust-model/rmsprop_wasm.rs", "utf8")).toContain(snippet);
  });
});

describe("examples/rust-model/rmsprop_wasm.rs with 8-bit state", () => {
  bindingQ8Tests({ lang: "rust", ext: "rs", alignmentChecked: true, compile: (source, name, pages) => rustWasm({ source, name, pages }) });
});
