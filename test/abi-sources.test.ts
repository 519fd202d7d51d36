// One source for the kernel ABI: KERNEL_FLAGS and STEP_ARGS_FIELDS in src/kernel-abi.ts.
// The other forms are parsed here and checked against them: the AssemblyScript struct and
// flag constants (assembly/abi.ts), the C struct, its static asserts and the #defines
// (include/rmsprop-wasm.h), and the tables of docs/embedding.md, which must be exactly what
// the table renders (paste the expected text from a failure to update the page).
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KERNEL_FLAGS, STEP_ARGS_BYTES, STEP_ARGS_FIELDS, STEP_ARGS_V1_BYTES, STEP_ARGS_V2_BYTES } from "../src/kernel-abi.ts";
import { QUANT_BLOCK, QUANT_SCRATCH_BYTES } from "../src/quantization.ts";
import { STATE_ARRAYS } from "../src/state-arrays.ts";

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");
const upperSnake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

/** The docs' tables, rendered from the one source. */
function docsTables(): { flags: string; fields: string } {
  const flags = [
    "| bit | C name | value | what it switches on |",
    "|---|---|---:|---|",
    ...Object.entries(KERNEL_FLAGS).map(([name, f]) => `| ${name} | ${f.c} | ${f.bit} | ${f.meaning} |`),
  ];
  const fields = [
    "| offset | field | C name | type | meaning |",
    "|---:|---|---|---|---|",
    ...STEP_ARGS_FIELDS.map((f) => `| ${f.offset} | ${f.name} | ${f.c} | ${f.type} | ${f.meaning} |`),
  ];
  return { flags: flags.join("\n"), fields: fields.join("\n") };
}

