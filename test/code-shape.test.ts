// The size rules of the source (STYLE.md: small files with one job): no file in src/ or in
// the kernel (assembly/) over 500 lines, no function over 100. Counted with the TypeScript parser, so a function is
// every function-like node (declarations, methods, arrows, accessors), nested ones included.
import { readdirSync, readFileSync } from "node:fs";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const MAX_FILE_LINES = 500;
const MAX_FUNCTION_LINES = 100;

const root = new URL("../", import.meta.url);
const sources = ["src", "src/tfjs", "src/pool", "assembly"].flatMap((dir) =>
  readdirSync(new URL(dir, root), { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => `${dir}/${e.name}`),
);

/** Every function-like node of `file` longer than the limit: "name (lines)". */
const longFunctions = (file: string): string[] => longFunctionsIn(file, readFileSync(new URL(file, root), "utf8"));

function longFunctionsIn(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const name = "name" in node && node.name && ts.isIdentifier(node.name) ? node.name.text : "(anonymous)";
      if (last - first + 1 > MAX_FUNCTION_LINES) found.push(`${name} (${last - first + 1} lines, from line ${first + 1})`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

describe("the shape of src/ and assembly/", () => {
  it("finds the sources", () => {
    expect(sources).toContain("src/rmsprop.ts");
    expect(sources).toContain("src/tfjs/optimizer.ts");
    expect(sources).toContain("assembly/rmsprop.ts");
  });

  for (const file of sources) {
    it(`${file}: at most ${MAX_FILE_LINES} lines, no function over ${MAX_FUNCTION_LINES}`, () => {
      const lines = readFileSync(new URL(file, root), "utf8").split("\n").length;
      expect(lines).toBeLessThanOrEqual(MAX_FILE_LINES);
      expect(longFunctions(file)).toEqual([]);
    });
  }

  it("the counter sees a long function", () => {
    // A probe of the counter itself, so the rule cannot pass by counting nothing.
    const probe = `function long() {\n${"  call();\n".repeat(MAX_FUNCTION_LINES)}}\n`;
    expect(longFunctionsIn("probe.ts", probe)).toEqual([`long (${MAX_FUNCTION_LINES + 2} lines, from line 1)`]);
  });
});
