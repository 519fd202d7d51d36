// examples/zig-model: examples/c-model's perceptron in Zig 0.11 (wasm32-freestanding),
// calling the kernel through extern "rmsprop-wasm" functions. See
// test/helpers/wasm-model.ts for what it must do; docs/embedding.md shows its binding verbatim.
// Its binding's 8-bit helpers pass test/helpers/q8-host.ts, as the C header's do.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { exampleModelTests, readmeSnippet, type ExampleModel } from "./helpers/wasm-model.ts";
import { bindingQ8Tests } from "./helpers/q8-host.ts";
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
  // A misaligned scratch or scales is illegal behaviour in Zig before it reaches the binding:
  // the pointer types carry the alignment.
  bindingQ8Tests({ lang: "zig", ext: "zig", alignmentChecked: false, compile: (source, name, pages) => zigWasm({ source, name, pages, packageRoot: new URL("..", import.meta.url) }) });
});
