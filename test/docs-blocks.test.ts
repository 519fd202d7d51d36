// Every code block of README.md and docs/*.md, as a reader would use it. Each ```js block is
// written to a module file inside the package and run by node from the package root, so
// `import … from "rmsprop-wasm"` resolves to the built package through its own "exports"
// (a package may import itself by name); it must exit 0 and print nothing to stderr. Every
// ```ts block is type-checked by tsc with the repo's tsconfig.json. Blocks in other languages
// (C, Rust, Zig, sh, text) are not run here; test/c-header.test.ts compiles the C example.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

interface Block {
  file: string;
  line: number;
  lang: string;
  code: string;
}

/** The fenced blocks of a Markdown file, with the line each starts on. */
function fencedBlocks(file: string, text: string): Block[] {
  const blocks: Block[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    // A fence may be indented (a block inside a list item); its lines carry the same indent.
    const open = lines[i].match(/^( *)```(\w*)\s*$/);
    if (!open) continue;
    const [, indent, lang] = open;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^ *```\s*$/.test(lines[i]); i++) {
      body.push(lines[i].startsWith(indent) ? lines[i].slice(indent.length) : lines[i]);
    }
    blocks.push({ file, line: start + 1, lang, code: body.join("\n") + "\n" });
  }
  return blocks;
}

const pages = ["README.md", ...readdirSync("docs").filter((f) => f.endsWith(".md")).sort().map((f) => `docs/${f}`)];
const blocks = pages.flatMap((page) => fencedBlocks(page, readFileSync(page, "utf8")));
const js = blocks.filter((b) => b.lang === "js");
const ts = blocks.filter((b) => b.lang === "ts");
const label = (b: Block) => `${b.file}:${b.line}`;
const fileName = (b: Block, ext: string) => `${b.file.replace(/[/.]/g, "_")}_${b.line}.${ext}`;

// Inside the package, so that "rmsprop-wasm" resolves to this package by its own name.
const DIR = "test-results/docs-blocks";

describe("docs code blocks", () => {
  it("finds the blocks: README.md has js and ts blocks, and every fence names its language", () => {
    expect(js.filter((b) => b.file === "README.md").length).toBeGreaterThanOrEqual(7);
    expect(ts.filter((b) => b.file === "README.md").length).toBeGreaterThanOrEqual(1);
    const unnamed = blocks.filter((b) => b.lang === "").map(label);
    expect(unnamed, "fences without a language").toEqual([]);
    // Code that reads as JavaScript belongs in a block the test runs.
    const unrun = blocks.filter((b) => /^(javascript|mjs|typescript|tsx)$/.test(b.lang)).map(label);
    expect(unrun, "use js or ts").toEqual([]);
  });

  it.each(js.map((b) => [label(b), b] as const))("%s (js) runs from the package root", (_, b) => {
    expect(existsSync("dist/index.js"), "the package is built (npm run build)").toBe(true);
    mkdirSync(DIR, { recursive: true });
    const path = `${DIR}/${fileName(b, "mjs")}`;
    writeFileSync(path, b.code);
    const run = spawnSync(process.execPath, [path], { encoding: "utf8", timeout: 240_000 });
    expect(run.error, `${label(b)} could not run`).toBeUndefined();
    expect(run.stderr, `${label(b)} wrote to stderr`).toBe("");
    expect(run.status, `${label(b)} exit status; stdout: ${run.stdout}`).toBe(0);
  });

  it("every ts block type-checks with the repo's settings", () => {
    expect(existsSync("dist/index.d.ts"), "the package is built (npm run build)").toBe(true);
    const dir = `${DIR}/ts`;
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = ts.map((b) => {
      const name = fileName(b, "ts");
      // Each block is a module of its own (top-level await, names that repeat across blocks).
      writeFileSync(`${dir}/${name}`, `${b.code}export {};\n`);
      return [name, b] as const;
    });
    writeFileSync(`${dir}/tsconfig.json`, JSON.stringify({ extends: "../../../tsconfig.json", include: ["*.ts"] }));
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    let output = "";
    try {
      execFileSync(process.execPath, [tsc, "-p", `${dir}/tsconfig.json`, "--noEmit", "--pretty", "false"], { encoding: "utf8" });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? error);
    }
    // Name the Markdown line of each error, not the extracted file's.
    for (const [name, b] of files) output = output.replaceAll(`${dir}/${name}`, `${b.file} block at line ${b.line}`);
    expect(output).toBe("");
  });
});