describe("the kernel ABI, written once", () => {
  it("is consistent in itself: fields packed in order, 4 bytes each, the v1 prefix 72 bytes, the v2 96", () => {
    STEP_ARGS_FIELDS.forEach((f, i) => expect(f.offset, f.name).toBe(4 * i));
    expect(STEP_ARGS_FIELDS.length * 4).toBe(STEP_ARGS_BYTES);
    expect(STEP_ARGS_FIELDS.findIndex((f) => f.name === "ema") * 4).toBe(STEP_ARGS_V1_BYTES);
    expect(STEP_ARGS_FIELDS.findIndex((f) => f.name === "sqAvgScales") * 4).toBe(STEP_ARGS_V2_BYTES);
    // The 8-bit step's scratch ends with a v2 block of its own (assembly/rmsprop.ts, stepQ8).
    expect(QUANT_SCRATCH_BYTES).toBe(3 * QUANT_BLOCK * 4 + STEP_ARGS_V2_BYTES);
    const bits = Object.values(KERNEL_FLAGS).map((f) => f.bit);
    for (const b of bits) expect(Math.log2(b) % 1).toBe(0);
    expect(new Set(bits).size).toBe(bits.length);
    // Every array StepArgs points at is a row of the state-array table, under the same names.
    for (const a of STATE_ARRAYS) {
      const field = STEP_ARGS_FIELDS.find((f) => f.name === a.name);
      expect(field, a.name).toBeDefined();
      expect(field!.c).toBe(a.c);
    }
  });

  it("assembly/abi.ts declares the same fields, types and offsets, and the same flag values", () => {
    const source = read("assembly/abi.ts");
    const struct = source.slice(source.indexOf("export class StepArgs"));
    const declared = [...struct.matchAll(/^\s+(\w+): (u32|f32);\s+\/\/\s*(\d+)/gm)].map(([, name, type, offset]) => ({
      name, type, offset: Number(offset),
    }));
    expect(declared).toEqual(STEP_ARGS_FIELDS.map(({ name, type, offset }) => ({ name, type, offset })));
    const consts = Object.fromEntries([...source.matchAll(/export const (\w+): u32 = (\d+);/g)].map(([, k, v]) => [k, Number(v)]));
    for (const [name, f] of Object.entries(KERNEL_FLAGS)) expect(consts[upperSnake(name)], name).toBe(f.bit);
    expect(consts.STEP_ARGS_BYTES).toBe(STEP_ARGS_BYTES);
    expect(consts.STEP_ARGS_V1_BYTES).toBe(STEP_ARGS_V1_BYTES);
    expect(consts.STEP_ARGS_V2_BYTES).toBe(STEP_ARGS_V2_BYTES);
  });

  it("assembly/quantize.ts and the header have the block and scratch sizes of src/quantization.ts", () => {
    const kernel = read("assembly/quantize.ts");
    expect(kernel).toContain(`<usize>Q8_BLOCK : ${QUANT_BLOCK};`);
    expect(kernel).toContain("Q8_SCRATCH_BYTES: usize = Q8_ARGS_AT + 96;");
    expect(kernel).toContain("Q8_ARGS_AT: usize = 3 * QBLOCK * 4;");
    const header = read("include/rmsprop-wasm.h");
    expect(header).toContain(`#define RMSPROP_Q8_BLOCK ${QUANT_BLOCK}u`);
    expect(header).toContain("#define RMSPROP_Q8_SCRATCH_BYTES (3u * RMSPROP_Q8_BLOCK * 4u + 96u)");
  });

  it("include/rmsprop-wasm.h declares the same struct, asserts every offset, and defines the same flags", () => {
    const header = read("include/rmsprop-wasm.h");
    const struct = header.slice(header.indexOf("typedef struct rmsprop_step_args"), header.indexOf("} rmsprop_step_args;"));
    const declared = [...struct.matchAll(/^\s+(uint32_t|float) (\w+);\s+\/\*\s*(\d+)/gm)].map(([, type, c, offset]) => ({
      c, type: type === "float" ? "f32" : "u32", offset: Number(offset),
    }));
    expect(declared).toEqual(STEP_ARGS_FIELDS.map(({ c, type, offset }) => ({ c, type, offset })));
    for (const f of STEP_ARGS_FIELDS) {
      expect(header, f.c).toContain(`offsetof(rmsprop_step_args, ${f.c}) == ${f.offset}`);
    }
    expect(header).toContain(`sizeof(rmsprop_step_args) == ${STEP_ARGS_BYTES}`);
    for (const f of Object.values(KERNEL_FLAGS)) expect(header).toMatch(new RegExp(`#define ${f.c} ${f.bit}u\\b`));
  });

  it("docs/embedding.md shows the tables the source renders", () => {
    const docs = read("docs/embedding.md");
    const block = (name: string) => docs.split(`<!-- abi:${name} -->\n`)[1]?.split(`\n<!-- /abi:${name} -->`)[0];
    const want = docsTables();
    expect(block("flags")).toBe(want.flags);
    expect(block("fields")).toBe(want.fields);
  });
});

describe("one place per state array", () => {
  it("an array's name appears only in its table row, the ABI, the kernel, the reference (f32 and 8-bit) and the header", () => {
    // src/state-arrays.ts drives the layout, the views, checkpoints, groups, the executors and
    // the tfjs adapter; only these files may name an array (docs/architecture.md's change map).
    const allowed = [
      "src/state-arrays.ts", "src/kernel-abi.ts", "src/reference.ts", "src/reference-q8.ts", "assembly/abi.ts", "assembly/rmsprop.ts",
      "include/rmsprop-wasm.h",
    ];
    const files = ["src", "src/tfjs", "assembly", "include"].flatMap((dir) =>
      readdirSync(new URL(`../${dir}`, import.meta.url), { withFileTypes: true })
        .filter((e) => e.isFile() && /\.(ts|h)$/.test(e.name))
        .map((e) => `${dir}/${e.name}`),
    );
    for (const name of ["gradAvg", "momentumBuffer"]) {
      const naming = files.filter((f) => read(f).includes(name));
      expect(naming.filter((f) => !allowed.includes(f)), name).toEqual([]);
      expect(naming.length).toBeLessThanOrEqual(7);
    }
  });
});
