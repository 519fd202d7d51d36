// include/rmsprop-wasm.h with 8-bit state: a C host (test/fixtures/c-q8-probe.c, compiled
// with clang) lays out codes and block scales with the header's sizes, fills them with
// rmsprop_q8_fill and steps with rmsprop_fill_step_args_q8; its θ, codes and scales must
// have the bits of createRmsprop with stateBits 8 fed the same gradients
// (test/helpers/q8-host.ts, shared with the Rust and Zig ports).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { QUANT_BLOCK, QUANT_FORMATS, QUANT_SCRATCH_BYTES } from "../src/quantization.ts";
import { Q8_ROWS } from "../src/state-arrays.ts";
import { ALIGNMENT_REFUSALS, BROKEN, docsExampleImports, FILL_BROKEN, PROBE_EXPORTS, Q8_EXAMPLE_IMPORTS, q8HostTests, RMSPROP_INVALID, STATE_REFUSALS, VALUE_REFUSALS } from "./helpers/q8-host.ts";
// @ts-expect-error: a plain .mjs build script without types
import { clangWasm } from "../examples/c-model/build.mjs";

describe("include/rmsprop-wasm.h with 8-bit state", () => {
  it("its sizes and code maps are the package's", () => {
    const header = readFileSync("include/rmsprop-wasm.h", "utf8");
    const define = (name: string) => header.match(new RegExp(`#define ${name} (.+?)(?:\\s*/\\*.*)?$`, "m"))?.[1];
    expect(define("RMSPROP_Q8_BLOCK")).toBe(`${QUANT_BLOCK}u`);
    expect(define("RMSPROP_Q8_SCRATCH_BYTES")).toBe(`(3u * RMSPROP_Q8_BLOCK * 4u + 96u)`);
    expect(3 * QUANT_BLOCK * 4 + 96).toBe(QUANT_SCRATCH_BYTES);
    for (const row of Q8_ROWS) {
      const name = `RMSPROP_Q8_${row.c.toUpperCase()}_FORMAT`;
      expect(define(name), name).toBe(`${QUANT_FORMATS[row.q8.format].id}u`);
    }
  });

  q8HostTests({
    build: (pages) => clangWasm({ source: new URL("fixtures/c-q8-probe.c", import.meta.url), name: "c-q8-probe", exports: PROBE_EXPORTS, pages }),
    // The header's helpers give one answer for every refusal.
    refusal: () => RMSPROP_INVALID,
    stepRefusals: [["a NULL state", BROKEN.noState, "array"], ...STATE_REFUSALS, ...ALIGNMENT_REFUSALS],
    fillRefusals: [...VALUE_REFUSALS, ["a misaligned scratch", 0, 1, FILL_BROKEN.misalignedScratch, "scratch"]],
  });

  it("the 8-bit example of docs/embedding.md compiles, and imports the memory, step and quantize_blockwise_8bit", () => {
    const imports = docsExampleImports({
      doc: "docs/embedding.md",
      lang: "c",
      file: "docs-q8-example.c",
      compile: (source) => clangWasm({ source, name: "docs-q8-example", exports: ["init_state", "train_step_q8"], pages: 4 }),
    });
    expect(imports).toEqual(Q8_EXAMPLE_IMPORTS);
  });
});
