// The size rules of the source (STYLE.md: small files with one job): no file in src/ over
// 500 lines, no function over 100. Counted with the TypeScript parser, so a function is
// every function-like node (declarations, methods, arrows, accessors), nested ones included.
import { readdirSync, readFileSync } from "node:fs";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const MAX_FILE_LINES = 500;
const MAX_FUNCTION_LINES = 100;
/** Files still over a rule while their rework is under way, with the issue that reworks them. */
const PENDING: Record<string, string> = { "src/thread-pool.ts": "issue 23: the pool rebuilt along pthreadpool's seams" };

const root = new URL("../", import.meta.url);
const sources = ["src", "src/tfjs"].flatMap((dir) =>
  readdirSync(new URL(dir, root), { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => `${dir}/${e.name}`),
);

/** Every function-like node of `file` longer than the limit: "name (lines)". */
function longFunctions(file: string): string[] {
  const text = readFileSync(new URL(file, root), "utf8");
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

describe("the shape of src/", () => {
  it("finds the sources", () => {
    expect(sources).toContain("src/rmsprop.ts");
    expect(sources).toContain("src/tfjs/optimizer.ts");
  });

  for (const file of sources) {
    if (PENDING[file]) continue;
    it(`${file}: at most ${MAX_FILE_LINES} lines, no function over ${MAX_FUNCTION_LINES}`, () => {
      const lines = readFileSync(new URL(file, root), "utf8").split("\n").length;
      expect(lines).toBeLessThanOrEqual(MAX_FILE_LINES);
      expect(longFunctions(file)).toEqual([]);
    });
  }

  it("the counter sees a long function", () => {
    // A probe of the counter itself, so the rule cannot pass by counting nothing.
    expect(longFunctions("src/thread-pool.ts").length).toBeGreaterThan(0);
  });
});
