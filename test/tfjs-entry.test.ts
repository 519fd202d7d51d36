// The subpath rmsprop-wasm/tfjs is the only place that imports @tensorflow/tfjs-core (an
// optional peer): the main entry's built graph never reaches it.
import { readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";

const pkg = JSON.parse(readFileSync("package.json", "utf8"));

/** Every built file the module at `entry` imports, directly or not, with its source. */
function importGraph(entry: string): Map<string, string> {
  const seen = new Map<string, string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const source = readFileSync(file, "utf8");
    seen.set(file, source);
    for (const [, spec] of source.matchAll(/(?:import|export)\s[^"']*?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
      if (spec?.startsWith(".")) visit(normalize(join(dirname(file), spec)));
    }
  };
  visit(entry);
  return seen;
}

describe("rmsprop-wasm/tfjs as a subpath", () => {
  it("package.json exports ./tfjs with types, and tfjs-core stays an optional peer", () => {
    expect(pkg.exports["./tfjs"]).toEqual({
      import: { types: "./dist/tfjs/index.d.ts", default: "./dist/tfjs/index.js" },
      require: { types: "./cjs/tfjs.d.cts", default: "./cjs/tfjs.cjs" },
      default: { types: "./dist/tfjs/index.d.ts", default: "./dist/tfjs/index.js" },
    });
    expect(readFileSync("dist/tfjs/index.d.ts", "utf8")).toMatch(/tfjsRmsprop/);
    expect(pkg.peerDependenciesMeta["@tensorflow/tfjs-core"].optional).toBe(true);
  });

  it("the main entry's built graph never mentions tfjs", () => {
    const graph = importGraph("dist/index.js");
    expect(graph.size).toBeGreaterThan(5);
    for (const [file, source] of graph) {
      expect(file, "the main entry reaches the tfjs subpath").not.toMatch(/tfjs/);
      expect(source, `${file} mentions @tensorflow`).not.toMatch(/@tensorflow/);
    }
    // The check can fail: the subpath's own graph does reach tfjs-core.
    expect([...importGraph("dist/tfjs/index.js").values()].some((s) => s.includes('from "@tensorflow/tfjs-core"'))).toBe(true);
  });

  it("imports by package name and registers its class", async () => {
    const tf = await import("@tensorflow/tfjs-core");
    const { tfjsRmsprop, TfjsRmsprop } = await import("rmsprop-wasm/tfjs");
    expect(typeof tfjsRmsprop).toBe("function");
    expect(tf.serialization.SerializationMap.getMap().classNameMap[TfjsRmsprop.className]?.[0]).toBe(TfjsRmsprop);
    expect(TfjsRmsprop.className).toBe("RmspropWasm");
  });
});
