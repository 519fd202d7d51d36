// One source for the kernel ABI: KernelFlag and STEP_ARGS_FIELDS in src/kernel-abi.ts, with
// their C names and meanings in src/kernel-abi-docs.ts. The other forms are parsed here and checked against them: the AssemblyScript struct and
// flag constants (assembly/abi.ts), the C struct, its static asserts and the #defines
// (include/rmsprop-wasm.h), and the tables of docs/embedding.md, which must be exactly what
// the table renders (paste the expected text from a failure to update the page).
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  KernelFlag, readStepArgs, STEP_ARGS_BYTES, STEP_ARGS_FIELDS, STEP_ARGS_V1_BYTES, STEP_ARGS_V2_BYTES, writeRoundingCounter, writeStepArgs,
  type BlockValues,
} from "../src/kernel-abi.ts";
import { KERNEL_FLAG_DOCS, STEP_ARGS_FIELD_DOCS } from "../src/kernel-abi-docs.ts";
import { QUANT_BLOCK, QUANT_SCRATCH_BYTES } from "../src/quantization.ts";
import { STATE_ARRAYS } from "../src/state-arrays.ts";

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), "utf8");
const upperSnake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

/** The flags with their C names and meanings, in bit order; the fields likewise, in ABI order. */
const FLAGS = Object.entries(KernelFlag).map(([name, bit]) => ({ name, bit, ...KERNEL_FLAG_DOCS[name as keyof typeof KernelFlag] }));
const FIELDS = STEP_ARGS_FIELDS.map((f) => ({ ...f, ...STEP_ARGS_FIELD_DOCS[f.name] }));

/** The docs' tables, rendered from the one source. */
function docsTables(): { flags: string; fields: string } {
  const flags = [
    "| bit | C name | value | what it switches on |",
    "|---|---|---:|---|",
    ...FLAGS.map((f) => `| ${f.name} | ${f.c} | ${f.bit} | ${f.meaning} |`),
  ];
  const fields = [
    "| offset | field | C name | type | meaning |",
    "|---:|---|---|---|---|",
    ...FIELDS.map((f) => `| ${f.offset} | ${f.name} | ${f.c} | ${f.type} | ${f.meaning} |`),
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
    // The docs name every flag and field, and nothing else, in the same order.
    expect(Object.keys(KERNEL_FLAG_DOCS)).toEqual(Object.keys(KernelFlag));
    expect(Object.keys(STEP_ARGS_FIELD_DOCS)).toEqual(STEP_ARGS_FIELDS.map((f) => f.name));
    const bits = Object.values(KernelFlag) as number[];
    for (const b of bits) expect(Math.log2(b) % 1).toBe(0);
    expect(new Set(bits).size).toBe(bits.length);
    // Every array StepArgs points at is a row of the state-array table, under the same names.
    for (const a of STATE_ARRAYS) {
      const field = FIELDS.find((f) => f.name === a.name);
      expect(field, a.name).toBeDefined();
      expect(field!.c).toBe(a.c);
    }
  });

  it("the host's writers put every field of the table in its word, and nothing else", () => {
    // A value per field that no other field has (the f32 ones exact in f32), over a block
    // poisoned with a pattern neither writer leaves: a field of the table that
    // writeStepArgs does not name reads back as the poison.
    const want = Object.fromEntries(STEP_ARGS_FIELDS.map((f, i) => [f.name, f.type === "f32" ? 0.5 + i : 1000 + i])) as unknown as BlockValues;
    const poison = 0xdeadbeef;
    const u32 = new Uint32Array(3 * (STEP_ARGS_BYTES >>> 2)).fill(poison);
    const f32 = new Float32Array(u32.buffer);
    const at = STEP_ARGS_BYTES; // a block between two others, which stay poisoned
    writeStepArgs(u32, f32, at, want, want.n, want, want.flags);
    writeRoundingCounter(u32, at, want);
    expect(readStepArgs(u32, f32, at)).toEqual(want);
    expect([...u32.subarray(0, STEP_ARGS_BYTES >>> 2), ...u32.subarray((2 * STEP_ARGS_BYTES) >>> 2)].every((w) => w === poison)).toBe(true);
    // Optional offsets that are absent are written as 0, not left as they were.
    const { ema: _e, sqAvgScales: _s, momentumBufferScales: _m, gradAvgScales: _g, scratch: _c, ...v1 } = want;
    writeStepArgs(u32, f32, at, v1, want.n, want, want.flags);
    const back = readStepArgs(u32, f32, at);
    expect([back.ema, back.sqAvgScales, back.momentumBufferScales, back.gradAvgScales, back.scratch]).toEqual([0, 0, 0, 0, 0]);
  });

  it("assembly/abi.ts declares the same fields, types and offsets, and the same flag values", () => {
    const source = read("assembly/abi.ts");
    const struct = source.slice(source.indexOf("export class StepArgs"));
    const declared = [...struct.matchAll(/^\s+(\w+): (u32|f32);\s+\/\/\s*(\d+)/gm)].map(([, name, type, offset]) => ({
      name, type, offset: Number(offset),
    }));
    expect(declared).toEqual(STEP_ARGS_FIELDS.map(({ name, type, offset }) => ({ name, type, offset })));
    const consts = Object.fromEntries([...source.matchAll(/export const (\w+): u32 = (\d+);/g)].map(([, k, v]) => [k, Number(v)]));
    for (const [name, bit] of Object.entries(KernelFlag)) expect(consts[upperSnake(name)], name).toBe(bit);
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
    expect(declared).toEqual(FIELDS.map(({ c, type, offset }) => ({ c, type, offset })));
    for (const f of FIELDS) {
      expect(header, f.c).toContain(`offsetof(rmsprop_step_args, ${f.c}) == ${f.offset}`);
    }
    expect(header).toContain(`sizeof(rmsprop_step_args) == ${STEP_ARGS_BYTES}`);
    for (const f of FLAGS) expect(header).toMatch(new RegExp(`#define ${f.c} ${f.bit}u\\b`));
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
      "src/state-arrays.ts", "src/kernel-abi.ts", "src/kernel-abi-docs.ts", "src/reference.ts", "src/reference-q8.ts", "assembly/abi.ts", "assembly/rmsprop.ts",
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
      expect(naming.length).toBeLessThanOrEqual(8); // the ABI is two files: its offsets, and its C names and meanings
    }
  });
});
