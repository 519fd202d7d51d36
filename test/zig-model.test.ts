// examples/zig-model: examples/c-model's perceptron in Zig 0.11 (wasm32-freestanding),
// calling the kernel through extern "rmsprop-wasm" functions. See
// test/helpers/wasm-model.ts for what it must do; docs/embedding.md shows its binding verbatim.
// Its binding's 8-bit helpers pass test/helpers/q8-host.ts, as the C header's do.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { exampleModelTests, readmeSnippet, type ExampleModel } from "./helpers/wasm-model.ts";
import { docsExampleImports, FILL_BROKEN, q8HostTests, REASONS, RMSPROP_INVALID, STATE_REFUSALS, VALUE_REFUSALS } from "./helpers/q8-host.ts";
// @ts-expect-error: a plain .mjs example without types
import * as example from "../examples/zig-model/train.mjs";
// @ts-expect-error: a plain .mjs build script without types
import { zigWasm } from "../examples/zig-model/build.mjs";

describe("examples/zig-model", () => {
  exampleModelTests(example as ExampleModel);

  it("docs/embedding.md's Zig snippet is examples/zig-model/rmsprop_wasm.zig's code", () => {
    const snippet = readmeSnippet(readFileSync("docs/embedding.md", "utf8"), "## Embedding from C, C++, Rust or Zig", "zig");
    expect(snippet.split("\n").length).toBeGreaterThan(4);
    expect(readFileSync("examples/zig-model/rmsprop_wasm.zig", "utf8")).toContain(snippet);
  });
});

describe("examples/zig-model/rmsprop_wasm.zig with 8-bit state", () => {
  q8HostTests({
    build: (pages) => zigWasm({ source: new URL("fixtures/zig-q8-probe.zig", import.meta.url), name: "zig-q8-probe", pages, packageRoot: new URL("..", import.meta.url) }),
    refusal: (reason) => (RMSPROP_INVALID | REASONS[reason]) >>> 0,
    // A misaligned scratch or scales is illegal behaviour in Zig before it reaches the binding: the pointer types carry the alignment.
    stepRefusals: STATE_REFUSALS,
    fillRefusals: [...VALUE_REFUSALS, ["scales too few for the codes", 0, 1, FILL_BROKEN.shortScales, "array"]],
  });

  it("the 8-bit example of docs/embedding-rust-zig.md compiles, and imports the memory, step and quantize_blockwise_8bit", () => {
    const imports = docsExampleImports({
      doc: "docs/embedding-rust-zig.md",
      lang: "zig",
      file: "model.zig",
      binding: "examples/zig-model/rmsprop_wasm.zig",
      compile: (source) => zigWasm({ source, name: "docs-q8-example", pages: 4 }),
    });
    expect(imports).toEqual(["env.memory", "rmsprop-wasm.quantize_blockwise_8bit", "rmsprop-wasm.step"]);
  });
});
