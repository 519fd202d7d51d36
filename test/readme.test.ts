// The README's Node quick start, run as a user would run it: copied out of the README
// into a module file and executed by node against the built package.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

describe("README", () => {
  it("the Node quick start runs and converges", () => {
    const readme = readFileSync("README.md", "utf8");
    const block = readme.split("Node (ESM):")[1]?.match(/```js\n([\s\S]*?)```/)?.[1];
    expect(block, "the README has a Node quick start").toBeTruthy();
    mkdirSync("test-results", { recursive: true });
    // Inside the repo, so that "rmsprop-wasm" resolves to this package by its own name.
    writeFileSync("test-results/readme-quick-start.mjs", block!.replace("console.log(opt.params, opt.stepCount);", "console.log(JSON.stringify([...opt.params, opt.stepCount]));"));
    const out = execFileSync(process.execPath, ["test-results/readme-quick-start.mjs"], { encoding: "utf8" });
    const [a, b, c, steps] = JSON.parse(out) as number[];
    expect(steps).toBe(100);
    // RMSProp with η = 0.1 ends near the minimum at 0 (within a few η).
    for (const x of [a, b, c]) expect(Math.abs(x)).toBeLessThan(0.3);
  });

  it("states the two commands a newcomer needs", () => {
    const readme = readFileSync("README.md", "utf8");
    expect(readme).toContain("npm install && npm run bench");
    expect(readme).toMatch(/^npm test\b/m);
  });

  it("reads in one sitting: at most 450 lines, the install line, and a contents list whose links all land", () => {
    const readme = readFileSync("README.md", "utf8");
    expect(readme.split("\n").length).toBeLessThanOrEqual(450);
    expect(readme).toMatch(/^npm install rmsprop-wasm$/m);
    // GitHub's anchors: headings lower-cased, punctuation dropped, spaces as hyphens.
    const anchors = new Set(
      [...readme.replace(/```[\s\S]*?```/g, "").matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
        m[1].toLowerCase().replace(/[^\p{L}\p{N}\- ]/gu, "").replaceAll(" ", "-"),
      ),
    );
    const contents = readme.split("## Contents")[1]?.split("\n## ")[0] ?? "";
    const listed = [...contents.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);
    expect(listed.length, "the contents list").toBeGreaterThanOrEqual(14);
    for (const [, target] of readme.matchAll(/\]\(#([^)]+)\)/g)) expect(anchors, `#${target}`).toContain(target);
    for (const [, file] of readme.matchAll(/\]\(((?:docs|bench)\/[^)#]+)/g)) expect(existsSync(file), file).toBe(true);
  });
});
