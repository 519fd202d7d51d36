// examples/rust-model: examples/c-model's perceptron in Rust (rustc, wasm32-unknown-unknown),
// calling the kernel through #[link(wasm_import_module = "rmsprop-wasm")]. See
// test/helpers/wasm-model.ts for what it must do; docs/embedding.md shows its binding verbatim.
// Its binding's 8-bit helpers pass test/helpers/q8-host.ts, as the C header's do.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { exampleModelTests, readmeSnippet, type ExampleModel } from "./helpers/wasm-model.ts";
import { ALIGNMENT_REFUSALS, docsExampleImports, FILL_BROKEN, q8HostTests, REASONS, RMSPROP_INVALID, STATE_REFUSALS, VALUE_REFUSALS } from "./helpers/q8-host.ts";
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
  q8HostTests({
    build: (pages) => rustWasm({ source: new URL("fixtures/rust-q8-probe.rs", import.meta.url), name: "rust-q8-probe", pages }),
    refusal: (reason) => (RMSPROP_INVALID | REASONS[reason]) >>> 0,
    stepRefusals: [...STATE_REFUSALS, ...ALIGNMENT_REFUSALS],
    fillRefusals: [...VALUE_REFUSALS, ["scales too few for the codes", 0, 1, FILL_BROKEN.shortScales, "array"]],
  });

  it("the 8-bit example of docs/embedding-rust-zig.md compiles, and imports the memory, step and quantize_blockwise_8bit", () => {
    const imports = docsExampleImports({
      doc: "docs/embedding-rust-zig.md",
      lang: "rust",
      file: "model.rs",
      binding: "examples/rust-model/rmsprop_wasm.rs",
      compile: (source) => rustWasm({ source, name: "docs-q8-example", pages: 4 }),
    });
    expect(imports).toEqual(["env.memory", "rmsprop-wasm.quantize_blockwise_8bit", "rmsprop-wasm.step"]);
  });
});
